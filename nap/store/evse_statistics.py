"""Each EVSE's UTC day from its status history, in whole seconds per state
(docs/statistics.md): operational (of which occupied), out of order, unknown, not in service.

A day is computed from that day's changes only, plus each EVSE's state when it begins: its
last change before midnight, found through the (location, EVSE, received_at) index of the
history, two index seeks per EVSE inside one statement per range of locations. The cost
grows with the EVSEs and the day's changes, never with the length of the history; the
memory is one range's (compute_day).

Times are NAP's receipt times (received_at), not the CPO's clocks: they are monotonic per
EVSE, and they are what NAP knew when. A state is news for `silence` after it was received;
beyond that, without a further change, the EVSE counts as unknown, never as operational.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from itertools import chain

from sqlalchemy import Date, DateTime, delete, func, insert, select, type_coerce
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
# Locations per pass of compute_day: about 3 EVSEs each, so some 30,000 EVSEs, their day
# and their rows in memory at a time.
LOCATIONS_PER_PASS = 10_000


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


MICROSECOND = timedelta(microseconds=1)
MICROSECONDS = 1_000_000
END_MICROS = DAY_SECONDS * MICROSECONDS


def _micros(moment: datetime, start: datetime) -> int:
    """Whole microseconds from `start` (both naive UTC, or both aware): the job counts in
    integers, and a second's boundary is this floor-divided by a million, rounded down like
    every other boundary, so that a day's parts add up to exactly 86,400."""
    return (moment - start) // MICROSECOND


# Where a state's seconds go, known and beyond the silence window: indices into
# _EvseDay.seconds (operational, occupied, out of order, unknown, not in service).
TO_OPERATIONAL, TO_OCCUPIED, TO_OUT_OF_ORDER, TO_UNKNOWN, TO_NOT_IN_SERVICE = range(5)


class _Buckets(dict):
    """Per status: the buckets of its known seconds and those of its seconds beyond the
    window, worked out once per status rather than once per change."""

    def __missing__(self, status: str | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
        if status is None or status in NOT_IN_SERVICE:
            buckets = (TO_NOT_IN_SERVICE,), (TO_NOT_IN_SERVICE,)
        elif status in OUT_OF_ORDER:
            buckets = (TO_OUT_OF_ORDER,), (TO_UNKNOWN,)
        elif status in OCCUPIED:
            buckets = (TO_OPERATIONAL, TO_OCCUPIED), (TO_UNKNOWN,)
        elif status in OPERATIONAL:
            buckets = (TO_OPERATIONAL,), (TO_UNKNOWN,)
        else:  # UNKNOWN, or a status no version of OCPI has
            buckets = (TO_UNKNOWN,), (TO_UNKNOWN,)
        self[status] = buckets
        return buckets


_BUCKETS = _Buckets()


@dataclass
class DaySeconds:
    operational: int = 0
    occupied: int = 0
    out_of_order: int = 0
    unknown: int = 0
    not_in_service: int = 0

    @property
    def in_service(self) -> int:
        return self.operational + self.out_of_order + self.unknown


class _EvseDay:
    """One EVSE's day, advanced change by change in the order NAP received them: the state
    it is in, since when (whole seconds from midnight), when NAP last heard of it
    (microseconds from midnight; None: it cannot tell) and the seconds counted so far.
    Only per-EVSE state is kept, never the day's changes themselves."""
    __slots__ = ("status", "news", "begin", "seconds", "changes", "end_status", "last_news", "removed")

    def __init__(self, status: str | None, news: int | None, removed: int = END_MICROS):
        self.status, self.news, self.begin = status, news, 0
        self.seconds = [0, 0, 0, 0, 0]
        self.changes = 0
        # When its location was marked removed (microseconds from midnight): a location the
        # CPO stopped serving is marked without a status change; the EVSE's changes from
        # then on count, but no longer change its state.
        self.removed = removed

    def advance(self, finish: int, moment: int | None, status: str | None, silence: int) -> None:
        """Count the current state until `finish`, then enter `status`, heard at `moment`."""
        begin, news = self.begin, self.news
        if news is None:
            known_until = begin
        else:  # the window clamped to [begin, finish]; begin <= finish as changes come in order
            known_until = (news + silence) // MICROSECONDS
            if known_until < begin:
                known_until = begin
            elif known_until > finish:
                known_until = finish
        known, unknown = _BUCKETS[self.status]
        seconds = self.seconds
        for bucket in known:
            seconds[bucket] += known_until - begin
        for bucket in unknown:
            seconds[bucket] += finish - known_until
        self.status, self.news, self.begin = status, moment, finish

    def totals(self) -> DaySeconds:
        return DaySeconds(*self.seconds)


@dataclass
class _Timeline:
    """An EVSE's day: the state it began with and the changes received during it."""
    status: str | None
    news_at: datetime | None  # when NAP last heard of `status`; None: it cannot tell
    changes: list[tuple[datetime, str]] = field(default_factory=list)


def evse_day_seconds(timeline: _Timeline, start: datetime, silence: timedelta) -> DaySeconds:
    """A whole timeline at once (compute_day streams its changes into _EvseDay instead)."""
    day = _EvseDay(timeline.status, None if timeline.news_at is None else _micros(timeline.news_at, start))
    window = silence // MICROSECOND
    for moment, status in timeline.changes:
        at = _micros(moment, start)
        day.advance(min(max(at // MICROSECONDS, 0), DAY_SECONDS), at, status, window)
    day.advance(DAY_SECONDS, None, None, window)
    return day.totals()


def _naive(column):
    """A UTC column read as the driver gives it (naive UTC): the job converts a million
    of them to integers and needs no time zone attached to each first."""
    return type_coerce(column, DateTime())


def _evses_with_start_state(session: Session, start: datetime, locations: tuple[int, int]) -> list[tuple]:
    """Every EVSE of the locations whose key is in [low, high) with its owner, power and last
    change before `start`, in one statement. Plain tuples, times naive UTC: (location_pk,
    uid, evse_id, status, status_changed_at, feed_id, country_code, party_id, removed_at,
    watts, status before, received before)."""
    history, same_time = aliased(EvseStatusChange), aliased(EvseStatusChange)
    # The last change before the day in two index seeks per EVSE on (location, EVSE,
    # received_at): the latest receipt time, then the highest id at that time (two changes
    # can share one). One ORDER BY received_at, id made PostgreSQL sort the EVSE's whole
    # earlier history (the index does not hold id), and a join on the change it found made
    # it hash the whole table: costs that grew with the history.
    received_before = (select(history.received_at)
                       .where(history.location_pk == Evse.location_pk, history.evse_uid == Evse.uid,
                              history.received_at < start)
                       .order_by(history.received_at.desc()).limit(1).correlate(Evse).scalar_subquery())
    status_before = (select(same_time.new_status)
                     .where(same_time.location_pk == Evse.location_pk, same_time.evse_uid == Evse.uid,
                            same_time.received_at == received_before)
                     .order_by(same_time.id.desc()).limit(1).correlate(Evse).scalar_subquery())
    low, high = locations
    in_range = (Evse.location_pk >= low, Evse.location_pk < high)
    power = evse_power_watts(*in_range)
    return session.connection().execute(
        select(Evse.location_pk, Evse.uid, Evse.evse_id, Evse.status, _naive(Evse.status_changed_at),
               Location.feed_id, Location.country_code, Location.party_id, _naive(Location.removed_at),
               power.c.watts, status_before, _naive(received_before))
        .join(Location, Location.id == Evse.location_pk)
        .outerjoin(power, power.c.evse_pk == Evse.id)
        .where(*in_range)
    ).all()


def _day_changes(session: Session, start: datetime, end: datetime) -> Iterator[tuple]:
    """The day's changes location by location, each location's in the order NAP received
    them, streamed in batches (a server-side cursor on PostgreSQL): (location_pk,
    evse_uid, old_status, new_status, received_at naive UTC). The database sorts the day's
    rows (its cost grows with the day, not with the history); by location, so that the job
    holds one range of locations at a time, not every EVSE of the store. Batches, not row by
    row: a million rows pay the result's per-row call otherwise."""
    return chain.from_iterable(session.connection().execute(
        select(EvseStatusChange.location_pk, EvseStatusChange.evse_uid, EvseStatusChange.old_status,
               EvseStatusChange.new_status, _naive(EvseStatusChange.received_at))
        .where(EvseStatusChange.received_at >= start, EvseStatusChange.received_at < end)
        .order_by(EvseStatusChange.location_pk, EvseStatusChange.received_at, EvseStatusChange.id)
        .execution_options(yield_per=20_000)
    ).partitions())


def _location_ranges(session: Session, per_range: int) -> Iterator[tuple[int, int]]:
    """[low, high) ranges of location keys, `per_range` keys each, covering every location."""
    lowest, highest = session.execute(select(func.min(Location.id), func.max(Location.id))).one()
    if lowest is None:
        return
    for low in range(lowest, highest + 1, per_range):
        yield low, low + per_range


def _start_state(evse: tuple, first_old_status: str | None | bool, start: datetime, end: datetime,
                 removed: int) -> _EvseDay | None:
    """An EVSE's state when the day begins; None: not a charging point that day.
    `first_old_status`: the old_status of its first change during the day; False: none."""
    if evse[10] is not None:  # its last change before the day
        return _EvseDay(evse[10], _micros(evse[11], start), removed)
    if first_old_status is not False:
        # First seen during the day (old_status None: not there before), or a history
        # pruned before its earlier changes: the state before is known, not since when.
        return _EvseDay(first_old_status, None, removed)
    if evse[4] < end:  # no history at all: its stored status, since it was set
        return _EvseDay(evse[3], _micros(evse[4], start), removed)
    return None


def compute_day(session: Session, day: date, silence: timedelta, now: datetime | None = None,
                locations_per_pass: int = LOCATIONS_PER_PASS) -> int:
    """(Re)compute a day's figures for every EVSE that was in service during it; replaces
    what was stored for the day. Returns the number of EVSE rows written.

    One range of locations at a time: its EVSEs, their changes of the day (one stream over
    the whole day, sorted by location), their rows, written before the next range. The
    memory is one range's, whatever the size of the store: holding every EVSE at once took
    1.9 GB at a million EVSEs."""
    aware_start, aware_end = day_bounds(day)
    start, end = aware_start.replace(tzinfo=None), aware_end.replace(tzinfo=None)  # as the driver gives them
    computed_at = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    window = silence // MICROSECOND
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # PostgreSQL prices the EVSEs' index seeks high enough to JIT-compile the statement,
        # which took longer than running it (1.1 s at 100,000 EVSEs). For this transaction only.
        connection.exec_driver_sql("SET LOCAL jit = off")
    session.execute(delete(_DAYS).where(_DAYS.c.day == day))
    changes = _day_changes(session, aware_start, aware_end)
    change = next(changes, None)
    written = 0
    for low, high in _location_ranges(session, locations_per_pass):
        evses = {}
        for evse in _evses_with_start_state(session, aware_start, (low, high)):
            removed_at = evse[8]
            if removed_at is not None and removed_at <= start:
                continue  # its location was gone all day (its EVSEs keep their last status, unchanged)
            removed = _micros(removed_at, start) if removed_at is not None and removed_at < end else END_MICROS
            evses[evse[0], evse[1]] = (evse, removed)
        days: dict[tuple[int, str], _EvseDay] = {}
        while change is not None and change[0] < high:
            pk, uid, old, new, received_at = change
            change = next(changes, None)
            key = pk, uid
            evse_day = days.get(key)
            if evse_day is None:
                found = evses.get(key)
                if found is None:
                    continue  # an EVSE no longer in the store, or of a location gone all day
                evse_day = days[key] = _start_state(found[0], old, start, end, found[1])
            at = (received_at - start) // MICROSECOND
            if at < evse_day.removed:
                evse_day.advance(at // MICROSECONDS, at, new, window)
            evse_day.changes += 1
            evse_day.end_status, evse_day.last_news = new, received_at
        rows = list(_rows(day, evses, days, start, end, window, computed_at))
        _write_rows(session, day, rows)
        written += len(rows)
    _sum_groups(session, day)
    return written


def _rows(day: date, evses: dict, days: dict, start: datetime, end: datetime, window: int,
          computed_at: datetime) -> Iterator[tuple]:
    """The rows (ROW_COLUMNS) of one range's EVSEs in service during the day."""
    for key, (evse, removed) in evses.items():
        evse_day = days.get(key)
        if evse_day is None:
            evse_day = _start_state(evse, False, start, end, removed)
            if evse_day is None:
                continue
            before = evse[10] is not None
            evse_day.end_status, evse_day.last_news = (evse[10], evse[11]) if before else (evse[3], evse[4])
        if removed < END_MICROS:
            evse_day.advance(removed // MICROSECONDS, removed, "REMOVED", window)
        evse_day.advance(DAY_SECONDS, None, None, window)
        operational, occupied, out_of_order, unknown, not_in_service = evse_day.seconds
        if not operational + out_of_order + unknown:
            continue  # PLANNED or REMOVED all day: no charging point to judge
        yield (day, evse[5], evse[0], evse[1], evse[2], evse[6], evse[7], power_class(evse[9])[0],
               operational, occupied, out_of_order, unknown, not_in_service, evse_day.changes,
               evse_day.end_status, evse_day.last_news, computed_at)


_DAYS = EvseDailyStatistics.__table__
ROW_COLUMNS = ("day", "feed_id", "location_pk", "evse_uid", "evse_id", "country_code", "party_id", "power_class",
               "operational_seconds", "occupied_seconds", "out_of_order_seconds", "unknown_seconds",
               "not_in_service_seconds", "status_changes", "end_status", "last_news_at", "computed_at")


def _write_rows(session: Session, day: date, rows: list[tuple]) -> None:
    """Add EVSE rows of `day` (tuples in ROW_COLUMNS order, times naive UTC)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # COPY streams the rows in one statement; an executemany sends an INSERT per row.
        with connection.connection.driver_connection.cursor() as cursor, \
                cursor.copy(f"COPY {_DAYS.name} ({', '.join(ROW_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    # SQLite: tuples straight to the driver's executemany, the day and times in the dialect's
    # own storage format (what the columns' types write): the Core insert's per-row parameter
    # handling cost more than the insert itself.
    dialect = connection.dialect
    day_stored = Date().dialect_impl(dialect).bind_processor(dialect)(day)
    at_stored = DateTime().dialect_impl(dialect).bind_processor(dialect)
    statement = f"INSERT INTO {_DAYS.name} ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join('?' * len(ROW_COLUMNS))})"
    for begin in range(0, len(rows), 5000):
        connection.exec_driver_sql(statement, [
            (day_stored, *row[1:15], None if row[15] is None else at_stored(row[15]), at_stored(row[16]))
            for row in rows[begin:begin + 5000]])


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
    yesterday = today - timedelta(days=1)
    first = yesterday - timedelta(days=catch_up_days)
    done = set(session.scalars(select(DailyStatisticsGroup.day).where(DailyStatisticsGroup.day >= first).distinct()))
    return [day for day in (first + timedelta(days=n) for n in range(catch_up_days + 1))
            if day == yesterday or day not in done]
