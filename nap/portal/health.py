"""How a feed is doing: its harvests, its last errors, and its freshness against the AFIR
limits (static data at most 24 hours old, dynamic data, i.e. EVSE status, at most one
minute). Shown to the CPO on its feed page and to admins for every feed at once."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nap.store.run_report import UnitRow, unit_rows
from nap.store.status_history import push_freshness
from nap.store.states import FeedStatus, RunStatus
from nap.store.tables import Feed, Finding, HarvestRun, Location

STATIC_LIMIT = timedelta(hours=24)
DYNAMIC_LIMIT_SECONDS = 60
# Push lags are measured over this window.
DYNAMIC_WINDOW = timedelta(hours=24)

STATUS_TEXT = {
    FeedStatus.PENDING: "Waiting for approval by the access point's administrators. NAP does not harvest it yet.",
    FeedStatus.ACTIVE: "Harvested on schedule and published.",
    FeedStatus.SUSPENDED: "Suspended by the administrators: not harvested, pushes refused. "
                          "The data already published stays.",
    FeedStatus.NEEDS_CREDENTIALS: "The CPO refused NAP's token. Give new credentials below; harvesting resumes then.",
    FeedStatus.REJECTED: "Rejected by the administrators: not harvested, nothing published. Their reason is below.",
    FeedStatus.WITHDRAWN: "Withdrawn: not harvested, pushes refused, and its data has left the publication "
                 "(the history is kept).",
}


@dataclass(frozen=True)
class Verdict:
    met: bool | None  # None: cannot tell yet
    summary: str


# Freshness means nothing for a feed whose data nobody can read: a feed that publishes
# nothing never shows "met".
NOTHING_PUBLISHED = Verdict(None, "nothing published: no current location under a verified party")


@dataclass
class FeedHealth:
    feed: Feed
    last_run: HarvestRun | None
    static: Verdict
    dynamic: Verdict
    failed_runs_24h: int
    published_locations: int
    last_errors: list[HarvestRun] = field(default_factory=list)
    latest_run_errors: int = 0
    # The latest run that is over (last_run may still be running): its status and unit counts.
    last_finished: HarvestRun | None = None

    @property
    def last_evses(self) -> UnitRow | None:
        """The EVSEs of the latest finished run: served, stored, repaired, skipped."""
        return next((row for row in unit_rows(self.last_finished.unit_counts) if row.unit == "evses"), None) \
            if self.last_finished is not None else None


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 3 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def static_verdict(feed: Feed, now: datetime) -> Verdict:
    if feed.last_success_started_at is None:
        return Verdict(None, "no successful harvest yet")
    age = now - feed.last_success_started_at
    met = age <= STATIC_LIMIT
    return Verdict(met, f"last successful harvest {_age(age)} ago "
                        f"({'within' if met else 'beyond'} the 24 h limit; harvested every {feed.interval_minutes} min)")


def dynamic_verdict(session: Session, feed: Feed, now: datetime) -> Verdict:
    pushed = push_freshness(session, feed.id, now - DYNAMIC_WINDOW)
    if pushed.samples:
        met = pushed.p95_seconds <= DYNAMIC_LIMIT_SECONDS
        return Verdict(met, f"{pushed.samples} status pushes in 24 h: median delay {pushed.p50_seconds:.0f} s, "
                            f"95th percentile {pushed.p95_seconds:.0f} s (limit {DYNAMIC_LIMIT_SECONDS} s)")
    if feed.interval_minutes <= 1 and feed.last_success_started_at is not None:
        return Verdict(True, f"no pushes, but statuses are pulled every {feed.interval_minutes} min")
    return Verdict(False, f"no status pushes in 24 h; pulled every {feed.interval_minutes} min, so a status can "
                          "be that old. Push EVSE status changes to NAP's receiver to meet the 1-minute limit")


def feed_health(session: Session, feed: Feed, now: datetime) -> FeedHealth:
    runs = list(session.scalars(select(HarvestRun).where(HarvestRun.feed_id == feed.id)
                                .order_by(HarvestRun.id.desc()).limit(50)))
    last_run = runs[0] if runs else None
    failed_24h = session.scalar(select(func.count()).select_from(HarvestRun).where(
        HarvestRun.feed_id == feed.id, HarvestRun.status == RunStatus.FAILED,
        HarvestRun.started_at >= now - timedelta(days=1)))
    published = session.scalar(select(func.count()).select_from(Location).where(
        Location.feed_id == feed.id, Location.removed_at.is_(None), Location.publish.is_(True)))
    latest_errors = 0
    if last_run is not None:
        latest_errors = session.scalar(select(func.count()).select_from(Finding).where(
            Finding.run_id == last_run.id, Finding.severity == "error"))
    return FeedHealth(
        feed=feed, last_run=last_run,
        static=static_verdict(feed, now) if published else NOTHING_PUBLISHED,
        dynamic=dynamic_verdict(session, feed, now) if published else NOTHING_PUBLISHED,
        failed_runs_24h=failed_24h, published_locations=published,
        last_errors=[run for run in runs if run.status == RunStatus.FAILED][:5], latest_run_errors=latest_errors,
        last_finished=next((run for run in runs if run.status != RunStatus.RUNNING), None),
    )
