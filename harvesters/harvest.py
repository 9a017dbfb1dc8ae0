"""One harvest run of one feed: discover endpoints, pull every page of Tariffs and
Locations, normalize, store, and record the run.

Atomicity: all writes of a run happen in one database transaction, committed at the end.
Readers (the publication API, exports) keep seeing the previous harvest until then, and a
failed or killed run leaves the last good data untouched.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from nap.ocpi.findings import ObjectFinding, UnitCounts
from harvesters.answer_waits import AnswerWaits
from harvesters.normalize import FeedIdentity
from harvesters.ocpi_client import ClientLimits, CredentialsRejected, HarvestError, OcpiClient, routing_headers
from harvesters.page_process import PageJob, PageProcess
from harvesters.pages import NormalizedPage, normalized_pages
from harvesters.prefetch import prefetched
from nap.store.db import write_session
from nap.config import Settings
from nap.feeds import credentials_accepted
from nap.ocpi.values import format_datetime
from nap.parties import claims, verified_parties
from nap.runtime import fewer_collections, short_switch_interval
from nap.store.leases import Leases
from nap.store.states import COMPLETED_RUN_STATUSES, ClaimState, FeedKind, FeedStatus, ObjectKind, RunStatus
from nap.store.tables import Feed, Finding, HarvestRun, Location, Tariff
from nap.store.writer import FeedWriter, WriteCounts

log = logging.getLogger(__name__)


@dataclass
class RunTally:
    pages: int = 0
    byte_count: int = 0
    received: int = 0
    skipped: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)
    findings: list[ObjectFinding] = field(default_factory=list)
    # What became of the locations, EVSEs and connectors served (summed over the pages).
    units: UnitCounts = field(default_factory=UnitCounts)
    # Objects served per country_code/party_id, EVSEs per eMI3 operator id (FeedWriter).
    parties_served: dict[str, int] = field(default_factory=dict)
    evse_operators: dict[str, int] = field(default_factory=dict)
    # How long the CPO keeps the run waiting (the client's and its page process's answers).
    waits: AnswerWaits = field(default_factory=AnswerWaits)


def completed_status(units: UnitCounts, degraded_evse_share: float) -> RunStatus:
    """How a run that completed ends: degraded when it skipped more than the share of the
    EVSEs served (NAP_HARVEST_DEGRADED_EVSE_SHARE), else success. Either way its data is
    stored."""
    if units.evses_served and units.evses_skipped > degraded_evse_share * units.evses_served:
        return RunStatus.DEGRADED
    return RunStatus.SUCCESS


def _count_refused_as_skipped(units: UnitCounts, refused: dict[str, int]) -> None:
    """Locations the store refused (their party is not verified for the feed) were counted stored by the
    normalizer: they, their EVSEs and connectors were skipped."""
    for unit, count in refused.items():
        stored = getattr(units, f"{unit}_stored") - count
        setattr(units, f"{unit}_stored", stored)
        setattr(units, f"{unit}_skipped", getattr(units, f"{unit}_skipped") + count)
        # Which of them had been repaired is not known: repaired ones are stored ones.
        setattr(units, f"{unit}_repaired", min(getattr(units, f"{unit}_repaired"), stored))


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _StoreBehind:
    """Stores pages in a thread of its own, one page behind the validation: while the
    database takes a page (COPY, index updates: time the run would otherwise spend
    waiting on a socket), the next page is validated. At most one store is pending; its
    error is raised at the next submit or wait. The session is only ever used by one thread
    at a time: the caller must wait() before touching it again (and does, in finally, before
    the transaction ends)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="harvest-store")
        self._pending: Future | None = None

    def submit(self, store: Callable[[], None]) -> None:
        self.wait()
        self._pending = self._pool.submit(store)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            pending, self._pending = self._pending, None
            if pending is not None:
                pending.exception()  # wait; the error that ends the run is already raised
        finally:
            self._pool.shutdown(wait=True)


class Harvester:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings,
                 leases: Leases | None = None, progress: Callable[[str, int, int | None], None] | None = None):
        self.sessions = sessions
        self.settings = settings
        self.leases = leases or Leases(sessions)
        self.progress = progress  # progress(kind, objects received so far, total or None)

    def _limits(self) -> ClientLimits:
        return ClientLimits.from_settings(self.settings)

    def _start_run(self, feed_id: int) -> int:
        with write_session(self.sessions) as session:
            run = HarvestRun(feed_id=feed_id, started_at=_utcnow(), status=RunStatus.RUNNING, full_sync=True,
                             worker=self.leases.holder)
            session.add(run)
            session.flush()
            return run.id

    def harvest(self, feed_name: str, only_if_due: bool = False,
                waits: AnswerWaits | None = None) -> HarvestRun | None:
        """Harvest a feed, unless another process is harvesting it right now (then None).
        With only_if_due, also skip a feed whose interval has not passed since its last run
        (another worker may have run it between our due-check and now). `waits` learns how
        long the CPO keeps the run waiting, while it runs."""
        with self.sessions() as session:
            feed = session.scalars(select(Feed).where(Feed.name == feed_name)).one_or_none()
            if feed is None:
                raise LookupError(f"no feed named {feed_name!r}")
        lease = f"harvest:feed:{feed.id}"
        if not self.leases.acquire(lease, timedelta(seconds=self.settings.harvest_max_seconds + 60)):
            log.info("feed %s is being harvested by another process: skipped", feed_name)
            return None
        try:
            if only_if_due and not self._is_due(feed):
                return None
            self._close_abandoned_runs(feed.id)
            # Process-wide, restored when the last concurrent run ends (nap/runtime.py).
            with fewer_collections(), short_switch_interval():
                return self._harvest_locked(feed, waits or AnswerWaits())
        finally:
            self.leases.release(lease)

    def _is_due(self, feed: Feed) -> bool:
        if feed.status != FeedStatus.ACTIVE:  # suspended (say) while it waited in a worker's queue
            return False
        with self.sessions() as session:
            last = session.scalar(select(HarvestRun.started_at).where(HarvestRun.feed_id == feed.id)
                                  .order_by(HarvestRun.started_at.desc()).limit(1))
        return last is None or last + timedelta(minutes=feed.interval_minutes) <= _utcnow()

    def _close_abandoned_runs(self, feed_id: int) -> None:
        # We hold the feed's lease, so a run still marked running died with its process.
        with write_session(self.sessions) as session:
            session.execute(
                update(HarvestRun)
                .where(HarvestRun.feed_id == feed_id, HarvestRun.status == RunStatus.RUNNING)
                .values(status=RunStatus.FAILED, finished_at=_utcnow(),
                        error="abandoned: the worker stopped during the run; no data of it was kept")
            )

    def _harvest_locked(self, feed: Feed, waits: AnswerWaits) -> HarvestRun:
        run_id = self._start_run(feed.id)
        tally = RunTally(waits=waits)
        version = None
        deadline = time.monotonic() + self.settings.harvest_max_seconds
        page_process = None
        now = _utcnow()
        date_from = self._sync_window(feed, now)
        try:
            # For a feed that may well be large, its Locations are pulled in a page process,
            # on another core; started first, its start overlaps the discovery.
            if self._may_be_large(feed, full_sync=date_from is None):
                page_process = PageProcess()
            with OcpiClient(feed.token, self._limits(), waits=waits) as client:
                client.plain_token = feed.plain_token  # the form the CPO took last time, if it showed
                endpoints = client.discover(feed.versions_url)
                version = endpoints.version
                client.routing = self._routing(feed, version)
                with write_session(self.sessions) as session:
                    self._pull_and_store(session, client, feed, run_id, endpoints, tally, deadline, now, date_from,
                                         page_process)
        except CredentialsRejected as error:
            return self._fail(run_id, feed.id, version, tally, str(error), feed_status=FeedStatus.NEEDS_CREDENTIALS)
        except HarvestError as error:
            return self._fail(run_id, feed.id, version, tally, str(error))
        except Exception as error:  # a bug must not leave the run "running" forever
            log.exception("harvest of %s crashed", feed.name)
            return self._fail(run_id, feed.id, version, tally, f"internal error: {type(error).__name__}: {error}")
        finally:
            if page_process is not None:
                page_process.close()
        with self.sessions() as session:
            return session.get(HarvestRun, run_id)

    def _sync_window(self, feed: Feed, now: datetime) -> str | None:
        """None for a full sync, else the date_from of an incremental pull."""
        if feed.last_full_sync_at is None or feed.last_success_started_at is None:
            return None
        if now - feed.last_full_sync_at >= timedelta(hours=self.settings.full_sync_hours):
            return None
        since = feed.last_success_started_at - timedelta(seconds=self.settings.incremental_overlap_seconds)
        return format_datetime(since)

    def _pull_and_store(self, session, client, feed, run_id, endpoints, tally: RunTally, deadline: float,
                        now: datetime, date_from: str | None, page_process: PageProcess | None) -> None:
        """`now`: the run's time, what its changes are stamped with until restamped at the end;
        `date_from`: None for a full sync (see _sync_window)."""
        full_sync = date_from is None
        writer = FeedWriter(session, feed.id, now, parties=verified_parties(session, feed.id))
        identity = FeedIdentity(feed.country_code, feed.party_id)
        modules = [("tariff", endpoints.tariffs_url, Tariff, writer.write_tariffs),
                   ("location", endpoints.locations_url, Location, writer.write_locations)]
        if not endpoints.locations_url:
            raise HarvestError(f"the CPO's OCPI {endpoints.version} details list no Locations SENDER endpoint")
        if endpoints.note:
            tally.findings.append(ObjectFinding(ObjectKind.FEED, None, None, endpoints.note, "warning"))
        behind = _StoreBehind()
        if page_process is not None:
            # Its job at once: it fetches the first Locations while the tariffs are stored.
            page_process.start(PageJob(feed.token, self._limits(), client.sends_plain_token(), client.routing,
                                       endpoints.version, identity, "location", endpoints.locations_url,
                                       self.settings.harvest_page_limit, date_from,
                                       report_waits_after=self.settings.harvest_slow_answer_seconds / 2))
        try:
            for kind, url, table, write in modules:
                if not url:
                    continue
                seen_ids: set[str] = set()
                received_of_kind = 0
                pages = self._module_pages(client, endpoints, identity, kind, url, date_from,
                                           page_process if kind == "location" else None)
                with closing(pages):  # however the loop ends: stops the fetch thread, ends a page process
                    for page in pages:
                        if time.monotonic() > deadline:
                            raise HarvestError(f"the run took longer than {self.settings.harvest_max_seconds} s: aborted")
                        tally.pages += 1
                        tally.byte_count += page.byte_count
                        tally.received += page.received
                        tally.skipped += page.skipped
                        tally.findings.extend(page.findings)
                        tally.units.add(page.counts)
                        seen_ids.update(page.seen_ids)
                        behind.submit(lambda write=write, items=page.items: tally.counts.add(write(items)))
                        received_of_kind += page.received
                        total = page.total_count
                        del page  # the store thread holds what it needs; free the rest
                        if self.progress:
                            self.progress(f"{kind}s", received_of_kind, total)
                behind.wait()
                if full_sync:
                    # Only a full list is "the new truth" (OCPI); an incremental one says nothing
                    # about objects it leaves out.
                    tally.counts.removed += writer.mark_unseen_removed(table, seen_ids, changed_before=now)
        finally:
            behind.close()
        slowest = client.waits.longest
        if slowest >= self.settings.harvest_slow_answer_seconds:  # in a worker, a run that may step aside
            tally.findings.append(ObjectFinding(
                ObjectKind.PAGE, None, None,
                f"the slowest answer took {slowest:.1f} s (a request with its retries); NAP counts an answer over "
                f"{self.settings.harvest_slow_answer_seconds:g} s as slow", "warning"))
        if page_process is not None and page_process.plain_token is not None:
            client.plain_token = page_process.plain_token  # what the CPO took from the child
        tally.findings.extend(writer.findings)
        tally.skipped += writer.refused_objects
        tally.parties_served, tally.evse_operators = dict(writer.parties_served), dict(writer.evse_operators)
        _count_refused_as_skipped(tally.units, writer.refused_units)
        writer.restamp_changes(_utcnow())
        # Feed, run and findings commit in the same transaction as the data.
        run = session.get(HarvestRun, run_id)
        run.full_sync = full_sync
        feed_changes = dict(
            ocpi_version=endpoints.version,
            locations_url=endpoints.locations_url,
            tariffs_url=endpoints.tariffs_url,
            last_success_started_at=run.started_at,
            plain_token=client.plain_token,
        )
        if full_sync:
            feed_changes["last_full_sync_at"] = run.started_at
        session.execute(update(Feed).where(Feed.id == feed.id).values(**feed_changes))
        credentials_accepted(session, feed.id)
        self._record_findings(session, feed.id, run_id, tally.findings, now)
        status = completed_status(tally.units, self.settings.harvest_degraded_evse_share)
        if status == RunStatus.DEGRADED:
            log.warning("harvest run %s of %s degraded: %d of %d EVSEs served were skipped", run_id, feed.name,
                        tally.units.evses_skipped, tally.units.evses_served)
        self._finish(session, run_id, endpoints.version, tally, status, None)
        session.flush()  # the run's record, before the last statement
        writer.restamp_dynamic(_utcnow())  # last, so that the commit follows its stamp closely

    def _module_pages(self, client: OcpiClient, endpoints, identity: FeedIdentity, kind: str, url: str,
                      date_from: str | None, page_process: PageProcess | None) -> Iterator[NormalizedPage]:
        """A module's pages, normalized and prepared: from the page process when one is
        given (it works a page ahead of the store by itself), else fetched and normalized in
        a thread a page ahead (prefetched)."""
        if page_process is not None:
            yield from page_process.pages(client.waits)  # started with its job by _pull_and_store
            return
        limit = self.settings.harvest_page_limit
        pages = prefetched(normalized_pages(client.pages(url, limit=limit, date_from=date_from), kind,
                                            endpoints.version, identity))
        with closing(pages):
            yield from pages

    def _routing(self, feed: Feed, version: str) -> dict[str, str]:
        """The routing headers of the feed's list requests (OCPI 2.2 on; 2.1.1 has none):
        from NAP's party; to the CPO's, when its feed claims one party only, verified. A
        feed of several parties, claimed or verified, a hub's or an aggregator's names none:
        OCPI-to would narrow the lists to one party, and what a feed serves of a claimed
        party is the evidence an administrator verifies the claim by (nap/parties.py)."""
        if version == "2.1.1":
            return {}
        with self.sessions() as session:
            claimed = [(claim.country_code, claim.party_id, claim.state) for claim in claims(session, feed.id)]
        single = len(claimed) == 1 and claimed[0][2] == ClaimState.VERIFIED and feed.feed_kind == FeedKind.CPO
        return routing_headers((self.settings.country_code, self.settings.party_id),
                               claimed[0][:2] if single else None)

    def _may_be_large(self, feed: Feed, full_sync: bool) -> bool:
        """Whether to pull the feed's Locations in a page process: unless its last good run
        (success or degraded) of the same kind (full, or incremental: those of a large feed
        are small) received fewer than NAP_HARVEST_PAGE_PROCESS_MIN_OBJECTS objects
        (starting one takes 0.2 s)."""
        if self.settings.harvest_page_process_min_objects <= 0:
            return False
        with self.sessions() as session:
            last = session.scalar(select(HarvestRun.objects_received)
                                  .where(HarvestRun.feed_id == feed.id,
                                         HarvestRun.status.in_(COMPLETED_RUN_STATUSES),
                                         HarvestRun.full_sync == full_sync)
                                  .order_by(HarvestRun.started_at.desc()).limit(1))
        return last is None or last >= self.settings.harvest_page_process_min_objects

    def _record_findings(self, session, feed_id, run_id, findings, now) -> None:
        if findings:
            session.execute(insert(Finding), [
                {"feed_id": feed_id, "run_id": run_id, "object_type": f.object_type,
                 # An EVSE's object id is "location/uid": a uid too long to store (the
                 # finding says so) must not fail the run's write.
                 "object_id": f.object_id and f.object_id[:200], "field": (f.field or None) and f.field[:200],
                 "severity": f.severity, "reason": f.reason, "created_at": now}
                for f in findings
            ])

    def _finish(self, session, run_id, version, tally: RunTally, status: str, error: str | None) -> None:
        run = session.get(HarvestRun, run_id)
        run.finished_at = _utcnow()
        run.status = status
        run.ocpi_version = version
        run.pages = tally.pages
        run.bytes = tally.byte_count
        run.objects_received = tally.received
        run.objects_new = tally.counts.new
        run.objects_changed = tally.counts.changed
        run.objects_unchanged = tally.counts.unchanged
        run.objects_removed = tally.counts.removed
        run.objects_skipped = tally.skipped
        run.findings = len(tally.findings)
        run.error = error
        # longest_now: a run that fails while its page process still waits keeps that wait.
        run.slowest_answer_seconds, run.answer_retries = tally.waits.longest_now(), tally.waits.retries
        # A failed run stored nothing: no counts to show for it.
        run.unit_counts = tally.units.as_dict() if status in COMPLETED_RUN_STATUSES else None
        run.served_parties = ({"parties": tally.parties_served, "evse_operators": tally.evse_operators}
                              if status in COMPLETED_RUN_STATUSES else None)

    def _fail(self, run_id, feed_id, version, tally, error: str, feed_status: str | None = None) -> HarvestRun:
        log.warning("harvest run %s failed: %s", run_id, error)
        # The data transaction was rolled back; nothing of this run is visible but its record.
        tally.counts = WriteCounts()
        with write_session(self.sessions) as session:
            self._finish(session, run_id, version, tally, RunStatus.FAILED, error)
            # The CPO's report shows it beside the object findings.
            self._record_findings(session, feed_id, run_id,
                                  [ObjectFinding(ObjectKind.FEED, None, None, f"harvest failed: {error}")], _utcnow())
            if feed_status:
                session.get(Feed, feed_id).status = feed_status
        with self.sessions() as session:
            return session.get(HarvestRun, run_id)
