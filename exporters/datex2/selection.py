"""Which OCPI objects are published, decided in one place.

The table and the status publication both call these functions, so a status never refers
to a site or refill point that the table left out.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from exporters.datex2 import identity, ocpi, supplement, time_zones
from exporters.datex2.namespaces import Profile

# The operator of a CPO party's locations that name none: OCPI BusinessDetails by (COUNTRY,
# PARTY), upper-case (exporters/datex2/source.party_operators).
PartyOperators = Mapping[tuple[str, str], dict]


@dataclass(frozen=True)
class PublishedEvse:
    evse: dict
    id: str
    version: str
    connectors: list[tuple[dict, float]]  # (connector, max power in W): those with a known power
    current_type: str | None              # "ac"/"dc"; required by the AFIR model


@dataclass(frozen=True)
class PublishedSite:
    location: dict
    id: str
    version: str
    station_id: str
    evses: list[PublishedEvse]
    utc_offset: str | None = None  # of the location's time zone at the publication time


def published_connectors(evse: dict) -> list[tuple[dict, float]]:
    """Connectors whose maximum power is known (maxPowerAtSocket is mandatory), with it."""
    result = []
    for connector in ocpi.dicts(evse.get("connectors")):
        power = ocpi.connector_power_w(connector)
        if power is not None:
            result.append((connector, power))
    return result


def evse_current_type(evse: dict, connectors: list[tuple[dict, float]]) -> str | None:
    """AC or DC of an EVSE. DATEX II has one current type per refill point while an OCPI
    EVSE may mix AC and DC connectors: the most powerful connector decides (first on ties).
    Without any connector of known power, all connectors must agree."""
    typed = [(ocpi.current_type(c), power) for c, power in connectors if ocpi.current_type(c)]
    if typed:
        return max(typed, key=lambda pair: pair[1])[0]
    kinds = {ocpi.current_type(c) for c in ocpi.dicts(evse.get("connectors"))}
    return kinds.pop() if len(kinds) == 1 else None


def with_party_operator(location: dict, party_operators: PartyOperators | None) -> dict:
    """OCPI Location.operator: "When not specified, the information retrieved from the
    Credentials module, selected by the country_code and party_id of this Location, should
    be used instead." A location without `operator` gets its party's (a copy: the caller's
    document is left as it is), so everything written from it, versions included, sees it."""
    if not party_operators or location.get("operator") is not None:
        return location
    country, party = ocpi.text(location.get("country_code")), ocpi.text(location.get("party_id"))
    details = party_operators.get((country.upper(), party.upper())) if country and party else None
    return location if details is None else {**location, "operator": details}


def published_site(location: object, profile: Profile, party_operators: PartyOperators | None = None,
                   at: datetime | None = None) -> PublishedSite | None:
    """The site to publish for an OCPI Location, or None when it cannot be written validly:
    not a dict, no country_code/party_id/id, or no usable coordinates (a charging site
    without a position is useless to every consumer). A location without operator gets its
    party's from `party_operators` (see with_party_operator). `at`: the publication time,
    which decides the UTC offset of the location's time zone (time_zones.py)."""
    publishable = _publishable(location, party_operators)
    if publishable is None:
        return None
    site, location = publishable
    parking = ocpi.parking_places(location)
    evses, seen_uids = [], set()
    for evse in ocpi.dicts(location.get("evses")):
        uid = identity.evse_uid(evse)
        if uid is None or uid in seen_uids:
            continue  # a repeated uid would repeat ids that must be unique (energy rates)
        seen_uids.add(uid)
        connectors = published_connectors(evse)
        current = evse_current_type(evse, connectors)
        if profile.is_afir and current is None:
            continue  # aegi:currentType is mandatory and cannot be guessed
        evses.append(PublishedEvse(
            evse=evse, id=identity.refill_point_id(site, evse),
            version=identity.refill_point_version(location, evse, parking),
            connectors=connectors, current_type=current))
    offset = _utc_offset(location, at)
    return PublishedSite(location=location, id=site, version=identity.site_version(location, offset),
                         station_id=identity.station_id(site), evses=evses, utc_offset=offset)


def _publishable(location: object, party_operators: PartyOperators | None) -> tuple[str, dict] | None:
    """(site id, the location as its site is written from) or None: see published_site."""
    if not isinstance(location, dict):
        return None
    site = identity.site_id(location)
    if site is None or ocpi.coordinates(location.get("coordinates")) is None:
        return None
    return site, supplement.merged(with_party_operator(location, party_operators), party_operators)


class VersionDigest:
    """The versions of a publication's sites as one order-free digest: the sum of the
    versions (hex fingerprints, identity.fingerprint) and their number. Parts of a table
    written apart (parallel.py) add up to the digest of the whole, and a version changes
    with any site's, so the German table's versionG can be made from the sites as they are
    written (de_afir/versioning.py)."""

    __slots__ = ("count", "total")
    _MASK = (1 << 64) - 1

    def __init__(self) -> None:
        self.count, self.total = 0, 0

    @classmethod
    def of(cls, versions) -> VersionDigest:
        digest = cls()
        for version in versions:
            digest.add(version)
        return digest

    def add(self, version: str) -> None:
        self.count += 1
        self.total = (self.total + int(version, 16)) & self._MASK

    def merge(self, other: VersionDigest) -> None:
        self.count += other.count
        self.total = (self.total + other.total) & self._MASK

    def __str__(self) -> str:
        return f"{self.count}:{self.total:016x}"


def published_site_version(location: object, party_operators: PartyOperators | None,
                           at: datetime | None) -> str | None:
    """published_site(...).version, without building the charging points (None: no site)."""
    publishable = _publishable(location, party_operators)
    if publishable is None:
        return None
    location = publishable[1]
    return identity.site_version(location, _utc_offset(location, at))


def _utc_offset(location: dict, at: datetime | None) -> str | None:
    """The UTC offset of the location's time zone at the publication time, part of its version."""
    return time_zones.utc_offset(location.get("time_zone"), at) if at is not None else None
