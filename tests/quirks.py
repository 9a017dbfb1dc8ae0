"""A quirk generator: valid OCPI Locations and Tariffs, damaged the way real feeds are.

Sources of valid objects (`sources()`): the whole Location/Tariff objects of the OCPI spec
examples (2.3.0 and 2.2.1), the demo CPO's fleet in 2.3.0 and, through the down-conversion
the demo CPO serves older versions with (nap/ocpi/downgrade.py), in 2.2.1 and 2.1.1, and
the real operators' feeds (their locations that normalize today with every EVSE kept).
Each source carries the OCPI version it is written in and the feed identity it belongs to,
so that it is normalized as its CPO would serve it.

A damage class is a function `(obj, rng) -> description | None` that changes `obj` (a
copy: `damage()` makes it) in place, on a random subset of the fields, EVSEs or connectors
it applies to, and says what it did; None when the object has nothing the class applies
to (then it is unchanged). Each damages only values still in their valid form, so that
classes combine: one quirk per value, several per object. `camel_case_keys` renames keys
the others look for, so `damage()` applies it last.

RECOVERABLE classes must cost nothing: the normalizer repairs them (with a warning
finding) and keeps every EVSE. UNRECOVERABLE ones lose the smallest broken part: the EVSE
(`no_connectors`, `no_uid`, `long_uid`) or the object (`invalid_unicode`,
`no_coordinates`), with an error finding.

Everything is deterministic given the seed of the `random.Random` passed in.
"""
from __future__ import annotations

import copy
import functools
import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from harvesters.normalize import FeedIdentity, normalize_object
from demo_cpo.fleet import generate_fleet
from nap.ocpi.downgrade import to_version
from nap.ocpi.schemas import MAX_TEXT_LENGTH, Location, Tariff
from tests.conftest import OCPI_SPEC, REAL_FEEDS
from tests.test_harvester import _objects

DEMO_LOCATIONS = 24
DEMO_SEED = 11
REAL_PER_FILE = 24  # real locations sampled per feed file (then filtered: fully normalized today)

# --- where a value sits ---------------------------------------------------------------------

Site = tuple[Any, Any, str]  # (container, key or index, path for the description)


def _evses(obj: dict) -> list[tuple[dict, str]]:
    evses = obj.get("evses")
    return [(e, f"evses[{i}]") for i, e in enumerate(evses if isinstance(evses, list) else []) if isinstance(e, dict)]


def _connectors(obj: dict) -> list[tuple[dict, dict, str]]:
    found = []
    for evse, path in _evses(obj):
        connectors = evse.get("connectors")
        for j, connector in enumerate(connectors if isinstance(connectors, list) else []):
            if isinstance(connector, dict):
                found.append((evse, connector, f"{path}.connectors[{j}]"))
    return found


def _components(obj: dict) -> Iterator[tuple[dict, str]]:
    elements = obj.get("elements")
    for i, element in enumerate(elements if isinstance(elements, list) else []):
        if isinstance(element, dict):
            components = element.get("price_components")
            for j, component in enumerate(components if isinstance(components, list) else []):
                if isinstance(component, dict):
                    yield component, f"elements[{i}].price_components[{j}]"


def _restrictions(obj: dict) -> Iterator[tuple[dict, str]]:
    elements = obj.get("elements")
    for i, element in enumerate(elements if isinstance(elements, list) else []):
        if isinstance(element, dict) and isinstance(element.get("restrictions"), dict):
            yield element["restrictions"], f"elements[{i}].restrictions"


def is_location(obj: dict) -> bool:
    return "elements" not in obj and ("coordinates" in obj or "address" in obj or "evses" in obj)


def is_tariff(obj: dict) -> bool:
    return "elements" in obj


def _walk(value: Any, path: str = "") -> Iterator[tuple[Any, Any, str]]:
    """Every (container, key/index, path) below value, depth first."""
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else str(key)
            yield value, key, child_path
            yield from _walk(child, child_path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            child_path = f"{path}[{index}]"
            yield value, index, child_path
            yield from _walk(child, child_path)


def _some(rng: random.Random, items: list) -> list:
    """A random non-empty subset (in the original order), or [] for no items."""
    if not items:
        return []
    chosen = set(rng.sample(range(len(items)), rng.randint(1, len(items))))
    return [item for i, item in enumerate(items) if i in chosen]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _report(name: str, changes: list[str]) -> str | None:
    if not changes:
        return None
    shown = "; ".join(changes[:4]) + (f"; and {len(changes) - 4} more" if len(changes) > 4 else "")
    return f"{name}: {shown}"


# --- recoverable classes --------------------------------------------------------------------

CLOSED_ENUM_VALUES = {
    "format": {"SOCKET", "CABLE"},
    "power_type": {"AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"},
    "status": {"AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED",
               "RESERVED", "UNKNOWN"},
    "tariff_type": {"AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"},
    "component_type": {"ENERGY", "FLAT", "PARKING_TIME", "TIME"},
    "day_of_week": {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"},
}


def respell(value: str, rng: random.Random) -> str:
    """The value as a sloppy back end writes it: case, padding or separators changed."""
    spellings = [value.lower(), value.title(), f"{value} ", f" {value.lower()}", f"\t{value}\n"]
    if "_" in value:
        spellings += [value.lower().replace("_", " "), value.replace("_", "-"), value.lower().replace("_", ""),
                      value.replace("_", " ").title(), value.lower().replace("_", "-") + " "]
    return rng.choice([s for s in spellings if s != value])


def enum_spelling(obj: dict, rng: random.Random) -> str | None:
    sites: list[Site] = []
    for evse, path in _evses(obj):
        if evse.get("status") in CLOSED_ENUM_VALUES["status"]:
            sites.append((evse, "status", f"{path}.status"))
    for _evse, connector, path in _connectors(obj):
        for key in ("format", "power_type"):
            if connector.get(key) in CLOSED_ENUM_VALUES[key]:
                sites.append((connector, key, f"{path}.{key}"))
    if is_tariff(obj):
        if obj.get("type") in CLOSED_ENUM_VALUES["tariff_type"]:
            sites.append((obj, "type", "type"))
        for component, path in _components(obj):
            if component.get("type") in CLOSED_ENUM_VALUES["component_type"]:
                sites.append((component, "type", f"{path}.type"))
        for restrictions, path in _restrictions(obj):
            days = restrictions.get("day_of_week")
            for k, day in enumerate(days if isinstance(days, list) else []):
                if day in CLOSED_ENUM_VALUES["day_of_week"]:
                    sites.append((days, k, f"{path}.day_of_week[{k}]"))
    changes = []
    for container, key, path in _some(rng, sites):
        before = container[key]
        container[key] = respell(before, rng)
        changes.append(f"{path} {before!r} -> {container[key]!r}")
    return _report("enum_spelling", changes)


CONNECTOR_ALIASES = {
    "IEC_62196_T2": ["Type 2", "type2"],
    "IEC_62196_T2_COMBO": ["CCS", "CCS2"],
    "CHADEMO": ["CHAdeMO"],
    "GBT_DC": ["GB/T (DC)"],
    "IEC_62196_T1": ["Type 1"],
}


def connector_alias(obj: dict, rng: random.Random) -> str | None:
    sites = [(c, p) for _e, c, p in _connectors(obj) if c.get("standard") in CONNECTOR_ALIASES]
    changes = []
    for connector, path in _some(rng, sites):
        before = connector["standard"]
        connector["standard"] = rng.choice(CONNECTOR_ALIASES[before])
        changes.append(f"{path}.standard {before!r} -> {connector['standard']!r}")
    return _report("connector_alias", changes)


def _drop(container: dict, key: str, rng: random.Random) -> str:
    """Remove the key, or set it to null: both are seen."""
    if rng.random() < 0.5:
        del container[key]
        return "removed"
    container[key] = None
    return "null"


def missing_location_last_updated(obj: dict, rng: random.Random) -> str | None:
    if not is_location(obj) or obj.get("last_updated") in (None, ""):
        return None
    return f"missing_location_last_updated: last_updated {_drop(obj, 'last_updated', rng)}"


def missing_evse_last_updated(obj: dict, rng: random.Random) -> str | None:
    sites = [(e, p) for e, p in _evses(obj) if e.get("last_updated") not in (None, "")]
    return _report("missing_evse_last_updated",
                   [f"{p}.last_updated {_drop(e, 'last_updated', rng)}" for e, p in _some(rng, sites)])


def missing_connector_last_updated(obj: dict, rng: random.Random) -> str | None:
    sites = [(c, p) for _e, c, p in _connectors(obj) if c.get("last_updated") not in (None, "")]
    return _report("missing_connector_last_updated",
                   [f"{p}.last_updated {_drop(c, 'last_updated', rng)}" for c, p in _some(rng, sites)])


def missing_time_zone(obj: dict, rng: random.Random) -> str | None:
    if not is_location(obj) or not obj.get("time_zone"):
        return None
    before = obj["time_zone"]
    return f"missing_time_zone: time_zone {before!r} {_drop(obj, 'time_zone', rng)}"


def time_zone_spaces(obj: dict, rng: random.Random) -> str | None:
    zone = obj.get("time_zone") if is_location(obj) else None
    if not isinstance(zone, str) or "_" not in zone:
        return None
    obj["time_zone"] = zone.replace("_", " ")
    return f"time_zone_spaces: time_zone {zone!r} -> {obj['time_zone']!r}"


def _key(connector: dict, *names: str) -> str | None:
    """The name a connector uses for a field: 2.2+ (max_voltage) or 2.1.1 (voltage)."""
    return next((name for name in names if _is_int(connector.get(name))), None)


def _volts(connector: dict) -> str | None:
    return _key(connector, "max_voltage", "voltage")


def _amps(connector: dict) -> str | None:
    return _key(connector, "max_amperage", "amperage")


def missing_voltage(obj: dict, rng: random.Random) -> str | None:
    sites = []
    for _e, connector, path in _connectors(obj):
        power_type, volts = connector.get("power_type"), _volts(connector)
        if volts and isinstance(power_type, str) and (
                power_type.startswith("AC")
                or (power_type == "DC" and _amps(connector) and _is_int(connector.get("max_electric_power")))):
            sites.append((connector, volts, path))
    changes = []
    for connector, key, path in _some(rng, sites):
        changes.append(f"{path}.{key} {connector.pop(key)!r} removed")
    return _report("missing_voltage", changes)


def missing_amperage(obj: dict, rng: random.Random) -> str | None:
    # DC: only with the voltage still there (power alone says nothing of either).
    sites = [(c, _amps(c), p) for _e, c, p in _connectors(obj)
             if _amps(c) and _is_int(c.get("max_electric_power")) and (c.get("power_type") != "DC" or _volts(c))]
    return _report("missing_amperage", [f"{p}.{k} {c.pop(k)!r} removed" for c, k, p in _some(rng, sites)])


CABLE_STANDARDS = {"IEC_62196_T2_COMBO", "IEC_62196_T1_COMBO", "CHADEMO", "GBT_DC"}


def format_is_implied(connector: dict) -> bool:
    standard = connector.get("standard")
    if not isinstance(standard, str):
        return False
    return (standard in CABLE_STANDARDS or standard.startswith(("DOMESTIC_", "IEC_60309_"))
            or (standard == "IEC_62196_T2" and str(connector.get("power_type", "")).startswith("AC")))


def missing_format(obj: dict, rng: random.Random) -> str | None:
    sites = [(c, p) for _e, c, p in _connectors(obj) if format_is_implied(c) and "format" in c]
    return _report("missing_format", [f"{p}.format {c.pop('format')!r} removed ({c['standard']})"
                                      for c, p in _some(rng, sites)])


def missing_address_parts(obj: dict, rng: random.Random) -> str | None:
    if not is_location(obj):
        return None
    # A postal code alone is optional in OCPI (nothing to repair; the quality report flags
    # it against AFIR): the city, which OCPI requires, goes every time.
    if not obj.get("city"):
        return None
    chosen = ["city"] + (["postal_code"] if obj.get("postal_code") and rng.random() < 0.5 else [])
    return _report("missing_address_parts", [f"{key} {obj.pop(key)!r} removed" for key in chosen])


CONNECTOR_NUMBERS = ("max_voltage", "max_amperage", "max_electric_power", "voltage", "amperage")


def numbers_as_text(obj: dict, rng: random.Random) -> str | None:
    sites: list[Site] = []
    for _e, connector, path in _connectors(obj):
        sites += [(connector, key, f"{path}.{key}") for key in CONNECTOR_NUMBERS if _is_int(connector.get(key))]
    for component, path in _components(obj):
        sites += [(component, key, f"{path}.{key}") for key in ("price", "step_size", "vat")
                  if isinstance(component.get(key), (int, float)) and not isinstance(component.get(key), bool)]
    changes = []
    for container, key, path in _some(rng, sites):
        before = container[key]
        container[key] = str(before)
        changes.append(f"{path} {before!r} -> {container[key]!r}")
    return _report("numbers_as_text", changes)


def fractional_integers(obj: dict, rng: random.Random) -> str | None:
    sites = [(c, k, f"{p}.{k}") for _e, c, p in _connectors(obj) for k in CONNECTOR_NUMBERS if _is_int(c.get(k))]
    changes = []
    for container, key, path in _some(rng, sites):
        before = container[key]
        # Below half a unit: the nearest integer (and the truncated one) is the original.
        container[key] = round(before + rng.choice([0.1, 0.2, 0.25, 0.3, 0.4]), 2)
        changes.append(f"{path} {before!r} -> {container[key]!r}")
    return _report("fractional_integers", changes)


def _thousandth(value: int) -> int | float:
    return value // 1000 if value % 1000 == 0 else value / 1000


def wrong_units(obj: dict, rng: random.Random) -> str | None:
    sites = []
    for _e, connector, path in _connectors(obj):
        power = connector.get("max_electric_power")
        if _is_int(power) and power >= 1000:
            sites.append((connector, "max_electric_power", f"{path}.max_electric_power", "kW"))
        volts = _volts(connector)
        if volts and connector[volts] >= 100:
            sites.append((connector, volts, f"{path}.{volts}", "kV"))
    changes = []
    for container, key, path, unit in _some(rng, sites):
        before = container[key]
        container[key] = _thousandth(before)
        changes.append(f"{path} {before!r} -> {container[key]!r} ({unit})")
    return _report("wrong_units", changes)


def power_in_voltage(obj: dict, rng: random.Random) -> str | None:
    """The power in kW sent in max_voltage (and no max_electric_power), on connectors whose
    voltage can be derived again: AC, or DC with its current given."""
    sites = []
    for _e, connector, path in _connectors(obj):
        power, volts = connector.get("max_electric_power"), _volts(connector)
        direct = connector.get("power_type") == "DC"
        if (_is_int(power) and 2000 <= power < 50_000 and power % 1000 == 0 and volts
                and (not direct or _amps(connector))):
            sites.append((connector, volts, path))
    changes = []
    for connector, volts, path in _some(rng, sites):
        kilowatts = connector.pop("max_electric_power") // 1000
        changes.append(f"{path}.{volts} {connector[volts]!r} -> {kilowatts} (the power in kW), max_electric_power removed")
        connector[volts] = kilowatts
    return _report("power_in_voltage", changes)


def sunday_zero(obj: dict, rng: random.Random) -> str | None:
    hours = obj.get("opening_times") if is_location(obj) else None
    regular = hours.get("regular_hours") if isinstance(hours, dict) else None
    entries = regular if isinstance(regular, list) else []
    sites = [(h, f"opening_times.regular_hours[{i}]") for i, h in enumerate(entries)
             if isinstance(h, dict) and h.get("weekday") == 7 and not isinstance(h.get("weekday"), bool)]
    changes = []
    for entry, path in _some(rng, sites):
        entry["weekday"] = 0
        changes.append(f"{path}.weekday 7 -> 0")
    return _report("sunday_zero", changes)


# Country names as their own people write them; the normalizer need not know these, and
# then derives the country from country_code.
NATIVE_NAMES = {
    "DEU": "Deutschland", "POL": "Polska", "BEL": "België", "NLD": "Nederland", "SWE": "Sverige",
    "BRA": "Brasil", "RUS": "Россия", "TUR": "Türkiye", "ESP": "España", "PRT": "Portugal", "ROU": "România",
    "MYS": "Malaysia", "USA": "United States", "ARM": "Հայաստան", "MNE": "Crna Gora", "PER": "Perú",
    "FRA": "France", "ITA": "Italia", "AUT": "Österreich", "CHE": "Schweiz", "CZE": "Česko",
}


def _country(alpha3: str):
    import pycountry
    return pycountry.countries.get(alpha_3=alpha3)


def country_spelling(obj: dict, rng: random.Random) -> str | None:
    country = obj.get("country") if is_location(obj) else None
    if not isinstance(country, str) or len(country) != 3 or not country.isupper() or _country(country) is None:
        return None
    record = _country(country)
    spellings = [("English name", record.name), ("alpha-2", record.alpha_2), ("lower case", country.lower())]
    code = obj.get("country_code")
    derived = _country_alpha3_of_alpha2(code) if isinstance(code, str) else None
    # A native name is left to be derived from country_code: only where that gives it back.
    if country in NATIVE_NAMES and (code is None or derived == country):
        spellings.append(("native name", NATIVE_NAMES[country]))
    how, spelled = rng.choice(spellings)
    obj["country"] = spelled
    return f"country_spelling: country {country!r} -> {spelled!r} ({how})"


def _country_alpha3_of_alpha2(code: str) -> str | None:
    import pycountry
    record = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    return record.alpha_3 if record else None


CANONICAL_TIMESTAMP = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")
TIMESTAMP_KEYS = {"last_updated", "start_date_time", "end_date_time", "period_begin", "period_end"}
YEAR_ONE, FAR_FUTURE = "0001-01-01T00:00:00Z", "2099-01-01T00:00:00Z"


def _timestamps(obj: dict, keys: set[str]) -> list[Site]:
    return [(c, k, p) for c, k, p in _walk(obj)
            if k in keys and isinstance(c[k], str) and CANONICAL_TIMESTAMP.fullmatch(c[k])
            and not c[k].startswith(("0001-", "2099-"))]


def timestamp_zone_missing(obj: dict, rng: random.Random) -> str | None:
    changes = []
    for container, key, path in _some(rng, _timestamps(obj, TIMESTAMP_KEYS)):
        before = container[key]
        container[key] = before[:-1]
        changes.append(f"{path} {before!r} -> {container[key]!r}")
    return _report("timestamp_zone_missing", changes)


def _set_timestamps(name: str, value: str, obj: dict, rng: random.Random) -> str | None:
    changes = []
    for container, key, path in _some(rng, _timestamps(obj, {"last_updated"})):
        changes.append(f"{path} {container[key]!r} -> {value!r}")
        container[key] = value
    return _report(name, changes)


def timestamp_year_one(obj: dict, rng: random.Random) -> str | None:
    return _set_timestamps("timestamp_year_one", YEAR_ONE, obj, rng)


def timestamp_far_future(obj: dict, rng: random.Random) -> str | None:
    return _set_timestamps("timestamp_far_future", FAR_FUTURE, obj, rng)


def helpdesk_in_operator(obj: dict, rng: random.Random) -> str | None:
    """The helpdesk phone where CPOs put it before 2.3.0 had help_phone: operator.phone_number.
    A location without help_phone (2.2.1 and 2.1.1 have none) gets a number first: the one
    its 2.3.0 object would carry."""
    if not is_location(obj) or (obj.get("help_phone") is not None and not isinstance(obj.get("help_phone"), str)):
        return None
    phone = obj.pop("help_phone", None)
    invented = not phone
    if invented:
        phone = f"+{rng.choice(['49 30', '31 20', '48 22', '7 495'])} {rng.randint(1000000, 9999999)}"
    what = f"help_phone {phone!r}{' (added)' if invented else ''} -> operator.phone_number"
    if isinstance(obj.get("operator"), dict):
        obj["operator"]["phone_number"] = phone
        return f"helpdesk_in_operator: {what}"
    obj["operator"] = {"name": f"{obj.get('party_id') or 'CPO'} operator", "phone_number": phone}
    return f"helpdesk_in_operator: {what} (operator added)"


_CAMEL_KEY = re.compile(r"[a-z0-9][A-Z]")


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_case_keys(obj: dict, rng: random.Random) -> str | None:
    keys = [k for c, k, _p in _walk(obj) if isinstance(c, dict) and isinstance(k, str)]
    if any(_CAMEL_KEY.search(k) for k in keys):
        return None  # already a camelCase feed: nothing this class would add
    names = sorted({k for k in keys if "_" in k.strip("_") and camel(k) != k})
    if not names:
        return None
    chosen = set(names if rng.random() < 0.5 else _some(rng, names))

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {(camel(k) if k in chosen else k): rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return value

    renamed = rename(obj)
    obj.clear()
    obj.update(renamed)
    return f"camel_case_keys: {len(chosen)} key names, e.g. " + ", ".join(
        f"{k} -> {camel(k)}" for k in sorted(chosen)[:3])


# Texts by the object that holds them: OCPI's length for each, and whether it is optional
# (only an optional one can be left out when beyond NAP_MAX_TEXT_LENGTH, with the rest kept).
_TEXT_LENGTHS = {
    "location": {"name": (255, True), "address": (45, False), "city": (45, False), "postal_code": (10, True),
                 "state": (20, True)},
    "evse": {"physical_reference": (16, True), "floor_level": (4, True)},
    "connector": {"terms_and_conditions": (255, True)},
    "tariff": {"tariff_alt_url": (255, True)},
}
_FILLER = " Gewerbepark Nord, Halle 3, Zufahrt über die Ringstraße, hinter dem Baumarkt"


def _lengthened(text: str, length: int) -> str:
    return (text + (_FILLER * (length // len(_FILLER) + 1)))[:length]


def long_texts(obj: dict, rng: random.Random) -> str | None:
    """Texts longer than OCPI's length for them (real feeds' addresses run to 160
    characters): kept, with a warning; and optional ones longer than NAP_MAX_TEXT_LENGTH:
    left out, with a warning."""
    holders = ([(obj, "location", "")] if is_location(obj) else [(obj, "tariff", "")] if is_tariff(obj) else [])
    holders += [(evse, "evse", f"{path}.") for evse, path in _evses(obj)]
    holders += [(connector, "connector", f"{path}.") for _evse, connector, path in _connectors(obj)]
    sites = [(holder, key, prefix + key, length, optional)
             for holder, kind, prefix in holders for key, (length, optional) in _TEXT_LENGTHS[kind].items()
             if isinstance(holder.get(key), str) and 0 < len(holder[key]) <= length]
    changes = []
    for holder, key, path, length, optional in _some(rng, sites):
        beyond_limit = optional and rng.random() < 0.4
        new_length = MAX_TEXT_LENGTH + rng.randint(1, 50) if beyond_limit else length + rng.randint(1, 40)
        holder[key] = _lengthened(holder[key], new_length)
        changes.append(f"{path} {new_length} characters{', beyond NAP_MAX_TEXT_LENGTH' if beyond_limit else ''}")
    return _report("long_texts", changes)


# --- unrecoverable classes ------------------------------------------------------------------

# Free text, where nothing but the encoding is wrong (in a coordinate or an enum the value
# would be refused for its own sake).
TEXT_KEYS = {"name", "address", "city", "state", "text", "physical_reference", "floor_level", "supplier_name",
             "energy_product_name", "tariff_alt_url", "terms_and_conditions", "website"}


def invalid_unicode(obj: dict, rng: random.Random) -> str | None:
    strings = [(c, k, p) for c, k, p in _walk(obj) if isinstance(c[k], str) and c[k]]
    sites = [(c, k, p) for c, k, p in strings if k in TEXT_KEYS] or [(c, k, p) for c, k, p in strings if k == "id"]
    if not sites:
        return None
    container, key, path = rng.choice(sites)
    bad = rng.choice(["\ud800", "\x00"])
    text = container[key]
    at = rng.randint(0, len(text))
    container[key] = text[:at] + bad + text[at:]
    return f"invalid_unicode: {path} got {bad!r} at {at}"


def _some_evses(obj: dict, rng: random.Random) -> list[tuple[dict, str]]:
    """Some EVSEs, but not all of them when there are several: their neighbours are what
    the test looks at."""
    evses = _evses(obj)
    if len(evses) <= 1:
        return evses
    return rng.sample(evses, rng.randint(1, len(evses) - 1))


def no_connectors(obj: dict, rng: random.Random) -> str | None:
    changes = []
    for evse, path in _some_evses(obj, rng):
        how = rng.choice(["removed", "empty", "null"])
        if how == "removed":
            evse.pop("connectors", None)
        else:
            evse["connectors"] = [] if how == "empty" else None
        changes.append(f"{path}.connectors {how}")
    return _report("no_connectors", changes)


def no_uid(obj: dict, rng: random.Random) -> str | None:
    changes = []
    for evse, path in _some_evses(obj, rng):
        gone = [key for key in ("uid", "evse_id", "evseId") if evse.pop(key, None) is not None]
        changes.append(f"{path} {' and '.join(gone) or 'nothing'} removed")
    return _report("no_uid", changes)


# The width of the store's uid column, OCPI's CiString(36).
UID_LENGTH = 36


def long_uid(obj: dict, rng: random.Random) -> str | None:
    """EVSE uids longer than OCPI's CiString(36): the store cannot keep them."""
    changes = []
    for evse, path in _some_evses(obj, rng):
        if isinstance(evse.get("uid"), str) and evse["uid"]:
            evse["uid"] = _lengthened(evse["uid"], UID_LENGTH + rng.randint(1, 200)).replace(" ", "-")
            changes.append(f"{path}.uid {len(evse['uid'])} characters")
    return _report("long_uid", changes)


def no_coordinates(obj: dict, rng: random.Random) -> str | None:
    if not is_location(obj) or "coordinates" not in obj:
        return None
    return f"no_coordinates: coordinates {_drop(obj, 'coordinates', rng)}"


# --- the catalogue --------------------------------------------------------------------------

Damage = Callable[[dict, random.Random], "str | None"]


@dataclass(frozen=True)
class QuirkClass:
    name: str
    damage: Damage
    kinds: tuple[str, ...]  # the object kinds it can apply to
    recoverable: bool
    # unrecoverable: what an error finding's field or reason says (any of these, lower case)
    named_by: tuple[str, ...] = ()


BOTH, LOCATION = ("location", "tariff"), ("location",)
RECOVERABLE: dict[str, QuirkClass] = {q.name: q for q in (
    QuirkClass("enum_spelling", enum_spelling, BOTH, True),
    QuirkClass("connector_alias", connector_alias, LOCATION, True),
    QuirkClass("missing_location_last_updated", missing_location_last_updated, LOCATION, True),
    QuirkClass("missing_evse_last_updated", missing_evse_last_updated, LOCATION, True),
    QuirkClass("missing_connector_last_updated", missing_connector_last_updated, LOCATION, True),
    QuirkClass("missing_time_zone", missing_time_zone, LOCATION, True),
    QuirkClass("time_zone_spaces", time_zone_spaces, LOCATION, True),
    QuirkClass("missing_voltage", missing_voltage, LOCATION, True),
    QuirkClass("missing_amperage", missing_amperage, LOCATION, True),
    QuirkClass("missing_format", missing_format, LOCATION, True),
    QuirkClass("missing_address_parts", missing_address_parts, LOCATION, True),
    QuirkClass("numbers_as_text", numbers_as_text, BOTH, True),
    QuirkClass("fractional_integers", fractional_integers, LOCATION, True),
    QuirkClass("wrong_units", wrong_units, LOCATION, True),
    QuirkClass("power_in_voltage", power_in_voltage, LOCATION, True),
    QuirkClass("sunday_zero", sunday_zero, LOCATION, True),
    QuirkClass("country_spelling", country_spelling, LOCATION, True),
    QuirkClass("timestamp_zone_missing", timestamp_zone_missing, BOTH, True),
    QuirkClass("timestamp_year_one", timestamp_year_one, BOTH, True),
    QuirkClass("timestamp_far_future", timestamp_far_future, BOTH, True),
    QuirkClass("helpdesk_in_operator", helpdesk_in_operator, LOCATION, True),
    QuirkClass("camel_case_keys", camel_case_keys, BOTH, True),
    QuirkClass("long_texts", long_texts, BOTH, True),
)}
UNRECOVERABLE: dict[str, QuirkClass] = {q.name: q for q in (
    QuirkClass("invalid_unicode", invalid_unicode, BOTH, False,
               ("unicode", "surrogate", "nul", "utf", "control char", "\\x00", "encod", "character")),
    QuirkClass("no_connectors", no_connectors, LOCATION, False, ("connector",)),
    QuirkClass("no_uid", no_uid, LOCATION, False, ("uid",)),
    QuirkClass("long_uid", long_uid, LOCATION, False, ("cistring(36)",)),
    QuirkClass("no_coordinates", no_coordinates, LOCATION, False, ("coordinates",)),
)}
CLASSES: dict[str, QuirkClass] = {**RECOVERABLE, **UNRECOVERABLE}
# The unrecoverable classes that cost one EVSE, not the object.
EVSE_CLASSES = ("no_connectors", "no_uid", "long_uid")


def damage(obj: dict, class_names: list[str] | tuple[str, ...], rng: random.Random) -> tuple[dict, list[str]]:
    """A damaged copy of obj and what each class that applied did (camel_case_keys last)."""
    damaged = copy.deepcopy(obj)
    ordered = sorted(class_names, key=lambda name: name == "camel_case_keys")
    descriptions = []
    for name in ordered:
        description = CLASSES[name].damage(damaged, rng)
        if description:
            descriptions.append(description)
    return damaged, descriptions


# --- sources of valid objects ---------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    name: str  # where it comes from, for messages
    group: str  # spec-2.3.0, spec-2.2.1, demo-2.3.0, demo-2.2.1, demo-2.1.1, real
    kind: str  # location, tariff
    version: str  # the OCPI version it is written in (normalized as such)
    obj: dict  # do not change: damage() works on a copy
    identity: FeedIdentity

    def normalize(self, obj: dict | None = None, **options):
        return normalize_object(self.kind, copy.deepcopy(self.obj) if obj is None else obj, self.version,
                                self.identity, **options)


def _real_version(path: Path) -> str | None:
    if "3_0_0" in path.name:
        return None  # a 3.0 draft example, not an operator's feed
    if "2_2_1" in path.name or "voltrelli" in path.name:
        return "2.2.1"  # voltrelli: not conformant; read as 2.2.1 (as tests/test_harvester.py does)
    if "2_2" in path.name:
        return "2.2"
    return None


def _file_identity(objects: list, fallback_party: str) -> FeedIdentity:
    countries = Counter(o.get("country_code") for o in objects if isinstance(o, dict) and o.get("country_code"))
    parties = Counter(o.get("party_id") for o in objects if isinstance(o, dict) and o.get("party_id"))
    return FeedIdentity(countries.most_common(1)[0][0] if countries else "DE",
                        parties.most_common(1)[0][0] if parties else fallback_party)


def _fully_normalized(source: Source) -> bool:
    """Whether the object is stored today with nothing dropped, as an object that validates
    against the 2.3.0 schemas again: a valid starting point."""
    result = source.normalize()
    if not result.ok or any(f.severity == "error" for f in result.findings):
        return False
    try:
        (Location if source.kind == "location" else Tariff).model_validate(result.data)
    except ValueError:  # pydantic's ValidationError (a real feed's 0001-01-01 stored as 1-01-01)
        return False
    if source.kind == "location":
        evses = [e for e in source.obj.get("evses") or [] if isinstance(e, dict)]
        return len(result.data.get("evses") or []) == len(evses)
    return True


@functools.lru_cache(maxsize=None)
def sources() -> tuple[Source, ...]:
    """Every valid object the quirk tests start from (deterministic)."""
    found: list[Source] = []
    for version in ("2.3.0", "2.2.1"):
        for kind in ("location", "tariff"):
            for path in sorted((OCPI_SPEC / f"ocpi-{version}" / "examples").glob(f"{kind}*.json")):
                for n, obj in enumerate(_objects(path, kind)):
                    if isinstance(obj, dict) and obj.get("country_code") and obj.get("party_id"):
                        found.append(Source(f"spec {version} {path.name}#{n}", f"spec-{version}", kind, version, obj,
                                            FeedIdentity(obj["country_code"], obj["party_id"])))
    fleet = generate_fleet(locations=DEMO_LOCATIONS, seed=DEMO_SEED)
    demo_identity = FeedIdentity("DE", "ABC")
    for version in ("2.3.0", "2.2.1", "2.1.1"):
        for kind, objects in (("location", fleet.locations), ("tariff", fleet.tariffs)):
            for obj in objects:
                converted = to_version(obj, kind, version)
                if converted is not None:
                    found.append(Source(f"demo {version} {kind} {obj['id']}", f"demo-{version}", kind, version,
                                        converted, demo_identity))
    rng = random.Random(f"quirks/real/{DEMO_SEED}")
    for path in sorted(REAL_FEEDS.glob("*.json")):
        version = _real_version(path)
        if version is None:
            continue
        objects = [o for o in _objects(path, "location") if isinstance(o, dict)]
        identity = _file_identity(objects, path.stem.rsplit("-", 1)[-1][:3].upper())
        picked = sorted(rng.sample(range(len(objects)), min(REAL_PER_FILE, len(objects))))
        for index in picked:
            found.append(Source(f"real {path.name}#{index} ({objects[index].get('id')})", "real", "location",
                                version, objects[index], identity))
    return tuple(s for s in found if _fully_normalized(s))


def evse_count(location: Any) -> int:
    evses = location.get("evses") if isinstance(location, dict) else None
    return sum(isinstance(e, dict) for e in evses) if isinstance(evses, list) else 0


def evse_is_unrecoverable(evse: Any) -> bool:
    """An EVSE damaged by no_connectors, no_uid or long_uid (whatever else happened to it)."""
    if not isinstance(evse, dict):
        return True
    connectors = evse.get("connectors")
    no_connectors_left = not (isinstance(connectors, list) and any(isinstance(c, dict) for c in connectors))
    uid = evse.get("uid")
    return (no_connectors_left or ("uid" not in evse and "evse_id" not in evse and "evseId" not in evse)
            or (isinstance(uid, str) and len(uid) > UID_LENGTH))


def describe(obj: Any, limit: int = 400) -> str:
    text = json.dumps(obj, ensure_ascii=True, default=str)
    return text if len(text) <= limit else text[:limit] + "..."
