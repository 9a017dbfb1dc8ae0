"""The history archive for regulators and analysts: the EVSE status history as one Parquet
file per UTC day (by the time NAP received each change), kept after the database prunes
its rows, beside the dated bulk snapshots (exporters/bulk.py).

A day's file is streamed from the database in batches (memory does not grow with the
day's changes), written under a hidden temporary name and renamed into place, then its
SHA-256 sum beside it (`<day>.parquet.sha256`, sha256sum's format). Rows are ordered by
received time and then by insertion, and the writer's options are fixed, so a rebuilt day
gives the same bytes as long as the database still holds the same rows.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exporters.bulk import file_sha256
from nap.store.tables import EvseStatusChange, Feed, Location

ARCHIVE_DIR = "archive"
HISTORY_DIR = "status-history"
HISTORY_URL_PATH = "/downloads/archive/status-history"
_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")
_BATCH_ROWS = 10_000

_UTC_MICROS = pa.timestamp("us", tz="UTC")
HISTORY_SCHEMA = pa.schema([
    pa.field("country_code", pa.string(), nullable=False),
    pa.field("party_id", pa.string(), nullable=False),
    pa.field("location_id", pa.string(), nullable=False),
    pa.field("evse_uid", pa.string(), nullable=False),
    pa.field("old_status", pa.string()),  # none for an EVSE's first status
    pa.field("new_status", pa.string(), nullable=False),
    pa.field("cpo_time", _UTC_MICROS, nullable=False),  # the CPO's last_updated
    pa.field("received_at", _UTC_MICROS, nullable=False),  # when NAP stored the change
    pa.field("via", pa.string(), nullable=False),  # "pull" (harvest) or "push"
    pa.field("feed", pa.string(), nullable=False),  # the feed's name at archiving time
])


@dataclass(frozen=True)
class ArchivedDay:
    day: date
    path: Path
    rows: int
    size: int
    sha256: str


def history_dir(export_dir: Path) -> Path:
    return export_dir / ARCHIVE_DIR / HISTORY_DIR


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def _history_of_day(day: date):
    start, end = _day_bounds(day)
    return (
        select(Location.country_code, Location.party_id, Location.ocpi_id, EvseStatusChange.evse_uid,
               EvseStatusChange.old_status, EvseStatusChange.new_status, EvseStatusChange.cpo_time,
               EvseStatusChange.received_at, EvseStatusChange.via, Feed.name)
        .join(Location, Location.id == EvseStatusChange.location_pk)
        .join(Feed, Feed.id == EvseStatusChange.feed_id)
        .where(EvseStatusChange.received_at >= start, EvseStatusChange.received_at < end)
        .order_by(EvseStatusChange.received_at, EvseStatusChange.id)
    )


def _batch(rows) -> pa.RecordBatch:
    columns = list(zip(*rows))
    return pa.RecordBatch.from_arrays([pa.array(values, type=field.type) for values, field in
                                       zip(columns, HISTORY_SCHEMA)], schema=HISTORY_SCHEMA)


def _write_atomically(final: Path, write) -> None:
    """write(path) fills a hidden temporary file that replaces `final` only once complete
    and on disk: a reader never sees half a file, a crash leaves the old one."""
    temporary = final.with_name(f".{final.name}.{os.getpid()}.partial")
    try:
        write(temporary)
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def archive_day(sessions: sessionmaker[Session], export_dir: Path, day: date) -> ArchivedDay:
    """Write (or rewrite) the day's Parquet file and its .sha256 sum."""
    directory = history_dir(export_dir)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{day.isoformat()}.parquet"
    rows = 0

    def write(path: Path) -> None:
        nonlocal rows
        # Fixed options (and no pandas metadata) so that the same rows give the same bytes.
        with pq.ParquetWriter(path, HISTORY_SCHEMA, compression="zstd", version="2.6") as writer, \
                sessions() as session:
            result = session.execute(_history_of_day(day).execution_options(yield_per=_BATCH_ROWS))
            for partition in result.partitions():
                writer.write_batch(_batch(partition))
                rows += len(partition)

    _write_atomically(final, write)
    digest = file_sha256(final)
    _write_atomically(final.with_name(final.name + ".sha256"),
                      lambda path: path.write_text(f"{digest}  {final.name}\n", encoding="utf-8"))
    return ArchivedDay(day, final, rows, final.stat().st_size, digest)


def archived_days(export_dir: Path) -> set[date]:
    """Days whose file and sum are both in place."""
    directory = history_dir(export_dir)
    if not directory.is_dir():
        return set()
    days = set()
    for path in directory.iterdir():
        match = _DAY_FILE.match(path.name)
        if match and path.with_name(path.name + ".sha256").is_file():
            days.add(date.fromisoformat(match.group(1)))
    return days


def _first_history_day(session: Session) -> date | None:
    first = session.scalar(select(func.min(EvseStatusChange.received_at)))
    return first.date() if first else None


def missing_days(sessions: sessionmaker[Session], export_dir: Path, today: date) -> list[date]:
    """Complete days (before `today`, UTC) that the database still holds and the archive
    lacks, oldest first. A day without changes gets a file too (with no rows), so that a
    missing file always means "not archived yet"."""
    with sessions() as session:
        first = _first_history_day(session)
    if first is None:
        return []
    done = archived_days(export_dir)
    return [first + timedelta(days=n) for n in range((today - first).days) if first + timedelta(days=n) not in done]


def archive_missing_days(sessions: sessionmaker[Session], export_dir: Path, today: date) -> list[ArchivedDay]:
    return [archive_day(sessions, export_dir, day) for day in missing_days(sessions, export_dir, today)]


def safe_prune_cutoff(session: Session, export_dir: Path, cutoff: datetime) -> datetime:
    """The retention cutoff, moved back to the start of the first day that would lose rows
    before it is archived: status history is never pruned unarchived."""
    first = _first_history_day(session)
    if first is None:
        return cutoff
    done = archived_days(export_dir)
    last_touched = cutoff.date() if cutoff.time() != time.min else cutoff.date() - timedelta(days=1)
    day = first
    while day <= last_touched:
        if day not in done:
            return min(cutoff, _day_bounds(day)[0])
        day += timedelta(days=1)
    return cutoff


def may_rebuild(day: date, now: datetime, status_history_days: int) -> bool:
    """A day that began before the retention cutoff may have lost rows to pruning since it
    was archived: rewriting it would shrink the archive, so it is refused."""
    return _day_bounds(day)[0] >= now - timedelta(days=status_history_days)


def list_history_archive(export_dir: Path) -> list[dict]:
    """The archived days, newest first: file name, URL path, size and SHA-256 sum."""
    listing = []
    for day in sorted(archived_days(export_dir), reverse=True):
        path = history_dir(export_dir) / f"{day.isoformat()}.parquet"
        sum_line = path.with_name(path.name + ".sha256").read_text(encoding="utf-8")
        listing.append({"date": day.isoformat(), "name": path.name, "url": f"{HISTORY_URL_PATH}/{path.name}",
                        "size": path.stat().st_size, "sha256": sum_line.split()[0]})
    return listing
