"""A harvest asked for (the portal's "harvest now", an approval, a party verified) is a
request the worker's tick runs, on SQLite and PostgreSQL: at the next tick whatever the
feed's interval, once however many workers saw it, never in the web process."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, update

from nap import worker
from nap.feeds import FeedError, get_feed, request_harvest, request_waits, waiting_harvest_request
from nap.store.db import get_engine
from nap.store.leases import Leases
from nap.store.migrate import alembic_config, upgrade
from nap.store.tables import Base, Feed, HarvestRun
from tests.harvest_helpers import register_and_harvest
from tests.portal_fixtures import add_user

ROOT = Path(__file__).resolve().parent.parent


def ask(sessions) -> datetime:
    with sessions.begin() as session:
        return request_harvest(session, get_feed(session, "demo"))


def run_count(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(HarvestRun))


def waiting(sessions) -> datetime | None:
    with sessions() as session:
        return waiting_harvest_request(session, get_feed(session, "demo"))


def test_a_request_is_harvested_at_the_next_tick_though_the_feed_was_harvested_a_minute_ago(
        demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=4)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    with sessions.begin() as session:
        session.execute(update(HarvestRun).values(started_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    assert worker.run_due_feeds(sessions, settings) == []  # its 15 minutes have not passed

    requested = ask(sessions)
    assert waiting(sessions) == requested
    with sessions() as session:
        assert [feed.name for feed in worker.due_feeds(session, datetime.now(timezone.utc))] == ["demo"]
    assert worker.run_due_feeds(sessions, settings) == ["demo"]
    with sessions() as session:
        latest = session.scalars(select(HarvestRun).order_by(HarvestRun.id.desc())).first()
        assert latest.status == "success" and latest.started_at >= requested
        assert get_feed(session, "demo").harvest_requested_at is None  # answered
    assert waiting(sessions) is None
    assert worker.run_due_feeds(sessions, settings) == []  # once
    assert run_count(sessions) == 2


def test_two_ticks_that_both_saw_a_request_run_it_once(demo_cpo, sessions, settings, monkeypatch):
    # Slow pages: the first tick's run is still going while the second one tries.
    cpo = demo_cpo(locations=6, page_limit=2, slow_ms=100)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    ask(sessions)
    both_looked = threading.Barrier(2, timeout=30)
    due_feeds = worker.due_feeds

    def look_together(session, now):
        due = due_feeds(session, now)
        both_looked.wait()
        return due

    monkeypatch.setattr(worker, "due_feeds", look_together)
    # Each tick has its own harvester and lease holder: two workers.
    with ThreadPoolExecutor(max_workers=2) as pool:
        ticks = list(pool.map(lambda _: worker.run_due_feeds(sessions, settings), range(2)))
    assert sorted(ticks) == [[], ["demo"]]
    assert run_count(sessions) == 2
    assert waiting(sessions) is None


def test_a_tick_that_saw_the_request_before_another_answered_it_does_not_run_it_again(
        demo_cpo, sessions, settings, monkeypatch):
    """The lease alone would let it: the first worker has let go of it. What keeps the second
    from running the request again is that it checks, under the lease, that it still waits."""
    cpo = demo_cpo(locations=4)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    ask(sessions)
    with sessions() as session:
        stale = worker.due_feeds(session, datetime.now(timezone.utc))
    assert [(feed.name, feed.requested) for feed in stale] == [("demo", True)]
    assert worker.run_due_feeds(sessions, settings) == ["demo"]

    monkeypatch.setattr(worker, "due_feeds", lambda session, now: stale)
    assert worker.run_due_feeds(sessions, settings) == []
    assert run_count(sessions) == 2


def test_a_request_waits_while_another_process_harvests_the_feed(demo_cpo, sessions, settings):
    """That run may have started before the request: the request is answered by the next."""
    cpo = demo_cpo(locations=4)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    requested = ask(sessions)
    with sessions() as session:
        feed_id = get_feed(session, "demo").id
    elsewhere = Leases(sessions, holder="another-host:1:worker")
    assert elsewhere.acquire(f"harvest:feed:{feed_id}", timedelta(minutes=5))
    assert worker.run_due_feeds(sessions, settings) == []
    assert waiting(sessions) == requested  # not lost
    elsewhere.release(f"harvest:feed:{feed_id}")
    assert worker.run_due_feeds(sessions, settings) == ["demo"]
    assert waiting(sessions) is None and run_count(sessions) == 2


def test_only_an_active_feed_is_harvested_on_request(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=2)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    ask(sessions)
    with sessions.begin() as session:
        session.execute(update(Feed).values(status="suspended"))
    assert waiting(sessions) is None
    assert worker.run_due_feeds(sessions, settings) == []
    with sessions.begin() as session, pytest.raises(FeedError, match="demo is suspended"):
        request_harvest(session, get_feed(session, "demo"))
    assert run_count(sessions) == 1


def test_a_request_is_answered_by_a_run_started_at_or_after_it():
    now = datetime.now(timezone.utc)
    assert not request_waits(None, now)
    assert request_waits(now, None)
    assert request_waits(now, now - timedelta(seconds=1))  # that run started before it was asked
    assert not request_waits(now, now)
    assert not request_waits(now, now + timedelta(seconds=1))


# The web process: create the app, sign in as an admin, ask for a harvest; then list the
# harvesting modules it has imported.
WEB_PROCESS = """
import json, sys
from nap.app import create_app
from nap.config import Settings
from tests.portal_fixtures import PASSWORD, csrf_from

url, feed_id = sys.argv[1], int(sys.argv[2])
client = create_app(Settings(database_url=url)).test_client()
login = client.get("/login").text
client.post("/login", data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": csrf_from(login)})
admin = client.get("/admin/").text
asked = client.post(f"/admin/feeds/{feed_id}/harvest", data={"csrf_token": csrf_from(admin)})
print(json.dumps({"status": asked.status_code, "location": asked.headers.get("location"),
                  "page": client.get("/admin/").text,
                  "harvesters": sorted(m for m in sys.modules if m.startswith("harvesters."))}))
"""


def test_the_web_process_asks_for_a_harvest_and_imports_no_harvester(demo_cpo, sessions, settings, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("what the web process imports does not depend on the database")
    cpo = demo_cpo(locations=2)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    add_user(sessions, "admin@example.com", role="admin")
    with sessions() as session:
        feed_id = get_feed(session, "demo").id
    answer = subprocess.run([sys.executable, "-c", WEB_PROCESS, database_url, str(feed_id)],
                            capture_output=True, text=True, timeout=120, check=True, cwd=ROOT)
    web = json.loads(answer.stdout.splitlines()[-1])
    assert web["status"] == 302 and web["location"].startswith("/admin/")
    assert "Harvest of demo requested" in web["page"] and 'data-testid="harvest-requested"' in web["page"]
    assert "harvesters.harvest" not in web["harvesters"], web["harvesters"]
    assert waiting(sessions) is not None and run_count(sessions) == 1
    assert worker.run_due_feeds(sessions, settings) == ["demo"]


def test_migration_0013_matches_the_model_and_downgrades(database_url):
    engine = get_engine(database_url)
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if "harvest_requested_at" in repr(d)] == []
    columns = lambda: {column["name"] for column in inspect(engine).get_columns("feeds")}
    assert "harvest_requested_at" in columns()
    command.downgrade(alembic_config(database_url), "0012")
    assert "harvest_requested_at" not in columns()
    upgrade(database_url)
    assert "harvest_requested_at" in columns()


def test_an_operator_asks_from_the_command_line_and_the_next_tick_runs_it(demo_cpo, sessions, settings):
    from click.testing import CliRunner

    from nap.cli import main

    cpo = demo_cpo(locations=3)
    register_and_harvest(sessions, settings, cpo)
    runs = run_count(sessions)
    env = {"NAP_DATABASE_URL": settings.database_url}

    asked = CliRunner().invoke(main, ["feeds", "request-harvest", "demo"], env=env)

    assert asked.exit_code == 0, asked.output
    assert "harvest of demo requested" in asked.output
    assert waiting(sessions) is not None
    assert worker.run_due_feeds(sessions, settings) == ["demo"]
    assert run_count(sessions) == runs + 1
    unknown = CliRunner().invoke(main, ["feeds", "request-harvest", "nobody"], env=env)
    assert unknown.exit_code != 0 and "nobody" in unknown.output
