"""Is an aggregator's location, which names no EVSE id, the same charger as one another
source publishes? Close coordinates alone are not enough (two operators' sites across a car
park): the address or the number of EVSEs must agree too. Even then the match is of low
confidence, and an administrator confirms or splits it (nap/store/sources.py)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: How far apart two copies of one site may be placed: geocoding of one address by two
#: back ends differs by tens of metres, two sites across a road are further apart than this.
NEARBY_METRES = 60.0

_EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class Place:
    """The parts of a location that matching compares."""

    latitude: float
    longitude: float
    address: str
    postal_code: str
    evse_count: int

    @classmethod
    def of(cls, document: dict) -> "Place | None":
        coordinates = document.get("coordinates") or {}
        try:
            latitude, longitude = float(coordinates["latitude"]), float(coordinates["longitude"])
        except (KeyError, TypeError, ValueError):
            return None
        return cls(latitude, longitude, _address_key(document.get("address")),
                   _address_key(document.get("postal_code")), len(document.get("evses") or []))


def _address_key(value: object) -> str:
    """An address in the form two spellings share: case, punctuation and the common
    abbreviation of street aside ("Hauptstr. 1" and "Hauptstrasse 1")."""
    if not isinstance(value, str):
        return ""
    text = value.lower().replace("ß", "ss")
    text = re.sub(r"stra?s?s?e\b|str\b\.?", "str", text)
    return re.sub(r"[^0-9a-z]+", "", text)


def metres_between(a: Place, b: Place) -> float:
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def degrees_around(latitude: float, metres: float = NEARBY_METRES) -> tuple[float, float]:
    """The half-size of a box of `metres` around a point, in degrees of latitude and
    longitude, for an index search before the exact distance."""
    dlat = metres / 111_320.0
    dlon = metres / (111_320.0 * max(0.01, math.cos(math.radians(latitude))))
    return dlat, dlon


def why_same_place(place: Place, other: Place) -> str | None:
    """Why `other` is taken for the same site, or None when it is not."""
    distance = metres_between(place, other)
    if distance > NEARBY_METRES:
        return None
    if place.address and place.address == other.address and place.postal_code == other.postal_code:
        return f"{distance:.0f} m apart, same address"
    if place.evse_count and place.evse_count == other.evse_count:
        return f"{distance:.0f} m apart, {place.evse_count} EVSEs each"
    return None


def best_match(place: Place, candidates: list[tuple[int, Place]]) -> tuple[int, str] | None:
    """The closest candidate (key, place) that is the same site, with the reason."""
    found = [(metres_between(place, other), key, reason) for key, other in candidates
             if (reason := why_same_place(place, other)) is not None]
    if not found:
        return None
    _, key, reason = min(found)
    return key, reason
