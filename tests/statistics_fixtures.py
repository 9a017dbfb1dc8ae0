"""A status history with known intervals, for the statistics tests (API, job, pages).

Two operators, DE/AAA and DE/BBB, each harvested for real from a demo CPO. Then, written
straight into the history with the times the test needs, on day DAY (UTC) and around it:

    every EVSE   AVAILABLE received 30 h before DAY: silent beyond the 24 h window all day
    AAA a0       AVAILABLE at -1 h, CHARGING 06:00, AVAILABLE 08:00, OUTOFORDER 20:00
    AAA a1       AVAILABLE at -1 h, then nothing: known until 23:00, unknown after
    AAA a2       PLANNED at -1 h: not in service, no row
    BBB b0       INOPERATIVE at -1 h, AVAILABLE at 12:00:00.7 (whole seconds round down)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from demo_cpo.fleet import generate_fleet
from demo_cpo.server import DemoOptions, create_app
from nap.feeds import add_feed
from nap.store.status_history import StatusChange, record_status_changes
from nap.store.tables import Evse, Location
from tests.harvest_helpers import harvest

HOUR = 3600
DAY_SECONDS = 86_400


@dataclass
class History:
    day: date
    evses: dict[str, list[tuple[int, str, str | None]]]  # party -> (location_pk, uid, evse_id), in order


def build_history(sessions, settings, live_server, locations: int = 2) -> History:
    # Days ahead of today, so that the harvest's own history rows all lie before them.
    day = datetime.now(timezone.utc).date() + timedelta(days=5)
    start = datetime.combine(day, time(), tzinfo=timezone.utc)
    evses = {}
    for party in ("AAA", "BBB"):
        cpo = live_server(create_app(generate_fleet(locations=locations, party_id=party), DemoOptions()))
        with sessions.begin() as session:
            add_feed(session, name=f"cpo-{party}", versions_url=f"{cpo.url}/ocpi/versions", token="demo-token",
                     country_code="DE", party_id=party)
        assert harvest(sessions, settings, f"cpo-{party}").status in ("success", "degraded")
        with sessions() as session:
            evses[party] = [tuple(row) for row in session.execute(
                select(Evse.location_pk, Evse.uid, Evse.evse_id).join(Location, Location.id == Evse.location_pk)
                .where(Location.party_id == party).order_by(Location.ocpi_id, Evse.position))]
    assert len(evses["AAA"]) >= 3 and len(evses["BBB"]) >= 1
    with sessions.begin() as session:
        feed_of = dict(session.execute(select(Location.id, Location.feed_id)).all())

        def change(evse, old, new, at):
            pk, uid, _ = evse
            record_status_changes(session, feed_of[pk], [StatusChange(pk, uid, old, new, at)], at, "push")

        for party_evses in evses.values():
            for evse in party_evses:
                change(evse, None, "AVAILABLE", start - timedelta(hours=30))
        a0, a1, a2 = evses["AAA"][:3]
        for hours, old, new in ((-1, "AVAILABLE", "AVAILABLE"), (6, "AVAILABLE", "CHARGING"),
                                (8, "CHARGING", "AVAILABLE"), (20, "AVAILABLE", "OUTOFORDER")):
            change(a0, old, new, start + timedelta(hours=hours))
        change(a1, "AVAILABLE", "AVAILABLE", start - timedelta(hours=1))
        change(a2, "AVAILABLE", "PLANNED", start - timedelta(hours=1))
        b0 = evses["BBB"][0]
        change(b0, "AVAILABLE", "INOPERATIVE", start - timedelta(hours=1))
        change(b0, "INOPERATIVE", "AVAILABLE", start + timedelta(hours=12, milliseconds=700))
    return History(day, evses)


def expected_day_one(history: History) -> dict[str, dict]:
    """Seconds per operator on DAY, worked out by hand from the module docstring."""
    others_a, others_b = len(history.evses["AAA"]) - 3, len(history.evses["BBB"]) - 1
    return {
        "AAA": {"evse_days": 2 + others_a, "operational_seconds": 6 * HOUR + 2 * HOUR + 12 * HOUR + 23 * HOUR,
                "occupied_seconds": 2 * HOUR, "out_of_order_seconds": 4 * HOUR,
                "unknown_seconds": HOUR + others_a * DAY_SECONDS, "status_changes": 3},
        "BBB": {"evse_days": 1 + others_b, "operational_seconds": 12 * HOUR, "occupied_seconds": 0,
                "out_of_order_seconds": 12 * HOUR, "unknown_seconds": others_b * DAY_SECONDS, "status_changes": 1},
    }


def expected_day_two(history: History) -> dict[str, dict]:
    """The next day, from the state each EVSE ended DAY with: a0 out of order since 20:00
    (known until 20:00 the next day), b0 available since 12:00 (known until 12:00)."""
    others_a, others_b = len(history.evses["AAA"]) - 3, len(history.evses["BBB"]) - 1
    return {
        "AAA": {"evse_days": 2 + others_a, "operational_seconds": 0, "occupied_seconds": 0,
                "out_of_order_seconds": 20 * HOUR, "unknown_seconds": 4 * HOUR + DAY_SECONDS + others_a * DAY_SECONDS,
                "status_changes": 0},
        "BBB": {"evse_days": 1 + others_b, "operational_seconds": 12 * HOUR, "occupied_seconds": 0,
                "out_of_order_seconds": 0, "unknown_seconds": 12 * HOUR + others_b * DAY_SECONDS,
                "status_changes": 0},
    }
