"""A CPO that answers nonsense or too much: the run fails with a finding that says why,
nothing of it is stored, and the previous data stays published.

Each case fails without its protection (checked by removing it): without the JSON error
handling the run crashes as 'internal error' instead of naming the problem; without the
depth, objects-per-page and byte limits the deep, huge and gzip-bomb pages are parsed."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from nap.feeds import add_feed
from nap.store.tables import Finding
from tests.harvest_helpers import harvest, stored_locations
from tests.hostile_cpo import hostile_cpo
from tests.settings_helpers import replace
from tests.waiting import record_sleeps


@pytest.mark.parametrize("mode, reason", [
    ("html", "did not answer JSON (text/html"),
    ("truncated", "did not answer JSON"),
    ("garbage", "did not answer JSON"),
    ("deep", "nested deeper than 32 levels"),
    ("too_many", "20001 objects in one page; the limit is 10000"),
    ("gzip_bomb", "exceeds the limit of 5000000 bytes"),
])
def test_nonsense_fails_the_run_with_a_finding_and_keeps_the_data(mode, reason, live_server, sessions, settings):
    app = hostile_cpo()
    cpo = live_server(app)
    with sessions.begin() as session:
        add_feed(session, name="hostile", versions_url=f"{cpo.url}/ocpi/versions", token=app.config["TOKEN"],
                 country_code="DE", party_id="ABC")
    settings = replace(settings, harvest_max_page_bytes=5_000_000)
    assert harvest(sessions, settings, "hostile").status == "success"
    before = stored_locations(sessions)
    assert len(before) == 5

    app.config["MODE"] = mode
    run = harvest(sessions, settings, "hostile")
    assert run.status == "failed" and reason in run.error, run.error
    assert stored_locations(sessions) == before
    with sessions() as session:
        finding = session.scalars(select(Finding).where(Finding.object_type == "feed")).one()
    assert reason in finding.reason and finding.severity == "error"


def test_429_waits_for_retry_after_then_goes_on(live_server, sessions, settings, monkeypatch):
    app = hostile_cpo()
    cpo = live_server(app)
    with sessions.begin() as session:
        add_feed(session, name="hostile", versions_url=f"{cpo.url}/ocpi/versions", token=app.config["TOKEN"],
                 country_code="DE", party_id="ABC")
    app.config["MODE"] = "rate_limited_once"
    slept = record_sleeps(monkeypatch)
    # Pulled in this process (no page process), whose sleeps are recorded.
    run = harvest(sessions, replace(settings, retry_backoff_seconds=0.01, harvest_page_process_min_objects=0),
                  "hostile")
    assert run.status == "success" and len(stored_locations(sessions)) == 5
    assert 1.0 in slept  # it waited the second the CPO asked for
    assert app.config["LOG"][:2] == ["rate_limited_once", "good"]
