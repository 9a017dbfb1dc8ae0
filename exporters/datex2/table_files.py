"""The DATEX II tables of a large store, written ahead by the worker and served as files:
the 3.7 tables of both profiles and Germany's JSON table (the whole one: a table of some
parties only is built at the request).

    refresh_table_files(sessions, settings, now)     # the worker, every tick
    served = newest_table_file(settings, profile)    # the API: None means build it here

A table is about 7.5 KB of XML per charging point, and takes about 0.3 ms of a core per
charging point to write: at a million, 7.5 GB (360 MB gzipped) and minutes of two cores.
Built at each request, as a small store's is, every consumer's poll after any change
anywhere would cost those minutes again. So when the store publishes at least
`NAP_DATEX2_TABLE_FILE_MIN_LOCATIONS` locations, the worker writes each profile's table
into a gzip file, in `NAP_EXPORT_JOBS` processes from one snapshot (parallel.py), in a
process of its own (not to hold the worker's interpreter against its harvests and status
segments), under a lease (one worker at a time). A file is written again:
  * once the store's table state has moved and the file is `NAP_DATEX2_TABLE_FILE_SECONDS`
    old (AFIR gives static data 24 hours; the status, ad hoc prices included, stays live);
  * unchanged, after REWRITE_UNCHANGED_AFTER, so that its publicationTime is never older
    than a day: a file written more than STALE_AFTER ago is not served (a worker that
    stopped must not leave consumers with old data), the request builds the table again.
A write that fails keeps the lease until it expires: it is tried again then, not at every
tick (each try is minutes of CPU). A file's validators are read in the snapshot it is
written from, so its ETag is the one a request building the same state gives.

The files go into a hidden directory of the export directory (`.datex2-tables`): with
several nodes, it is on shared storage, as the bulk downloads are (docs/runbook.md); an
API node that finds no file builds the table itself. Each file is described by a small
JSON file beside it, replaced atomically once the table is complete; the file before
stays until the next one is written, for the requests still reading it.
"""
from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exporters.datex2.de_afir.table import write_table_in_parallel as write_de_afir_table_in_parallel
from exporters.datex2.parallel import default_jobs, write_table_in_parallel
from exporters.datex2.source import published_locations, table_state
from nap.compression import GzipJoin
from nap.config import Settings
from nap.store.db import session_factory
from nap.store.leases import Leases

log = logging.getLogger("exporters.datex2")

DIRECTORY = ".datex2-tables"
STALE_AFTER = timedelta(hours=24)
REWRITE_UNCHANGED_AFTER = STALE_AFTER / 2
# Longer than any table takes to write; a worker that dies holding it is replaced at once on
# its host (leases.py), elsewhere after this. Leftovers of a write killed midway (".table-"
# files) older than this are removed.
_LEASE = "datex2-table-files"
_LEASE_TTL = timedelta(hours=2)
_TEMPORARY = ".table-"


@dataclasses.dataclass(frozen=True)
class TableFile:
    path: Path
    profile: str
    version: str  # the table's version, the ETag's source
    last_change: datetime | None  # the Last-Modified
    state: str  # the store's table state (source.table_state) it was written from
    written_at: datetime  # its publicationTime
    checked_at: datetime  # when the worker last found it current
    charging_points: int

    def open(self, gzipped: bool) -> BinaryIO:
        """The file's bytes as they are (gzip), or the document they hold."""
        return self.path.open("rb") if gzipped else gzip.open(self.path, "rb")


Write = Callable[[GzipJoin, sessionmaker[Session], Settings, datetime, Path], "tuple[int, datetime | None, str]"]


@dataclasses.dataclass(frozen=True)
class _Kind:
    suffix: str
    # Writes the table; (charging points, last change, version) read in its snapshot.
    write: Write


def _write_37(profile: str) -> Write:
    def write(out: GzipJoin, sessions: sessionmaker[Session], settings: Settings, now: datetime,
              directory: Path) -> tuple[int, datetime | None, str]:
        read = {}

        def version_in_snapshot(session: Session) -> str:
            read["state"] = table_state(session, now)
            return read["state"][1]
        written = write_table_in_parallel(out, sessions, jobs=settings.export_jobs or default_jobs(), profile=profile,
                                          publication_time=now, table_version=version_in_snapshot,
                                          country=settings.country_code.lower(),
                                          national_identifier=settings.party_id, temp_dir=directory)
        return written, *read["state"]
    return write


def _write_de_afir(out: GzipJoin, sessions: sessionmaker[Session], settings: Settings, now: datetime,
                   directory: Path) -> tuple[int, datetime | None, str]:
    read = {}

    def state(session: Session, version: str) -> None:  # de_afir.table_version's, of the state written
        read["state"] = table_state(session, now)[0], version
    written = write_de_afir_table_in_parallel(out, sessions, settings, now=now,
                                              jobs=settings.export_jobs or default_jobs(), temp_dir=str(directory),
                                              state=state)
    return written, *read["state"]


KINDS = {"generic": _Kind(".xml.gz", _write_37("generic")),
         "afir": _Kind(".xml.gz", _write_37("afir")),
         "de-afir": _Kind(".json.gz", _write_de_afir)}


def _files(directory: Path, profile: str) -> list[Path]:
    return list(directory.glob(f"table-{profile}-*{KINDS[profile].suffix}"))


def _directory(settings: Settings) -> Path:
    return Path(settings.export_dir) / DIRECTORY


def _description(directory: Path, profile: str) -> Path:
    return directory / f"table-{profile}.json"


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None  # isoformat: microseconds kept, as Last-Modified rounds


def _read(directory: Path, profile: str) -> TableFile | None:
    try:
        described = json.loads(_description(directory, profile).read_text(encoding="utf-8"))
        name = described["file"]
        # Only a file of this profile in this directory, whatever the description says.
        if Path(name).name != name or not name.startswith(f"table-{profile}-"):
            return None
        return TableFile(directory / name, profile, described["version"], _moment(described["last_change"]),
                         described["state"], _moment(described["written_at"]), _moment(described["checked_at"]),
                         described["charging_points"])
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or not one of ours
        return None


def newest_table_file(settings: Settings, profile: str, now: datetime | None = None) -> TableFile | None:
    """The newest complete table file of `profile` to serve, or None: none written (a small
    store, no worker, or another node's disk), or written more than STALE_AFTER ago."""
    if settings.datex2_table_file_min_locations <= 0:
        return None
    found = _read(_directory(settings), profile)
    now = now or datetime.now(timezone.utc)
    if found is None or now - found.written_at > STALE_AFTER or not found.path.is_file():
        return None
    return found


def _published_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(published_locations().subquery())) or 0


def refresh_table_files(sessions: sessionmaker[Session], settings: Settings, now: datetime,
                        leases: Leases | None = None) -> list[str]:
    """Write the table file of each profile that is due (see the module's docstring); the
    profiles written. Below the threshold, the files are removed: the tables are built at
    each request again."""
    directory = _directory(settings)
    interval = timedelta(seconds=settings.datex2_table_file_seconds)
    # Most ticks end here, reading three small files: each was found current within the interval.
    if all(file is not None and now - file.checked_at < interval and file.path.is_file()
           for file in (_read(directory, profile) for profile in KINDS)):
        return []
    with sessions() as session:
        large = 0 < settings.datex2_table_file_min_locations <= _published_count(session)
        _, state = table_state(session, now) if large else (None, None)
    if not large:
        _remove_all(directory)
        return []
    leases = leases or Leases(sessions)
    if not leases.acquire(_LEASE, _LEASE_TTL):
        return []
    _remove_leftovers(directory)
    # Under the lease: what another worker wrote meanwhile is seen.
    due = [profile for profile in KINDS if _is_due(directory, profile, state, now, interval)]
    if due:
        log.info("DATEX II table files: writing %s", ", ".join(due))
        for profile, name, written, size in _in_a_process_of_its_own(settings, due, now):
            log.info("DATEX II %s table file written: %s, %d charging points, %d bytes", profile, name, written,
                     size)
    leases.release(_LEASE)  # not after a failure (raised): the next try waits for the lease to expire
    return due


def _is_due(directory: Path, profile: str, state: str, now: datetime, interval: timedelta) -> bool:
    file = _read(directory, profile)
    if file is None or not file.path.is_file():
        return True
    if file.state != state:
        return now - file.written_at >= interval
    if now - file.written_at >= REWRITE_UNCHANGED_AFTER:
        return True
    if now - file.checked_at >= interval:
        _describe(dataclasses.replace(file, checked_at=now))
    return False


# The niceness of the processes that write the tables: background work with hours to go,
# beside harvests due every 15 minutes and status changes due within a minute. Measured
# with fifty first harvests of a million EVSEs on two cores: at the default priority the
# tables' processes took their share of the cores all along.
NICENESS = 10


def _in_the_background() -> None:
    os.nice(NICENESS)


def _background_pool() -> ProcessPoolExecutor:
    """One process of lower priority (its own children inherit it). spawn: a forked child
    would share the worker's database connections."""
    return ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_in_the_background)


def _in_a_process_of_its_own(settings: Settings, profiles: list[str], now: datetime) -> list[tuple]:
    """Writing a table is minutes of Python at a million charging points: in the worker's
    own process it would hold the interpreter lock against its harvests and the status
    segment loop, which ticks several times a second."""
    with _background_pool() as pool:
        return pool.submit(write_profiles, settings, profiles, now).result()


def write_profiles(settings: Settings, profiles: list[str], now: datetime) -> list[tuple[str, str, int, int]]:
    """Write the table files of `profiles`; (profile, file name, charging points, bytes) of each."""
    sessions = session_factory(settings.database_url)
    return [_write(sessions, settings, _directory(settings), profile, now) for profile in profiles]


def _write(sessions: sessionmaker[Session], settings: Settings, directory: Path, profile: str,
           now: datetime) -> tuple[str, str, int, int]:
    directory.mkdir(parents=True, exist_ok=True)
    kind = KINDS[profile]
    with sessions() as session:
        _, state = table_state(session, now)
    partial = _temporary(directory)
    try:
        with partial.open("wb") as raw:
            out = GzipJoin(raw)
            written, last_change, version = kind.write(out, sessions, settings, now, directory)
            out.finish()
            raw.flush()
            os.fsync(raw.fileno())
        name = f"table-{profile}-{now.strftime('%Y%m%dT%H%M%S')}-{version}{kind.suffix}"
        os.replace(partial, directory / name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    previous = _read(directory, profile)
    # `state` was read before the snapshot: if a change came in between, the file holds it
    # but is written again at the next interval; its validators are of what it holds.
    _describe(TableFile(directory / name, profile, version, last_change, state, now, now, written))
    # Kept: the file before, which a request may still be reading; removed: any older.
    keep = {name, previous.path.name if previous is not None else None}
    for path in _files(directory, profile):
        if path.name not in keep:
            path.unlink(missing_ok=True)
    return profile, name, written, (directory / name).stat().st_size


def _temporary(directory: Path) -> Path:
    handle, path = tempfile.mkstemp(prefix=_TEMPORARY, suffix=".partial", dir=directory)
    os.fchmod(handle, 0o644)  # as any file the export writes: the API may run as another user
    os.close(handle)
    return Path(path)


def _describe(file: TableFile) -> None:
    description = {"file": file.path.name, "version": file.version,
                   "last_change": file.last_change.isoformat() if file.last_change else None,
                   "state": file.state, "written_at": file.written_at.isoformat(),
                   "checked_at": file.checked_at.isoformat(), "charging_points": file.charging_points}
    partial = _temporary(file.path.parent)
    try:
        with partial.open("w", encoding="utf-8") as out:
            json.dump(description, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, _description(file.path.parent, file.profile))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _remove_leftovers(directory: Path) -> None:
    """What a write killed midway left (its own partial file, the parts of its processes)."""
    if not directory.is_dir():
        return
    cutoff = time.time() - _LEASE_TTL.total_seconds()
    for path in directory.glob(f"{_TEMPORARY}*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


def _remove_all(directory: Path) -> None:
    for profile in KINDS:
        if _read(directory, profile) is not None:
            log.info("DATEX II %s table: built at each request again (the store is small)", profile)
        _description(directory, profile).unlink(missing_ok=True)
        for path in _files(directory, profile) if directory.is_dir() else []:
            path.unlink(missing_ok=True)
