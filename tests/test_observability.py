"""Health, readiness, Prometheus metrics, JSON logs with request ids, and the API's
behaviour while its database is down."""
from __future__ import annotations

import io
import json
import logging

import httpx
import pytest
from sqlalchemy.engine import make_url

from nap.app import create_app
from nap.observability.logs import JsonFormatter, RequestIdFilter
from tests.harvest_helpers import register_and_harvest
from tests.settings_helpers import replace
from tests.tcp_proxy import TcpProxy
from tests.waiting import wait_until


def test_health_and_readiness(nap_server, live_server, tmp_path):
    assert httpx.get(f"{nap_server.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{nap_server.url}/ready")
    assert ready.status_code == 200 and ready.json()["migrations"] == "current"
    from nap.config import Settings

    unmigrated = live_server(create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")))
    behind = httpx.get(f"{unmigrated.url}/ready")
    assert behind.status_code == 503 and "nap db upgrade" in behind.json()["migrations"]


def test_ready_during_a_database_outage_names_no_host_nor_port(database_url, settings, live_server):
    """/ready is public: during an outage it says the database is unavailable and nothing
    more (it used to quote the driver's error: host and port)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("an embedded SQLite database cannot be down")
    url = make_url(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    proxy = TcpProxy(url.host, url.port or 5432).start()
    port = proxy.port
    proxy.cut()
    broken = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    secrets = ["127.0.0.1", str(port), url.database, "port"]
    nap = live_server(create_app(replace(settings, database_url=broken)))
    answer = httpx.get(f"{nap.url}/ready")
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "database": "unavailable"}
    assert not [secret for secret in secrets if secret in answer.text]


def test_metrics_show_the_harvest_that_just_ran(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=7)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    httpx.get(f"{nap_server.url}/ocpi/2.3.0/locations")
    text = httpx.get(f"{nap_server.url}/metrics").text
    assert 'nap_harvest_runs_total{feed="demo",status="success"} 1.0' in text
    assert 'nap_harvest_last_objects{feed="demo",outcome="new"}' in text
    assert 'nap_published_objects{kind="location"} 7.0' in text
    assert 'nap_harvest_last_duration_seconds{feed="demo"}' in text
    assert 'nap_http_request_duration_seconds_count{endpoint="/ocpi/2.3.0/locations",method="GET",status="200"}' in text


def test_json_logs_carry_the_request_id_and_no_token(nap_server):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        response = httpx.get(f"{nap_server.url}/ocpi/versions",
                             headers={"X-Request-ID": "req-42", "X-Correlation-ID": "corr-7"})
        logging.getLogger("nap.test").info("calling CPO with Authorization: Token c2VjcmV0")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    # OCPI 2.2+: the response carries the request's X-Request-ID and X-Correlation-ID.
    assert response.headers["X-Request-ID"] == "req-42" and response.headers["X-Correlation-ID"] == "corr-7"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [line for line in lines if line.get("path") == "/ocpi/versions"]
    assert access and access[0]["request_id"] == "req-42" and access[0]["status"] == 200
    assert access[0]["correlation_id"] == "corr-7"
    assert "c2VjcmV0" not in stream.getvalue() and "[redacted]" in stream.getvalue()
    # Without them (or with ones not fit for a log line), new ones.
    generated = httpx.get(f"{nap_server.url}/health", headers={"X-Correlation-ID": "a b\tc"}).headers
    assert len(generated["X-Request-ID"]) == 32 and len(generated["X-Correlation-ID"]) == 32


def test_database_down_gives_503_and_the_api_recovers_by_itself(database_url, demo_cpo, sessions, settings,
                                                               live_server):
    """Fails without the protection: with the outage handler removed (app-wide and in the
    blueprints' crash handler) the API answers 500 (checked by removing it). Recovery
    needs no restart: dead pooled connections are replaced (pre-ping, invalidation)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("an embedded SQLite database cannot be down")
    cpo = demo_cpo(locations=3)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    url = make_url(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    proxy = TcpProxy(url.host, url.port or 5432).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    nap = live_server(create_app(replace(settings, database_url=proxied)))
    locations = f"{nap.url}/ocpi/2.3.0/locations"
    assert httpx.get(locations).status_code == 200

    proxy.cut()
    down = httpx.get(locations)
    assert down.status_code == 503 and down.headers["Retry-After"]
    assert down.json()["status_code"] == 3000 and "database is unavailable" in down.json()["status_message"]
    assert httpx.get(f"{nap.url}/ready").status_code == 503
    datex = httpx.get(f"{nap.url}/datex2/v3.7/energy-infrastructure/table")
    assert datex.status_code == 503 and datex.json()["error"].startswith("the database is unavailable")

    proxy.start()  # same port: the database is back
    wait_until(lambda: httpx.get(locations).status_code == 200, timeout=10, what="the API to recover",
               interval=0.2)
    assert len(httpx.get(locations).json()["data"]) == 3
    proxy.cut()
