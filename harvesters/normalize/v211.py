"""OCPI 2.1.1 -> 2.3.0 upgrade rules (before 2.3.0 validation).

- Location `type` (LocationType) becomes `parking_type`; OTHER and UNKNOWN have no 2.3.0
  counterpart and are dropped.
- `country_code`, `party_id` come from the feed (2.1.1 objects do not carry them);
  `publish` defaults to true (2.1.1 has no publish flag: everything served was public).
- A missing `time_zone` (optional in 2.1.1, required since 2.2) is derived from the country
  where that is unambiguous, with a warning.
- Connector `voltage`/`amperage` become `max_voltage`/`max_amperage`; `tariff_id` becomes
  `tariff_ids`; connector `last_updated` (absent in 2.1.1) is the EVSE's.
- Tariffs get country_code/party_id from the feed and `tax_included` "NO" (2.1.1 prices
  exclude VAT).
"""
from __future__ import annotations

from typing import Any

from harvesters.normalize.common import FeedIdentity, copy_without, warn

PARKING_TYPES_211 = {
    "ON_STREET": "ON_STREET",
    "PARKING_GARAGE": "PARKING_GARAGE",
    "UNDERGROUND_GARAGE": "UNDERGROUND_GARAGE",
    "PARKING_LOT": "PARKING_LOT",
}

# Countries with a single IANA zone; others need the CPO to say.
SINGLE_TIME_ZONE = {
    "AUT": "Europe/Vienna", "BEL": "Europe/Brussels", "BGR": "Europe/Sofia", "HRV": "Europe/Zagreb",
    "CZE": "Europe/Prague", "DNK": "Europe/Copenhagen", "EST": "Europe/Tallinn",
    "FIN": "Europe/Helsinki", "FRA": "Europe/Paris", "DEU": "Europe/Berlin", "GRC": "Europe/Athens",
    "HUN": "Europe/Budapest", "IRL": "Europe/Dublin", "ITA": "Europe/Rome", "LVA": "Europe/Riga",
    "LTU": "Europe/Vilnius", "LUX": "Europe/Luxembourg", "MLT": "Europe/Malta",
    "NLD": "Europe/Amsterdam", "POL": "Europe/Warsaw", "ROU": "Europe/Bucharest",
    "SVK": "Europe/Bratislava", "SVN": "Europe/Ljubljana", "SWE": "Europe/Stockholm",
    "CHE": "Europe/Zurich", "NOR": "Europe/Oslo", "GBR": "Europe/London", "ISL": "Atlantic/Reykjavik",
}


def upgrade_connector(raw: dict, evse_last_updated: Any) -> dict:
    connector = copy_without(raw, "voltage", "amperage", "tariff_id")
    if "voltage" in raw:
        connector["max_voltage"] = raw["voltage"]
    if "amperage" in raw:
        connector["max_amperage"] = raw["amperage"]
    if raw.get("tariff_id"):
        connector["tariff_ids"] = [raw["tariff_id"]]
    connector.setdefault("last_updated", evse_last_updated)
    return connector


def upgrade_location(raw: dict, feed: FeedIdentity, warnings: list[str]) -> dict:
    location = copy_without(raw, "type")
    location.setdefault("country_code", feed.country_code)
    location.setdefault("party_id", feed.party_id)
    location.setdefault("publish", True)
    parking_type = PARKING_TYPES_211.get(raw.get("type"))
    if parking_type:
        location["parking_type"] = parking_type
    if not location.get("time_zone"):
        zone = SINGLE_TIME_ZONE.get(str(location.get("country", "")).upper())
        if zone:
            location["time_zone"] = zone
            warn(warnings, f"time_zone: missing, derived {zone} from country")
    evses = []
    for evse in raw.get("evses") or []:
        if not isinstance(evse, dict):
            evses.append(evse)
            continue
        upgraded = dict(evse)
        if isinstance(evse.get("connectors"), list):
            upgraded["connectors"] = [
                upgrade_connector(c, evse.get("last_updated")) if isinstance(c, dict) else c
                for c in evse["connectors"]
            ]
        evses.append(upgraded)
    if "evses" in raw:
        location["evses"] = evses
    return location


def upgrade_tariff(raw: dict, feed: FeedIdentity, warnings: list[str]) -> dict:
    tariff = dict(raw)
    tariff.setdefault("country_code", feed.country_code)
    tariff.setdefault("party_id", feed.party_id)
    tariff.setdefault("tax_included", "NO")
    return tariff
