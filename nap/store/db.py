"""Engine and session factory. One engine per process and database URL."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from nap import jsonutil


def _normalize_url(url: str) -> str:
    # "postgresql://" would pick psycopg2, which we do not ship; psycopg 3 is the driver.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        # WAL lets readers keep reading the last committed harvest while a new one is written.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # The sqlite3 driver would only send BEGIN before the first write, so the reads of a
        # transaction would not share one snapshot (a push could see an EVSE before and its
        # connectors after another commit). We send BEGIN ourselves (below).
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers that read first (harvests, pushes) take the write lock at once: upgrading
        # a read snapshot to a write after another commit would fail in WAL mode.
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def write_session(sessions: sessionmaker[Session]):
    """A transaction that will write: `with write_session(sessions) as session:`. On SQLite
    it takes the write lock at BEGIN; elsewhere it is an ordinary transaction."""
    session = sessions()
    session.connection(execution_options={"sqlite_immediate": True})
    return _Transaction(session)


def repeatable_read(session: Session):
    """Make the session's transaction read one snapshot on PostgreSQL (SQLite's are snapshots
    already); call it before the session's first query. Returns the connection."""
    return session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


class _Transaction:
    def __init__(self, session: Session):
        self.session = session

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if kind is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()


# Every OCPI document goes through these (see nap/jsonutil.py).
JSON_CODEC = {"json_serializer": jsonutil.dumps_text, "json_deserializer": jsonutil.loads}

# A connect timeout keeps an unreachable database from hanging requests. Smaller multi-row
# INSERTs: psycopg re-parses every large statement (it caches only small ones); 100 rows a
# statement measured about 12% faster harvests than 1,000.
_POSTGRESQL_POOL = dict(pool_size=5, max_overflow=10, pool_timeout=10, connect_args={"connect_timeout": 5},
                        insertmanyvalues_page_size=100, **JSON_CODEC)


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    url = _normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **JSON_CODEC)
        _configure_sqlite(engine)
        return engine
    # pre_ping replaces connections a database restart killed, so the API recovers by itself.
    return create_engine(url, pool_pre_ping=True, **_POSTGRESQL_POOL)


@lru_cache(maxsize=8)
def unpinged_engine(engine: Engine) -> Engine:
    """A second pool on `engine`'s PostgreSQL database, whose checkouts are not pinged, for a
    caller that retries a statement itself when its connection turns out dead (and then
    disposes of the pool: a restart killed every idle connection in it). The ping is a round
    trip of its own; on the status PATCH, whose write is one statement, it took as long
    as the statement itself (py-spy, bench/README.md)."""
    return create_engine(engine.url, pool_pre_ping=False, **_POSTGRESQL_POOL)


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)
