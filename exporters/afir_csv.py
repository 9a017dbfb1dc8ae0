"""A CSV of the data AFIR Art. 20 asks for, one row per EVSE, for regulators who want a
spreadsheet rather than DATEX II. Every row names its feed and licence and when the file
was generated, so a row copied out of the file still says where it came from."""
from __future__ import annotations

import csv
from typing import Callable, Iterable, TextIO

COLUMNS = (
    "generated_at", "feed", "licence", "country_code", "party_id", "location_id", "location_name",
    "address", "postal_code", "city", "country", "latitude", "longitude", "operator", "help_phone",
    "opening_hours", "evse_uid", "evse_id", "status", "current_type", "max_power_kw", "connectors",
    "payment_capabilities", "ad_hoc_tariff_id", "ad_hoc_price", "last_updated",
)
PAYMENT_CAPABILITIES = {"CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "CHIP_CARD_SUPPORT",
                        "CONTACTLESS_CARD_SUPPORT", "PED_TERMINAL"}
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
UNITS = {"ENERGY": "/kWh", "TIME": "/h charging", "PARKING_TIME": "/h parking", "FLAT": " per session"}


def connector_power_w(connector: dict) -> float:
    if connector.get("max_electric_power"):
        return float(connector["max_electric_power"])
    phases = 3 if connector.get("power_type") == "AC_3_PHASE" else 1
    return float(connector.get("max_voltage") or 0) * float(connector.get("max_amperage") or 0) * phases


def opening_hours(location: dict) -> str:
    hours = location.get("opening_times")
    if not hours:
        return ""
    if hours.get("twentyfourseven"):
        return "24/7"
    return ", ".join(f"{WEEKDAYS[h['weekday'] - 1]} {h['period_begin']}-{h['period_end']}"
                     for h in hours.get("regular_hours") or [])


def price_summary(tariff: dict) -> str:
    """Every price component of every element, with its restrictions' existence noted:
    the CSV is a summary; the DATEX II files carry the full structure."""
    tax = {"YES": "incl. tax", "NO": "excl. tax", "N/A": "no tax"}.get(tariff.get("tax_included"), "")
    parts = []
    for element in tariff.get("elements") or []:
        components = ", ".join(
            f"{c['type']} {c['price']} {tariff.get('currency', '')}{UNITS.get(c['type'], '')}"
            for c in element.get("price_components") or [])
        parts.append(components + (" (restricted)" if element.get("restrictions") else ""))
    return "; ".join(parts) + (f" [{tax}]" if tax else "")


TariffLookup = Callable[[str, str, str], dict | None]


def ad_hoc_tariff(location: dict, evse: dict, lookup: TariffLookup) -> dict | None:
    for connector in evse.get("connectors") or []:
        for tariff_id in connector.get("tariff_ids") or []:
            tariff = lookup(location["country_code"], location["party_id"], tariff_id)
            if tariff and tariff.get("type") == "AD_HOC_PAYMENT":
                return tariff
    return None


def write_afir_csv(out: TextIO, rows: Iterable[tuple[dict, str, str]], lookup: TariffLookup,
                   generated_at: str) -> int:
    """rows: (location document, feed name, licence). Returns the number of EVSE rows."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for location, feed, licence in rows:
        for evse in location.get("evses") or []:
            connectors = evse.get("connectors") or []
            tariff = ad_hoc_tariff(location, evse, lookup)
            power = max((connector_power_w(c) for c in connectors), default=0.0)
            writer.writerow((
                generated_at, feed, licence, location["country_code"], location["party_id"], location["id"],
                location.get("name", ""), location.get("address", ""), location.get("postal_code", ""),
                location.get("city", ""), location.get("country", ""), location["coordinates"]["latitude"],
                location["coordinates"]["longitude"], (location.get("operator") or {}).get("name", ""),
                location.get("help_phone", ""), opening_hours(location), evse["uid"], evse.get("evse_id", ""),
                evse["status"], "DC" if any(c.get("power_type") == "DC" for c in connectors) else "AC",
                f"{power / 1000:g}", " ".join(f"{c['standard']}/{c['format']}" for c in connectors),
                " ".join(sorted(set(evse.get("capabilities") or []) & PAYMENT_CAPABILITIES)),
                tariff["id"] if tariff else "", price_summary(tariff) if tariff else "", evse["last_updated"],
            ))
            count += 1
    return count
