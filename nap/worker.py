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
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from harvesters.answer_waits import AnswerWaits
from harvesters.harvest import Harvester
from nap.config import Settings
from nap.feeds import close_harvest_request, request_waits, waiting_harvest_request
from nap.store.db import write_session
from nap.store.states import FeedStatus, RunStatus
from nap.store.tables import Feed, HarvestRun
from nap.ticking import TickingThread

log = logging.getLogger(__name__)


class LastRun(NamedTuple):
    slowest_answer_seconds: float  # how long its CPO kept it waiting for one answer
    answer_retries: int  # how many retries its requests took, each after a back-off
    pages: int
    failed: bool

    # A CPO that failed one answer in ten or more is flaky, not unlucky: the next run of a
    # large feed whose thousand pages met one 502 starts on a thread as usual (the run that
    # met it stepped aside at its retry).
    FLAKY_SHARE = 0.1

    def flaky(self) -> bool:
        return self.answer_retries > 0 and self.answer_retries >= self.FLAKY_SHARE * max(self.pages, 1)

    def held_up(self, slow_answer_seconds: float) -> str | None:
        """How its CPO held this run up (for the log), or None when it did not."""
        if self.failed:
            return "failed"
        if self.slowest_answer_seconds >= slow_answer_seconds:
            return f"waited {self.slowest_answer_seconds:.1f} s for one answer"
        if self.flaky():
            return f"took {self.answer_retries} retries for {self.pages} pages"
        return None


class DueFeed(NamedTuple):
    id: int
    name: str
    requested: bool  # someone asked for this harvest: it runs whatever the interval
    # Its last run that ended (not one abandoned by a worker that died, nor one from before
    # migration 0023); None when it has none.
    last_run: LastRun | None = None


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
            due.append((feed_id, name, requested))
    last_runs = _last_runs(session, [feed_id for feed_id, _, _ in due])
    return [DueFeed(feed_id, name, requested, last_runs.get(feed_id)) for feed_id, name, requested in due]


def _last_runs(session: Session, feed_ids: list[int]) -> dict[int, LastRun]:
    """Each feed's last run that ended, as the dispatcher weighs it. Read from the database,
    so that what one worker learned about a CPO every worker knows, a restarted one too."""
    if not feed_ids:
        return {}
    # Per feed, one step down ix_harvest_runs_feed_answered (a history of years stays unread).
    last = (select(HarvestRun.id)
            .where(HarvestRun.feed_id == Feed.id, HarvestRun.slowest_answer_seconds.is_not(None))
            .order_by(HarvestRun.id.desc()).limit(1).correlate(Feed).scalar_subquery())
    ids = select(last).select_from(Feed).where(Feed.id.in_(feed_ids))
    rows = session.execute(select(HarvestRun.feed_id, HarvestRun.slowest_answer_seconds, HarvestRun.answer_retries,
                                  HarvestRun.pages, HarvestRun.status).where(HarvestRun.id.in_(ids))).all()
    return {feed_id: LastRun(slowest, retries or 0, pages or 0, status == RunStatus.FAILED)
            for feed_id, slowest, retries, pages, status in rows}


def _answer_request(harvester: Harvester, feed: DueFeed, waits: AnswerWaits | None) -> HarvestRun | None:
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
        run = harvester.harvest(feed.name, waits=waits)
        if run is not None:
            with write_session(harvester.sessions) as session:
                close_harvest_request(session, feed.id, run.started_at)
        return run
    finally:
        harvester.leases.release(lease)


def _harvest_one(harvester: Harvester, feed: DueFeed, waits: AnswerWaits | None = None) -> str | None:
    try:
        if feed.requested:
            run = _answer_request(harvester, feed, waits)
        else:
            run = harvester.harvest(feed.name, only_if_due=True, waits=waits)
    except Exception:  # one feed's trouble must not stop the others
        log.exception("harvest of %s crashed", feed.name)
        return None
    if run is None:
        return None
    log.info("harvested %s%s: %s (%s)", feed.name, " as requested" if feed.requested else "", run.status,
             run.error or f"{run.objects_received} objects")
    return feed.name


def _is_sqlite(sessions: sessionmaker[Session]) -> bool:
    return sessions.kw["bind"].dialect.name == "sqlite"


def _harvest_threads(sessions: sessionmaker[Session], settings: Settings) -> int:
    # SQLite has one writer at a time: parallel harvests would only wait for each other.
    return 1 if _is_sqlite(sessions) else max(1, settings.worker_threads)


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


@dataclass
class _Run:
    feed: DueFeed
    waits: AnswerWaits
    aside: bool  # held up by its CPO: it runs beside the worker's threads, not on one of them


class HarvestDispatcher:
    """The worker's harvest tick: queues the due feeds and returns at once. A feed starts as
    soon as one of the worker's NAP_WORKER_THREADS is free, in the order it fell due; a
    feed still running or queued here is not queued again (another process is kept off it
    by the harvest lease).

    A CPO that is slow to answer holds its harvest for as long as it likes, while this
    machine does nothing for it. So a run that has waited NAP_HARVEST_SLOW_ANSWER_SECONDS
    for one answer, or has had to ask again for one (its CPO failed it), steps aside: it goes
    on beside the threads (at most NAP_WORKER_WAITING_THREADS runs at once) and its thread
    takes the next due feed at once. No feed waits for a slow CPO longer than that, nor for
    a failing one longer than its first failed answer. A feed whose last run, in any worker
    (the run's record says), was slow, flaky (retries for a tenth of its pages or more) or
    failed starts aside, while there is room, and so makes no one wait at all."""

    WATCH_SECONDS = 0.25  # how often the running harvests' waits are looked at

    def __init__(self, sessions: sessionmaker[Session], settings: Settings):
        self.sessions = sessions
        self.harvester = Harvester(sessions, settings)
        self.threads = _harvest_threads(sessions, settings)
        # SQLite: a harvest holds the one write lock while it waits, so nothing runs beside it.
        self.waiting_threads = 0 if _is_sqlite(sessions) else max(0, settings.worker_waiting_threads)
        self.slow_answer_seconds = settings.harvest_slow_answer_seconds
        self.pool = ThreadPoolExecutor(max_workers=self.threads + self.waiting_threads,
                                       thread_name_prefix="harvest")
        self._queue: list[DueFeed] = []
        self._running: dict[int, _Run] = {}
        # Re-entrant: a harvest that ends before its callback is added runs the callback at once.
        self._lock = threading.RLock()
        self._watch = _Watch(self)
        self._watch.start()

    def tick(self) -> list[Future]:
        """Queue the due feeds not running or queued here and start what threads allow;
        the futures of those started (each gives the feed's name when it harvested, else
        None)."""
        with self.sessions() as session:
            due = due_feeds(session, datetime.now(timezone.utc))
        with self._lock:
            known = self._running.keys() | {feed.id for feed in self._queue}
            self._queue.extend(feed for feed in due if feed.id not in known)
            return self._start_queued()

    def _start_queued(self) -> list[Future]:
        started = []
        # The queue is looked at afresh for each start: a harvest that ends at once starts
        # the next ones from its callback, within this loop.
        while (run := self._next_run()) is not None:
            feed = run.feed
            if run.aside:
                log.info("harvest of %s starts aside: its last run %s", feed.name, self._held_up_last_time(feed),
                         extra={"feed": feed.name})
            future = self.pool.submit(_harvest_one, self.harvester, feed, run.waits)
            self._queue.remove(feed)
            self._running[feed.id] = run
            future.add_done_callback(lambda _done, run=run: self._finished(run))
            started.append(future)
        return started

    def _next_run(self) -> _Run | None:
        """The first queued feed that may start: on a free thread, or aside when its last
        run was held up by its CPO (while there is room)."""
        threads_free = len(self._running) - self._aside() < self.threads
        for feed in self._queue:
            aside = self._held_up_last_time(feed) is not None and self._aside() < self.waiting_threads
            if aside or threads_free:
                return _Run(feed, AnswerWaits(), aside)
        return None

    def _held_up_last_time(self, feed: DueFeed) -> str | None:
        """How its CPO held its last run up, or None."""
        return None if feed.last_run is None else feed.last_run.held_up(self.slow_answer_seconds)

    def _aside(self) -> int:
        return sum(1 for run in self._running.values() if run.aside)

    def watch(self) -> None:
        """Let runs held up by their CPO step aside, and start the feeds their threads free."""
        with self._lock:
            for run in self._running.values():
                if run.aside or self._aside() >= self.waiting_threads:
                    continue
                reason = self._held_up_now(run.waits)
                if reason is not None:
                    run.aside = True
                    log.info("harvest of %s steps aside: its CPO %s; its thread goes to the next due feed",
                             run.feed.name, reason, extra={"feed": run.feed.name})
            self._start_queued()

    def _held_up_now(self, waits: AnswerWaits) -> str | None:
        """How the CPO holds a run up so far, or None. A run that has waited long for one
        answer, or that has had to ask again: a failing or flaky CPO's run spends its time
        in back-offs, each shorter than a slow answer, so it would keep its thread for
        seconds, or for its whole run, without ever being seen slow."""
        waited = waits.longest_now()
        if waited >= self.slow_answer_seconds:
            return f"took {waited:.1f} s for one answer so far"
        if waits.retries:
            return f"failed an answer, which is asked for again after a back-off ({waits.retries} retries so far)"
        return None

    def _finished(self, run: _Run) -> None:
        with self._lock:
            self._running.pop(run.feed.id, None)
            self._start_queued()

    def shutdown(self) -> None:
        self._watch.stop()
        with self._lock:
            self._queue.clear()
        self.pool.shutdown(wait=True)


class _Watch(TickingThread):
    name = "harvest-watch"

    def __init__(self, dispatcher: HarvestDispatcher):
        super().__init__(dispatcher.WATCH_SECONDS)
        self.dispatcher = dispatcher

    def tick(self) -> None:
        try:
            self.dispatcher.watch()
        except Exception:  # the next look tries again; a stopped watch would stop the queue
            log.exception("the harvest watch failed")


def _daily(sessions: sessionmaker[Session], settings: Settings) -> None:
    from exporters.daily import run_daily_jobs

    try:
        run_daily_jobs(sessions, settings, datetime.now(timezone.utc))
    except Exception:  # the next tick tries again; harvesting goes on meanwhile
        log.exception("daily jobs failed")


def _table_files(sessions: sessionmaker[Session], settings: Settings) -> None:
    from exporters.datex2.table_files import refresh_table_files

    try:
        refresh_table_files(sessions, settings, datetime.now(timezone.utc))
    except Exception:  # the next tick tries again; the API serves the file before, or builds
        log.exception("DATEX II table files failed")


def run_worker(sessions: sessionmaker[Session], settings: Settings, tick_seconds: int = 30) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    harvests = HarvestDispatcher(sessions, settings)
    scheduler.add_job(harvests.tick, "interval", seconds=tick_seconds,
                      next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True)
    # Checked every tick; the leases make each daily job run once a day in all.
    scheduler.add_job(_daily, "interval", seconds=tick_seconds, args=[sessions, settings],
                      next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True)
    # A large store's DATEX II tables, written ahead for the API (a lease: one worker at a time).
    scheduler.add_job(_table_files, "interval", seconds=tick_seconds, args=[sessions, settings],
                      next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True)
    # Push subscribers (exporters/push/): a loop of its own, ticking ten times a second.
    from exporters.push.loop import DeliveryLoop

    DeliveryLoop(sessions, settings).start()
    # DATEX II status deltas are joined from segments it writes a few times a second.
    from exporters.datex2.status_segments import SegmentLoop

    SegmentLoop(sessions, profiles=settings.datex2_status_segments).start()
    log.info("worker started: checking for due feeds every %ss", tick_seconds)
    scheduler.start()
