"""The documents a subscription receives, by profile. Only Germany's AFIR profile
(exporters/datex2/de_afir) is pushed so far; a new profile is one entry in PROFILES."""
from __future__ import annotations

import importlib
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from nap.compression import GzipJoin
from nap.config import Settings
from nap.store.status_history import SeenChanges

# Profile name -> the module that writes its documents (write_table, write_status,
# table_version). Imported when first used: a process that pushes nothing never loads it.
PROFILES = {"de-afir/01-00-00": "exporters.datex2.de_afir"}


@dataclass(frozen=True)
class Document:
    body: bytes  # gzip-compressed JSON
    items: int  # charging points (table) or refill-point statuses (status) in it


def profile_module(profile: str):
    try:
        return importlib.import_module(PROFILES[profile])
    except KeyError:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}") from None


def _gzipped(write) -> Document:
    # Compressed as it is written: only the gzip bytes are held (a million charging points'
    # table is 4.5 GB of JSON, 220 MB gzipped).
    raw = io.BytesIO()
    out = GzipJoin(raw)
    items = write(out)
    out.finish()
    return Document(raw.getvalue(), items)


def table_document(profile: str, session: Session, settings: Settings, now: datetime,
                   parties: list[tuple[str, str]] | None) -> Document:
    module = profile_module(profile)
    return _gzipped(lambda out: module.write_table(out, session, settings, now=now, parties=parties))


def status_document(profile: str, session: Session, settings: Settings, now: datetime, since: datetime | None,
                    parties: list[tuple[str, str]] | None, seen: SeenChanges = SeenChanges()) -> Document:
    """A snapshotPush (since None) or a deltaPush of what changed after `since`, but for the
    changes `seen`; a delta with no items changed nothing and is not sent."""
    module = profile_module(profile)
    return _gzipped(lambda out: module.write_status(out, session, settings, now=now, since=since, parties=parties,
                                                    seen=seen))


def table_version(profile: str, session: Session, now: datetime) -> tuple[datetime | None, str]:
    return profile_module(profile).table_version(session, now)
