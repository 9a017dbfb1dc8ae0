"""What the DATEX II publications read from the store: the published locations, the
tariffs they reference, and for status deltas the EVSEs whose status (or, in AFIR, ad hoc
price) changed."""
from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable, Collection, Iterator, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from exporters.datex2 import identity, ocpi, supplement, time_zones
from exporters.datex2.identity import fingerprint
from exporters.datex2.selection import PublishedSite
from nap.ocpi.ids import id_key
from nap.store.documents import assemble_locations
from nap.store.status_history import SeenChanges, changed_evses_since, not_after
from nap.store.states import ClaimState
from nap.store.tables import Connector, Evse, Feed, FeedParty, Location, Tariff


def published_locations():
    # publish=false locations go to nobody in an open publication (they have no token).
    return select(Location).where(Location.removed_at.is_(None), Location.publish.is_(True))


# Bump when the DATEX II written from the same data changes (a new mapping rule), so that
# the table version and the ETags change with it. 2: URLs percent-encoded, no longer dropped;
# the operator of locations without one from their party. 3: timeZone (the UTC offset at the
# publication time) in the site versions.
WRITER_REVISION = "3"


def party_operators(session: Session) -> dict[tuple[str, str], dict]:
    """The operator of each registered CPO party's locations that name none, by (COUNTRY,
    PARTY): OCPI says the party's own business details apply. They are what the CPO's
    credentials gave for the party (FeedParty.business_details), else the name its feed was
    registered under. One query per publication; only verified parties (nap/parties.py)
    are in it: an unverified claim names nobody's operator."""
    operators = {}
    for country, party, details, feed_name in session.execute(
            select(FeedParty.country_code, FeedParty.party_id, FeedParty.business_details, Feed.name)
            .join(Feed, Feed.id == FeedParty.feed_id).where(FeedParty.state == ClaimState.VERIFIED)):
        details = details if isinstance(details, dict) else {}
        if ocpi.text(details.get("name")) is None:
            details = {**details, "name": feed_name}  # website, logo: still the CPO's
        operators[country.upper(), party.upper()] = details
    # The parties' supplements travel with their operators to every writer of the publication.
    return supplement.attach(session, operators)


# The time zones of the published locations, per database. Reading them is a pass over every
# location document (0.3 s at 31,000 locations on SQLite), too much for every poll after any
# change of a location (a CPO's PUT), so they are read again only when the number of
# locations changes or after _ZONES_SECONDS: what they serve is noticing a change of offset,
# and a zone new to the publication is seldom on the verge of one.
_ZONES: dict[tuple, tuple[float, frozenset[str]]] = {}
_ZONES_SECONDS = 300.0


def _kept(cache: dict, key: tuple, seconds: float, read: Callable[[], object]):
    """What read() gives, kept in `cache` under `key` (its first part the database: one
    entry per database in use, kept small) and read again after `seconds`."""
    cached = cache.get(key)
    if cached is None or time.monotonic() - cached[0] > seconds:
        value = read()
        if len(cache) > 16:
            cache.clear()
        cached = cache[key] = (time.monotonic(), value)
    return cached[1]


def _published_time_zones(session: Session, location_count: int) -> frozenset[str]:
    def read() -> frozenset[str]:
        zones = session.scalars(select(Location.data["time_zone"].as_string()).distinct().where(
            Location.removed_at.is_(None), Location.publish.is_(True))).all()
        return frozenset(zone for zone in zones if zone)
    return _kept(_ZONES, (str(session.get_bind().url), location_count), _ZONES_SECONDS, read)


# The number of locations is in the table version only to notice rows deleted without a
# stamp (a feed removed, and its locations with it); anything else that changes the table
# moves the latest change. Counting 315,000 locations took 100-150 ms, at every status and
# table request, so each process counts again at most every _COUNT_SECONDS: a removed
# feed's locations leave the version that much later (static data; AFIR gives it 24 hours).
_COUNTS: dict[tuple, tuple[float, int]] = {}
_COUNT_SECONDS = 10.0


def _location_count(session: Session) -> int:
    return _kept(_COUNTS, (str(session.get_bind().url),), _COUNT_SECONDS,
                 lambda: session.scalar(select(func.count(Location.id))))


def table_state(session: Session, at: datetime | None = None) -> tuple[datetime | None, str]:
    """(last change, table version) of a table published at `at` (default: now): the
    version changes exactly when the table does, the parties' operators (a handshake, a
    renamed feed) included, and so do the UTC offsets of the locations' time zones (a
    change to or from daylight saving time changes every site in the zone, and is then the
    last change)."""
    # Imported here: it brings Flask, which the export processes need not load.
    from exporters.http_caching import Fingerprint

    at = at or datetime.now(timezone.utc)
    locations = (session.scalar(select(func.max(Location.changed_at))), _location_count(session))
    tariffs = session.execute(select(func.max(Tariff.changed_at), func.count(Tariff.id))).one()
    changes = [moment for moment in (locations[0], tariffs[0]) if moment is not None]
    zones = sorted(_published_time_zones(session, locations[1]))
    offsets = [(zone, time_zones.utc_offset(zone, at)) for zone in zones]
    changes += [since for since in (time_zones.offset_since(zone, at) for zone in zones)
                if since is not None and since <= at]
    operators = fingerprint(sorted(party_operators(session).items()))
    supplemented, supplements = supplement.table_state(session)  # a CPO's supplement changes the sites
    changes += [supplemented] if supplemented is not None else []
    version = Fingerprint(*locations, *tariffs, WRITER_REVISION, operators, offsets, supplements).etag()[:16]
    return (max(changes) if changes else None), version


def tariff_lookup(session: Session, cache: dict | None = None):
    """Tariffs by key, each read once per publication: thousands of charging points share
    a handful of tariffs, and a query per reference would be a third of an export's time.
    `cache`: kept by a caller that makes many publications while no tariff changes."""
    cache = {} if cache is None else cache

    def lookup(country_code: str, party_id: str, tariff_id: str):
        key = (country_code, party_id, tariff_id)
        if key not in cache:
            cache[key] = session.scalar(select(Tariff.data).where(
                Tariff.country_code == country_code, Tariff.party_id == party_id,
                Tariff.id_key == id_key(tariff_id), Tariff.removed_at.is_(None)))
        return cache[key]
    return lookup


def changed_tariff_evses(session: Session, since: datetime, skip: Collection[str] = (),
                         until: datetime | None = None) -> dict[int, set[str]]:
    """location_pk -> uids of the published EVSEs with a connector using a tariff that
    changed after `since` (a CPO's PUT, a harvest): their ad hoc price is dynamic data
    (AFIR). A connector names its tariffs by id within its location's party, matched as
    the table's tariff lookup matches them (tariff_lookup: country, party, id_key). A
    removed tariff has no rate in the table any more, so no update to refer to. `skip`: the
    changes a reader has had (SeenChanges.tariffs); `until`: none changed later.

    A tariff new to the store (changed when first seen) is a price change only for the
    EVSEs whose location had named it before and did not change since `since`. The others
    name it in a change of their own static data, which comes with a new table: a first
    harvest's tariffs put every EVSE of the feed in the delta (a million in the worker's
    next status segment) before this rule."""
    changed_keys: dict[tuple[str, str], set[str]] = {}
    new_keys: dict[tuple[str, str], set[str]] = {}
    for pk, changed_at, first_seen_at, country, party, key in session.execute(
            select(Tariff.id, Tariff.changed_at, Tariff.first_seen_at, Tariff.country_code, Tariff.party_id,
                   Tariff.id_key)
            .where(Tariff.changed_at > since, *not_after(Tariff.changed_at, until), Tariff.removed_at.is_(None))):
        if SeenChanges.tariff_key(pk, changed_at) not in skip:
            keys = new_keys if changed_at == first_seen_at else changed_keys
            keys.setdefault((country, party), set()).add(key)
    changed: dict[int, set[str]] = {}
    for party_key in changed_keys.keys() | new_keys.keys():
        (country, party), old, new = party_key, changed_keys.get(party_key, set()), new_keys.get(party_key, set())
        unchanged_only = () if old else (Location.static_changed_at <= since,)
        # Only the connectors' tariff ids are read; a tariff change is rare, a pass over one
        # party's connectors at each change is affordable.
        for location_pk, uid, tariff_ids, static_changed_at in session.execute(
                select(Evse.location_pk, Evse.uid, Connector.data["tariff_ids"], Location.static_changed_at)
                .join(Evse, Evse.id == Connector.evse_pk).join(Location, Location.id == Evse.location_pk)
                .where(Location.country_code == country, Location.party_id == party,
                       Location.removed_at.is_(None), Location.publish.is_(True), *unchanged_only)):
            named = {id_key(tariff_id) for tariff_id in ocpi.strings(tariff_ids)}
            if named & old or (named & new and static_changed_at <= since):
                changed.setdefault(location_pk, set()).add(uid)
    return changed


# location pk -> (static_changed_at, time zone, site version) for those of the given pks it
# knows (exporters/datex2/de_afir/versioning.py keeps them).
SiteVersions = Callable[[list[int]], Mapping[int, tuple]]


class ChangedStatuses:
    """The locations a status delta holds (iterate: their documents) and, by `narrow`, the
    charging points it publishes of each: those whose status changed after `since`, and with
    `prices` (the AFIR status) those whose ad hoc price did (changed_tariff_evses).

    A delta's references carry the table's versions, and a site's version covers every EVSE
    of its location. So a location's document is whole, unless `site_versions` knows its
    site's version for its current static content: then it holds only the changed EVSEs
    (most of a location's reading and hashing saved) and `narrow` gives the site that
    version. Narrowing comes after the site is selected (write_sites' `narrow`)."""

    def __init__(self, session: Session, since: datetime, *, prices: bool = False, seen: SeenChanges = SeenChanges(),
                 site_versions: SiteVersions | None = None, batch_size: int = 500,
                 until: datetime | None = None) -> None:
        """`seen`: the changes the reader has had, left out (exporters/push/engine.py);
        `until`: the changes made later are left out too (status_segments.py)."""
        self._session, self._batch_size, self._site_versions = session, batch_size, site_versions
        self._changed = changed_evses_since(session, since, seen.statuses, until)
        if prices:
            for location_pk, uids in changed_tariff_evses(session, since, seen.tariffs, until).items():
                self._changed.setdefault(location_pk, set()).update(uids)
        self._uids_by_site: dict[str, set[str]] = {}
        self._versions_by_site: dict[str, str] = {}

    @property
    def locations(self) -> int:
        """How many locations the delta holds."""
        return len(self._changed)

    def __iter__(self) -> Iterator[dict]:
        pks = sorted(self._changed)
        for start in range(0, len(pks), self._batch_size):
            # Plain rows, not ORM objects: assemble_locations reads only these columns, and
            # building objects was a tenth of a German delta's time.
            rows = self._session.execute(published_locations().with_only_columns(
                Location.id, Location.static_changed_at, Location.data).where(
                Location.id.in_(pks[start:start + self._batch_size])).order_by(Location.id)).all()
            known = self._site_versions([row.id for row in rows]) if self._site_versions is not None else {}
            versions = {row.id: entry[2] for row in rows if (entry := known.get(row.id)) is not None
                        and entry[0] == row.static_changed_at and entry[2] is not None}
            documents = assemble_locations(self._session, rows, {pk: self._changed[pk] for pk in versions})
            for row, document in zip(rows, documents):
                site = identity.site_id(document)
                if site is not None:
                    self._uids_by_site[site] = self._changed[row.id]
                    if row.id in versions:
                        self._versions_by_site[site] = versions[row.id]
                yield document

    def narrow(self, published: PublishedSite) -> PublishedSite:
        uids = self._uids_by_site.get(published.id, frozenset())
        return replace(published, version=self._versions_by_site.get(published.id, published.version),
                       evses=[point for point in published.evses if identity.evse_uid(point.evse) in uids])
