"""Stable ids and versions of the published DATEX II objects.

Ids are hierarchical so that a site, its station, its refill points and parking spaces never
share an id, even when a CPO uses the same string for a location id and an EVSE uid (status
references all use targetClass FacilityObject, so ids must be distinct across kinds):

    site           {COUNTRY}*{PARTY}*{location id}
    station        {site id}#station
    refill point   {site id}#evse:{EVSE uid}
    parking space  {site id}#parking:{Parking id}

Versions are fingerprints of the *static* content of the OCPI object (status, status
schedule and last_updated removed). The table and the status publication compute them from
the same input, so a status always references the version that the table carries, even
though OCPI bumps last_updated on every status change.
"""
from __future__ import annotations

import hashlib
from typing import Any

from exporters.datex2 import ocpi
from nap.jsonutil import canonical_bytes

# Keys that change with the live state of a charge point, not with its description.
_DYNAMIC_KEYS = frozenset({"status", "status_schedule", "last_updated"})


def party(location: dict) -> str | None:
    """The CPO as "{COUNTRY}*{PARTY}" (eMI3 operator id form)."""
    country, party_id = ocpi.text(location.get("country_code")), ocpi.text(location.get("party_id"))
    if not (country and party_id):
        return None
    # country_code and party_id are case-insensitive in OCPI: one spelling keeps ids stable.
    return f"{country.upper()}*{party_id.upper()}"


def site_id(location: dict) -> str | None:
    cpo, location_id = party(location), ocpi.text(location.get("id"))
    return f"{cpo}*{location_id}" if cpo and location_id else None


def station_id(site: str) -> str:
    return f"{site}#station"


def evse_uid(evse: dict) -> str | None:
    return ocpi.text(evse.get("uid"))


def refill_point_id(site: str, evse: dict) -> str:
    return f"{site}#evse:{evse_uid(evse)}"


def parking_space_id(site: str, parking_id: str) -> str:
    return f"{site}#parking:{parking_id}"


def facility_id(site: str, facility: str) -> str:
    """A supplemental facility of a site: an OCPI facility, or one the CPO's supplement names."""
    return f"{site}#facility:{facility}"


def parking_space_version(place: dict, restrictions: list[str]) -> str:
    """A parking space: the OCPI Parking and the parking restrictions of the EVSE using it."""
    return fingerprint({"parking": place, "restrictions": restrictions})


def _without_dynamic(item: Any) -> Any:
    return {key: value for key, value in item.items() if key not in _DYNAMIC_KEYS} if isinstance(item, dict) else item


def _static_evse(evse: dict) -> dict:
    # Dynamic keys exist on Location, EVSE and Connector only, so no deeper walk is needed.
    static = _without_dynamic(evse)
    if isinstance(static.get("connectors"), list):
        static["connectors"] = [_without_dynamic(connector) for connector in static["connectors"]]
    return static


def fingerprint(value: Any) -> str:
    """Short hash of a JSON-like value; key order and whitespace do not matter."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()[:16]


def site_version(location: dict, utc_offset: str | None = None) -> str:
    """Site and synthesized station: the whole location, EVSEs and parking included, and the
    UTC offset its time zone has at the publication time (time_zones.py): the site's
    timeZone changes with daylight saving time while the OCPI object does not."""
    static = _without_dynamic(location)
    if isinstance(static.get("evses"), list):
        static["evses"] = [_static_evse(evse) if isinstance(evse, dict) else evse for evse in static["evses"]]
    return fingerprint(static if utc_offset is None else {"location": static, "utc_offset": utc_offset})


def refill_point_version(location: dict, evse: dict, parking: dict[str, dict]) -> str:
    """Refill point: the EVSE plus the location data it repeats (energy mix, its parking).
    `parking` is ocpi.parking_places(location), computed once per location by the caller."""
    used = [parking[key] for key in ocpi.evse_parking_ids(evse) if key in parking]
    return fingerprint({"evse": _static_evse(evse), "energy_mix": location.get("energy_mix"), "parking": used})
