"""The worker: APScheduler ticks, the database decides which feeds are due.

APScheduler only triggers; which feed runs is decided from the run history in the database,
so a feed added or suspended takes effect at the next tick without restarting the worker.
A harvest someone asked for (the portal's "harvest now", an approval) is due at once: the
web process records the request (nap.feeds.request_harvest) and the tick runs it here.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from harvesters.harvest import Harvester
from nap.config import Settings
from nap.feeds import close_harvest_request, request_waits, waiting_harvest_request
from nap.store.db import write_session
from nap.store.states import FeedStatus
from nap.store.tables import Feed, HarvestRun

log = logging.getLogger(__name__)


class DueFeed(NamedTuple):
    id: int
    name: str
    requested: bool  # someone asked for this harvest: it runs whatever the interval


def due_feeds(session: Session, now: datetime) -> list[DueFeed]:
    last_start = (
        select(HarvestRun.feed_id, func.max(HarvestRun.started_at).label("started"))
        .group_by(HarvestRun.feed_id).subquery()
    )
    rows = session.execute(
        select(Feed.id, Feed.name, Feed.interval_minutes, Feed.harvest_requested_at, last_start.c.started)
        .outerjoin(last_start, last_start.c.feed_id == Feed.id)
        .where(Feed.status == FeedStatus.ACTIVE)
        .order_by(Feed.id)
    ).all()
    due = []
    for feed_id, name, interval, requested_at, started in rows:
        requested = request_waits(requested_at, started)
        if requested or started is None or started + timedelta(minutes=interval) <= now:
            due.append(DueFeed(feed_id, name, requested))
    return due


def _answer_request(harvester: Harvester, feed: DueFeed) -> HarvestRun | None:
    """Run the harvest someone asked for, unless another worker has answered it meanwhile.
    Whether the request still waits is checked under the request's lease, and the run starts
    before the lease is let go, so of several workers that saw the request one runs it. The
    harvester's own lease keeps the run apart from a scheduled one of the same feed: when
    that one holds the feed, this returns None and the request waits for the next tick."""
    lease = f"harvest-request:feed:{feed.id}"
    if not harvester.leases.acquire(lease, timedelta(seconds=harvester.settings.harvest_max_seconds + 60)):
        return None
    try:
        with harvester.sessions() as session:
            row = session.get(Feed, feed.id)
            if row is None or waiting_harvest_request(session, row) is None:
                return None
        run = harvester.harvest(feed.name)
        if run is not None:
            with write_session(harvester.sessions) as session:
                close_harvest_request(session, feed.id, run.started_at)
        return run
    finally:
        harvester.leases.release(lease)


def _harvest_one(harvester: Harvester, feed: DueFeed) -> str | None:
    try:
        if feed.requested:
            run = _answer_request(harvester, feed)
        else:
            run = harvester.harvest(feed.name, only_if_due=True)
    except Exception:  # one feed's trouble must not stop the others
        log.exception("harvest of %s crashed", feed.name)
        return None
    if run is None:
        return None
    log.info("harvested %s%s: %s (%s)", feed.name, " as requested" if feed.requested else "", run.status,
             run.error or f"{run.objects_received} objects")
    return feed.name


def _harvest_threads(sessions: sessionmaker[Session], settings: Settings) -> int:
    # SQLite has one writer at a time: parallel harvests would only wait for each other.
    return 1 if sessions.kw["bind"].dialect.name == "sqlite" else max(1, settings.worker_threads)


def run_due_feeds(sessions: sessionmaker[Session], settings: Settings) -> list[str]:
    """Harvest every due feed that no other process is harvesting, and wait for them; returns
    those run here (for `nap` commands and tests; the worker uses HarvestDispatcher)."""
    with sessions() as session:
        due = due_feeds(session, datetime.now(timezone.utc))
    if not due:
        return []
    harvester = Harvester(sessions, settings)
    with ThreadPoolExecutor(max_workers=_harvest_threads(sessions, settings), thread_name_prefix="harvest") as pool:
        ran = list(pool.map(lambda feed: _harvest_one(harvester, feed), due))
    return [name for name in ran if name]


class HarvestDispatcher:
    """The worker's harvest tick: hands each due feed to a pool of threads that lives as long
    as the worker, and returns at once. Waiting for a tick's harvests to end before the next
    tick would make every feed that falls due meanwhile wait for the slowest CPO; here a slow
    CPO holds one thread, and the next ticks start the feeds due after it on the others. A
    feed still running here is not handed over again (another process is kept off it by the
    harvest lease)."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings):
        self.sessions = sessions
        self.harvester = Harvester(sessions, settings)
        self.pool = ThreadPoolExecutor(max_workers=_harvest_threads(sessions, settings),
                                       thread_name_prefix="harvest")
        self._running: set[int] = set()
        # Re-entrant: a harvest that ends before its callback is added runs the callback at once.
        self._lock = threading.RLock()

    def tick(self) -> list[Future]:
        """Start the due feeds not running here; their futures (each gives the feed's name
        when it harvested, else None)."""
        with self.sessions() as session:
            due = due_feeds(session, datetime.now(timezone.utc))
        started = []
        with self._lock:
            for feed in due:
                if feed.id in self._running:
                    continue
                self._running.add(feed.id)
                future = self.pool.submit(_harvest_one, self.harvester, feed)
                future.add_done_callback(lambda _done, feed_id=feed.id: self._finished(feed_id))
                started.append(future)
        return started

    def _finished(self, feed_id: int) -> None:
        with self._lock:
            self._running.discard(feed_id)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)


def _daily(sessions: sessionmaker[Session], settings: Settings) -> None:
    from exporters.daily import run_daily_jobs

    try:
        run_daily_jobs(sessions, settings, datetime.now(timezone.utc))
    except Exception:  # the next tick tries again; harvesting goes on meanwhile
        log.exception("daily jobs failed")


def run_worker(sessions: sessionmaker[Session], settings: Settings, tick_seconds: int = 30) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    harvests = HarvestDispatcher(sessions, settings)
    scheduler.add_job(harvests.tick, "interval", seconds=tick_seconds,
                      next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True)
    # Checked every tick; the leases make each daily job run once a day in all.
    scheduler.add_job(_daily, "interval", seconds=tick_seconds, args=[sessions, settings],
                      next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True)
    # Push subscribers (exporters/push/): a loop of its own, ticking ten times a second.
    from exporters.push.loop import DeliveryLoop

    DeliveryLoop(sessions, settings).start()
    # DATEX II status deltas are joined from segments it writes a few times a second.
    from exporters.datex2.status_segments import SegmentLoop

    SegmentLoop(sessions, profiles=settings.datex2_status_segments).start()
    log.info("worker started: checking for due feeds every %ss", tick_seconds)
    scheduler.start()
