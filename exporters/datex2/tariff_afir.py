"""A fitted tariff -> aegi:EnergyRate (AFIR model), one aegi:EnergyPrice per price component.

Every OCPI TariffElement keeps its position as priceGroupIndex (1 = first; OCPI applies the
first matching element per dimension), and each of its components becomes an EnergyPrice
with the element's restrictions:
    start/end_time, day_of_week, start/end_date -> overallPeriod/validPeriod (local time,
        as in OCPI: times without offset, dates as local midnight; an end before the start
        runs past midnight, "00:00" is the end of the day),
    min/max_duration -> timeBasedApplicability (minutes),
    min/max_kwh -> energyBasedApplicability (kWh).
EnergyPrice.overallPeriod needs an overallStartTime, which OCPI elements do not have: the
tariff's start_date_time is used, else its last_updated (the price holds as of the moment
the CPO last stated it), the same rule as for opening hours. Children are written in the
XSD's sequence order.
"""
from __future__ import annotations

from decimal import Decimal

from exporters.datex2 import mapping, ocpi
from exporters.datex2.namespaces import COM, Profile, q
from exporters.datex2.tariff_fit import Fitted
from exporters.datex2.tariff_model import Component, Restrictions, Tariff, amount
from exporters.datex2.tariffs import NO_CARD_PAYMENT, CardPayment
from exporters.datex2.supplement import write_payment
from exporters.datex2.xmlbuild import Element, bool_text, multilingual, sub


def price_type(component: Component) -> tuple[str, str, str | None]:
    """(priceType, value, note). TIME per minute only when that is exact, never rounded."""
    if component.dimension == "TIME":
        per_minute = amount(component.price / 60)
        if per_minute is not None:
            return mapping.PRICE_TYPE["TIME"], per_minute, None
        return mapping.PRICE_TYPE_OTHER, component.amount, mapping.PRICE_NOTE_HOURLY
    if component.dimension == mapping.PARKING_DIMENSION:
        return mapping.PRICE_TYPE_OTHER, component.amount, mapping.PRICE_NOTE_PARKING
    return mapping.PRICE_TYPE[component.dimension], component.amount, None


def step_note(component: Component) -> str | None:
    """step_size has no DATEX II element; it is stated in words (1 Wh / 1 s is no step)."""
    unit = mapping.STEP_UNIT.get(component.dimension)
    if unit is None or component.step_size is None or component.step_size <= 1:
        return None
    return f"billed in steps of {component.step_size} {unit}"


def _write_tax(parent: Element, profile: Profile, tax_included: str | None, vat: float | None) -> None:
    if tax_included in mapping.TAX_INCLUDED:
        sub(parent, profile.e("taxIncluded"), mapping.TAX_INCLUDED[tax_included])
    if tax_included == mapping.TAX_NOT_APPLICABLE:
        sub(parent, profile.e("taxRate"), "0")
    elif vat is not None:
        sub(parent, profile.e("taxRate"), ocpi.xml_number(vat))


def write_valid_period(parent: Element, restrictions: Restrictions) -> None:
    """One com:validPeriod: all calendar restrictions of an element hold together (AND)."""
    period = sub(parent, q(COM, "validPeriod"))
    if restrictions.start_date:
        sub(period, q(COM, "startOfPeriod"), f"{restrictions.start_date}T00:00:00")
    if restrictions.end_date:
        sub(period, q(COM, "endOfPeriod"), f"{restrictions.end_date}T00:00:00")
    if restrictions.time_of_day:
        window = sub(period, q(COM, "recurringTimePeriodOfDay"))
        sub(window, q(COM, "startTimeOfPeriod"), restrictions.time_of_day[0])
        sub(window, q(COM, "endTimeOfPeriod"), restrictions.time_of_day[1])
    if restrictions.days:
        days = sub(period, q(COM, "recurringDayWeekMonthPeriod"))
        for day in restrictions.days:
            sub(days, q(COM, "applicableDay"), mapping.DAY_OF_WEEK[day])


def _write_window(parent: Element, profile: Profile, tag: str, names: tuple[str, str],
                  values: tuple[int | None, int | None]) -> None:
    if values == (None, None):
        return
    window = sub(parent, profile.e(tag))
    for name, value in zip(names, values):
        if value is not None:
            sub(window, profile.e(name), str(value))


def _kwh(value: Decimal | None) -> int | None:
    return None if value is None else int(value)


def _minutes(seconds: int | None) -> int | None:
    return None if seconds is None else seconds // 60


def _write_price(parent: Element, profile: Profile, tariff: Tariff, group: int, component: Component,
                 restrictions: Restrictions) -> None:
    kind, value, note = price_type(component)
    element = sub(parent, profile.e("energyPrice"))
    sub(element, profile.e("priceGroupIndex"), str(group))
    sub(element, profile.e("priceType"), kind)
    sub(element, profile.e("value"), value)
    _write_tax(element, profile, tariff.tax_included, component.vat)
    notes = "; ".join(text for text in (note, step_note(component)) if text)
    if notes:
        multilingual(element, profile.e("additionalInformation"), [("en", notes)])
    if restrictions.calendar:
        period = sub(element, profile.e("overallPeriod"))
        sub(period, q(COM, "overallStartTime"), tariff.valid_from or tariff.last_updated)
        write_valid_period(period, restrictions)
    _write_window(element, profile, "timeBasedApplicability", ("fromMinute", "toMinute"),
                  (_minutes(restrictions.min_duration), _minutes(restrictions.max_duration)))
    _write_window(element, profile, "energyBasedApplicability", ("fromKWh", "toKWh"),
                  (_kwh(restrictions.min_kwh), _kwh(restrictions.max_kwh)))


def write_fee_terms(parent: Element, profile: Profile, fitted: Fitted) -> None:
    """Parking fee flag, delivery fee limits and texts: the same children, in the same
    order, of an AFIR energy rate and of a generic energy pricing policy."""
    tariff = fitted.tariff
    if mapping.PARKING_DIMENSION in fitted.dimensions:
        sub(parent, profile.e("combinationWithParkingFee"), bool_text(True))
    if tariff.max_price:
        sub(parent, profile.e("maximumDeliveryFee"), tariff.max_price)
    if tariff.min_price:
        sub(parent, profile.e("minimumDeliveryFee"), tariff.min_price)
    multilingual(parent, profile.e("additionalInformation"), tariff.alt_text)


def write_energy_prices(parent: Element, profile: Profile, fitted: Fitted) -> None:
    """The aegi:energyPrice children of a rate: the same in the table's aegi:EnergyRate and
    in the status publication's aegi:EnergyRateUpdate, so that both state one price."""
    tariff = fitted.tariff
    if fitted.free:
        # AFIR has a price type for it; the components (all 0.00) would say the same less clearly.
        price = sub(parent, profile.e("energyPrice"))
        sub(price, profile.e("priceGroupIndex"), "1")
        sub(price, profile.e("priceType"), mapping.PRICE_TYPE_FREE)
        sub(price, profile.e("value"), "0.00")
        _write_tax(price, profile, tariff.tax_included, None)
        return
    for tariff_element in fitted.elements:
        for component in tariff_element.components:
            _write_price(parent, profile, tariff, tariff_element.index, component, tariff_element.restrictions)


def write_energy_rate(parent: Element, profile: Profile, fitted: Fitted, *, rate_id: str,
                      payment_means: list[str], card_payment: CardPayment = NO_CARD_PAYMENT) -> Element:
    tariff = fitted.tariff
    element = sub(parent, profile.e("energyRate"), attrib={"id": rate_id})
    sub(element, profile.e("ratePolicy"), tariff.policy)
    sub(element, profile.e("lastUpdated"), tariff.last_updated)
    sub(element, profile.e("applicableCurrency"), tariff.currency)
    write_fee_terms(element, profile, fitted)
    if payment_means or card_payment != NO_CARD_PAYMENT:
        write_payment(sub(element, profile.e("payment")), profile, payment_means, card_payment.other_means,
                      card_payment.brands, card_payment.other_brands)
    write_energy_prices(element, profile, fitted)
    if tariff.valid_from or tariff.valid_until:
        period = sub(element, profile.e("overallPeriod"))
        sub(period, q(COM, "overallStartTime"), tariff.valid_from or tariff.last_updated)
        if tariff.valid_until:
            sub(period, q(COM, "overallEndTime"), tariff.valid_until)
    return element


def write_energy_rate_update(parent: Element, profile: Profile, fitted: Fitted, *, rate_id: str) -> Element:
    """aegi:EnergyRateUpdate (status publication, AFIR Annex F3, the ad hoc price as dynamic
    data): the current prices of the table's aegi:EnergyRate `rate_id`. The reference type
    (aegi:_EnergyRateReference, a com:Reference) has an id and no version; lastUpdated is
    the tariff's, as on the rate. What an update has no element for (currency, fee limits,
    payment means, the rate's validity) stays the table's."""
    tariff = fitted.tariff
    element = sub(parent, profile.e("energyRateUpdate"))
    sub(element, profile.e("lastUpdated"), tariff.last_updated)
    # targetClass is fixed by the schema and compared as a string: the prefix must be literal.
    sub(element, profile.e("energyRateReference"), attrib={"targetClass": f"{profile.egi}:EnergyRate", "id": rate_id})
    multilingual(element, profile.e("additionalInformation"), tariff.alt_text)
    write_energy_prices(element, profile, fitted)
    return element
