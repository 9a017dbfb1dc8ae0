"""OCPI 2.3.0 Tariff -> a checked, profile-neutral model, the input of both DATEX II writers.

Reading never guesses and never rounds: amounts are kept exactly as the CPO wrote them, and
a tariff whose meaning cannot be kept is refused with a `Drop` naming the OCPI field that
caused it (docs/datex2-mapping.md, "Tariffs", lists every reason). What depends on the
charging point (power and current restrictions) or on the DATEX II model (which restrictions
it can state) is decided later, in tariff_fit.py.

Three restrictions that always hold are removed while reading, because writing them would
only add noise or (for the time of day) ambiguity: a minimum of 0 or less (kWh, duration,
power, current), a day_of_week list naming all seven days, and a time of day given only as
start_time 00:00 or only as end_time 00:00 (the whole day; written out it would read
00:00-00:00).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from decimal import Decimal

from exporters.datex2 import identity, mapping, ocpi

DIMENSIONS = frozenset({"ENERGY", "FLAT", "TIME", "PARKING_TIME"})
_CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal("999999.99")  # afac/fac:AmountOfMoney: totalDigits 8, fractionDigits 2
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MIDNIGHT = "00:00:00"


@dataclass(frozen=True)
class Drop:
    """Why a tariff is not published: `field` is the OCPI field (counted under this name)."""
    field: str
    detail: str


@dataclass(frozen=True)
class Component:
    dimension: str          # ENERGY, FLAT, TIME, PARKING_TIME
    price: Decimal          # the OCPI value, exact
    amount: str             # the same value as AmountOfMoney text (two decimals, not rounded)
    vat: float | None       # percent; None: not stated
    step_size: int | None   # Wh (ENERGY) or s (TIME, PARKING_TIME)


@dataclass(frozen=True)
class Restrictions:
    start_time: str | None = None         # xs:time, local time of the location
    end_time: str | None = None
    start_date: str | None = None         # YYYY-MM-DD, local, inclusive
    end_date: str | None = None           # YYYY-MM-DD, local, exclusive
    days: tuple[str, ...] = ()            # OCPI DayOfWeek values
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_duration: int | None = None       # seconds
    max_duration: int | None = None
    min_power: float | None = None        # kW
    max_power: float | None = None
    min_current: float | None = None      # A, summed over phases
    max_current: float | None = None
    reservation: str | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) in (None, ()) for f in fields(self))

    @property
    def time_of_day(self) -> tuple[str, str] | None:
        """(start, end) as xs:time; a missing bound is midnight, as OCPI's "00:00" end of day."""
        if self.start_time is None and self.end_time is None:
            return None
        return self.start_time or _MIDNIGHT, self.end_time or _MIDNIGHT

    @property
    def calendar(self) -> bool:
        return bool(self.time_of_day or self.start_date or self.end_date or self.days)

    @property
    def duration(self) -> bool:
        return self.min_duration is not None or self.max_duration is not None

    @property
    def energy(self) -> bool:
        return self.min_kwh is not None or self.max_kwh is not None

    def without(self, *names: str) -> Restrictions:
        return replace(self, **{name: None for name in names})


@dataclass(frozen=True)
class Element:
    index: int                    # 1-based position in the OCPI list (OCPI: first match wins)
    components: tuple[Component, ...]
    restrictions: Restrictions


@dataclass(frozen=True)
class Tariff:
    id: str
    policy: str                   # aegi:RatePolicyEnum: adHoc or contract
    currency: str
    last_updated: str | None      # xs:dateTime
    tax_included: str | None      # YES, NO, N/A
    min_price: str | None         # AmountOfMoney on the prices' tax basis
    max_price: str | None
    alt_text: list[tuple[str | None, str]]
    alt_url: str | None
    valid_from: str | None        # start_date_time, xs:dateTime
    valid_until: str | None       # end_date_time
    energy_mix: dict | None
    elements: tuple[Element, ...]
    version: str                  # fingerprint of the OCPI object


def amount(value: Decimal | None) -> str | None:
    """AmountOfMoney text, or None when the value cannot be written unchanged."""
    if value is None or value < 0 or value > _MAX_AMOUNT or value != value.quantize(_CENT):
        return None
    return str(value.quantize(_CENT))


def _present(value: object) -> bool:
    return value not in (None, "", [], {})


def _number(restrictions: dict, key: str) -> float | None | Drop:
    value = restrictions.get(key)
    if not _present(value):
        return None
    number = ocpi.number(value)
    return Drop(key, f"unreadable value {value!r}") if number is None else number


def _time(restrictions: dict, key: str) -> str | None | Drop:
    value = restrictions.get(key)
    if not _present(value):
        return None
    return ocpi.time_of_day(value) or Drop(key, f"unreadable time {value!r}")


def _date(restrictions: dict, key: str) -> str | None | Drop:
    value = restrictions.get(key)
    if not _present(value):
        return None
    try:
        if isinstance(value, str) and _DATE.match(value):
            date.fromisoformat(value)
            return value
    except ValueError:
        pass
    return Drop(key, f"unreadable date {value!r}")


def _days(value: object) -> tuple[str, ...] | Drop:
    if not _present(value):
        return ()
    days = value if isinstance(value, list) else None
    if days is None or any(ocpi.code(day) not in mapping.DAY_OF_WEEK for day in days):
        return Drop("day_of_week", f"unreadable value {value!r}")
    unique = tuple(dict.fromkeys(days))
    return () if len(unique) == len(mapping.DAY_OF_WEEK) else unique  # all seven: no restriction


_KNOWN_RESTRICTIONS = {"start_time", "end_time", "start_date", "end_date", "min_kwh", "max_kwh", "min_current",
                       "max_current", "min_power", "max_power", "min_duration", "max_duration", "day_of_week",
                       "reservation"}


def read_restrictions(value: object) -> Restrictions | Drop:
    """OCPI TariffRestrictions -> Restrictions; an unreadable or unknown restriction is a Drop:
    ignoring it would publish a price as valid where the CPO restricted it."""
    if not _present(value):
        return Restrictions()
    raw = ocpi.as_dict(value)
    if raw is None:
        return Drop("restrictions", "not an object")
    unknown = sorted(key for key, item in raw.items() if key not in _KNOWN_RESTRICTIONS and _present(item))
    if unknown:
        return Drop(unknown[0], "unknown restriction")
    values: dict[str, object] = {
        "start_time": _time(raw, "start_time"), "end_time": _time(raw, "end_time"),
        "start_date": _date(raw, "start_date"), "end_date": _date(raw, "end_date"),
        "days": _days(raw.get("day_of_week")),
    }
    for key in ("min_kwh", "max_kwh"):
        number = _number(raw, key)
        values[key] = number if number is None or isinstance(number, Drop) else ocpi.decimal(raw[key])
    for key in ("min_duration", "max_duration", "min_power", "max_power", "min_current", "max_current"):
        values[key] = _number(raw, key)
    for key in ("min_duration", "max_duration"):
        if isinstance(values[key], float):
            seconds = values[key]
            values[key] = int(seconds) if seconds == int(seconds) else Drop(key, f"not whole seconds: {seconds}")
    reservation = raw.get("reservation")
    values["reservation"] = ocpi.text(reservation) if _present(reservation) else None
    problem = next((item for item in values.values() if isinstance(item, Drop)), None)
    if problem is not None:
        return problem
    restrictions = Restrictions(**values)
    # Minimums of zero or less always hold ("min_power: for example 0"): not restrictions.
    vacuous = [key for key in ("min_kwh", "min_duration", "min_power", "min_current")
               if getattr(restrictions, key) is not None and getattr(restrictions, key) <= 0]
    restrictions = restrictions.without(*vacuous)
    if restrictions.time_of_day == (_MIDNIGHT, _MIDNIGHT) and not (restrictions.start_time and restrictions.end_time):
        restrictions = restrictions.without("start_time", "end_time")  # 00:00 to the end of the day
    return restrictions


def read_component(value: object) -> Component | Drop:
    raw = ocpi.as_dict(value)
    if raw is None:
        return Drop("price_components", "not an object")
    dimension = ocpi.code(raw.get("type"))
    if dimension not in DIMENSIONS:
        return Drop("type", f"unknown price component type {raw.get('type')!r}")
    price = ocpi.decimal(raw.get("price"))
    text = amount(price)
    if text is None:
        return Drop("price", f"{dimension} price {raw.get('price')!r} is not an amount of at most two decimals")
    vat = None
    if _present(raw.get("vat")):
        vat = ocpi.number(raw.get("vat"))
        if vat is None or vat < 0:
            return Drop("vat", f"unreadable value {raw.get('vat')!r}")
    step = ocpi.number(raw.get("step_size"))
    return Component(dimension=dimension, price=price, amount=text, vat=vat,
                     step_size=int(step) if step is not None and step == int(step) and step > 0 else None)


def read_element(value: object, index: int) -> Element | Drop:
    raw = ocpi.as_dict(value)
    if raw is None:
        return Drop("elements", "not an object")
    components = []
    for item in ocpi.as_list(raw.get("price_components")):
        component = read_component(item)
        if isinstance(component, Drop):
            return component
        components.append(component)
    restrictions = read_restrictions(raw.get("restrictions"))
    if isinstance(restrictions, Drop):
        return restrictions
    return Element(index=index, components=tuple(components), restrictions=restrictions)


def _price_limit(value: object, field: str, tax_included: str | None) -> str | None | Drop:
    """PriceLimit -> the amount on the prices' own basis (after taxes when they include tax).
    Both OCPI limits apply; DATEX II has one fee element, so the other one is not written."""
    if not _present(value):
        return None
    limit = ocpi.as_dict(value)
    key = "after_taxes" if tax_included == "YES" else "before_taxes"
    text = amount(ocpi.decimal(limit.get(key))) if limit else None
    return text or Drop(field, f"no {key} amount of at most two decimals in {value!r}")


def _moment(raw: dict, key: str) -> datetime | None | Drop:
    if not _present(raw.get(key)):
        return None
    return ocpi.timestamp(raw.get(key)) or Drop(key, f"unreadable date-time {raw.get(key)!r}")


def read_tariff(value: object, at: datetime) -> Tariff | Drop:
    """The tariff as DATEX II can state it, or the reason it cannot (`at`: publication time)."""
    raw = ocpi.as_dict(value)
    if raw is None:
        return Drop("tariff", "not an object")
    kind = raw.get("type")
    if ocpi.code(kind) not in mapping.RATE_POLICY or (kind is not None and not isinstance(kind, str)):
        if isinstance(kind, str) and kind.startswith("PROFILE_"):
            return Drop("type", f"{kind} applies only to sessions with that charging preference, "
                                "a condition DATEX II cannot state")
        return Drop("type", f"unknown type {kind!r}")
    currency = ocpi.currency(raw.get("currency"))
    if currency is None:
        return Drop("currency", f"unreadable currency {raw.get('currency')!r}")
    start, end = _moment(raw, "start_date_time"), _moment(raw, "end_date_time")
    for moment in (start, end):
        if isinstance(moment, Drop):
            return moment
    if end is not None and end <= at:
        return Drop("end_date_time", f"expired at {ocpi.xml_datetime(end)}")
    tax_included = ocpi.code(raw.get("tax_included"))
    tax_included = tax_included if tax_included in mapping.TAX_INCLUDED else None
    limits = [_price_limit(raw.get(key), key, tax_included) for key in ("min_price", "max_price")]
    for limit in limits:
        if isinstance(limit, Drop):
            return limit
    if not isinstance(raw.get("elements"), list):
        return Drop("elements", "not a list")
    elements = []
    for index, item in enumerate(raw["elements"], start=1):
        element = read_element(item, index)
        if isinstance(element, Drop):
            return element
        if element.components:  # an element without price components prices nothing
            elements.append(element)
    if not elements:
        return Drop("elements", "no price components")
    return Tariff(
        id=ocpi.text(raw.get("id")) or "", policy=mapping.RATE_POLICY[kind], currency=currency,
        last_updated=ocpi.xml_timestamp(raw.get("last_updated")), tax_included=tax_included,
        min_price=limits[0], max_price=limits[1], alt_text=ocpi.display_texts(raw.get("tariff_alt_text")),
        alt_url=ocpi.url(raw.get("tariff_alt_url")),
        valid_from=ocpi.xml_datetime(start) if start else None, valid_until=ocpi.xml_datetime(end) if end else None,
        energy_mix=ocpi.as_dict(raw.get("energy_mix")), elements=tuple(elements), version=identity.fingerprint(raw))
