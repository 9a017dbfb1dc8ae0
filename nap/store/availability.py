"""Availability of a feed's EVSEs over a period, time-weighted, from the status history:
the share of EVSE-hours an EVSE was AVAILABLE (free to charge), and the share it was
operational (AVAILABLE, CHARGING, BLOCKED or RESERVED: working, whether or not in use)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.store.tables import Evse, EvseStatusChange, Location

OPERATIONAL = {"AVAILABLE", "CHARGING", "BLOCKED", "RESERVED"}


@dataclass(frozen=True)
class Availability:
    evses: int
    available_share: float | None
    operational_share: float | None
    status_changes: int


def feed_availability(session: Session, feed_id: int, start: datetime, end: datetime) -> Availability:
    """Each EVSE's timeline is its status at `start` (its last change before it, or its
    first known status) followed by its changes until `end`. EVSEs REMOVED for the whole
    period do not count."""
    current = {(pk, uid): status for pk, uid, status in session.execute(
        select(Evse.location_pk, Evse.uid, Evse.status).join(Location, Location.id == Evse.location_pk)
        .where(Location.feed_id == feed_id, Location.removed_at.is_(None)))}
    changes = session.execute(
        select(EvseStatusChange.location_pk, EvseStatusChange.evse_uid, EvseStatusChange.old_status,
               EvseStatusChange.new_status, EvseStatusChange.received_at)
        .where(EvseStatusChange.feed_id == feed_id, EvseStatusChange.received_at < end)
        .order_by(EvseStatusChange.location_pk, EvseStatusChange.evse_uid, EvseStatusChange.received_at)
    ).all()
    timelines: dict[tuple[int, str], list[tuple[datetime, str]]] = {}
    for pk, uid, old, new, at in changes:
        timeline = timelines.setdefault((pk, uid), [])
        if at <= start:
            timeline[:] = [(start, new)]  # the status in force when the period begins
        else:
            if not timeline:
                timeline.append((start, old or new))
            timeline.append((at, new))
    for key, status in current.items():
        timelines.setdefault(key, [(start, status)])
    total = available = operational = 0.0
    counted = 0
    period = (end - start).total_seconds()
    for key, timeline in timelines.items():
        if key not in current or all(status == "REMOVED" for _, status in timeline):
            continue
        counted += 1
        for (moment, status), following in zip(timeline, timeline[1:] + [(end, None)]):
            seconds = (following[0] - moment).total_seconds()
            available += seconds if status == "AVAILABLE" else 0
            operational += seconds if status in OPERATIONAL else 0
        total += period
    in_period = sum(1 for _, _, _, _, at in changes if at > start)
    if not total:
        return Availability(counted, None, None, in_period)
    return Availability(counted, available / total, operational / total, in_period)
