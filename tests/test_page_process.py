"""The harvest's page process (harvesters/page_process.py): a pull that goes on in a child
process stores exactly what one in the harvest process stores, and every way the child's
side can fail fails the run cleanly, with the previous data kept and no process left over.
Against the demo CPO over real HTTP, on SQLite and PostgreSQL.

Mutations checked: a child that skips its first page fails the first tests; reading the
child's "error" frame as the end of its pages, or a close() that does not kill it, fails
the failure tests.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import signal
import threading
import time
from dataclasses import replace as replace_job

import pytest
from sqlalchemy import select

import harvesters.harvest
from harvesters.answer_waits import AnswerWaits, ReportedWaits
from nap.ocpi.findings import ObjectFinding
from harvesters.page_process import PageJob, PageProcess, PageProcessError, _PlainUnpickler
from nap.store.tables import COMPLETED_RUN_STATUSES, Feed, Finding, HarvestRun, Location
from tests.conftest import OCPI_SPEC
from tests.harvest_helpers import delete_feed, harvest, register, register_and_harvest, stored_locations
from tests.settings_helpers import replace
from tests.waiting import wait_until


@pytest.fixture
def started(monkeypatch):
    """The page processes the harvester starts, to see that one was used and that it ended."""
    processes: list[PageProcess] = []

    class Observed(PageProcess):
        def __init__(self):
            super().__init__()
            processes.append(self)

    monkeypatch.setattr(harvesters.harvest, "PageProcess", Observed)
    return processes


def _in_child(settings):
    return replace(settings, harvest_page_process_min_objects=1)


def _inline(settings):
    return replace(settings, harvest_page_process_min_objects=0)


def _run_figures(run: HarvestRun) -> tuple:
    return (run.status, run.pages, run.bytes, run.objects_received, run.objects_new, run.objects_changed,
            run.objects_unchanged, run.objects_skipped, run.findings, run.unit_counts)


def _stored(sessions) -> tuple:
    with sessions() as session:
        raw = {row.ocpi_id: (row.raw, row.content_hash, row.last_updated, row.publish)
               for row in session.scalars(select(Location))}
        found = sorted((f.object_type, f.object_id or "", f.field or "", f.reason, f.severity)
                       for f in session.scalars(select(Finding)))
    return stored_locations(sessions), raw, found


def _assert_ended(processes: list[PageProcess]) -> None:
    assert processes and all(p._process.poll() is not None for p in processes)


def test_a_pull_through_the_page_process_stores_what_one_in_process_stores(demo_cpo, sessions, settings, started):
    cpo = demo_cpo(locations=230, broken_objects=9)  # 5 pages of 50
    inline = register_and_harvest(sessions, _inline(settings), cpo, name="feed")
    assert not started
    expected = _stored(sessions), _run_figures(inline)
    delete_feed(sessions, "feed")

    child = register_and_harvest(sessions, _in_child(settings), cpo, name="feed")
    assert len(started) == 1  # Locations only: tariffs are pulled in the harvest process
    _assert_ended(started)
    assert (_stored(sessions), _run_figures(child)) == expected
    # Completed (degraded, once the broken objects' EVSEs are counted as skipped), with the
    # units its pages counted carried across from the child (compared in the figures above).
    assert child.status in COMPLETED_RUN_STATUSES, _run_figures(child)
    assert child.objects_skipped > 0 and child.objects_new > 200, _run_figures(child)
    assert child.unit_counts["locations"]["served"] == 230 and child.unit_counts["evses"]["skipped"] > 0
    # And another pull through it changes nothing.
    again = harvest(sessions, replace(_in_child(settings), full_sync_hours=0), "feed")
    assert again.status == child.status and again.objects_new == 0
    assert again.objects_unchanged == child.objects_new


def test_a_feed_pulls_through_a_page_process_until_a_run_shows_it_small(demo_cpo, sessions, settings, started):
    """A feed never harvested may be large: its first run pulls Locations through a page
    process. Once its last good full sync was small, full syncs stay in the harvest process."""
    cpo = demo_cpo(locations=30)
    run = register_and_harvest(sessions, settings, cpo)
    assert run.status == "success" and run.objects_new == 30 + 10
    assert len(started) == 1
    _assert_ended(started)
    again = harvest(sessions, replace(settings, full_sync_hours=0))
    assert again.status == "success" and again.full_sync and len(started) == 1


def test_objects_appearing_while_the_child_pages_are_all_harvested(demo_cpo, sessions, settings, started):
    cpo = demo_cpo(locations=30, page_limit=10, grow_while_paging=7)
    run = register_and_harvest(sessions, _in_child(settings), cpo)
    assert run.status == "success" and started
    assert len(stored_locations(sessions)) == 37


def _after_first_locations_page(cpo, react) -> None:
    """Calls react(app) once the CPO has answered its first Locations page."""
    app, served, inner = cpo.app, [], cpo.app.wsgi_app

    def wsgi_app(environ, start_response):
        body = inner(environ, start_response)
        if environ["PATH_INFO"].endswith("/locations"):
            served.append(environ.get("QUERY_STRING"))
            if len(served) == 1:
                react(app)
        return body

    app.wsgi_app = wsgi_app


def _previous_data(demo_cpo, sessions, settings, locations=120, **options):
    cpo = demo_cpo(locations=locations, **options)
    assert register_and_harvest(sessions, _inline(settings), cpo).status == "success"
    return cpo, stored_locations(sessions)


def test_credentials_revoked_while_the_child_pages(demo_cpo, sessions, settings, started):
    cpo, before = _previous_data(demo_cpo, sessions, settings)
    _after_first_locations_page(cpo, lambda app: app.config.update(REVOKED=True))
    run = harvest(sessions, replace(_in_child(settings), full_sync_hours=0))
    assert run.status == "failed" and "credentials rejected" in run.error
    with sessions() as session:
        assert session.scalar(select(Feed.status)) == "needs_credentials"
    assert stored_locations(sessions) == before
    _assert_ended(started)


def test_a_cpo_failing_while_the_child_pages(demo_cpo, sessions, settings, started):
    cpo, before = _previous_data(demo_cpo, sessions, settings)
    _after_first_locations_page(cpo, lambda app: app.config["OPTIONS"].__setattr__("fail_rate", 1.0))
    run = harvest(sessions, replace(_in_child(settings), full_sync_hours=0, retry_attempts=2,
                                    retry_backoff_seconds=0.01))
    assert run.status == "failed" and "failed after 2 attempts: HTTP 503" in run.error
    assert stored_locations(sessions) == before
    _assert_ended(started)


def test_a_child_that_dies_fails_the_run_and_keeps_the_data(demo_cpo, sessions, settings, started):
    cpo, before = _previous_data(demo_cpo, sessions, settings, slow_ms=150)

    def kill_soon(app):
        def kill():
            while not started:
                threading.Event().wait(0.01)
            os.kill(started[0]._process.pid, signal.SIGKILL)
        threading.Thread(target=kill, daemon=True).start()

    _after_first_locations_page(cpo, kill_soon)
    run = harvest(sessions, replace(_in_child(settings), full_sync_hours=0))
    assert run.status == "failed" and "the page process ended unexpectedly" in run.error
    assert stored_locations(sessions) == before
    _assert_ended(started)
    # Nothing is left of it: the next run completes.
    assert harvest(sessions, _in_child(settings)).status == "success"


def test_a_run_that_stops_early_ends_its_child(demo_cpo, sessions, settings, started):
    # Tariffs, then the first page of locations take 0.8 s; the second arrives after the run's 1 s.
    cpo, before = _previous_data(demo_cpo, sessions, settings, slow_ms=400)
    run = harvest(sessions, replace(_in_child(settings), full_sync_hours=0, harvest_max_seconds=1))
    assert run.status == "failed" and "took longer than 1 s" in run.error
    assert stored_locations(sessions) == before
    _assert_ended(started)


def _job(cpo, kind="location", **limits) -> PageJob:
    from harvesters.ocpi_client import ClientLimits
    from harvesters.normalize.common import FeedIdentity

    return PageJob(cpo.token, ClientLimits(allowed_networks=("127.0.0.0/8",), **limits), False, {}, "2.3.0",
                   FeedIdentity("DE", "ABC"), kind, f"{cpo.url}/ocpi/2.3.0/locations", 50, None)


def test_the_child_sees_neither_the_token_nor_naps_settings(demo_cpo, monkeypatch):
    """The token reaches the child on stdin only; NAP's settings (database URL, keys) are
    not in its environment. Read from /proc while it runs. (Mutation checked: passing the
    worker's whole environment fails it.)"""
    monkeypatch.setenv("NAP_SECRET_KEY", "a-secret-the-child-must-not-have")
    cpo = demo_cpo(locations=60, slow_ms=300)
    process = PageProcess()
    try:
        process.start(_job(cpo))
        pid = process._process.pid
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline, open(f"/proc/{pid}/environ", "rb") as environ:
            seen = cmdline.read() + environ.read()
        assert cpo.token.encode() not in seen and b"NAP_SECRET_KEY" not in seen
        assert sum(page.received for page in process.pages()) == 60
    finally:
        process.close()


def test_the_child_reports_a_long_wait_for_its_cpo_while_it_lasts(demo_cpo):
    """The worker lets a run held up by its CPO step aside (nap/worker.py): it must see a
    wait of the child's as it goes on, not once the page has come."""
    cpo = demo_cpo(locations=20, slow_ms=2500)  # one page of 50
    process = PageProcess()
    waits = AnswerWaits()
    pages = []
    try:
        process.start(replace_job(_job(cpo), report_waits_after=0.3))
        reader = threading.Thread(target=lambda: pages.extend(process.pages(waits)))
        reader.start()
        wait_until(lambda: waits.longest_now() >= 1.0, 10, "the child's wait to be seen")
        assert not pages  # seen while the CPO was still composing its answer
        reader.join(30)
    finally:
        process.close()
    assert len(pages) == 1 and 2.5 <= waits.longest < 10
    assert waits.longest_now() == waits.longest  # the wait ended with its answer


def test_quick_answers_cost_the_child_no_report():
    frames = []
    reported = ReportedWaits(frames.append, after=0.5)
    with reported.waiting():
        pass
    time.sleep(0.6)
    assert frames == [] and reported.longest < 0.5


def test_the_run_learns_the_waits_of_its_page_process(demo_cpo, sessions, settings, started):
    """Only Locations here (the spec's version details without Tariffs), pulled in the
    child: the run's waits, which the worker watches, hold the CPO's slow answers all the
    same. (Discovery, in the harvest process, is quick.)"""
    document = json.loads((OCPI_SPEC / "ocpi-2.3.0" / "examples" / "version_details_example.json").read_text())
    cpo = demo_cpo(locations=60, ocpi_version="2.2.1", slow_ms=400, version_details=document)
    register(sessions, cpo, name="feed")
    waits = AnswerWaits()
    slow_settings = replace(_in_child(settings), harvest_slow_answer_seconds=0.3)
    run = harvesters.harvest.Harvester(sessions, slow_settings).harvest("feed", waits=waits)
    assert run.status in COMPLETED_RUN_STATUSES and run.pages == 2 and len(started) == 1
    assert 0.4 <= waits.longest < 5
    # The CPO learns it from its run's findings.
    with sessions() as session:
        (reason,) = session.scalars(select(Finding.reason).where(Finding.run_id == run.id,
                                                                 Finding.reason.like("the slowest answer%"))).all()
    assert f"the slowest answer took {waits.longest:.1f} s" in reason and "over 0.3 s as slow" in reason


def test_the_run_records_the_retries_of_its_page_process(demo_cpo, sessions, settings, started):
    """A CPO answering 503 to some list requests: the child tries them again, and the run's
    record counts those retries (the worker starts such a feed aside the next time), with
    the harvest process's own, as one run in the harvest process counts them."""
    document = json.loads((OCPI_SPEC / "ocpi-2.3.0" / "examples" / "version_details_example.json").read_text())
    cpo = demo_cpo(locations=60, ocpi_version="2.2.1", fail_rate=0.5, page_limit=10, version_details=document)
    register(sessions, cpo, name="feed")
    quick = replace(settings, retry_backoff_seconds=0.01, retry_attempts=8)
    in_child = harvesters.harvest.Harvester(sessions, _in_child(quick)).harvest("feed")
    inline = harvesters.harvest.Harvester(sessions, _inline(quick)).harvest("feed")
    assert in_child.status == inline.status == "success" and len(started) == 1
    assert in_child.answer_retries > 0 and inline.answer_retries > 0


def test_a_bug_in_the_child_fails_with_what_it_was(demo_cpo):
    """An exception in the child that is not the CPO's doing comes back as a crash, with the
    child's own message: here an object kind no normalizer knows."""
    process = PageProcess()
    try:
        process.start(_job(demo_cpo(locations=5), kind="charger"))
        with pytest.raises(PageProcessError, match=r"in the page process: KeyError: \('charger', '2.3.0'\)"):
            list(process.pages())
    finally:
        process.close()


def test_the_parent_accepts_plain_values_only():
    frame = pickle.dumps(("page", ObjectFinding("location", "1", None, "x")))
    with pytest.raises(pickle.UnpicklingError, match="plain values only"):
        _PlainUnpickler(io.BytesIO(frame)).load()


def test_a_large_feeds_full_syncs_keep_the_page_process_after_small_incremental_runs(demo_cpo, sessions,
                                                                                     settings, started):
    settings = replace(settings, harvest_page_process_min_objects=100)
    cpo = demo_cpo(locations=150)
    assert register_and_harvest(sessions, settings, cpo).status == "success"  # full, never before
    assert len(started) == 1
    assert harvest(sessions, settings).status == "success"  # incremental, none before of that kind
    assert len(started) == 2
    assert harvest(sessions, settings).status == "success"  # incremental, the last one was small
    assert len(started) == 2
    full = harvest(sessions, replace(settings, full_sync_hours=0))  # full: the last full one was large
    assert full.status == "success" and full.full_sync and len(started) == 3


def test_the_childs_log_lines_look_like_the_harvest_process_lines(demo_cpo, sessions, settings, started, capfd):
    """A retry in the page process is logged at the worker's level and in its format (JSON
    lines), on the same stderr, with no token in it."""
    import json
    import logging

    from nap.observability.logs import configure_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging(logging.INFO, json_lines=True)
    try:
        cpo = demo_cpo(locations=500, fail_rate=0.4)
        run = register_and_harvest(sessions, replace(_in_child(settings), retry_attempts=8,
                                                     retry_backoff_seconds=0.01), cpo)
    finally:
        root.handlers[:], root.level = saved
    assert run.status == "success" and started
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    retries = [line for line in lines if line["logger"] == "harvesters.ocpi_client" and "/locations" in line["message"]]
    assert retries and all(line["level"] == "info" and "retrying" in line["message"] for line in retries)
    assert cpo.token not in json.dumps(lines)


def test_the_token_form_the_child_found_reaches_the_harvest(demo_cpo):
    """A child given the Base64 form by a CPO that takes the token only plain switches
    (OcpiClient.request), and says so at its end, for the feed to keep (harvest.py)."""
    cpo = demo_cpo(locations=60, plain_token=True)
    process = PageProcess()
    try:
        process.start(_job(cpo))
        assert sum(page.received for page in process.pages()) == 60
    finally:
        process.close()
    assert process.plain_token is True
    assert [entry["status"] for entry in cpo.app.config["REQUEST_LOG"]][:2] == [401, 200]
