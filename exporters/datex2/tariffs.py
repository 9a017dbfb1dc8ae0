"""OCPI 2.3.0 Tariff -> aegi:EnergyRate (ratePolicy adHoc), AFIR model only.

A tariff is published only when DATEX II can state it without changing its meaning:
  * type AD_HOC_PAYMENT or no type (a typeless tariff applies to every session);
  * not expired at publication time; has currency and last_updated;
  * every amount fits afac:AmountOfMoney (decimal, at most 2 fraction digits) unchanged:
    prices are never rounded;
  * restrictions are limited to what EnergyPrice can express: min/max_kwh (whole kWh,
    energyBasedApplicability) and min/max_duration (whole minutes, timeBasedApplicability).
    Elements with a `reservation` restriction price reservations, not charging: skipped.
    Any other restriction (time of day, weekday, dates, power, current) drops the tariff.
Price components: ENERGY -> pricePerKWh, FLAT -> basePrice, TIME -> pricePerMinute (OCPI
prices TIME per hour; when hour/60 is not a whole cent the hourly price is published as
priceType "other" with an explanatory additionalInformation). PARKING_TIME is not an energy
price: it sets combinationWithParkingFee. A tariff whose prices are all zero is "free".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from exporters.datex2 import mapping, ocpi
from exporters.datex2.namespaces import COM, Profile, q
from exporters.datex2.xmlbuild import Element, bool_text, multilingual, sub

_CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal("999999.99")  # totalDigits 8, fractionDigits 2
_SUPPORTED_RESTRICTIONS = {"min_kwh", "max_kwh", "min_duration", "max_duration"}
_HOURLY_NOTE = "Price per hour of charging time"


@dataclass
class Price:
    group: int
    price_type: str
    value: str
    tax_rate: float | None = None
    from_minute: int | None = None
    to_minute: int | None = None
    from_kwh: int | None = None
    to_kwh: int | None = None
    note: str | None = None


@dataclass
class Rate:
    last_updated: str
    currency: str
    tax_included: str | None
    prices: list[Price]
    with_parking_fee: bool = False
    maximum_fee: str | None = None
    minimum_fee: str | None = None
    information: list[tuple[str | None, str]] = field(default_factory=list)
    valid_from: str | None = None
    valid_until: str | None = None


def _amount(value: Decimal | None) -> str | None:
    """afac:AmountOfMoney text, or None when the value cannot be written unchanged."""
    if value is None or value < 0 or value > _MAX_AMOUNT or value != value.quantize(_CENT):
        return None
    return str(value.quantize(_CENT))


def _whole(value: object, unit: int) -> int | None | bool:
    """value / unit as a non-negative int; None when absent; False when not whole."""
    if value is None:
        return None
    number = ocpi.number(value)
    if number is None or number < 0 or number % unit:
        return False
    return int(number // unit)


def _applicability(restrictions: dict) -> dict | None:
    """EnergyPrice applicability fields, or None when a restriction is not expressible."""
    present = {key for key, value in restrictions.items() if value not in (None, [], "")}
    if present - _SUPPORTED_RESTRICTIONS:
        return None
    result = {"from_kwh": _whole(restrictions.get("min_kwh"), 1), "to_kwh": _whole(restrictions.get("max_kwh"), 1),
              "from_minute": _whole(restrictions.get("min_duration"), 60),
              "to_minute": _whole(restrictions.get("max_duration"), 60)}
    return None if any(value is False for value in result.values()) else result


def _price(component: dict, group: int, applicability: dict) -> Price | None:
    dimension, price = ocpi.code(component.get("type")), ocpi.decimal(component.get("price"))
    if dimension not in mapping.PRICE_TYPE or price is None:
        return None
    tax_rate = ocpi.number(component.get("vat"))
    if dimension == "TIME":
        per_minute = _amount(price / 60)
        if per_minute is None:
            hourly = _amount(price)
            return None if hourly is None else Price(group, mapping.PRICE_TYPE_OTHER, hourly, tax_rate,
                                                     note=_HOURLY_NOTE, **applicability)
        return Price(group, mapping.PRICE_TYPE[dimension], per_minute, tax_rate, **applicability)
    value = _amount(price)
    return None if value is None else Price(group, mapping.PRICE_TYPE[dimension], value, tax_rate, **applicability)


def _limit(limit: object, tax_included: str | None) -> str | None:
    """PriceLimit -> amount comparable with the prices (after taxes when prices include tax)."""
    limit = ocpi.as_dict(limit)
    if limit is None:
        return None
    key = "after_taxes" if tax_included == "YES" else "before_taxes"
    return _amount(ocpi.decimal(limit.get(key)))


def ad_hoc_rate(tariff: object, at: datetime) -> Rate | None:
    """The publishable ad hoc rate of an OCPI Tariff, or None (see module docstring)."""
    tariff = ocpi.as_dict(tariff)
    if tariff is None:
        return None
    kind = tariff.get("type")
    if kind is not None and ocpi.code(kind) not in mapping.AD_HOC_TARIFF_TYPES:  # REGULAR, PROFILE_*, junk
        return None
    currency, last_updated = ocpi.currency(tariff.get("currency")), ocpi.xml_timestamp(tariff.get("last_updated"))
    start, end = ocpi.timestamp(tariff.get("start_date_time")), ocpi.timestamp(tariff.get("end_date_time"))
    if not (currency and last_updated) or (end is not None and end <= at):
        return None
    tax_included = tariff.get("tax_included") if tariff.get("tax_included") in ("YES", "NO", "N/A") else None
    prices, with_parking_fee, all_zero = [], False, True
    for group, element in enumerate(ocpi.dicts(tariff.get("elements")), start=1):
        restrictions = ocpi.as_dict(element.get("restrictions")) or {}
        if restrictions.get("reservation"):
            continue
        applicability = _applicability(restrictions)
        if applicability is None:
            return None
        for component in ocpi.dicts(element.get("price_components")):
            if component.get("type") == mapping.PARKING_DIMENSION:
                with_parking_fee = True
                continue
            price = _price(component, group, applicability)
            if price is None:
                return None
            all_zero = all_zero and Decimal(price.value) == 0
            prices.append(price)
    if not prices:
        return None
    if all_zero and not with_parking_fee:
        prices = [Price(1, mapping.PRICE_TYPE_FREE, "0.00")]
    return Rate(
        last_updated=last_updated, currency=currency, tax_included=tax_included,
        prices=prices, with_parking_fee=with_parking_fee,
        maximum_fee=_limit(tariff.get("max_price"), tax_included),
        minimum_fee=_limit(tariff.get("min_price"), tax_included),
        information=ocpi.display_texts(tariff.get("tariff_alt_text")),
        valid_from=ocpi.xml_datetime(start) if start else None,
        valid_until=ocpi.xml_datetime(end) if end and start else None)


def _write_price(parent: Element, profile: Profile, price: Price, tax_included: str | None) -> None:
    element = sub(parent, profile.e("energyPrice"))
    sub(element, profile.e("priceGroupIndex"), str(price.group))
    sub(element, profile.e("priceType"), price.price_type)
    sub(element, profile.e("value"), price.value)
    if tax_included in mapping.TAX_INCLUDED:
        sub(element, profile.e("taxIncluded"), mapping.TAX_INCLUDED[tax_included])
    if price.tax_rate is not None and tax_included != "N/A":
        sub(element, profile.e("taxRate"), ocpi.xml_number(price.tax_rate))
    if price.note:
        multilingual(element, profile.e("additionalInformation"), [("en", price.note)])
    if price.from_minute is not None or price.to_minute is not None:
        window = sub(element, profile.e("timeBasedApplicability"))
        if price.from_minute is not None:
            sub(window, profile.e("fromMinute"), str(price.from_minute))
        if price.to_minute is not None:
            sub(window, profile.e("toMinute"), str(price.to_minute))
    if price.from_kwh is not None or price.to_kwh is not None:
        window = sub(element, profile.e("energyBasedApplicability"))
        if price.from_kwh is not None:
            sub(window, profile.e("fromKWh"), str(price.from_kwh))
        if price.to_kwh is not None:
            sub(window, profile.e("toKWh"), str(price.to_kwh))


def write_energy_rate(parent: Element, profile: Profile, rate: Rate, *, rate_id: str,
                      payment_means: list[str]) -> Element:
    element = sub(parent, profile.e("energyRate"), attrib={"id": rate_id})
    sub(element, profile.e("ratePolicy"), "adHoc")
    sub(element, profile.e("lastUpdated"), rate.last_updated)
    sub(element, profile.e("applicableCurrency"), rate.currency)
    if rate.with_parking_fee:
        sub(element, profile.e("combinationWithParkingFee"), bool_text(True))
    if rate.maximum_fee:
        sub(element, profile.e("maximumDeliveryFee"), rate.maximum_fee)
    if rate.minimum_fee:
        sub(element, profile.e("minimumDeliveryFee"), rate.minimum_fee)
    multilingual(element, profile.e("additionalInformation"), rate.information)
    if payment_means:
        payment = sub(element, profile.e("payment"))
        for means in payment_means:
            sub(payment, profile.f("paymentMeans"), means)
    for price in rate.prices:
        _write_price(element, profile, price, rate.tax_included)
    if rate.valid_from:
        period = sub(element, profile.e("overallPeriod"))
        sub(period, q(COM, "overallStartTime"), rate.valid_from)
        if rate.valid_until:
            sub(period, q(COM, "overallEndTime"), rate.valid_until)
    return element
