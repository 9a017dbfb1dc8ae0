"""OCPI 2.2.1 -> 2.3.0 upgrade rules (before the repairs and 2.3.0 validation).

Locations, EVSEs and connectors of 2.2.1 are a subset of 2.3.0 (2.3.0 added Parking,
`EVSE.parking`, `accepted_service_providers`, `help_phone`, connector `capabilities`), so
they pass through as they are. Tariffs change:
- `min_price`/`max_price` were `Price` {excl_vat, incl_vat}; 2.3.0 has `PriceLimit`
  {before_taxes, after_taxes}.
- `tax_included` (required in 2.3.0) is "NO": 2.2.1 prices exclude VAT, the VAT rate
  sits in each price component's `vat`.
"""
from __future__ import annotations

from harvesters.normalize.common import FeedIdentity


def upgrade_location(location: dict, feed: FeedIdentity) -> dict:
    return location


def _price_limit(price: object) -> object:
    if isinstance(price, dict) and "excl_vat" in price:
        limit = {"before_taxes": price["excl_vat"]}
        if price.get("incl_vat") is not None:
            limit["after_taxes"] = price["incl_vat"]
        return limit
    return price


def upgrade_tariff(tariff: dict, feed: FeedIdentity) -> dict:
    for field in ("min_price", "max_price"):
        if field in tariff:
            tariff[field] = _price_limit(tariff[field])
    tariff.setdefault("tax_included", "NO")
    return tariff
