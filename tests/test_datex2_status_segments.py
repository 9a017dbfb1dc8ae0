"""DATEX II status deltas joined from the worker's segments (exporters/datex2/status_segments.py),
over real HTTP: what the live delta says, in one gzip member or plain; built whole when
the segments cannot cover the delta; one writer among several workers; old ones pruned."""
from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from lxml import etree
from sqlalchemy import delete, func, select

from exporters.datex2 import status_segments
from exporters.datex2.status_segments import (CHAIN_GAP, KEEP, PROFILES, SegmentLoop, plan_delta, prune_segments,
                                              write_segments)
from nap.ocpi.values import format_datetime
from nap.store.leases import Leases
from nap.store.tables import Datex2StatusSegment
from demo_cpo.server import touch_location
from tests.harvest_helpers import harvest, register_and_harvest
from tests.status_push import Cpo, harvested_cpo
from tests.waiting import clock_past, wait_until
from tests.xsd import validate

STATUS = "/datex2/v3.7/energy-infrastructure/status"


@pytest.fixture
def cpo(demo_cpo, nap_server, sessions, settings) -> Cpo:
    return harvested_cpo(demo_cpo(locations=4), nap_server.url, sessions, settings)


def _statuses(content: bytes) -> list[tuple[str, str]]:
    """(refill point id, status) in document order."""
    document = etree.fromstring(content)
    return [(point.xpath("string(*[local-name()='reference']/@id)"), point.xpath("string(*[local-name()='status'])"))
            for point in document.xpath("//*[local-name()='refillPointStatus']")]


def _delta(url: str, profile: str, since: datetime, encoding: str = "gzip") -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent (gzip stays gzip)."""
    with httpx.Client() as client:
        request = client.build_request("GET", url + STATUS, headers={"Accept-Encoding": encoding},
                                       params={"profile": profile, "since": format_datetime(since)})
        answer = client.send(request, stream=True)
        try:
            return answer, b"".join(answer.iter_raw())
        finally:
            answer.close()


def _write_segments(sessions, now: datetime | None = None) -> None:
    write_segments(sessions, now or datetime.now(timezone.utc))


def _segments(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Datex2StatusSegment))


@pytest.mark.parametrize("shared_read", [True, False], ids=["profiles-share-a-read", "each-profile-reads"])
def test_a_delta_joined_from_segments_says_what_the_live_one_says(cpo, nap_server, sessions, monkeypatch,
                                                                   shared_read):
    if not shared_read:  # as for a tick with more changed locations than a shared read holds
        monkeypatch.setattr(status_segments, "SHARED_READ_LOCATIONS", 0)
    # The writer was running: its chain began before `since` (a chain's first segment
    # reaches back OVERLAP, over the harvest's status changes).
    _write_segments(sessions)
    since = clock_past(datetime.now(timezone.utc))
    first, second = cpo.evse_uids[:2]
    cpo.push_status(first, "CHARGING")
    _write_segments(sessions)
    cpo.push_status(second, "BLOCKED")
    _write_segments(sessions)
    cpo.push_status(first, "AVAILABLE")  # after the newest segment: built live
    for profile in PROFILES:
        answer, raw = _delta(nap_server.url, profile, since)
        assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
        # One gzip member: a client that reads only the first (Chromium) gets it all.
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        joined = inflate.decompress(raw)
        assert inflate.eof and inflate.unused_data == b""
        assert validate(joined) == []
        plain_answer, plain = _delta(nap_server.url, profile, since, encoding="identity")
        assert "Content-Encoding" not in plain_answer.headers and validate(plain) == []
        assert _statuses(plain) == _statuses(joined)

        with sessions.begin() as session:
            assert plan_delta(session, profile, since) is not None
        ordered = _statuses(joined)
        points = {point for point, _ in ordered}
        assert {cpo.point_id(dict(ordered), uid) for uid in (first, second)} == points
        # The first EVSE changed in a segment and after the newest one: it is there twice,
        # the current status last.
        first_point = cpo.point_id(dict(ordered), first)
        assert [status for point, status in ordered if point == first_point] == ["charging", "available"]

        with sessions.begin() as session:  # without segments the same delta is built whole
            session.execute(delete(Datex2StatusSegment).where(Datex2StatusSegment.profile == profile))
        live_answer, live = _delta(nap_server.url, profile, since, encoding="identity")
        assert live_answer.status_code == 200 and live_answer.headers["ETag"] != plain_answer.headers["ETag"]
        assert dict(_statuses(live)) == dict(ordered) and len(_statuses(live)) == len(ordered) - 1


def test_what_the_segments_cannot_cover_is_built_whole(cpo, nap_server, sessions):
    start = clock_past(datetime.now(timezone.utc))
    _write_segments(sessions)  # a chain starts: it covers what comes after it
    first = cpo.evse_uids[0]
    cpo.push_status(first, "CHARGING")
    # The writer stopped for longer than CHAIN_GAP: the next segment starts a new chain,
    # which does not hold the change made in the gap.
    later = datetime.now(timezone.utc) + CHAIN_GAP + timedelta(seconds=1)
    _write_segments(sessions, later)
    with sessions.begin() as session:
        assert plan_delta(session, "afir", start) is None
        assert plan_delta(session, "afir", start - timedelta(hours=1)) is None  # before the first segment
        assert plan_delta(session, "afir", later - timedelta(seconds=1)) is not None
    answer, raw = _delta(nap_server.url, "afir", start, encoding="identity")
    assert answer.status_code == 200 and validate(raw) == []
    assert [status for _, status in _statuses(raw)] == ["charging"]


def test_one_worker_writes_the_segments_and_old_ones_are_pruned(cpo, sessions):
    loops = [SegmentLoop(sessions, leases=Leases(sessions, holder=f"worker-{n}")) for n in (1, 2)]
    loops[0].tick()  # takes the lease, starts a chain for each profile
    assert _segments(sessions) == len(PROFILES)
    cpo.push_status(cpo.evse_uids[0], "CHARGING")
    loops[1].tick()  # another worker: the lease is held, it writes nothing
    assert _segments(sessions) == len(PROFILES)
    loops[0].tick()
    assert _segments(sessions) == 2 * len(PROFILES)
    with sessions() as session:
        items = session.scalars(select(Datex2StatusSegment.items).order_by(Datex2StatusSegment.id)).all()
    assert items[-len(PROFILES):] == [1] * len(PROFILES)
    assert prune_segments(sessions, datetime.now(timezone.utc) + KEEP + timedelta(seconds=1)) == 2 * len(PROFILES)
    loops[0].stop()


def test_a_delta_of_mostly_repeats_is_built_live(cpo, nap_server, sessions, monkeypatch):
    monkeypatch.setattr(status_segments, "REPEATS_SLACK", 0)
    _write_segments(sessions)
    since = clock_past(datetime.now(timezone.utc))
    first = cpo.evse_uids[0]
    for status in ("CHARGING", "AVAILABLE"):
        cpo.push_status(first, status)
        _write_segments(sessions)
    with sessions.begin() as session:
        assert not status_segments.mostly_repeats(session, plan_delta(session, "afir", since))  # twice the one EVSE
    cpo.push_status(first, "BLOCKED")
    _write_segments(sessions)
    with sessions.begin() as session:
        assert status_segments.mostly_repeats(session, plan_delta(session, "afir", since))  # three times
    answer, raw = _delta(nap_server.url, "afir", since, encoding="identity")
    assert answer.status_code == 200 and [status for _, status in _statuses(raw)] == ["blocked"]


def test_the_worker_writes_the_profiles_it_is_set_to(cpo, sessions, nap_server):
    since = clock_past(datetime.now(timezone.utc))
    loop = SegmentLoop(sessions, profiles=("afir",))  # NAP_DATEX2_STATUS_SEGMENTS's default
    loop.tick()
    cpo.push_status(cpo.evse_uids[0], "CHARGING")
    loop.tick()
    with sessions() as session:
        assert session.scalars(select(Datex2StatusSegment.profile)).all() == ["afir", "afir"]
        assert plan_delta(session, "generic", since) is None
    answer, raw = _delta(nap_server.url, "generic", since, encoding="identity")  # built live
    assert answer.status_code == 200 and [status for _, status in _statuses(raw)] == ["charging"]
    loop.stop()


def test_a_status_a_long_harvest_pulled_is_in_the_joined_delta(demo_cpo, nap_server, sessions, settings,
                                                               monkeypatch):
    """The harvest's changes become visible when it commits, seconds after its start: the
    status history is restamped then, so a segment written after the commit holds them,
    though segments were written while it ran (on PostgreSQL: on SQLite the harvest holds
    the write lock, and the writer waits)."""
    # 2.5 s per list request: the run outlasts OVERLAP (2 s) even when its page process fetches
    # the Locations beside the Tariffs (a first incremental run gets one), as it did at 1.5 s.
    demo = demo_cpo(locations=4, slow_ms=2500)
    assert register_and_harvest(sessions, settings, demo).status == "success"
    monkeypatch.setattr(status_segments, "HEARTBEAT", timedelta(0))  # a segment at every tick
    loop = SegmentLoop(sessions, tick_seconds=0.1).start()
    try:
        wait_until(lambda: _segment_after(sessions, datetime.now(timezone.utc) - timedelta(hours=1)), timeout=10,
                   what="the first segment")
        since = clock_past(datetime.now(timezone.utc))
        touched = touch_location(demo.app, 1, clock_past(since))
        run = harvest(sessions, settings)
        assert run.status == "success" and (run.finished_at - run.started_at).total_seconds() > 2
        wait_until(lambda: _segment_after(sessions, run.finished_at), timeout=10,
                   what="a segment written after the harvest")
        with sessions() as session:
            assert plan_delta(session, "afir", since) is not None
        answer, raw = _delta(nap_server.url, "afir", since, encoding="identity")
    finally:
        loop.stop()
    evse = touched["evses"][0]["uid"]
    assert answer.status_code == 200 and [point for point, _ in _statuses(raw)] == \
        [f"DE*ABC*{touched['id']}#evse:{evse}"]


def _segment_after(sessions, moment: datetime) -> int | None:
    with sessions() as session:
        return session.scalar(select(Datex2StatusSegment.id).where(Datex2StatusSegment.profile == "afir",
                                                                   Datex2StatusSegment.made_at > moment).limit(1))
