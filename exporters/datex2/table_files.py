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
into a gzip file, in `NAP_EXPORT_JOBS` processes from one snapshot (parallel.py), again
once the table's version has moved and its newest file is `NAP_DATEX2_TABLE_FILE_SECONDS`
old.
AFIR gives static data 24 hours; the status, the ad hoc prices included, stays live in
the status publication. A file older than `STALE_AFTER` is not served (a worker that
stopped must not leave consumers with old data): the table is built at the request again.

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
from datetime import datetime, timedelta, timezone
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from exporters.datex2 import de_afir
from exporters.datex2.de_afir.table import write_table_in_parallel as write_de_afir_table_in_parallel
from exporters.datex2.parallel import default_jobs, write_table_in_parallel
from exporters.datex2.source import published_locations, table_state
from nap.compression import GzipJoin
from nap.config import Settings
from nap.ocpi.values import format_datetime, parse_datetime
from nap.store.db import session_factory
from nap.store.leases import Leases

log = logging.getLogger("exporters.datex2")

DIRECTORY = ".datex2-tables"
STALE_AFTER = timedelta(hours=24)
# Longer than any table takes to write; a worker that dies holding it is replaced at once on
# its host (leases.py), elsewhere after this.
_LEASE = "datex2-table-files"
_LEASE_TTL = timedelta(hours=2)


@dataclasses.dataclass(frozen=True)
class TableFile:
    path: Path
    profile: str
    version: str
    last_change: datetime | None
    written_at: datetime
    current_at: datetime  # when the worker last found its version to be the store's
    charging_points: int

    def open(self, gzipped: bool) -> BinaryIO:
        """The file's bytes as they are (gzip), or the document they hold."""
        return self.path.open("rb") if gzipped else gzip.open(self.path, "rb")


State = Callable[[Session, datetime], "tuple[datetime | None, str]"]


@dataclasses.dataclass(frozen=True)
class _Kind:
    suffix: str
    state: State  # (last change, version) of the table at a moment, as its API's validators have it
    write: Callable[[GzipJoin, sessionmaker[Session], Settings, datetime, str, Path], int]


def _write_37(profile: str):
    def write(out: GzipJoin, sessions: sessionmaker[Session], settings: Settings, now: datetime, version: str,
              directory: Path) -> int:
        return write_table_in_parallel(out, sessions, jobs=settings.export_jobs or default_jobs(), profile=profile,
                                       publication_time=now, table_version=version,
                                       country=settings.country_code.lower(), national_identifier=settings.party_id,
                                       temp_dir=directory)
    return write


def _write_de_afir(out: GzipJoin, sessions: sessionmaker[Session], settings: Settings, now: datetime, version: str,
                   directory: Path) -> int:
    # Its versionG is made from the sites as they are written (de_afir/table.py).
    return write_de_afir_table_in_parallel(out, sessions, settings, now=now,
                                           jobs=settings.export_jobs or default_jobs(), temp_dir=str(directory))


KINDS = {"generic": _Kind(".xml.gz", table_state, _write_37("generic")),
         "afir": _Kind(".xml.gz", table_state, _write_37("afir")),
         "de-afir": _Kind(".json.gz", de_afir.table_version, _write_de_afir)}


def _files(directory: Path, profile: str) -> list[Path]:
    return list(directory.glob(f"table-{profile}-*{KINDS[profile].suffix}"))


def _directory(settings: Settings) -> Path:
    return Path(settings.export_dir) / DIRECTORY


def _description(directory: Path, profile: str) -> Path:
    return directory / f"table-{profile}.json"


def _read(directory: Path, profile: str) -> TableFile | None:
    try:
        described = json.loads(_description(directory, profile).read_text(encoding="utf-8"))
        last_change = described["last_change"]
        return TableFile(directory / described["file"], profile, described["version"],
                         parse_datetime(last_change) if last_change else None,
                         parse_datetime(described["written_at"]), parse_datetime(described["current_at"]),
                         described["charging_points"])
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or not one of ours
        return None


def newest_table_file(settings: Settings, profile: str, now: datetime | None = None) -> TableFile | None:
    """The newest complete table file of `profile` to serve, or None: none written (a small
    store, no worker, or another node's disk), or older than STALE_AFTER."""
    if settings.datex2_table_file_min_locations <= 0:
        return None
    found = _read(_directory(settings), profile)
    now = now or datetime.now(timezone.utc)
    if found is None or now - found.current_at > STALE_AFTER or not found.path.is_file():
        return None
    return found


def _published_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(published_locations().subquery())) or 0


def refresh_table_files(sessions: sessionmaker[Session], settings: Settings, now: datetime,
                        leases: Leases | None = None) -> list[str]:
    """Write the table file of each profile that is due (see the module's docstring), in
    one worker at a time; the profiles written. Below the threshold, the files are
    removed: the tables are built at each request again."""
    directory = _directory(settings)
    interval = timedelta(seconds=settings.datex2_table_file_seconds)
    current = {profile: _read(directory, profile) for profile in KINDS}
    # Most ticks end here, without a query: every file was found current within the interval.
    if all(file is not None and now - file.current_at < interval for file in current.values()):
        return []
    with sessions() as session:
        large = 0 < settings.datex2_table_file_min_locations <= _published_count(session)
        versions = {}
        if large:
            for state in {kind.state for kind in KINDS.values()}:
                versions[state] = state(session, now)[1]
    if not large:
        _remove_all(directory, current)
        return []
    leases = leases or Leases(sessions)
    if not _due(directory, versions, now, interval) or not leases.acquire(_LEASE, _LEASE_TTL):
        return []
    try:
        due = _due(directory, versions, now, interval)  # again: another worker may have just written them
        if due:
            for written in _in_a_process_of_its_own(settings, due, now):
                log.info("DATEX II %s table file written: %s, %d charging points, %d bytes", *written)
    finally:
        leases.release(_LEASE)
    return due


def _due(directory: Path, versions: dict[State, str], now: datetime, interval: timedelta) -> list[str]:
    """The profiles whose file is to be written; a file found current is marked so."""
    due = []
    for profile in KINDS:
        file = _read(directory, profile)
        version = versions[KINDS[profile].state]
        if file is None or (file.version != version and now - file.written_at >= interval):
            due.append(profile)
        elif file.version == version and now - file.current_at >= interval:
            _describe(dataclasses.replace(file, current_at=now))
    return due


def _in_a_process_of_its_own(settings: Settings, profiles: list[str], now: datetime) -> list[tuple]:
    """Writing a table is minutes of Python at a million charging points: in the worker's
    own process it would hold the interpreter lock against its harvests and the status
    segment loop, which ticks several times a second. (spawn: a forked child would share
    the worker's database connections.)"""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_write_profiles, settings, profiles, now).result()


def _write_profiles(settings: Settings, profiles: list[str], now: datetime) -> list[tuple]:
    sessions = session_factory(settings.database_url)
    return [_write(sessions, settings, _directory(settings), profile, now) for profile in profiles]


def _write(sessions: sessionmaker[Session], settings: Settings, directory: Path, profile: str,
           now: datetime) -> tuple[str, str, int, int]:
    """Write the profile's table file; (profile, file name, charging points, bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    kind = KINDS[profile]
    with sessions() as session:
        # Read before the table's snapshot: a change committed in between is in the file
        # but not in this version, which therefore differs from the next one read, and the
        # file is written again at the next interval.
        last_change, version = kind.state(session, now)
    name = f"table-{profile}-{now.strftime('%Y%m%dT%H%M%S')}-{version}{kind.suffix}"
    handle, partial = tempfile.mkstemp(prefix=".table-", suffix=".partial", dir=directory)
    try:
        with os.fdopen(handle, "wb") as raw:
            out = GzipJoin(raw)
            written = kind.write(out, sessions, settings, now, version, directory)
            out.finish()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, directory / name)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    previous = _read(directory, profile)
    _describe(TableFile(directory / name, profile, version, last_change, now, now, written))
    # Kept: the file before, which a request may still be reading; removed: any older.
    keep = {name, previous.path.name if previous is not None else None}
    for path in _files(directory, profile):
        if path.name not in keep:
            path.unlink(missing_ok=True)
    return profile, name, written, (directory / name).stat().st_size


def _describe(file: TableFile) -> None:
    description = {"file": file.path.name, "version": file.version,
                   "last_change": format_datetime(file.last_change) if file.last_change else None,
                   "written_at": format_datetime(file.written_at), "current_at": format_datetime(file.current_at),
                   "charging_points": file.charging_points}
    directory = file.path.parent
    handle, partial = tempfile.mkstemp(prefix=".table-", suffix=".partial", dir=directory)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(description, out)
    os.replace(partial, _description(directory, file.profile))


def _remove_all(directory: Path, current: dict[str, TableFile | None]) -> None:
    for profile, file in current.items():
        if file is not None:
            _description(directory, profile).unlink(missing_ok=True)
            for path in _files(directory, profile):
                path.unlink(missing_ok=True)
            log.info("DATEX II %s table: built at each request again (the store is small)", profile)
