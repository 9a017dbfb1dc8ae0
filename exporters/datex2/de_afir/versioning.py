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
static_changed_at moved (nap/store/tables.py: not a status push's, which leaves it) or whose
zone changed its offset are read again. The parties' operators and supplements change every
site they touch: a change of them starts the cache afresh. What a process computes it also
keeps in the database (datex2_site_versions), where a process that starts finds it: building
every site again would take minutes at a million EVSEs before its first status.

The sites' versions enter the table's version as a VersionDigest (selection.py): their
number and sum, which the bulk export adds up from the sites as its processes write them
(table.write_table_in_parallel), so that it reads no location twice and keeps none.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from exporters.datex2 import identity, source, time_zones
from exporters.datex2.publication import utc
from exporters.datex2.selection import VersionDigest, published_site_version
from nap.store.documents import assemble_locations
from nap.store.tables import Location, SiteVersion, Tariff

log = logging.getLogger("exporters.datex2")

# Bump when the German JSON written from the same data changes (a new rule in this package).
WRITER_REVISION = "1"
_BATCH = 500
# Rows per fetch of the queries over every published location: a cold cache lists them all,
# and fetched at once they held tens of MB at 100,000 EVSEs.
_STREAMED = 2000


# A write stamps static_changed_at before it commits (the harvests restamp just before
# committing): the locations stamped in this last while are listed again at every read, in
# case one committed after the read before; those stamped earlier are settled.
OVERLAP = timedelta(seconds=60)


@dataclass
class _Sites:
    context: str = ""
    # location pk -> (static_changed_at, time zone, site version or None: not published)
    rows: dict[int, tuple[datetime, object, str | None]] = field(default_factory=dict)
    offsets: dict[object, str | None] = field(default_factory=dict)  # zone -> the UTC offset of its versions
    settled: datetime | None = None  # every location stamped until then is in `rows`
    # (count, sum) of the stamps after `settled` when the locations after it were last listed
    # (_stamps_after): unchanged, nothing was stamped there since, and the listing is spared.
    window: tuple | None = None
    version: str | None = None  # the fingerprint of `rows`; None: to compute
    lock: threading.Lock = field(default_factory=threading.Lock)


_CACHES: dict[str, _Sites] = {}
_CACHES_LOCK = threading.Lock()


def _cache(session: Session) -> _Sites:
    key = str(session.get_bind().url)
    with _CACHES_LOCK:
        if key not in _CACHES and len(_CACHES) > 16:  # one per database in use, kept small
            _CACHES.clear()
        return _CACHES.setdefault(key, _Sites())


def _read_sites(session: Session, sites: _Sites, pks: list[int], at: datetime, operators) -> None:
    """The site versions of `pks`, into the cache and, batch by batch, the database."""
    for start in range(0, len(pks), _BATCH):
        rows = session.scalars(select(Location).where(Location.id.in_(pks[start:start + _BATCH]))
                               .order_by(Location.id)).all()
        computed = []
        for row, document in zip(rows, assemble_locations(session, rows)):
            try:
                version = published_site_version(document, operators, at)
            except Exception:  # noqa: BLE001 - the writers skip such a location (publication.write_sites)
                version = None
            zone = document.get("time_zone")
            zone = zone if isinstance(zone, str) else None
            offset = sites.offsets[zone] = time_zones.utc_offset(zone, at)
            sites.rows[row.id] = (row.static_changed_at, zone, version)
            computed.append({"location_pk": row.id, "static_changed_at": row.static_changed_at,
                             "context": sites.context, "time_zone": zone, "utc_offset": offset, "version": version})
        _keep(session, computed)


def _load_kept(session: Session, sites: _Sites, at: datetime) -> None:
    """A cold cache: the versions kept with this context for the locations as they are now,
    where the zone's offset is still the one they were built with."""
    offsets: dict[str | None, str | None] = {}
    for pk, stamp, zone, offset, version in session.execute(
            select(SiteVersion.location_pk, SiteVersion.static_changed_at, SiteVersion.time_zone,
                   SiteVersion.utc_offset, SiteVersion.version)
            .join(Location, Location.id == SiteVersion.location_pk)
            .where(SiteVersion.context == sites.context, SiteVersion.static_changed_at == Location.static_changed_at,
                   Location.removed_at.is_(None), Location.publish.is_(True))
            .execution_options(yield_per=_STREAMED)):
        if zone not in offsets:
            offsets[zone] = time_zones.utc_offset(zone, at)
        if offsets[zone] == offset:
            sites.rows[pk] = (stamp, zone, version)
            sites.offsets[zone] = offset


def _keep(session: Session, computed: list[dict]) -> None:
    """Upsert the computed versions, in a transaction of their own (the caller's session
    may be a read-only snapshot). Not kept (a database that refuses the write for a moment):
    the next process computes them again, nothing else is lost."""
    engine = session.get_bind()
    if not computed or engine.dialect.name not in ("postgresql", "sqlite"):
        return
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(SiteVersion.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["location_pk"],
        set_={name: statement.excluded[name] for name in computed[0] if name != "location_pk"})
    try:
        with engine.begin() as connection:
            for start in range(0, len(computed), 5000):
                connection.execute(statement, computed[start:start + 5000])
    except SQLAlchemyError as error:
        log.info("DATEX II de-afir: %d site versions not kept (%s); a new process computes them again",
                 len(computed), type(error).__name__)


def _changed_candidates(session: Session, sites: _Sites):
    """(pk, static_changed_at, live) of every location the cache may not know as it is now."""
    query = select(Location.id, Location.static_changed_at, Location.removed_at, Location.publish)
    if sites.settled is None:
        query = query.where(Location.removed_at.is_(None), Location.publish.is_(True))
    else:
        query = query.where(Location.static_changed_at > sites.settled)
    return ((pk, stamp, removed_at is None and bool(publish))
            for pk, stamp, removed_at, publish in session.execute(query.execution_options(yield_per=_STREAMED)))


def _stamps_after(session: Session, moment: datetime | None) -> tuple | None:
    """(count, sum of epochs) of the static stamps after `moment`, on PostgreSQL; None
    elsewhere. Every write of a location's static content restamps it later, so any write
    after `moment` changes the pair. After a harvest of a large feed every location stays
    after `settled` for OVERLAP; listing them again for each status publication was a sixth
    of a German delta's time, this is one aggregate over an index range."""
    if moment is None or session.get_bind().dialect.name != "postgresql":
        return None
    return tuple(session.execute(select(func.count(), func.sum(func.extract("epoch", Location.static_changed_at)))
                                 .where(Location.static_changed_at > moment)).one())


def _site_versions(session: Session, at: datetime, operators) -> str:
    """The digest of every published site's version (VersionDigest, as text)."""
    sites = _cache(session)
    context = identity.fingerprint([sorted(operators.items()), sorted(getattr(operators, "supplements", {}).items()),
                                    source.WRITER_REVISION, WRITER_REVISION])
    with sites.lock:
        if sites.context != context:
            sites.context, sites.rows, sites.offsets, sites.settled, sites.version = context, {}, {}, None, None
            sites.window = None
        if sites.settled is None:
            _load_kept(session, sites, at)
        stale, gone = [], False
        settled = datetime.now(timezone.utc) - OVERLAP  # taken before the read: what it cannot miss
        quiet = sites.window is not None and _stamps_after(session, sites.settled) == sites.window
        if not quiet:
            window = _stamps_after(session, settled)  # before the listing: a later commit shows next time
            for pk, stamp, live in _changed_candidates(session, sites):
                if not live:
                    gone = sites.rows.pop(pk, None) is not None or gone
                elif (known := sites.rows.get(pk)) is None or known[0] != stamp:
                    stale.append(pk)
        moved = {zone for zone, offset in sites.offsets.items() if time_zones.utc_offset(zone, at) != offset}
        if moved:  # daylight saving time began or ended: every site in the zone has a new version
            stale.extend(pk for pk, entry in sites.rows.items() if entry[1] in moved)
        _read_sites(session, sites, sorted(set(stale)), at, operators)
        if not quiet:
            sites.settled = settled if sites.settled is None else max(sites.settled, settled)
            sites.window = window if sites.settled == settled else None
        if stale or gone or sites.version is None:
            sites.version = str(VersionDigest.of(entry[2] for entry in sites.rows.values() if entry[2] is not None))
        return sites.version


def known_site_versions(session: Session, pks: list[int]) -> dict[int, tuple[datetime, object, str | None]]:
    """pk -> (static_changed_at, time zone, site version) of those of `pks` the cache knows,
    as the last content_version left it (a status delta's sites, source.ChangedStatuses)."""
    sites = _cache(session)
    with sites.lock:
        return {pk: entry for pk in pks if (entry := sites.rows.get(pk)) is not None}


def content_version(session: Session, now: datetime) -> str:
    """The table's versionG at `now`: a fingerprint of what it holds."""
    return version_of(session, _site_versions(session, utc(now), source.party_operators(session)))


def version_of(session: Session, sites: VersionDigest | str) -> str:
    """The table's versionG from the digest of its sites' versions: the one content_version
    keeps, or the one a table's writers add up as they write it (table.py), which spares
    them reading every location before the first site."""
    tariffs = session.execute(select(func.max(Tariff.changed_at), func.count(Tariff.id))).one()
    return identity.fingerprint([str(sites), [str(value) for value in tariffs], source.WRITER_REVISION,
                                 WRITER_REVISION])


def table_version(session: Session, now: datetime) -> tuple[datetime | None, str]:
    """(last change of the store, version of the table's content) of the table at `now`."""
    last_change, _ = source.table_state(session, utc(now))
    return last_change, content_version(session, now)
