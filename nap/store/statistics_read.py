"""Reading the EVSE day figures (nap/store/evse_statistics.py) back: sums per day, week or
month, nationally, per operator (party) or per power class; one operator's EVSEs; the
spread of availability across EVSEs; the least available ones.

Every aggregate is a sum of seconds, so an EVSE weighs by the time it was in service: a
charger that was in service all week counts seven times as much as one installed on the
last day (docs/statistics.md). Shares are ratios of these integer sums.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session

from nap.store.tables import DailyStatisticsGroup as Group
from nap.store.tables import EvseDailyStatistics as Day
from nap.store.tables import Location

PERIODS = ("day", "week", "month")
SECOND_COLUMNS = ("operational_seconds", "occupied_seconds", "out_of_order_seconds", "unknown_seconds",
                  "not_in_service_seconds")


def period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if period == "month":
        return day.replace(day=1)
    return day


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Figures:
    """Sums of EVSE-days. `evse_days` counts one per EVSE and day in service."""
    evse_days: int = 0
    operational_seconds: int = 0
    occupied_seconds: int = 0
    out_of_order_seconds: int = 0
    unknown_seconds: int = 0
    not_in_service_seconds: int = 0
    status_changes: int = 0

    def add(self, other: "Figures") -> None:
        for name in ("evse_days", "status_changes", *SECOND_COLUMNS):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def in_service_seconds(self) -> int:
        return self.operational_seconds + self.out_of_order_seconds + self.unknown_seconds

    @property
    def operational_share(self) -> float | None:
        return _share(self.operational_seconds, self.in_service_seconds)

    @property
    def out_of_order_share(self) -> float | None:
        return _share(self.out_of_order_seconds, self.in_service_seconds)

    @property
    def unknown_share(self) -> float | None:
        return _share(self.unknown_seconds, self.in_service_seconds)

    @property
    def occupied_share(self) -> float | None:
        """Of the operational time, the share it was CHARGING or BLOCKED."""
        return _share(self.occupied_seconds, self.operational_seconds)

    def as_dict(self) -> dict:
        return {"evse_days": self.evse_days, "in_service_seconds": self.in_service_seconds,
                **{name: getattr(self, name) for name in SECOND_COLUMNS}, "status_changes": self.status_changes,
                "operational_share": self.operational_share, "out_of_order_share": self.out_of_order_share,
                "unknown_share": self.unknown_share, "occupied_share": self.occupied_share}


_SUMS = (func.count(), *(func.sum(getattr(Day, name)) for name in SECOND_COLUMNS), func.sum(Day.status_changes))


def _figures(values) -> Figures:
    return Figures(*(int(value or 0) for value in values))


_GROUP_SUMS = (func.sum(Group.evse_days), *(func.sum(getattr(Group, name)) for name in SECOND_COLUMNS),
               func.sum(Group.status_changes))
GROUPS = {"national": (), "operator": (Group.country_code, Group.party_id), "power_class": (Group.power_class,)}


def aggregate(session: Session, period: str, first: date, last: date, group: str = "national",
              country_code: str | None = None, party_id: str | None = None) -> list[tuple[date, tuple, Figures]]:
    """(period start, group key, figures) in period then key order, for the days from
    `first` to `last` inclusive. Read from the day's sums per operator and power class (a
    few rows per day, however many EVSEs); the days are folded into weeks or months here."""
    columns = GROUPS[group]
    query = select(Group.day, *columns, *_GROUP_SUMS).where(Group.day >= first, Group.day <= last)
    if country_code is not None:
        query = query.where(Group.country_code == country_code, Group.party_id == party_id)
    folded: dict[tuple[date, tuple], Figures] = {}
    for row in session.execute(query.group_by(Group.day, *columns)):
        key = (period_start(row[0], period), tuple(row[1:1 + len(columns)]))
        folded.setdefault(key, Figures()).add(_figures(row[1 + len(columns):]))
    return [(start, key, figures) for (start, key), figures in sorted(folded.items())]


def operator_totals(session: Session, first: date, last: date) -> list[tuple[str, str, Figures]]:
    return [(key[0], key[1], figures) for _start, key, figures in fold_periods(
        aggregate(session, "day", first, last, "operator"))]


def fold_periods(rows):
    """Fold rows of several periods into one per key."""
    totals: dict[tuple, Figures] = {}
    for _start, key, figures in rows:
        totals.setdefault(key, Figures()).add(figures)
    return [(None, key, figures) for key, figures in sorted(totals.items())]


@dataclass(frozen=True)
class EvseFigures:
    location_id: str
    evse_uid: str
    evse_id: str | None
    power_class: str
    figures: Figures


def _evse_query(first: date, last: date, country_code: str | None, party_id: str | None, published_only: bool,
                feed_id: int | None):
    query = (select(Location.ocpi_id, Day.evse_uid, func.max(Day.evse_id), func.max(Day.power_class), *_SUMS)
             .join(Location, Location.id == Day.location_pk).where(Day.day >= first, Day.day <= last))
    if country_code is not None:
        query = query.where(Day.country_code == country_code, Day.party_id == party_id)
    if feed_id is not None:
        query = query.where(Day.feed_id == feed_id)
    if published_only:
        query = query.where(Location.publish.is_(True))
    return query.group_by(Location.ocpi_id, Day.location_pk, Day.evse_uid)


def _evse_rows(session: Session, query) -> list[EvseFigures]:
    return [EvseFigures(row[0], row[1], row[2], row[3], _figures(row[4:])) for row in session.execute(query)]


def evse_figures(session: Session, first: date, last: date, country_code: str | None = None,
                 party_id: str | None = None, published_only: bool = True,
                 feed_id: int | None = None) -> list[EvseFigures]:
    """Per EVSE, its figures summed over the days from `first` to `last`. Only EVSEs of
    locations published to everyone, by default: the per-EVSE figures are public."""
    query = _evse_query(first, last, country_code, party_id, published_only, feed_id)
    return _evse_rows(session, query.order_by(Location.ocpi_id, Day.evse_uid))


def worst_evses(session: Session, first: date, last: date, limit: int = 10, country_code: str | None = None,
                party_id: str | None = None, published_only: bool = True,
                feed_id: int | None = None) -> list[EvseFigures]:
    """The least operational EVSEs first (unknown counts against them: silence is no proof
    of working), then the most out of order; sorted and cut in the database."""
    in_service = func.sum(Day.operational_seconds + Day.out_of_order_seconds + Day.unknown_seconds)
    share = cast(func.sum(Day.operational_seconds), Float) / in_service
    query = (_evse_query(first, last, country_code, party_id, published_only, feed_id).having(in_service > 0)
             .order_by(share, func.sum(Day.out_of_order_seconds).desc(), Location.ocpi_id, Day.evse_uid)
             .limit(limit))
    return _evse_rows(session, query)


def distribution(session: Session, first: date, last: date, country_code: str | None = None,
                 party_id: str | None = None, bins: int = 10) -> list[int]:
    """How many EVSEs had an operational share over the days in each tenth (the last bin
    holds 100 %). Counted in the database: only `bins` rows come back, however many EVSEs."""
    in_service = Day.operational_seconds + Day.out_of_order_seconds + Day.unknown_seconds
    per_evse = (select(func.sum(Day.operational_seconds).label("operational"), func.sum(in_service).label("total"))
                .where(Day.day >= first, Day.day <= last))
    if country_code is not None:
        per_evse = per_evse.where(Day.country_code == country_code, Day.party_id == party_id)
    per_evse = per_evse.group_by(Day.location_pk, Day.evse_uid).subquery()
    # Floor division (//: integer division on both engines): the bin of operational / total, exactly.
    bin_of = case((per_evse.c.operational >= per_evse.c.total, bins - 1),
                  else_=(per_evse.c.operational * bins) // per_evse.c.total)
    counts = [0] * bins
    for index, number in session.execute(select(bin_of, func.count()).where(per_evse.c.total > 0).group_by(bin_of)):
        counts[int(index)] += number
    return counts


def latest_day(session: Session) -> date | None:
    return session.scalar(select(func.max(Day.day)))
