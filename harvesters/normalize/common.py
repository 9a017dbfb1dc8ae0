"""Helpers shared by the per-version upgrade rules and the repairs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

# OCPI 2.1.1 LocationType values that have a 2.2+ ParkingType; OTHER and UNKNOWN have none.
PARKING_TYPES_211 = {
    "ON_STREET": "ON_STREET",
    "PARKING_GARAGE": "PARKING_GARAGE",
    "UNDERGROUND_GARAGE": "UNDERGROUND_GARAGE",
    "PARKING_LOT": "PARKING_LOT",
}


@dataclass(frozen=True)
class FeedIdentity:
    """What the feed tells us about its CPO, for objects that do not say it themselves."""

    country_code: str | None = None
    party_id: str | None = None


def list_of(value: object) -> list:
    """A list field as a list; anything else (absent, or a CPO's `true` or `5` where a list
    belongs) as empty, so that the repairs skip it and validation says what is wrong."""
    return value if isinstance(value, list) else []


def connectors_of(location: dict) -> Iterator[tuple[dict, dict]]:
    """(evse, connector) pairs of a location, skipping anything that is not an object."""
    for evse in list_of(location.get("evses")):
        if isinstance(evse, dict):
            for connector in list_of(evse.get("connectors")):
                if isinstance(connector, dict):
                    yield evse, connector


def rename_211_fields(location: dict) -> set[str]:
    """Rename the 2.1.1 fields that 2.2 renamed (connector voltage, amperage, tariff_id;
    Location type) where the new name is absent. Returns the old names found."""
    found: set[str] = set()
    for _evse, connector in connectors_of(location):
        for old, new in (("voltage", "max_voltage"), ("amperage", "max_amperage")):
            if old in connector and new not in connector:
                connector[new] = connector.pop(old)
                found.add(old)
        if "tariff_id" in connector and "tariff_ids" not in connector:
            tariff_id = connector.pop("tariff_id")
            if tariff_id:
                connector["tariff_ids"] = [tariff_id]
            found.add("tariff_id")
    if "type" in location and "parking_type" not in location:
        location_type = location.pop("type")
        parking_type = PARKING_TYPES_211.get(location_type) if isinstance(location_type, str) else None
        if parking_type:
            location["parking_type"] = parking_type
        found.add("type")
    return found


def fill_identity(obj: dict, feed: FeedIdentity) -> list[str]:
    """Fill a missing country_code/party_id from the feed; returns the fields filled."""
    filled = []
    for field, value in (("country_code", feed.country_code), ("party_id", feed.party_id)):
        if obj.get(field) in (None, "") and value:
            obj[field] = value
            filled.append(field)
    return filled
