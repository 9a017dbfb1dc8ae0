"""The worker: APScheduler ticks, the database decides which feeds are due.

APScheduler only triggers; which feed runs is decided from the run history in the database,
so a feed added or suspended takes effect at the next tick without restarting the worker.
"""
from __future__ import annotations

import logging
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


def run_due_feeds(sessions: sessionmaker[Session], settings: Settings) -> list[str]:
    with sessions() as session:
        names = due_feed_names(session, datetime.now(timezone.utc))
    harvester = Harvester(sessions, settings)
    for name in names:
        run = harvester.harvest(name)
        log.info("harvested %s: %s (%s)", name, run.status, run.error or f"{run.objects_received} objects")
    return names


def run_worker(sessions: sessionmaker[Session], settings: Settings, tick_seconds: int = 30) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        run_due_feeds, "interval", seconds=tick_seconds, args=[sessions, settings],
        next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True,
    )
    log.info("worker started: checking for due feeds every %ss", tick_seconds)
    scheduler.start()
