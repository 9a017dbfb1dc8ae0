"""A fitted tariff -> fac:RateTable (generic model), the facilities rate model of DATEX II.

The generic energy infrastructure model has no EnergyRate; its prices live in fac:Rates,
reachable from egi:ElectricEnergyMix/rates (one per energy mix, so one mix per tariff, see
tariff_products.py). Read as in DATEX II's parking rates, where the model comes from:
    RateTable               the tariff (currency, validity, rateType contract for REGULAR,
                            tariff_alt_url as additionalInformation, egi:EnergyPricingPolicy
                            with min/max price, parking fee flag and tariff_alt_text)
    RateLineCollection      one OCPI TariffElement, collectionSequence = its OCPI position
                            (OCPI applies the first matching element per dimension); dates as
                            validStart/validEnd; relativeTimes says whether the lines' times
                            are time since the session started (min/max_duration) or clock
                            time (start/end_time)
    RateLine                one price component: perUnit (per kWh, the refill point's
                            deliveryUnit), incrementingRate per PT1H (TIME, PARKING_TIME: the
                            OCPI hourly value unchanged) or flatRate (FLAT); the description
                            names the dimension; rateLineTax carries the VAT rate.
Restrictions this model cannot hold (day_of_week, kWh) were refused in tariff_fit.py.
"""
from __future__ import annotations

from exporters.datex2 import mapping, ocpi
from exporters.datex2.namespaces import Profile
from exporters.datex2.tariff_afir import step_note, write_fee_terms
from exporters.datex2.tariff_fit import Fitted
from exporters.datex2.tariff_model import Component, Element as TariffElement, Tariff
from exporters.datex2.xmlbuild import Element, bool_text, multilingual, sub, typed


def _clock(seconds: int) -> str:
    """Seconds since the session start as xs:time (at most 24:00:00, checked when fitting)."""
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _times(tariff_element: TariffElement) -> tuple[str | None, str | None, bool | None]:
    """(durationStart, durationEnd, relativeTimes) of an element's lines."""
    restrictions = tariff_element.restrictions
    if restrictions.time_of_day:
        return restrictions.time_of_day[0], restrictions.time_of_day[1], False
    if restrictions.duration:
        return (None if restrictions.min_duration is None else _clock(restrictions.min_duration),
                None if restrictions.max_duration is None else _clock(restrictions.max_duration), True)
    return None, None, None


def _write_line(parent: Element, profile: Profile, tariff: Tariff, sequence: int, component: Component,
                times: tuple[str | None, str | None]) -> None:
    line = sub(parent, profile.f("rateLine"), attrib={"sequence": str(sequence)})
    sub(line, profile.f("rateLineType"), mapping.RATE_LINE_TYPE[component.dimension])
    note = "; ".join(text for text in (mapping.RATE_LINE_NOTE[component.dimension], step_note(component)) if text)
    multilingual(line, profile.f("description"), [("en", note)])
    if times[0]:
        sub(line, profile.f("durationStart"), times[0])
    if times[1]:
        sub(line, profile.f("durationEnd"), times[1])
    if component.dimension in mapping.TIME_DIMENSIONS:
        sub(line, profile.f("incrementPeriod"), mapping.HOURLY_INCREMENT)
    sub(line, profile.f("value"), component.amount)
    not_applicable = tariff.tax_included == mapping.TAX_NOT_APPLICABLE
    if tariff.tax_included in mapping.TAX_INCLUDED and (component.vat is not None or not_applicable):
        tax = sub(line, profile.f("rateLineTax"))
        sub(tax, profile.f("taxRate"), "0" if not_applicable else ocpi.xml_number(component.vat))
        sub(tax, profile.f("taxIncluded"), mapping.TAX_INCLUDED[tariff.tax_included])


def _write_collection(parent: Element, profile: Profile, tariff: Tariff, tariff_element: TariffElement) -> None:
    collection = sub(parent, profile.f("rateLineCollection"), attrib={"collectionSequence": str(tariff_element.index)})
    restrictions = tariff_element.restrictions
    sub(collection, profile.f("applicableCurrency"), tariff.currency)
    if restrictions.start_date:
        sub(collection, profile.f("validStart"), f"{restrictions.start_date}T00:00:00")  # local, like OCPI
    if restrictions.end_date:
        sub(collection, profile.f("validEnd"), f"{restrictions.end_date}T00:00:00")
    if tariff.tax_included in mapping.TAX_INCLUDED:
        sub(collection, profile.f("taxIncluded"), mapping.TAX_INCLUDED[tariff.tax_included])
    start, end, relative = _times(tariff_element)
    if relative is not None:
        sub(collection, profile.f("relativeTimes"), bool_text(relative))
    for sequence, component in enumerate(tariff_element.components, start=1):
        _write_line(collection, profile, tariff, sequence, component, (start, end))


def _pricing_policies(fitted: Fitted) -> list[str]:
    if fitted.free:
        return [mapping.PRICING_POLICY_FREE]
    present = fitted.dimensions
    return [policy for dimension, policy in mapping.PRICING_POLICY.items() if dimension in present]


def write_rate_table(parent: Element, profile: Profile, fitted: Fitted, *, rate_id: str, version: str,
                     payment_means: list[str]) -> Element:
    tariff = fitted.tariff
    # egi:ElectricEnergyMix declares `rates` in its own namespace; its content is fac:.
    table = typed(parent, profile.e("rates"), profile.ftype("RateTable"), {"id": rate_id, "version": version})
    sub(table, profile.f("applicableCurrency"), tariff.currency)
    if payment_means:
        method = sub(table, profile.f("paymentMethod"))
        for means in payment_means:
            sub(method, profile.f("paymentMeans"), means)
    policy = sub(table, profile.f("energyPricingPolicy"))
    for name in _pricing_policies(fitted):
        sub(policy, profile.e("pricingPolicy"), name)
    write_fee_terms(policy, profile, fitted)
    if tariff.last_updated:
        sub(table, profile.f("lastUpdated"), tariff.last_updated)
    if tariff.policy in mapping.RATE_TYPE_GENERIC:
        sub(table, profile.f("rateType"), mapping.RATE_TYPE_GENERIC[tariff.policy])
    if tariff.valid_from:
        sub(table, profile.f("validityStart"), tariff.valid_from)
    if tariff.valid_until:
        sub(table, profile.f("validityEnd"), tariff.valid_until)
    if tariff.alt_url:
        sub(table, profile.f("additionalInformation"), tariff.alt_url)
    for tariff_element in fitted.elements:
        _write_collection(table, profile, tariff, tariff_element)
    return table
