"""The DATEX II table of a whole country written on several cores, from one snapshot.

    count = write_table_in_parallel(out, sessions, jobs=2, profile="afir", publication_time=now, ...)
    count = write_in_parallel(out, sessions, jobs=2, sites=..., document=..., separator=b",")

The second form writes any document made of sites (the German profile's JSON table,
de_afir/table.py): `sites` writes the sites of some locations (in every process; picklable,
as children are spawned), `document` writes the whole document around this process's sites
and calls back for the parts (this process only), `separator` goes between two sites.

Building the sites is CPU work in Python, so one process uses one core. The published
locations are cut into `jobs` ranges of about equal size; this process writes the first
range into `out` itself while child processes write the others into temporary files next
to it, which are then appended in order. A gzip file (`out` a nap.compression.GzipJoin) is
compressed the same way: each process its own part, joined into one gzip member. Every
process reads the same state of the database, so the file is as consistent as one written
in a single transaction:

- PostgreSQL: the children import this process's snapshot (pg_export_snapshot / SET
  TRANSACTION SNAPSHOT, as pg_dump --jobs does).
- SQLite (WAL) cannot hand a snapshot over, but a reader's snapshot is fixed by its first
  read: this process holds the write lock (BEGIN IMMEDIATE on a connection of its own)
  from before its own first read until every child has made its first read. No commit
  can fall in between; writers wait a second or two (busy timeout) and go on.

If the lock cannot be had (a long harvest holds it) the table is written by this process
alone, as it is with jobs=1. Each process streams, so memory stays flat per process.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol

from lxml import etree
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from exporters.datex2.table import write_table, write_table_sites
from exporters.datex2.tariffs import TariffCounts
from exporters.datex2.selection import PartyOperators, VersionDigest
from exporters.datex2.source import party_operators, published_locations, tariff_lookup
from nap.compression import DeflateWriter, GzipJoin
from nap.store.db import repeatable_read, session_factory
from nap.store.documents import iter_location_documents
from nap.store.tables import Location

log = logging.getLogger("exporters.datex2")

_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]+$")
# How long the children may take to start and make their first read (SQLite writers wait
# that long at most).
_START_SECONDS = 120

_snapshot_taken = None  # in a child: the semaphore it releases once its snapshot is fixed


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


# A child costs a second or two to spawn and import, about what this many locations take to
# write: a smaller table is written by fewer processes, down to this one alone.
LOCATIONS_PER_PROCESS = 1000


def _bounds(session: Session, jobs: int) -> list[int]:
    """Location ids where the ranges after the first begin (counted, not listed: memory
    must not grow with the number of locations)."""
    ids = published_locations().with_only_columns(Location.id).order_by(Location.id)
    total = session.scalar(select(func.count()).select_from(published_locations().subquery()))
    jobs = min(jobs, max(1, total // LOCATIONS_PER_PROCESS))
    starts = []
    for part in range(1, jobs):
        start = session.scalar(ids.offset(total * part // jobs).limit(1))
        if start is not None and (not starts or start > starts[-1]):
            starts.append(start)
    return starts


def _in_range(low: int | None, high: int | None):
    query = published_locations()
    if low is not None:
        query = query.where(Location.id >= low)
    if high is not None:
        query = query.where(Location.id < high)
    return query


def _remember(semaphore) -> None:
    global _snapshot_taken
    _snapshot_taken = semaphore


class SitesWriter(Protocol):
    """Writes the sites of `locations`, each handed to `write`; the number of charging points.
    Their versions go into `site_versions` (publication.write_sites)."""

    def __call__(self, write: Callable[[etree._Element | bytes], object], locations: Iterable[dict], *,
                 tariffs_by_key, party_operators: PartyOperators | None, tariff_counts: TariffCounts,
                 site_versions: VersionDigest) -> int: ...


class DocumentWriter(Protocol):
    """Writes the document into `out` with the sites of `locations` (read through `session`),
    then those that `more_sites(write)` adds; the number of charging points. `site_versions`
    gets the versions of every site, those of the other parts added as more_sites writes them."""

    def __call__(self, out: BinaryIO, session: Session, locations: Iterable[dict], *, tariffs_by_key,
                 party_operators: PartyOperators | None, tariff_counts: TariffCounts,
                 more_sites: Callable[[Callable], int] | None, site_versions: VersionDigest) -> int: ...


class Part(NamedTuple):
    """What a child wrote: the number of charging points, what the tariffs left out, the
    sites' versions, and (CRC-32, length) of the plain bytes when it wrote them deflated."""
    written: int
    counts: TariffCounts
    versions: VersionDigest
    deflated: tuple[int, int] | None


def _write_range(url: str, snapshot: str | None, low: int, high: int | None, path: str, sites: SitesWriter,
                 separator: bytes, operators: PartyOperators | None, deflate: bool = False) -> Part:
    """In a child process: the sites of one range, as bytes joined by `separator`, into
    `path` (as raw deflate data if `deflate`). `snapshot`: the PostgreSQL snapshot to read;
    None on SQLite, where the parent holds writers off. `operators`: the parties'
    operators, as the parent read them."""
    counts = TariffCounts()
    with session_factory(url)() as session, open(path, "wb") as handle:
        out = DeflateWriter(handle) if deflate else handle
        if snapshot is not None:
            repeatable_read(session).exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        else:
            session.execute(select(func.count()).select_from(Location))  # fixes the SQLite snapshot
        if _snapshot_taken is not None:
            _snapshot_taken.release()
        first = True

        def write(element) -> None:
            nonlocal first
            if not first:
                out.write(separator)
            first = False
            out.write(element if isinstance(element, bytes) else etree.tostring(element, encoding="UTF-8"))
        versions = VersionDigest()
        written = sites(write, iter_location_documents(session, _in_range(low, high)),
                        tariffs_by_key=tariff_lookup(session), party_operators=operators, tariff_counts=counts,
                        site_versions=versions)
        deflated = out.finish() if deflate else None
    return Part(written, counts, versions, deflated)


def _table_sites(profile: str, publication_time: datetime) -> SitesWriter:
    return partial(write_table_sites, profile=profile, publication_time=publication_time)


def _write_part(url: str, snapshot: str | None, low: int, high: int | None, profile: str,
                publication_time: datetime, path: str, operators: PartyOperators | None = None) -> Part:
    """One range of the 3.7 table (see _write_range)."""
    return _write_range(url, snapshot, low, high, path, _table_sites(profile, publication_time), b"", operators)


def _append(write: Callable[[bytes], object], out: BinaryIO, path: str, deflated: tuple[int, int] | None) -> None:
    """A part's bytes after what the document holds: its first block through `write` (which
    puts out what the document's writer holds, and a separator after an earlier site), the
    rest straight into `out`; a deflated part (into a GzipJoin) after an empty write. A part
    without sites writes nothing, not even a separator."""
    with open(path, "rb") as handle:
        if deflated is not None:
            if deflated[1]:
                write(b"")
                out.add_deflated(handle, *deflated)
            return
        block = handle.read(1 << 20)
        if block:
            write(block)
            shutil.copyfileobj(handle, out, 1 << 20)


class _Snapshot:
    """The state every process of one table reads."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.pg_snapshot: str | None = None
        self._lock = None

    @contextmanager
    def taken(self) -> Iterator[bool]:
        """Fix this process's snapshot; yield whether children can share it."""
        if self.dialect == "postgresql":
            repeatable_read(self.session)
            snapshot = self.session.scalar(text("SELECT pg_export_snapshot()"))
            self.pg_snapshot = snapshot if _SNAPSHOT_ID.match(snapshot or "") else None
            yield self.pg_snapshot is not None
            return
        if self.dialect != "sqlite" or self.session.get_bind().url.database in (None, "", ":memory:"):
            yield False
            return
        lock = self.session.get_bind().connect().execution_options(sqlite_immediate=True)
        try:
            lock.begin()
        except OperationalError as error:  # a writer held on to the lock past the busy timeout
            log.info("DATEX II table in one process: no write lock for a shared snapshot (%s)", error)
            lock.close()
            yield False
            return
        self._lock = lock
        try:
            yield True
        finally:
            self.release_writers()

    def release_writers(self) -> None:
        if self._lock is not None:
            self._lock.rollback()
            self._lock.close()
            self._lock = None


def _wait_for_snapshots(semaphore, parts: list[Future]) -> None:
    deadline = time.monotonic() + _START_SECONDS
    waiting = len(parts)
    while waiting and time.monotonic() < deadline:
        if semaphore.acquire(timeout=0.2):
            waiting -= 1
        elif any(part.done() for part in parts):  # a child failed before its first read
            return


def write_table_in_parallel(out: BinaryIO, sessions: sessionmaker[Session], *, jobs: int, profile: str,
                            publication_time: datetime, temp_dir: str | Path | None = None,
                            tariff_counts: TariffCounts | None = None, **options) -> int:
    """Write the 3.7 table of all published locations to `out`; `options` as for write_table
    (the parties' operators are read here, from the table's snapshot), but `table_version`
    may also be a function of the snapshot's session, so that the version read is of the
    state written. `tariff_counts` gets what the tariffs of all parts left out, as for
    write_table."""
    def document(out: BinaryIO, session: Session, locations: Iterable[dict], **parts) -> int:
        chosen = dict(options)
        if callable(chosen.get("table_version")):
            chosen["table_version"] = chosen["table_version"](session)
        return write_table(out, locations, profile=profile, publication_time=publication_time, **chosen, **parts)
    return write_in_parallel(out, sessions, jobs=jobs, sites=_table_sites(profile, publication_time),
                             document=document, temp_dir=temp_dir, tariff_counts=tariff_counts)


def write_in_parallel(out: BinaryIO, sessions: sessionmaker[Session], *, jobs: int, sites: SitesWriter,
                      document: DocumentWriter, separator: bytes = b"", temp_dir: str | Path | None = None,
                      tariff_counts: TariffCounts | None = None) -> int:
    """Write `document` over all published locations to `out`, its sites in `jobs`
    processes (see the module's docstring); the number of charging points. `tariff_counts`
    gets what the tariffs of all parts left out. Into a gzip file (`out` a GzipJoin) each
    child compresses its own part, so that compressing takes no longer than writing."""
    counts = tariff_counts if tariff_counts is not None else TariffCounts()
    versions = VersionDigest()
    with sessions() as session:
        snapshot = _Snapshot(session)
        with snapshot.taken() as shared:
            starts = _bounds(session, jobs) if shared and jobs > 1 else []  # also this process's first read
            operators = party_operators(session)
            if not starts:
                snapshot.release_writers()
                return document(out, session, iter_location_documents(session, published_locations()),
                                tariffs_by_key=tariff_lookup(session), party_operators=operators,
                                tariff_counts=counts, more_sites=None, site_versions=versions)
            url = session.get_bind().url.render_as_string(hide_password=False)
            ranges = list(zip(starts, [*starts[1:], None]))
            directory = temp_dir or (os.path.dirname(os.path.abspath(out.name)) if hasattr(out, "name") else None)
            paths = []
            try:
                for _ in ranges:
                    handle, path = tempfile.mkstemp(prefix=".table-part-", suffix=".part", dir=directory)
                    os.close(handle)
                    paths.append(path)
                # spawn, not fork: a forked child would share this process's database connections.
                context = get_context("spawn")
                taken = context.Semaphore(0)
                with ProcessPoolExecutor(max_workers=len(ranges), mp_context=context, initializer=_remember,
                                         initargs=(taken,)) as pool:
                    parts = [pool.submit(_write_range, url, snapshot.pg_snapshot, low, high, path, sites, separator,
                                         operators, isinstance(out, GzipJoin))
                             for (low, high), path in zip(ranges, paths)]
                    _wait_for_snapshots(taken, parts)
                    snapshot.release_writers()

                    def append_parts(write) -> int:
                        written = 0
                        for future, path in zip(parts, paths):
                            part = future.result()
                            written += part.written
                            counts.add(part.counts)
                            versions.merge(part.versions)
                            _append(write, out, path, part.deflated)
                        return written

                    return document(out, session, iter_location_documents(session, _in_range(None, starts[0])),
                                    tariffs_by_key=tariff_lookup(session), party_operators=operators,
                                    tariff_counts=counts, more_sites=append_parts, site_versions=versions)
            finally:
                for path in paths:
                    Path(path).unlink(missing_ok=True)
