"""Shared test fixtures: real databases (SQLite and PostgreSQL), real servers on loopback."""
from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

from nap.config import Settings
from nap.store.db import get_engine, session_factory
from nap.store.migrate import upgrade
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent
# A session key for the encrypted CPO tokens (subprocesses inherit it), so tests never
# create the development key file.
os.environ.setdefault("NAP_TOKEN_KEYS", __import__("cryptography.fernet", fromlist=["Fernet"]).Fernet.generate_key().decode())
# The reference specs and fixtures outside the repository: NAP_SHARED_DIR, else the clone's
# sibling ../shared. Every path the tests read from it is derived here.
SHARED = Path(os.environ.get("NAP_SHARED_DIR") or REPO.parent / "shared")
OCPI_SPEC = SHARED / "spec"  # ocpi-<version>/examples/*.json
DATEX2_XSD_DIR = SHARED / "spec" / "datex2-3.7"  # DATEXII_3_D2Payload.xsd and examples/*.xml
DATEX2_DE_AFIR_DIR = SHARED / "spec" / "datex2-de-afir-01-00-00"  # Germany's AFIR profile (Mobilithek)
REAL_FEEDS = SHARED / "fixtures" / "real-ocpi-feeds"


# Tests whose subject does not depend on the database engine (a page in the browser, what
# the normalizer makes of every example and real feed): when PostgreSQL is there they run on
# it alone, the production engine, instead of twice. The rest of the suite covers both.
ENGINE_AGNOSTIC = (
    "tests/test_portal_browser",
    "tests/test_map_browser",
    "tests/test_statistics_browser",
    "tests/test_real_feeds.py::test_every_publishable_evse_of_a_real_feed_is_published",
    "tests/test_harvester.py::test_every_example_and_real_feed_is_stored_or_explained",
)


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("NAP_TEST_POSTGRES_URL"):
        return
    kept, twice = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_sqlite = str(params.get("database_url", "")).startswith("sqlite")
        (twice if on_sqlite and item.nodeid.startswith(ENGINE_AGNOSTIC) else kept).append(item)
    if twice:
        config.hook.pytest_deselected(items=twice)
        items[:] = kept


def pytest_configure(config):
    # Without the specs, tests parametrized over their examples would collect nothing and pass.
    if not (DATEX2_XSD_DIR / "DATEXII_3_D2Payload.xsd").is_file() or not REAL_FEEDS.is_dir():
        raise pytest.UsageError(f"no reference specs and fixtures in {SHARED}: set NAP_SHARED_DIR "
                                "to the shared/ folder that holds spec/ and fixtures/")


_template_ready = False


def _postgres_admin_url() -> str:
    """The admin URL from NAP_TEST_POSTGRES_URL. Unset: the PostgreSQL items skip, so that
    `pytest` runs without a server. Set but empty (`make test` when scripts/test-postgres.sh
    failed): they fail, so that CI cannot lose them quietly."""
    url = os.environ.get("NAP_TEST_POSTGRES_URL")
    if url is None:
        pytest.skip("no PostgreSQL: NAP_TEST_POSTGRES_URL is not set (`make test` starts a server and sets it)")
    if not url.strip():
        pytest.fail("NAP_TEST_POSTGRES_URL is empty: scripts/test-postgres.sh printed no server URL")
    return url.strip().replace("postgresql://", "postgresql+psycopg://", 1)


def _admin_execute(statement: str) -> None:
    engine = create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        try:
            connection = engine.connect()
        except OperationalError as error:
            pytest.fail(f"NAP_TEST_POSTGRES_URL is set, but its server does not answer: {error}")
        with connection:
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
    def dropped() -> bool:
        try:
            _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return True
        except Exception:  # noqa: BLE001 - any failure here is only a leftover database
            return False

    try:
        wait_until(dropped, timeout=3, what=f"database {name} to be dropped", interval=0.2)
    except AssertionError:
        pass


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
    # Exports (and the DATEX II table files the worker writes ahead) into the test's own directory.
    return Settings(database_url=database_url, harvest_page_limit=50, outbound_allow=("127.0.0.0/8",),
                    mail_outbox_dir=str(tmp_path / "outbox"), export_dir=str(tmp_path / "exports"))


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
