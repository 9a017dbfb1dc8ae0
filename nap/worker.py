"""The worker: APScheduler ticks, the database decides which feeds are due.

APScheduler only triggers; which feed runs is decided from the run history in the database,
so a feed added or suspended takes effect at the next tick without restarting the worker.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from harvesters.harvest import Harvester
from nap.config import Settings
from nap.store.tables import Feed, HarvestRun

log = logging.getLogger(__name__)


def due_feed_names(session: Session, now: datetime) -> list[str]:
    last_start = (
        select(HarvestRun.feed_id, func.max(HarvestRun.started_at).label("started"))
        .group_by(HarvestRun.feed_id).subquery()
    )
    rows = session.execute(
        select(Feed.name, Feed.interval_minutes, last_start.c.started)
        .outerjoin(last_start, last_start.c.feed_id == Feed.id)
        .where(Feed.status == "active")
        .order_by(Feed.id)
    ).all()
    return [
        name for name, interval, started in rows
        if started is None or started + timedelta(minutes=interval) <= now
    ]


def _harvest_one(harvester: Harvester, name: str) -> str | None:
    try:
        run = harvester.harvest(name, only_if_due=True)
    except Exception:  # one feed's trouble must not stop the others
        log.exception("harvest of %s crashed", name)
        return None
    if run is None:
        return None
    log.info("harvested %s: %s (%s)", name, run.status, run.error or f"{run.objects_received} objects")
    return name


def run_due_feeds(sessions: sessionmaker[Session], settings: Settings) -> list[str]:
    """Harvest every due feed that no other process is harvesting; returns those run here.
    Feeds run in parallel threads so a slow CPO does not hold up the others."""
    with sessions() as session:
        names = due_feed_names(session, datetime.now(timezone.utc))
    if not names:
        return []
    harvester = Harvester(sessions, settings)
    threads = 1 if sessions.kw["bind"].dialect.name == "sqlite" else settings.worker_threads
    with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="harvest") as pool:
        ran = list(pool.map(lambda name: _harvest_one(harvester, name), names))
    return [name for name in ran if name]


def _daily(sessions: sessionmaker[Session], settings: Settings) -> None:
    from exporters.daily import run_daily_jobs

    try:
        run_daily_jobs(sessions, settings, datetime.now(timezone.utc))
    except Exception:  # the next tick tries again; harvesting goes on meanwhile
        log.exception("daily jobs failed")


def run_worker(sessions: sessionmaker[Session], settings: Settings, tick_seconds: int = 30) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        run_due_feeds, "interval", seconds=tick_seconds, args=[sessions, settings],
        next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True,
    )
    # Checked every tick; the leases make each daily job run once a day in all.
    scheduler.add_job(_daily, "interval", seconds=tick_seconds, args=[sessions, settings],
                      next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True)
    log.info("worker started: checking for due feeds every %ss", tick_seconds)
    scheduler.start()
