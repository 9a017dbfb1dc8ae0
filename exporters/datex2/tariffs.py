"""OCPI Tariffs of a charging point -> the DATEX II rates to publish, and the account of
those that cannot be published.

    source = TariffSource(tariffs_by_key, location, profile, at, site_id)   # per location
    rates = source.rates(evse, refill_point_id)        # per EVSE: list[PublishedRate]
    source.report()                                    # after the site: log what was dropped

The steps live in their own modules: tariff_model.py reads and checks a tariff once per
location (memoised: connectors of one location usually share a few tariffs), tariff_fit.py
decides per charging point and model what is written, tariff_afir.py / tariff_generic.py
write it, tariff_products.py wraps each rate in its energy product or mix.

A tariff is dropped only when writing it would change its meaning. Every drop is counted in
DROPPED ((profile, OCPI field) -> charging points) and logged once per location, tariff and
reason; elements left out without changing the price (reservation prices, elements that
never apply at the point, shadowed components) are counted in OMITTED and logged at INFO.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from exporters.datex2 import identity, mapping, ocpi
from exporters.datex2.namespaces import Profile
from exporters.datex2.tariff_fit import Fitted, connector_limits, fit
from exporters.datex2.tariff_model import Drop, Tariff, read_tariff

if TYPE_CHECKING:
    from exporters.datex2.energy import EnergyMix

log = logging.getLogger("exporters.datex2")

TariffsByKey = Callable[[str, str, str], "dict | None"]

# Process-wide tallies, for operators (and tests): (profile, OCPI field or reason) -> count
# of (tariff, charging point) pairs. The log says which tariff and location.
DROPPED: Counter[tuple[str, str]] = Counter()
OMITTED: Counter[tuple[str, str]] = Counter()

_UNKNOWN = Drop("tariff_ids", "no such tariff")


@dataclass(frozen=True)
class PublishedRate:
    fitted: Fitted
    id: str                      # "{refill point id}#tariff:{tariff id}", unique in the payload
    version: str
    payment_means: list[str]     # ad hoc rates only: how one pays at the charging point
    mix: EnergyMix | None        # the tariff's own energy mix, if it states one


def payment_means(profile: Profile, capabilities: list[str]) -> list[str]:
    table = mapping.PAYMENT_MEANS_AFIR if profile.is_afir else mapping.PAYMENT_MEANS_GENERIC
    return list(dict.fromkeys(table[c] for c in capabilities if c in table))


def tariff_ids(evse: dict) -> dict[str, list[dict]]:
    """Tariff id -> the connectors that use it, in first-seen order."""
    result: dict[str, list[dict]] = {}
    for connector in ocpi.dicts(evse.get("connectors")):
        for tariff_id in ocpi.strings(connector.get("tariff_ids")):
            result.setdefault(tariff_id, []).append(connector)
    return result


class TariffSource:
    """The tariffs of one location, read once, fitted per charging point."""

    def __init__(self, tariffs_by_key: TariffsByKey, location: dict, profile: Profile, at: datetime,
                 site_id: str) -> None:
        self._lookup, self._profile, self._at, self._site = tariffs_by_key, profile, at, site_id
        self._country = ocpi.text(location.get("country_code"))
        self._party = ocpi.text(location.get("party_id"))
        self._read: dict[str, Tariff | Drop] = {}
        self._mixes: dict[str, EnergyMix | None] = {}
        self._dropped: dict[tuple[str, str, str], int] = defaultdict(int)
        self._omitted: dict[tuple[str, str], int] = defaultdict(int)

    def _tariff(self, tariff_id: str) -> Tariff | Drop:
        if tariff_id not in self._read:
            raw = self._lookup(self._country, self._party, tariff_id)
            self._read[tariff_id] = _UNKNOWN if raw is None else read_tariff(raw, self._at)
        return self._read[tariff_id]

    def _mix(self, tariff_id: str, tariff: Tariff) -> EnergyMix | None:
        if tariff_id not in self._mixes:
            from exporters.datex2.energy import energy_mix  # see the TYPE_CHECKING import

            mix = energy_mix(tariff.energy_mix) if tariff.energy_mix else None
            self._mixes[tariff_id] = mix if mix else None
        return self._mixes[tariff_id]

    def rates(self, evse: dict, scope: str) -> list[PublishedRate]:
        """The rates of an EVSE (`scope`: its refill point id), in first-seen tariff order."""
        capabilities = ocpi.strings(evse.get("capabilities"))
        result = []
        for tariff_id, connectors in tariff_ids(evse).items():
            tariff = self._tariff(tariff_id)
            limits = connector_limits(connectors)
            fitted = tariff if isinstance(tariff, Drop) else fit(tariff, limits, self._profile.name)
            if isinstance(fitted, Drop):
                self._dropped[tariff_id, fitted.field, fitted.detail] += 1
                DROPPED[self._profile.name, fitted.field] += 1
                continue
            for why, _ in fitted.omitted:
                self._omitted[tariff_id, why] += 1
                OMITTED[self._profile.name, why] += 1
            result.append(PublishedRate(
                fitted=fitted, id=f"{scope}#tariff:{tariff_id}",
                version=identity.fingerprint([tariff.version, limits.power_kw, limits.current_a]),
                payment_means=payment_means(self._profile, capabilities)
                if tariff.policy == mapping.RATE_POLICY_AD_HOC else [],
                mix=self._mix(tariff_id, tariff)))
        return result

    def report(self) -> None:
        """Log this location's drops (WARNING) and omissions (INFO), one line per kind."""
        for (tariff_id, field, detail), count in self._dropped.items():
            # Per location at DEBUG: a national table would repeat it thousands of times;
            # write_table logs one summary per publication.
            log.debug("DATEX II %s table: tariff %s*%s*%s not published at %d charging point(s) of %s: %s: %s",
                        self._profile.name, self._country, self._party, tariff_id, count, self._site, field, detail)
        for (tariff_id, why), count in self._omitted.items():
            log.debug("DATEX II %s table: tariff %s*%s*%s at %s: %d element(s) left out: %s",
                     self._profile.name, self._country, self._party, tariff_id, self._site, count, why)
        self._dropped.clear()
        self._omitted.clear()
