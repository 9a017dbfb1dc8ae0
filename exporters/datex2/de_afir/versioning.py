"""The German table's versionG: it changes when what the table holds changes, and not when
only a status does.

The 3.7 table's version (source.table_state) follows the store's change times, which a
status push moves too; a consumer of the German profile holds the table by its versionG and
re-reads it when the status's tableReference names another, so that version must not move
with every status. Here it is a fingerprint of the table's content: the version of every
published site (identity.site_version, the same the sites carry; it covers the location's
static content, its charging points, its operator and supplement, and its UTC offset), the
tariffs (the table's energy rates) and the writers' revisions.

Reading every location for each status publication would cost seconds at a national scale,
so the site versions are kept per database and process, and only the locations whose
change time moved (or whose zone changed its offset) are read again: after a status push,
one location. The parties' operators and supplements change every site they touch: a change
of them starts the cache afresh.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exporters.datex2 import identity, source, time_zones
from exporters.datex2.namespaces import AFIR
from exporters.datex2.publication import utc
from exporters.datex2.selection import published_site
from nap.store.documents import assemble_locations
from nap.store.tables import Location, Tariff

# Bump when the German JSON written from the same data changes (a new rule in this package).
WRITER_REVISION = "1"
_BATCH = 500


@dataclass
class _Sites:
    context: str = ""
    # location pk -> (changed_at, time zone, UTC offset, site version or None: not published)
    rows: dict[int, tuple[datetime, object, str | None, str | None]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_CACHES: dict[str, _Sites] = {}
_CACHES_LOCK = threading.Lock()


def _cache(session: Session) -> _Sites:
    key = str(session.get_bind().url)
    with _CACHES_LOCK:
        if key not in _CACHES and len(_CACHES) > 16:  # one per database in use, kept small
            _CACHES.clear()
        return _CACHES.setdefault(key, _Sites())


def _site_versions(session: Session, at: datetime, operators) -> list[str]:
    sites = _cache(session)
    context = identity.fingerprint([sorted(operators.items()), sorted(getattr(operators, "supplements", {}).items())])
    with sites.lock:
        if sites.context != context:
            sites.context, sites.rows = context, {}
        current = session.execute(select(Location.id, Location.changed_at, Location.data["time_zone"].as_string())
                                  .where(Location.removed_at.is_(None), Location.publish.is_(True))).all()
        stale = [pk for pk, changed_at, zone in current
                 if (known := sites.rows.get(pk)) is None or known[0] != changed_at
                 or known[2] != time_zones.utc_offset(zone, at)]
        for start in range(0, len(stale), _BATCH):
            rows = session.scalars(select(Location).where(Location.id.in_(stale[start:start + _BATCH]))
                                   .order_by(Location.id)).all()
            for row, document in zip(rows, assemble_locations(session, rows)):
                try:
                    published = published_site(document, AFIR, operators, at)
                except Exception:  # noqa: BLE001 - the writers skip such a location (publication.write_sites)
                    published = None
                offset = time_zones.utc_offset(document.get("time_zone"), at)
                sites.rows[row.id] = (row.changed_at, document.get("time_zone"), offset,
                                      published.version if published else None)
        live = {pk for pk, _, _ in current}
        for pk in [pk for pk in sites.rows if pk not in live]:
            del sites.rows[pk]
        return sorted(f"{pk}:{entry[3]}" for pk, entry in sites.rows.items())


def table_version(session: Session, now: datetime) -> tuple[datetime | None, str]:
    """(last change of the store, version of the table's content) of the table at `now`."""
    at = utc(now)
    last_change, _ = source.table_state(session, at)
    tariffs = session.execute(select(func.max(Tariff.changed_at), func.count(Tariff.id))).one()
    versions = _site_versions(session, at, source.party_operators(session))
    return last_change, identity.fingerprint([versions, [str(value) for value in tariffs], source.WRITER_REVISION,
                                              WRITER_REVISION])
