"""Harvests across real processes: a worker SIGKILLed mid-harvest, and two workers sharing
one PostgreSQL database."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import Future
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from demo_cpo.fleet import generate_fleet
from demo_cpo.server import DemoOptions, create_app, touch_location
from nap.feeds import add_feed
from nap.store.tables import Feed, HarvestRun
from tests.harvest_helpers import harvest, register_and_harvest, stored_locations
from tests.settings_helpers import replace
from tests.waiting import wait_until


def _nap(args: list[str], database_url: str, **env) -> subprocess.Popen:
    environment = {**os.environ, "NAP_DATABASE_URL": database_url, "NAP_OUTBOUND_ALLOW": "127.0.0.0/8",
                   **{k: str(v) for k, v in env.items()}}
    return subprocess.Popen([sys.executable, "-m", "nap.cli", *args], env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _later_ticks(live_server, sessions, ticks: int = 2) -> int:
    """Add feeds one at a time, each once the one before is harvested, `ticks` of them;
    return how many. Each of these harvests comes from a tick that began after every earlier
    harvest had ended: whatever a tick did twice is in the database by then. (Which worker
    takes a feed is the lease's race, so the test does not ask for a particular one.)"""
    for number in range(ticks):
        fleet = generate_fleet(locations=1, seed=100 + number, party_id=f"Z{number:02d}")
        cpo = live_server(create_app(fleet, DemoOptions(seed=100 + number)))
        with sessions.begin() as session:
            feed = add_feed(session, name=f"later-{number:02d}", versions_url=f"{cpo.url}/ocpi/versions",
                            token="demo-token", country_code="DE", party_id=f"Z{number:02d}")
            feed_id = feed.id

        def harvested() -> bool:
            with sessions() as session:
                return session.scalar(select(HarvestRun.id).where(HarvestRun.feed_id == feed_id,
                                                                  HarvestRun.status != "running")) is not None
        wait_until(harvested, 30, f"feed later-{number:02d} to be harvested")
    return ticks


def test_a_worker_killed_mid_harvest_leaves_the_previous_data_and_the_next_run_completes(
        demo_cpo, sessions, settings, database_url):
    """Fails without the protection: with the harvest committing page by page instead of
    once per run, the killed run's first pages are visible (checked by that mutation)."""
    cpo = demo_cpo(locations=120, page_limit=10)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    before = stored_locations(sessions)
    now = datetime.now(timezone.utc)
    for index in range(120):
        touch_location(cpo.app, index, now)
    cpo.app.config["OPTIONS"].slow_ms = 200
    log = cpo.app.config["REQUEST_LOG"]
    log.clear()

    process = _nap(["harvest", "demo"], database_url, NAP_HARVEST_PAGE_LIMIT=10, NAP_FULL_SYNC_HOURS=0)
    location_pages = lambda: sum(1 for r in log if r["path"].endswith("/locations"))
    wait_until(lambda: location_pages() >= 5, 30, "the harvest to store a few pages")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    assert stored_locations(sessions) == before  # nothing of the killed run is visible
    with sessions() as session:
        assert session.scalars(select(HarvestRun.status).order_by(HarvestRun.id)).all() == ["success", "running"]

    cpo.app.config["OPTIONS"].slow_ms = 0
    run = harvest(sessions, settings)
    assert run.status == "success", run.error
    served = {loc["id"]: loc for loc in cpo.app.config["FLEET"].locations}
    assert {i: loc["evses"][0]["status"] for i, loc in stored_locations(sessions).items()} == \
        {i: loc["evses"][0]["status"] for i, loc in served.items()}
    with sessions() as session:
        abandoned = session.scalars(select(HarvestRun).order_by(HarvestRun.id)).all()[1]
    assert abandoned.status == "failed" and abandoned.error.startswith("abandoned")


def test_two_workers_on_one_postgresql_never_harvest_a_feed_twice(live_server, sessions, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes share a PostgreSQL database in production")
    feeds = 20
    for number in range(feeds):
        fleet = generate_fleet(locations=4, seed=number, party_id=f"P{number:02d}")
        cpo = live_server(create_app(fleet, DemoOptions(slow_ms=100, page_limit=2, seed=number)))
        with sessions.begin() as session:
            add_feed(session, name=f"cpo-{number:02d}", versions_url=f"{cpo.url}/ocpi/versions", token="demo-token",
                     country_code="DE", party_id=f"P{number:02d}")
    workers = [_nap(["worker", "--tick", "1"], database_url, NAP_WORKER_THREADS=3) for _ in range(2)]
    try:
        def finished() -> int:
            with sessions() as session:
                return len(session.scalars(select(HarvestRun).where(HarvestRun.status != "running")).all())
        wait_until(lambda: finished() >= feeds, 90, "every feed to be harvested")
        feeds += _later_ticks(live_server, sessions)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=20)
    with sessions() as session:
        runs = session.scalars(select(HarvestRun)).all()
    assert len(runs) == feeds
    assert sorted(run.feed_id for run in runs) == sorted({run.feed_id for run in runs})
    assert all(run.status == "success" for run in runs), [run.error for run in runs]
    assert len({run.worker.rsplit(":", 1)[0] for run in runs}) == 2  # both processes took part


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_api_processes_and_two_workers_share_one_postgresql(live_server, sessions, database_url, tmp_path):
    """The deployment shape: N API processes, M workers, one PostgreSQL. Each feed is
    harvested once, the daily export is made once, and every API process serves it all."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several nodes share a PostgreSQL database in production")
    import httpx

    feeds = 6
    for number in range(feeds):
        fleet = generate_fleet(locations=3, seed=number, party_id=f"Q{number:02d}")
        cpo = live_server(create_app(fleet, DemoOptions(slow_ms=50, seed=number)))
        with sessions.begin() as session:
            add_feed(session, name=f"cpo-{number}", versions_url=f"{cpo.url}/ocpi/versions", token="demo-token",
                     country_code="DE", party_id=f"Q{number:02d}")
    exports = tmp_path / "exports"
    env = {"NAP_EXPORT_DIR": str(exports), "NAP_WORKER_THREADS": 2, "NAP_EXPORT_HOUR_UTC": 0}
    ports = [_free_port(), _free_port()]
    apis = [_nap(["serve", "--port", str(port), "--workers", "1"], database_url, **env) for port in ports]
    workers = [_nap(["worker", "--tick", "1"], database_url, **env) for _ in range(2)]
    try:
        def finished() -> int:
            with sessions() as session:
                return len(session.scalars(select(HarvestRun).where(HarvestRun.status != "running")).all())
        wait_until(lambda: finished() >= feeds, 60, "every feed to be harvested")
        later_feeds = _later_ticks(live_server, sessions)
        # The first daily export ran on a tick before the harvests ended; tomorrow's would
        # be another lease. Exactly one snapshot of today exists.
        snapshots = [p for p in exports.iterdir() if not p.name.startswith(".")]
        assert len(snapshots) == 1
        bodies = []
        for port in ports:
            wait_until(lambda: _ready(httpx, port), 30, "the API process to be ready")
            bodies.append(httpx.get(f"http://127.0.0.1:{port}/ocpi/2.3.0/locations").json()["data"])
        assert len(bodies[0]) == feeds * 3 + later_feeds and bodies[0] == bodies[1]
        metrics = httpx.get(f"http://127.0.0.1:{ports[1]}/metrics").text
        # Each feed harvested once, successfully (every status is listed per feed, from 0).
        assert all(f'nap_harvest_runs_total{{feed="cpo-{number}",status="success"}} 1.0' in metrics
                   for number in range(feeds)), metrics
    finally:
        for process in apis + workers:
            process.send_signal(signal.SIGTERM)
        for process in apis + workers:
            process.wait(timeout=30)
    with sessions() as session:
        runs = session.scalars(select(HarvestRun)).all()
        from nap.store.tables import Lease
        export_leases = session.scalars(select(Lease).where(Lease.name.like("daily-export:%"))).all()
    assert len(runs) == feeds + later_feeds and len({r.feed_id for r in runs}) == feeds + later_feeds
    assert len(export_leases) == 1


def _ready(httpx, port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_a_slow_cpo_does_not_hold_up_the_others(live_server, sessions, settings, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: one worker harvests one feed at a time there")
    from nap.worker import run_due_feeds

    for number, slow_ms in enumerate((1500, 0, 0)):
        _demo_feed(live_server, sessions, number, slow_ms, party="S")
    assert sorted(run_due_feeds(sessions, settings)) == ["cpo-0", "cpo-1", "cpo-2"]
    with sessions() as session:
        runs = {run.feed_id: run for run in session.scalars(select(HarvestRun))}
    slow, fast = runs[1], [runs[2], runs[3]]
    assert all(run.status == "success" for run in runs.values())
    assert all((slow.finished_at - run.finished_at).total_seconds() > 2 for run in fast)


def test_the_worker_tick_starts_feeds_without_waiting_for_a_slow_one(live_server, sessions, settings, database_url):
    """The worker's tick hands feeds to its threads and returns: a feed that falls due while
    a slow CPO is still being harvested is started by the next tick, and the slow feed is
    not started twice."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: the worker harvests one feed at a time there")
    from nap.worker import HarvestDispatcher

    dispatcher = HarvestDispatcher(sessions, settings)
    try:
        _demo_feed(live_server, sessions, 0, slow_ms=3000, party="T")
        first = dispatcher.tick()
        assert len(first) == 1 and not first[0].done()  # the tick did not wait for the harvest
        _demo_feed(live_server, sessions, 1, slow_ms=0, party="T")  # falls due while cpo-0 is still running
        second = dispatcher.tick()
        assert len(second) == 1  # cpo-1 only: cpo-0 is still running here and not queued again
        assert second[0].result(timeout=30) == "cpo-1"
        assert not _finished_run(sessions, "cpo-0") and _finished_run(sessions, "cpo-1")
        assert first[0].result(timeout=60) == "cpo-0"
    finally:
        dispatcher.shutdown()


def test_a_harvest_waiting_for_its_cpo_steps_aside_for_the_next_feed(live_server, sessions, settings,
                                                                    database_url):
    """One harvest thread: the slow CPO's run steps aside once it has waited for one answer
    longer than the setting, and the feed queued behind it runs and ends meanwhile (without
    the step aside it would start only after the slow run). The next time, the feed known
    to be slow starts aside at once, beside the other on the thread."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: nothing runs beside a harvest there")
    from nap.feeds import request_harvest
    from nap.worker import HarvestDispatcher

    for number, slow_ms in enumerate((1500, 0)):
        _demo_feed(live_server, sessions, number, slow_ms, party="W")
    dispatcher = HarvestDispatcher(sessions, replace(settings, worker_threads=1, worker_waiting_threads=1,
                                                     harvest_slow_answer_seconds=0.5))
    try:
        assert _the_queued_feed_ends_first(dispatcher, sessions).result(timeout=60) == "cpo-0"

        with sessions.begin() as session:
            for name in ("cpo-0", "cpo-1"):
                request_harvest(session, session.scalars(select(Feed).where(Feed.name == name)).one())
        again = dispatcher.tick()
        assert len(again) == 2  # cpo-0 aside, cpo-1 on the thread
        assert sorted(future.result(timeout=60) for future in again) == ["cpo-0", "cpo-1"]
    finally:
        dispatcher.shutdown()


def test_a_harvest_whose_cpo_fails_an_answer_steps_aside_for_the_next_feed(live_server, sessions, settings,
                                                                           database_url):
    """One harvest thread: the failing CPO's run steps aside at its first retry, long before
    it has waited for one answer as long as a slow one (the threshold is out of reach here),
    and the feed queued behind it runs and ends while the failing one still backs off.
    Without the retry rule the queued feed started only after the failing run had ended
    (checked)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: nothing runs beside a harvest there")
    from nap.worker import HarvestDispatcher

    _demo_feed(live_server, sessions, 0, 0, party="F", fail_rate=1.0)
    _demo_feed(live_server, sessions, 1, 0, party="F")
    # Back-offs of 1, 2 and 4 s (with jitter): the failing run lasts about 7 s.
    dispatcher = HarvestDispatcher(sessions, replace(settings, worker_threads=1, worker_waiting_threads=1,
                                                     harvest_slow_answer_seconds=60, retry_backoff_seconds=1.0,
                                                     retry_attempts=4))
    try:
        _the_queued_feed_ends_first(dispatcher, sessions).result(timeout=60)
    finally:
        dispatcher.shutdown()
    with sessions() as session:
        statuses = dict(session.execute(select(Feed.name, HarvestRun.status).join(HarvestRun)).all())
    assert statuses == {"cpo-0": "failed", "cpo-1": "success"}


def test_what_one_worker_learned_of_a_slow_flaky_or_failing_cpo_every_worker_knows(live_server, sessions, settings,
                                                                                   database_url):
    """The runs record how long their CPO kept them waiting for one answer and how many
    requests they tried again. A worker that never ran the slow, failing and flaky feeds
    (another node, or one restarted) starts them aside at once, beside the quick feed on its
    one thread, because their last runs say so."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: nothing runs beside a harvest there")
    from nap.feeds import request_harvest
    from nap.worker import HarvestDispatcher, run_due_feeds

    for number, slow_ms in enumerate((1500, 0)):
        _demo_feed(live_server, sessions, number, slow_ms, party="L")
    _demo_feed(live_server, sessions, 2, 0, party="L", fail_rate=1.0)
    _demo_feed(live_server, sessions, 3, 0, party="L", fail_rate=0.5)  # the retries get through
    names = ["cpo-0", "cpo-1", "cpo-2", "cpo-3"]
    quick = replace(settings, worker_threads=1, worker_waiting_threads=3, harvest_slow_answer_seconds=0.5,
                    retry_backoff_seconds=0.01, retry_attempts=8)
    assert sorted(run_due_feeds(sessions, quick)) == names  # as another worker would
    with sessions() as session:
        runs = {name: (slowest, retries, status) for name, slowest, retries, status in session.execute(
            select(Feed.name, HarvestRun.slowest_answer_seconds, HarvestRun.answer_retries, HarvestRun.status)
            .join(HarvestRun, HarvestRun.feed_id == Feed.id))}
    assert runs["cpo-0"][0] >= 1.5 and runs["cpo-1"][0] < 0.5 and runs["cpo-1"][1] == 0
    assert runs["cpo-2"][2] == "failed" and runs["cpo-2"][1] > 0
    assert runs["cpo-3"][2] == "success" and runs["cpo-3"][1] > 0 and runs["cpo-3"][0] < 0.5

    with sessions.begin() as session:
        for feed in session.scalars(select(Feed)):
            request_harvest(session, feed)
    dispatcher = HarvestDispatcher(sessions, quick)
    try:
        started = dispatcher.tick()
        assert len(started) == 4  # cpo-0, cpo-2 and cpo-3 aside at once, cpo-1 on the one thread
        assert sorted(future.result(timeout=60) for future in started) == names
    finally:
        dispatcher.shutdown()


def test_a_cpo_is_flaky_when_it_failed_a_tenth_of_its_answers_not_one_in_a_thousand():
    from nap.worker import LastRun

    assert LastRun(0.1, answer_retries=1, pages=4, failed=False).flaky()
    assert not LastRun(0.1, answer_retries=1, pages=1000, failed=False).flaky()
    assert LastRun(0.1, answer_retries=100, pages=1000, failed=False).flaky()
    assert not LastRun(0.1, answer_retries=0, pages=0, failed=False).flaky()
    # Why a feed starts aside: the reason the worker logs, or None when its CPO held nothing up.
    assert LastRun(6.0, 0, 4, failed=False).held_up(5.0) == "waited 6.0 s for one answer"
    assert LastRun(0.1, 1, 4, failed=False).held_up(5.0) == "took 1 retries for 4 pages"
    assert LastRun(0.1, 0, 4, failed=True).held_up(5.0) == "failed"
    assert LastRun(0.1, 1, 1000, failed=False).held_up(5.0) is None


def test_a_feed_suspended_while_it_waits_in_the_queue_is_not_harvested(live_server, sessions, settings,
                                                                       database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: nothing runs beside a harvest there")
    from nap.store.states import FeedStatus
    from nap.worker import HarvestDispatcher

    for number, slow_ms in enumerate((1000, 0)):
        _demo_feed(live_server, sessions, number, slow_ms, party="Q", locations=2)
    dispatcher = HarvestDispatcher(sessions, replace(settings, worker_threads=1, worker_waiting_threads=0))
    try:
        (slow,) = dispatcher.tick()  # cpo-1 waits in the queue
        with sessions.begin() as session:
            session.scalars(select(Feed).where(Feed.name == "cpo-1")).one().status = FeedStatus.SUSPENDED
        assert slow.result(timeout=60) == "cpo-0"
        wait_until(lambda: not dispatcher._queue, 10, "the queue to be worked off")
    finally:
        dispatcher.shutdown()
    assert not _finished_run(sessions, "cpo-1")


def _demo_feed(live_server, sessions, number: int, slow_ms: int, party: str, locations: int = 4,
               fail_rate: float = 0.0) -> None:
    """Feed cpo-<number>: a demo CPO serving two objects a page and taking slow_ms for each
    list request (answering 503 to `fail_rate` of them), under the party DE/<party><number>."""
    party_id = f"{party}{number:02d}"
    fleet = generate_fleet(locations=locations, seed=number, party_id=party_id)
    server = live_server(create_app(fleet, DemoOptions(slow_ms=slow_ms, page_limit=2, seed=number,
                                                       fail_rate=fail_rate)))
    with sessions.begin() as session:
        add_feed(session, name=f"cpo-{number}", versions_url=f"{server.url}/ocpi/versions", token="demo-token",
                 country_code="DE", party_id=party_id)


def _the_queued_feed_ends_first(dispatcher, sessions) -> Future:
    """One harvest thread, cpo-0's CPO holding its run up and cpo-1 queued behind it: the
    tick starts cpo-0 alone, and cpo-1 is harvested while cpo-0 still runs. cpo-0's future."""
    held_up = dispatcher.tick()
    assert len(held_up) == 1  # cpo-1 waits for the one thread
    wait_until(lambda: _finished_run(sessions, "cpo-1"), 30, "the queued feed to be harvested")
    assert not held_up[0].done()
    return held_up[0]


def _finished_run(sessions, name: str) -> bool:
    with sessions() as session:
        return session.scalar(select(HarvestRun.finished_at).join(Feed, Feed.id == HarvestRun.feed_id)
                              .where(Feed.name == name)) is not None


@pytest.mark.parametrize("command, stdin", [
    (["feeds", "add", "--name", "piped", "--versions-url", "https://cpo.example/ocpi/versions", "--token", "t"], ""),
    (["users", "add", "--email", "piped@example.com", "--password-stdin"], "a long enough password 42\n"),
    (["consumers", "add", "--name", "piped"], ""),
], ids=["feeds-add", "users-add", "consumers-add"])
def test_a_command_whose_output_went_away_still_saves_what_it_said(sessions, database_url, command, stdin):
    """`nap feeds add ... | head -1` printed "registered" and saved nothing: the output
    was written inside the transaction, and the broken pipe rolled it back. Here the
    reader is gone before the command writes a byte."""
    from sqlalchemy import func, text

    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head -1` after its line, or `| true`
    try:
        done = subprocess.run([sys.executable, "-m", "nap.cli", *command], stdout=write_end, input=stdin,
                              stderr=subprocess.PIPE, text=True, timeout=60,
                              env={**os.environ, "NAP_DATABASE_URL": database_url})
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr, done.stderr
    table, column, value = {"feeds": ("feeds", "name", "piped"), "users": ("users", "email", "piped@example.com"),
                            "consumers": ("consumers", "name", "piped")}[command[0]]
    with sessions() as session:
        assert session.execute(text(f"SELECT count(*) FROM {table} WHERE {column} = :v"), {"v": value}).scalar_one() == 1
