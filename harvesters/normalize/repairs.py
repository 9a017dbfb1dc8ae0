"""Repairs: an ordered list of rules, each turning one known real-world deviation into
what the OCPI model says, and each saying why in a warning finding.

They run on every object before the version upgrade and validation, whatever the OCPI
version the feed claims, because real feeds mix versions (2.1.1 connector field names in
a 2.2.1 feed) and conventions (camelCase keys). A rule only fills in or renames what is
missing; it never overwrites a value the CPO gave.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from harvesters.normalize.common import FeedIdentity, connectors_of, fill_identity, list_of, rename_211_fields
from harvesters.normalize.countries import ALPHA2_TO_ALPHA3, SINGLE_TIME_ZONE
from nap.jsonutil import dumps_bytes

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _snake(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower()


def _walk_dicts(value, visit) -> None:
    if isinstance(value, dict):
        visit(value)
        for child in value.values():
            _walk_dicts(child, visit)
    elif isinstance(value, list):
        for child in value:
            _walk_dicts(child, visit)


# Possibly a camelCase key, in serialized JSON: a key with a capital letter followed only by
# lower-case letters, digits or '_' up to its end (every key of letters, digits and '_' with
# a lower-case letter or digit followed by a capital is one, as before this filter). Searched for in the reversed text, where a key starts with
# ':' (one per key) rather than '"' (four per key and value), and the possessive run cannot
# backtrack: a quarter of the time of matching keys exactly. What it lets through in excess
# (keys like "URL") only costs the walk, which renames exactly.
_CAMEL_KEY_REVERSED = re.compile(rb':\s*"[a-z0-9_]*+[A-Z]')


def snake_case_keys(location: dict, feed: FeedIdentity, serialized: bytes | None = None) -> list[str]:
    """`serialized`: the object as orjson serializes it, when the caller has it already."""
    # Nearly every feed is snake_case already: one C-speed scan spares the walk.
    text = serialized if serialized is not None else dumps_bytes(location)
    if not _CAMEL_KEY_REVERSED.search(text[::-1]):
        return []
    renamed: set[str] = set()

    def visit(obj: dict) -> None:
        for key in [k for k in obj if isinstance(k, str) and _CAMEL.search(k)]:
            target = _snake(key)
            if target not in obj:
                obj[target] = obj.pop(key)
                renamed.add(key)

    _walk_dicts(location, visit)
    if renamed:
        return [f"{', '.join(sorted(renamed)[:5])}: camelCase field names read as OCPI snake_case"]
    return []


def older_field_names(location: dict, feed: FeedIdentity) -> list[str]:
    """OCPI 2.1.1 names (voltage, amperage, tariff_id, type) inside newer feeds."""
    used = rename_211_fields(location)
    if used:
        return [f"{', '.join(sorted(used))}: OCPI 2.1.1 field names read as their 2.2+ successors"]
    return []


def identity_from_feed(obj: dict, feed: FeedIdentity) -> list[str]:
    filled = fill_identity(obj, feed)
    return [f"{', '.join(filled)}: missing, taken from the feed's registration"] if filled else []


def country_alpha3(location: dict, feed: FeedIdentity) -> list[str]:
    country = location.get("country")
    if isinstance(country, str) and len(country) == 2 and country.upper() in ALPHA2_TO_ALPHA3:
        location["country"] = ALPHA2_TO_ALPHA3[country.upper()]
        return [f"country: {country!r} is ISO 3166 alpha-2; read as {location['country']}"]
    if not country and isinstance(location.get("country_code"), str):
        alpha3 = ALPHA2_TO_ALPHA3.get(location["country_code"].upper())
        if alpha3:
            location["country"] = alpha3
            return [f"country: missing, derived {alpha3} from country_code"]
    return []


def time_zone_from_country(location: dict, feed: FeedIdentity) -> list[str]:
    if location.get("time_zone"):
        return []
    zone = SINGLE_TIME_ZONE.get(str(location.get("country", "")).upper()) or SINGLE_TIME_ZONE.get(
        ALPHA2_TO_ALPHA3.get(str(location.get("country_code", "")).upper(), ""))
    if zone:
        location["time_zone"] = zone
        return [f"time_zone: missing, derived {zone} from the country"]
    return []


def publish_by_default(location: dict, feed: FeedIdentity) -> list[str]:
    if "publish" not in location:
        location["publish"] = True
        return ["publish: missing, taken as true (the CPO sends it to a public access point)"]
    return []


def child_timestamps(location: dict, feed: FeedIdentity) -> list[str]:
    filled = 0
    for evse in list_of(location.get("evses")):
        if isinstance(evse, dict) and not evse.get("last_updated") and location.get("last_updated"):
            evse["last_updated"] = location["last_updated"]
            filled += 1
    for evse, connector in connectors_of(location):
        if not connector.get("last_updated") and evse.get("last_updated"):
            connector["last_updated"] = evse["last_updated"]
            filled += 1
    return [f"last_updated: missing on {filled} EVSEs/connectors, taken from their parent"] if filled else []


@dataclass(frozen=True)
class Repair:
    name: str
    apply: Callable[[dict, FeedIdentity], list[str]]


# snake_case_keys runs before the version upgrade (see normalize_object), the rest after.
LOCATION_REPAIRS: tuple[Repair, ...] = (
    Repair("older_field_names", older_field_names),
    Repair("identity_from_feed", identity_from_feed),
    Repair("country_alpha3", country_alpha3),
    Repair("time_zone_from_country", time_zone_from_country),
    Repair("publish_by_default", publish_by_default),
    Repair("child_timestamps", child_timestamps),
)
TARIFF_REPAIRS: tuple[Repair, ...] = (
    Repair("identity_from_feed", identity_from_feed),
)


def repair(kind: str, obj: dict, feed: FeedIdentity) -> list[str]:
    warnings: list[str] = []
    for rule in LOCATION_REPAIRS if kind == "location" else TARIFF_REPAIRS:
        warnings.extend(rule.apply(obj, feed))
    return warnings
