"""The DATEX II table of a whole country written on several cores, from one snapshot.

    count = write_table_in_parallel(out, sessions, jobs=2, profile="afir", publication_time=now, ...)

Building the sites is CPU work in Python, so one process uses one core. On PostgreSQL the
published locations are cut into `jobs` ranges of about equal size; this process writes the
first range into `out` itself while child processes write the others into temporary files
next to it, which are then appended in order. Every process reads the same database
snapshot (pg_export_snapshot / SET TRANSACTION SNAPSHOT, as pg_dump --jobs does), so the
file is as consistent as one written by a single transaction. Each process streams, so
memory stays flat per process. SQLite cannot share a snapshot between connections: there,
and with jobs=1, the table is written by this process alone.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import BinaryIO

from lxml import etree
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from exporters.datex2 import tariffs
from exporters.datex2.table import write_table, write_table_sites
from exporters.datex2_source import published_locations, tariff_lookup
from nap.store.db import session_factory
from nap.store.documents import iter_location_documents
from nap.store.tables import Location

_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]+$")


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def _repeatable_read(session: Session):
    return session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _bounds(session: Session, jobs: int) -> list[int]:
    """Location ids where the ranges after the first begin (counted, not listed: memory
    must not grow with the number of locations)."""
    ids = published_locations().with_only_columns(Location.id).order_by(Location.id)
    total = session.scalar(select(func.count()).select_from(published_locations().subquery()))
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


def _write_part(url: str, snapshot: str, low: int, high: int | None, profile: str, publication_time: datetime,
                path: str) -> tuple[int, dict]:
    """In a child process: the sites of one range, as bytes, into `path`."""
    before = Counter(tariffs.DROPPED)
    with session_factory(url)() as session, open(path, "wb") as out:
        _repeatable_read(session).exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")

        def write(element) -> None:
            out.write(element if isinstance(element, bytes) else etree.tostring(element, encoding="UTF-8"))
        written = write_table_sites(write, iter_location_documents(session, _in_range(low, high)), profile=profile,
                                    publication_time=publication_time, tariffs_by_key=tariff_lookup(session))
    dropped = Counter(tariffs.DROPPED)
    dropped.subtract(before)
    return written, dict(+dropped)


def write_table_in_parallel(out: BinaryIO, sessions: sessionmaker[Session], *, jobs: int, profile: str,
                            publication_time: datetime, temp_dir: str | Path | None = None, **options) -> int:
    """Write the table of all published locations to `out`; `options` as for write_table."""
    with sessions() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:
            _repeatable_read(session)
            snapshot = session.scalar(text("SELECT pg_export_snapshot()"))
            starts = _bounds(session, jobs) if jobs > 1 else []
        if not postgres or not starts or not _SNAPSHOT_ID.match(snapshot):
            return write_table(out, iter_location_documents(session, published_locations()), profile=profile,
                               publication_time=publication_time, tariffs_by_key=tariff_lookup(session), **options)
        url = session.get_bind().url.render_as_string(hide_password=False)
        ranges = list(zip(starts, [*starts[1:], None]))
        directory = temp_dir or (os.path.dirname(os.path.abspath(out.name)) if hasattr(out, "name") else None)
        paths = []
        try:
            for _ in ranges:
                handle, path = tempfile.mkstemp(prefix=".table-part-", suffix=".xml", dir=directory)
                os.close(handle)
                paths.append(path)
            # spawn, not fork: a forked child would share this process's database connections.
            with ProcessPoolExecutor(max_workers=len(ranges), mp_context=get_context("spawn")) as pool:
                parts = [pool.submit(_write_part, url, snapshot, low, high, profile, publication_time, path)
                         for (low, high), path in zip(ranges, paths)]

                def append_parts(write) -> int:
                    written = 0
                    for part, path in zip(parts, paths):
                        count, dropped = part.result()
                        written += count
                        tariffs.DROPPED.update(dropped)
                        write(b"")  # let the payload writer put out what it holds first
                        with open(path, "rb") as handle:
                            shutil.copyfileobj(handle, out, 1 << 20)
                    return written

                return write_table(out, iter_location_documents(session, _in_range(None, starts[0])),
                                   profile=profile, publication_time=publication_time,
                                   tariffs_by_key=tariff_lookup(session), more_sites=append_parts, **options)
        finally:
            for path in paths:
                Path(path).unlink(missing_ok=True)
