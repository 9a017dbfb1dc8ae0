"""The harvester's findings that describe what a CPO serves now: those of each feed's
latest completed harvest (success or degraded: its data was stored), plus those of pushes
received since it started. Older findings are about versions that have been replaced since
(every run records its findings anew)."""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from nap.store.states import COMPLETED_RUN_STATUSES
from nap.store.tables import Finding, HarvestRun


def current_findings_condition(session: Session, feed_ids: list[int]):
    latest = dict(session.execute(
        select(HarvestRun.feed_id, func.max(HarvestRun.id))
        .where(HarvestRun.feed_id.in_(feed_ids), HarvestRun.status.in_(COMPLETED_RUN_STATUSES))
        .group_by(HarvestRun.feed_id)).all())
    started = dict(session.execute(
        select(HarvestRun.feed_id, HarvestRun.started_at).where(HarvestRun.id.in_(list(latest.values())))).all())
    conditions = []
    for feed_id in feed_ids:
        pushes = Finding.run_id.is_(None)
        if feed_id in started:
            pushes = and_(pushes, Finding.created_at >= started[feed_id])
        current = or_(Finding.run_id == latest[feed_id], pushes) if feed_id in latest else pushes
        conditions.append(and_(Finding.feed_id == feed_id, current))
    return or_(*conditions) if conditions else Finding.id.is_(None)


def current_findings(session: Session, feed_ids: list[int], *conditions, limit: int | None = None) -> list[Finding]:
    query = select(Finding).where(current_findings_condition(session, feed_ids), *conditions) \
        .order_by(Finding.severity, Finding.object_id, Finding.id)
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_current_findings(session: Session, feed_ids: list[int], *conditions) -> int:
    return session.scalar(select(func.count()).select_from(Finding)
                          .where(current_findings_condition(session, feed_ids), *conditions))
