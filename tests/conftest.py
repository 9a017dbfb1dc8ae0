"""Shared test fixtures: real databases (SQLite and PostgreSQL), real servers on loopback."""
from __future__ import annotations

import os
import time
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from nap.config import Settings
from nap.store.db import get_engine, session_factory
from nap.store.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
# A session key for the encrypted CPO tokens (subprocesses inherit it), so tests never
# create the development key file.
os.environ.setdefault("NAP_TOKEN_KEYS", __import__("cryptography.fernet", fromlist=["Fernet"]).Fernet.generate_key().decode())
SHARED = Path(os.environ.get("NAP_SHARED_DIR", REPO.parent / "shared"))

_template_ready = False


def _postgres_admin_url() -> str:
    url = os.environ.get("NAP_TEST_POSTGRES_URL")
    if not url:
        pytest.fail("NAP_TEST_POSTGRES_URL is not set: run the suite with `make test`, which starts PostgreSQL")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _admin_execute(statement: str) -> None:
    engine = create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


# One template per test session: concurrent sessions on one server must not share it.
_TEMPLATE = f"nap_test_template_{os.getpid()}"


def _postgres_template() -> str:
    """A migrated template database; each test gets a fast copy of it."""
    global _template_ready
    name = _TEMPLATE
    if not _template_ready:
        _admin_execute(f"DROP DATABASE IF EXISTS {name}")
        _admin_execute(f"CREATE DATABASE {name}")
        url = _postgres_admin_url().rsplit("/", 1)[0] + f"/{name}"
        upgrade(url)
        get_engine(url).dispose()
        _template_ready = True
    return name


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_template():
    yield
    if _template_ready:
        _drop_database(_TEMPLATE)


@contextmanager
def postgres_database():
    template = _postgres_template()
    name = f"nap_test_{uuid.uuid4().hex[:12]}"
    _admin_execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    url = _postgres_admin_url().rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        _drop_database(name)


def _drop_database(name: str) -> None:
    """Cleanup must not fail a test: an autovacuum worker on the fresh database can make
    the drop fail for a moment; retry, and leave the database behind if it still fails."""
    for attempt in range(5):
        try:
            _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except Exception:  # noqa: BLE001 - any failure here is only a leftover database
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nap.sqlite3'}"
        upgrade(url)
        yield url
        get_engine(url).dispose()
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    # The demo CPO listens on loopback, which the SSRF guard refuses unless allow-listed.
    # Mail goes to the test's own outbox directory (no NAP_SMTP_URL), not to var/outbox.
    return Settings(database_url=database_url, harvest_page_limit=50, outbound_allow=("127.0.0.0/8",),
                    mail_outbox_dir=str(tmp_path / "outbox"))


@pytest.fixture
def sessions(settings):
    return session_factory(settings.database_url)


class LiveServer:
    """A WSGI app served for real on an ephemeral loopback port, in a thread."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # A short poll interval: shutdown() waits for it, once per server per test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def live_server():
    servers: list[LiveServer] = []

    def start(app) -> LiveServer:
        server = LiveServer(app)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def demo_cpo(live_server):
    """Start a demo CPO: demo_cpo(locations=20, ocpi_version="2.3.0", **options)."""
    from demo_cpo.fleet import generate_fleet
    from demo_cpo.server import DemoOptions, create_app

    def start(locations: int = 20, seed: int = 1, **options) -> LiveServer:
        options = DemoOptions(seed=seed, **options)
        server = live_server(create_app(generate_fleet(locations=locations, seed=seed), options))
        server.token = options.token
        server.versions_url = f"{server.url}/ocpi/versions"
        return server

    return start


@pytest.fixture
def nap_server(live_server, settings):
    from nap.app import create_app
    from tests.portal_fixtures import OUTBOXES

    server = live_server(create_app(settings))
    # So that PortalClient.signup can follow the verification link mailed to the outbox.
    OUTBOXES[server.url] = Path(settings.mail_outbox_dir)
    return server
