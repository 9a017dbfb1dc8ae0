"""Each EVSE's UTC day from its status history, in whole seconds per state
(docs/statistics.md): operational (of which occupied), out of order, unknown, not in service.

A day is computed from that day's changes only, plus each EVSE's state when it begins: its
last change before midnight, found through the (location, EVSE, received_at) index of the
history, one indexed look-up per EVSE inside a single statement. The cost grows with the
EVSEs and the day's changes, never with the length of the history.

Times are NAP's receipt times (received_at), not the CPO's clocks: they are monotonic per
EVSE, and they are what NAP knew when. A state is news for `silence` after it was received;
beyond that, without a further change, the EVSE counts as unknown, never as operational.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, aliased

from nap.store.availability import OPERATIONAL
from nap.store.power_classes import evse_power_watts, power_class
from nap.store.tables import DailyStatisticsGroup, Evse, EvseDailyStatistics, EvseStatusChange, Location

DAY_SECONDS = 86_400
SUMMED = ("operational_seconds", "occupied_seconds", "out_of_order_seconds", "unknown_seconds",
          "not_in_service_seconds", "status_changes")
OCCUPIED = frozenset({"CHARGING", "BLOCKED"})
OUT_OF_ORDER = frozenset({"OUTOFORDER", "INOPERATIVE"})
# Not (yet, or any more) a charging point: these seconds are outside every share.
NOT_IN_SERVICE = frozenset({"PLANNED", "REMOVED"})


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def _offset(moment: datetime, start: datetime) -> int:
    """Whole seconds from `start`, rounded down, within the day: every boundary is rounded
    the same way, so a day's parts add up to exactly 86,400."""
    delta = moment - start
    return min(max(delta.days * DAY_SECONDS + delta.seconds, 0), DAY_SECONDS)


@dataclass
class DaySeconds:
    operational: int = 0
    occupied: int = 0
    out_of_order: int = 0
    unknown: int = 0
    not_in_service: int = 0

    def add(self, status: str | None, seconds: int, known: bool) -> None:
        if seconds <= 0:
            return
        if status is None or status in NOT_IN_SERVICE:
            self.not_in_service += seconds
        elif not known or status not in OPERATIONAL | OUT_OF_ORDER:  # UNKNOWN, or silent too long
            self.unknown += seconds
        elif status in OUT_OF_ORDER:
            self.out_of_order += seconds
        else:
            self.operational += seconds
            if status in OCCUPIED:
                self.occupied += seconds

    @property
    def in_service(self) -> int:
        return self.operational + self.out_of_order + self.unknown


@dataclass
class _Timeline:
    """An EVSE's day: the state it began with and the changes received during it."""
    status: str | None
    news_at: datetime | None  # when NAP last heard of `status`; None: it cannot tell
    changes: list[tuple[datetime, str]] = field(default_factory=list)


def evse_day_seconds(timeline: _Timeline, start: datetime, silence: timedelta) -> DaySeconds:
    seconds = DaySeconds()
    status, news_at, begin = timeline.status, timeline.news_at, 0
    for moment, new_status in [*timeline.changes, (start + timedelta(days=1), None)]:
        finish = _offset(moment, start)
        known_until = begin if news_at is None else max(begin, min(finish, _offset(news_at + silence, start)))
        seconds.add(status, known_until - begin, True)
        seconds.add(status, finish - known_until, False)
        status, news_at, begin = new_status, moment, finish
    return seconds


def _evses_with_start_state(session: Session, start: datetime):
    """Every EVSE with its owner, power and last change before `start` (one statement; the
    correlated look-up walks the history index backwards from `start`, one row per EVSE)."""
    last_before = (select(EvseStatusChange.id)
                   .where(EvseStatusChange.location_pk == Evse.location_pk, EvseStatusChange.evse_uid == Evse.uid,
                          EvseStatusChange.received_at < start)
                   .order_by(EvseStatusChange.received_at.desc(), EvseStatusChange.id.desc())
                   .limit(1).correlate(Evse).scalar_subquery())
    before = aliased(EvseStatusChange)
    power = evse_power_watts()
    return session.execute(
        select(Evse.location_pk, Evse.uid, Evse.evse_id, Evse.status, Evse.status_changed_at, Location.feed_id,
               Location.country_code, Location.party_id, Location.removed_at, power.c.watts, before.new_status,
               before.received_at)
        .join(Location, Location.id == Evse.location_pk)
        .outerjoin(power, power.c.evse_pk == Evse.id)
        .outerjoin(before, before.id == last_before)
    ).all()


def _day_changes(session: Session, start: datetime, end: datetime) -> dict[tuple[int, str], list]:
    changes: dict[tuple[int, str], list] = {}
    for pk, uid, old, new, at in session.execute(
            select(EvseStatusChange.location_pk, EvseStatusChange.evse_uid, EvseStatusChange.old_status,
                   EvseStatusChange.new_status, EvseStatusChange.received_at)
            .where(EvseStatusChange.received_at >= start, EvseStatusChange.received_at < end)
            .order_by(EvseStatusChange.received_at, EvseStatusChange.id)):
        changes.setdefault((pk, uid), []).append((at, old, new))
    return changes


def _start_state(row, changes: list, start: datetime, end: datetime) -> _Timeline | None:
    if row.new_status is not None:  # its last change before the day
        return _Timeline(row.new_status, row.received_at)
    if changes:
        # First seen during the day (old_status None: not there before), or a history
        # pruned before its earlier changes: the state before is known, not since when.
        return _Timeline(changes[0][1], None)
    if row.status_changed_at < end:  # no history at all: its stored status, since it was set
        return _Timeline(row.status, row.status_changed_at)
    return None


def compute_day(session: Session, day: date, silence: timedelta, now: datetime | None = None) -> int:
    """(Re)compute a day's figures for every EVSE that was in service during it; replaces
    what was stored for the day. Returns the number of EVSE rows written."""
    start, end = day_bounds(day)
    now = now or datetime.now(timezone.utc)
    changes = _day_changes(session, start, end)
    rows = []
    for evse in _evses_with_start_state(session, start):
        if evse.removed_at is not None and evse.removed_at <= start:
            continue  # its location was gone all day (its EVSEs keep their last status, unchanged)
        own = changes.get((evse.location_pk, evse.uid), [])
        timeline = _start_state(evse, own, start, end)
        if timeline is None:
            continue
        timeline.changes = [(at, new) for at, _old, new in own]
        if evse.removed_at is not None and evse.removed_at < end:
            # A location the CPO stopped serving is marked removed without a status change.
            timeline.changes = [c for c in timeline.changes if c[0] < evse.removed_at] + [(evse.removed_at, "REMOVED")]
        seconds = evse_day_seconds(timeline, start, silence)
        if not seconds.in_service:
            continue  # PLANNED or REMOVED all day: no charging point to judge
        end_status, last_news = (own[-1][2], own[-1][0]) if own else (timeline.status, timeline.news_at)
        rows.append({
            "day": day, "feed_id": evse.feed_id, "location_pk": evse.location_pk, "evse_uid": evse.uid,
            "evse_id": evse.evse_id, "country_code": evse.country_code, "party_id": evse.party_id,
            "power_class": power_class(evse.watts)[0], "operational_seconds": seconds.operational,
            "occupied_seconds": seconds.occupied, "out_of_order_seconds": seconds.out_of_order,
            "unknown_seconds": seconds.unknown, "not_in_service_seconds": seconds.not_in_service,
            "status_changes": len(own), "end_status": end_status, "last_news_at": last_news, "computed_at": now,
        })
    table = EvseDailyStatistics.__table__  # Core statements: the ORM's bulk path adds nothing here but time
    session.execute(delete(table).where(table.c.day == day))
    for begin in range(0, len(rows), 5000):
        session.execute(insert(table), rows[begin:begin + 5000])
    _sum_groups(session, day)
    return len(rows)


def _sum_groups(session: Session, day: date) -> None:
    """The day's sums per operator and power class, from the rows just written."""
    groups, rows = DailyStatisticsGroup.__table__, EvseDailyStatistics.__table__
    keys = (rows.c.country_code, rows.c.party_id, rows.c.power_class)
    session.execute(delete(groups).where(groups.c.day == day))
    session.execute(insert(groups).from_select(
        ["day", "country_code", "party_id", "power_class", "evse_days", *SUMMED],
        select(rows.c.day, *keys, func.count(), *(func.sum(rows.c[name]) for name in SUMMED))
        .where(rows.c.day == day).group_by(rows.c.day, *keys)))


def days_due(session: Session, today: date, catch_up_days: int = 7) -> list[date]:
    """Yesterday, and any of the `catch_up_days` before it that has no figures (the worker
    was down that night, or the job failed), oldest first. A day without any EVSE in
    service has no figures either; computing it again finds nothing again, cheaply."""
    first = today - timedelta(days=catch_up_days)
    done = set(session.scalars(select(DailyStatisticsGroup.day).where(DailyStatisticsGroup.day >= first).distinct()))
    yesterday = today - timedelta(days=1)
    return [day for day in (first + timedelta(days=n) for n in range(catch_up_days))
            if day == yesterday or day not in done]
