"""OCPI 2.1.1 -> 2.3.0 upgrade rules (before the repairs and 2.3.0 validation).

These are the expected differences of the version, so they produce no warnings:
- Connector `voltage`/`amperage` become `max_voltage`/`max_amperage`, `tariff_id` becomes
  `tariff_ids`; Location `type` (LocationType) becomes `parking_type` (OTHER and UNKNOWN
  have no 2.3.0 counterpart and are dropped).
- `country_code`, `party_id` come from the feed (2.1.1 objects do not carry them).
- `publish` is true (2.1.1 has no publish flag: everything served was public).
- `opening_times` was a choice of `regular_hours` or `twentyfourseven`; 2.3.0 requires
  `twentyfourseven`, false when regular hours are given.
- EnvironmentalImpact `source` is called `category` since 2.2.
- Tariffs get `tax_included` "NO" (2.1.1 prices exclude VAT).
Connector `last_updated` (absent in 2.1.1) and a missing `time_zone` (optional in 2.1.1)
are filled by the repairs, which say so.
"""
from __future__ import annotations

from harvesters.normalize.common import FeedIdentity, fill_identity, list_of, rename_211_fields


def _upgrade_hours(hours: object) -> None:
    if isinstance(hours, dict) and "twentyfourseven" not in hours:
        hours["twentyfourseven"] = not hours.get("regular_hours")


def _upgrade_energy_mix(mix: object) -> None:
    if isinstance(mix, dict):
        for impact in list_of(mix.get("environ_impact")):
            if isinstance(impact, dict) and "source" in impact and "category" not in impact:
                impact["category"] = impact.pop("source")


def upgrade_location(location: dict, feed: FeedIdentity) -> dict:
    rename_211_fields(location)
    fill_identity(location, feed)
    location.setdefault("publish", True)
    _upgrade_hours(location.get("opening_times"))
    _upgrade_energy_mix(location.get("energy_mix"))
    return location


def upgrade_tariff(tariff: dict, feed: FeedIdentity) -> dict:
    fill_identity(tariff, feed)
    _upgrade_energy_mix(tariff.get("energy_mix"))
    tariff.setdefault("tax_included", "NO")
    return tariff
