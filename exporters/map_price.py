"""An OCPI tariff as one sentence a driver reads in a map pop-up:
"0.59 €/kWh, 0.10 €/min after 4 h".

exporters/afir_csv.price_summary lists every component with its type for a spreadsheet;
DATEX II carries the full structure. The map needs neither, only what a person at the
charger pays, so this reads the elements in order (OCPI: the first element whose
restrictions hold applies) and says each restriction in words.
"""
from __future__ import annotations

SYMBOLS = {"EUR": "€", "GBP": "£", "CHF": "CHF", "USD": "$"}
TAX = {"YES": "incl. VAT", "NO": "excl. VAT"}


def _money(amount: float, currency: str) -> str:
    symbol = SYMBOLS.get(currency, currency)
    # Cents need two decimals; sub-cent prices (0.595 €/kWh) keep theirs.
    text = f"{amount:.2f}" if round(amount, 2) == amount else f"{amount:.4f}".rstrip("0")
    return f"{text} {symbol}" if symbol else text


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{max(1, seconds // 60)} min"


def _component(component: dict, currency: str) -> str | None:
    price = component.get("price")
    if not isinstance(price, (int, float)):
        return None
    kind = component.get("type")
    if kind == "ENERGY":
        return f"{_money(price, currency)}/kWh"
    if kind in ("TIME", "PARKING_TIME"):
        # OCPI prices time per hour; a driver thinks of a blocking fee per minute.
        per_minute = _money(price / 60, currency) + "/min"
        return per_minute if kind == "TIME" else f"{per_minute} parked"
    if kind == "FLAT":
        return f"{_money(price, currency)} per session"
    return None


def _restriction(restrictions: dict) -> str:
    words = []
    if restrictions.get("start_time") and restrictions.get("end_time"):
        words.append(f"from {restrictions['start_time']} to {restrictions['end_time']}")
    if isinstance(restrictions.get("min_duration"), (int, float)):
        words.append(f"after {_duration(restrictions['min_duration'])}")
    if isinstance(restrictions.get("max_duration"), (int, float)):
        words.append(f"for the first {_duration(restrictions['max_duration'])}")
    if isinstance(restrictions.get("min_power"), (int, float)):
        words.append(f"from {restrictions['min_power']:g} kW")
    if isinstance(restrictions.get("min_kwh"), (int, float)):
        words.append(f"after {restrictions['min_kwh']:g} kWh")
    if restrictions.get("day_of_week"):
        words.append("on " + ", ".join(day.title()[:3] for day in restrictions["day_of_week"]))
    return " ".join(words)


def price_sentence(tariff: dict) -> str:
    """The tariff's prices in words; "" when it has no price a driver could read."""
    currency = tariff.get("currency") or ""
    parts = []
    for element in tariff.get("elements") or []:
        components = element.get("price_components") or []
        # A blocking fee is TIME and PARKING_TIME at one price: charging or not, it is one
        # price per minute, said once.
        time_prices = {c.get("price") for c in components if c.get("type") == "TIME"}
        texts = []
        for component in components:
            if component.get("type") == "PARKING_TIME" and component.get("price") in time_prices:
                continue
            text = _component(component, currency)
            if text and text not in texts:
                texts.append(text)
        if not texts:
            continue
        when = _restriction(element.get("restrictions") or {})
        parts.append(" + ".join(texts) + (f" {when}" if when else ""))
    return ", ".join(parts)


def tax_note(tariff: dict) -> str:
    return TAX.get(tariff.get("tax_included") or "", "")
