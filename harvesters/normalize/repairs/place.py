"""Where: country, time zone and address."""
from __future__ import annotations

from harvesters.normalize.repairs.log import RepairLog
from harvesters.normalize.repairs.numbers import missing, number
from nap.ocpi.places import ALPHA3_CODES, TIME_ZONES, alpha3_of


def country_iso_alpha3(location: dict, log: RepairLog) -> None:
    """`country` must be ISO 3166-1 alpha-3: an alpha-2 code, a lower-case code or an English
    name is read as the country it names; anything else (a name in another language, a
    currency code) gives way to the party's country_code."""
    country = location.get("country")
    if isinstance(country, str) and country in ALPHA3_CODES:
        return
    named = alpha3_of(country) if isinstance(country, str) else None
    if named:
        location["country"] = named
        log.note("country", f"{country!r} read as {named}")
        return
    code = location.get("country_code")
    derived = alpha3_of(code) if isinstance(code, str) and len(code.strip()) == 2 else None
    if derived:
        location["country"] = derived
        reason = "missing" if missing(country) else f"{country!r} is not an ISO 3166 country"
        log.note("country", f"{reason}; {derived} taken from country_code", discarded=not missing(country))


def _zone_at(coordinates: object) -> str | None:
    if not isinstance(coordinates, dict):
        return None
    latitude, longitude = number(coordinates.get("latitude")), number(coordinates.get("longitude"))
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    from tzfpy import get_tz  # its polygons load on first use: only harvests that need it pay

    zone = get_tz(longitude, latitude)
    return zone if zone in TIME_ZONES else None


_ZONES_BY_LOWER_CASE = {name.lower(): name for name in TIME_ZONES}


def time_zone_from_coordinates(location: dict, log: RepairLog) -> None:
    """`time_zone` must be an IANA zone name: one written with spaces for underscores
    (`Asia/Kuala Lumpur`) or in another case is read as that zone; a missing or unknown one
    is looked up from the coordinates (tzfpy: the time zone boundaries of OpenStreetMap)."""
    zone = location.get("time_zone")
    if isinstance(zone, str) and zone in TIME_ZONES:
        return
    if isinstance(zone, str) and zone.strip():
        spelled = zone.strip().replace(" ", "_")
        match = _ZONES_BY_LOWER_CASE.get(spelled.lower())
        if match:
            location["time_zone"] = match
            log.note("time_zone", f"{zone!r} read as {match}")
            return
    found = _zone_at(location.get("coordinates"))
    if found:
        location["time_zone"] = found
        reason = "missing" if missing(zone) else f"{zone!r} is not an IANA time zone"
        log.note("time_zone", f"{reason}; {found} looked up from the coordinates", discarded=not missing(zone))


def address_parts(location: dict, log: RepairLog) -> None:
    """A location without street address or city is still a place to charge: kept with
    the part empty (OCPI requires the field, not its content); the quality report tells
    the CPO that AFIR needs it."""
    for name in ("address", "city"):
        if missing(location.get(name)):
            location[name] = ""
            log.note(name, "missing; published empty (AFIR requires it: please send it)")
