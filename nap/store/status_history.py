"""EVSE status history: recording changes (from pulls and pushes alike), reading deltas,
measuring freshness, and pruning old rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import quantiles
from typing import Collection, Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from nap.store.tables import EvseStatusChange, Tariff


@dataclass(frozen=True)
class StatusChange:
    location_pk: int
    evse_uid: str
    old_status: str | None
    new_status: str
    cpo_time: datetime


# The columns of a history row. Besides record_status_changes, the harvest's bulk insert
# (nap/store/writer.py) writes rows in this order, and the PostgreSQL one-statement push
# (nap/store/evse_status.py) writes them in SQL: a column added here goes there too.
STATUS_CHANGE_COLUMNS = ("feed_id", "location_pk", "evse_uid", "old_status", "new_status", "cpo_time",
                         "received_at", "via")


def status_change_values(feed_id: int, change: StatusChange, received_at, via: str) -> tuple:
    """One history row, in STATUS_CHANGE_COLUMNS order."""
    return (feed_id, change.location_pk, change.evse_uid, change.old_status, change.new_status, change.cpo_time,
            received_at, via)


def record_status_changes(session: Session, feed_id: int, changes: Iterable[StatusChange],
                          received_at: datetime, via: str) -> int:
    rows = [dict(zip(STATUS_CHANGE_COLUMNS, status_change_values(feed_id, c, received_at, via))) for c in changes]
    if rows:
        session.execute(insert(EvseStatusChange), rows)
    return len(rows)


@dataclass(frozen=True)
class Freshness:
    samples: int
    p50_seconds: float | None
    p95_seconds: float | None


def push_freshness(session: Session, feed_id: int, since: datetime, limit: int = 10_000) -> Freshness:
    """Lag between the CPO's last_updated and NAP's receipt of pushed status changes: the
    figure that shows whether the AFIR one-minute rule for dynamic data is met."""
    rows = session.execute(
        select(EvseStatusChange.cpo_time, EvseStatusChange.received_at)
        .where(EvseStatusChange.feed_id == feed_id, EvseStatusChange.via == "push",
               EvseStatusChange.received_at >= since)
        .order_by(EvseStatusChange.received_at.desc()).limit(limit)
    ).all()
    lags = sorted(max((received - cpo).total_seconds(), 0.0) for cpo, received in rows)
    if not lags:
        return Freshness(0, None, None)
    if len(lags) == 1:
        return Freshness(1, lags[0], lags[0])
    cuts = quantiles(lags, n=100, method="inclusive")
    return Freshness(len(lags), cuts[49], cuts[94])


def prune_status_history(session: Session, older_than: datetime) -> int:
    return session.execute(delete(EvseStatusChange).where(EvseStatusChange.received_at < older_than)).rowcount


@dataclass(frozen=True)
class SeenChanges:
    """The changes a reader of status deltas has had (exporters/push/engine.py): status
    history ids, and tariff changes as tariff_key gives them (a tariff changes in place, so
    its id alone would not tell one change from the next)."""
    statuses: frozenset[int] = frozenset()
    tariffs: frozenset[str] = frozenset()

    @staticmethod
    def tariff_key(tariff_pk: int, changed_at: datetime) -> str:
        return f"{tariff_pk}@{changed_at.isoformat()}"

    @classmethod
    def after(cls, session: Session, start: datetime, until: datetime | None = None) -> SeenChanges:
        """The status and tariff changes received after `start` (and not after `until`)."""
        statuses = session.scalars(select(EvseStatusChange.id).where(
            EvseStatusChange.received_at > start, *not_after(EvseStatusChange.received_at, until)))
        tariffs = session.execute(select(Tariff.id, Tariff.changed_at).where(
            Tariff.changed_at > start, *not_after(Tariff.changed_at, until)))
        return cls(frozenset(statuses), frozenset(cls.tariff_key(pk, at) for pk, at in tariffs))

    @classmethod
    def from_json(cls, value: dict | None) -> SeenChanges:
        value = value if isinstance(value, dict) else {}
        return cls(frozenset(value.get("statuses") or ()), frozenset(value.get("tariffs") or ()))

    def to_json(self) -> dict:
        return {"statuses": sorted(self.statuses), "tariffs": sorted(self.tariffs)}


def not_after(column, until: datetime | None) -> tuple:
    """The condition that `column` is not after `until`, none for None: for a where()."""
    return () if until is None else (column <= until,)


def count_changed_evses(session: Session, since: datetime) -> int:
    """How many EVSEs changed status after `since`: the keys changed_evses_since gives,
    counted in the database."""
    changed = select(EvseStatusChange.location_pk, EvseStatusChange.evse_uid).where(
        EvseStatusChange.received_at > since).distinct().subquery()
    return session.scalar(select(func.count()).select_from(changed))


def changed_evses_since(session: Session, since: datetime, skip: Collection[int] = (),
                        until: datetime | None = None) -> dict[int, set[str]]:
    """location_pk -> EVSE uids whose status changed after `since` (and not after `until`;
    for DATEX II deltas), leaving out the changes whose ids are in `skip` (those a reader
    has had)."""
    changed: dict[int, set[str]] = {}
    window = (EvseStatusChange.received_at > since, *not_after(EvseStatusChange.received_at, until))
    if skip:
        rows = session.execute(select(EvseStatusChange.id, EvseStatusChange.location_pk, EvseStatusChange.evse_uid)
                               .where(*window))
        pairs = ((location_pk, uid) for change_id, location_pk, uid in rows if change_id not in skip)
    else:
        pairs = session.execute(select(EvseStatusChange.location_pk, EvseStatusChange.evse_uid)
                                .where(*window).distinct())
    for location_pk, uid in pairs:
        changed.setdefault(location_pk, set()).add(uid)
    return changed


def retention_cutoff(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
