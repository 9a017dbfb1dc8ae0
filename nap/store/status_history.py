"""EVSE status history: recording changes (from pulls and pushes alike), reading deltas,
measuring freshness, and pruning old rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import quantiles
from typing import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from nap.store.tables import EvseStatusChange


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


def changed_evses_since(session: Session, since: datetime) -> dict[int, set[str]]:
    """location_pk -> EVSE uids whose status changed after `since` (for DATEX II deltas)."""
    changed: dict[int, set[str]] = {}
    for location_pk, uid in session.execute(
        select(EvseStatusChange.location_pk, EvseStatusChange.evse_uid)
        .where(EvseStatusChange.received_at > since).distinct()
    ):
        changed.setdefault(location_pk, set()).add(uid)
    return changed


def retention_cutoff(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
