"""OCPI Tariffs of a charging point -> the DATEX II rates to publish, and the account of
those that cannot be published.

    counts = TariffCounts()                                           # per publication
    catalogue = TariffCatalogue(tariffs_by_key, profile, at, counts)  # per publication
    source = TariffSource(catalogue, location, site_id)               # per location
    rates = source.rates(evse)                                        # per EVSE: list[PublishedRate]
    source.report()                                                   # after the site: log what was dropped

The steps live in their own modules: tariff_model.py reads and checks a tariff, tariff_fit.py
decides per charging point and model what is written, tariff_afir.py / tariff_generic.py
write it, tariff_products.py wraps each rate in its energy product or mix. A national table
repeats a few tariffs at thousands of charging points, so the catalogue reads each tariff
once per publication and fits it once per connector limits (memo.py bounds what it keeps).

A tariff is dropped only when writing it would change its meaning. Every drop is counted in
the publication's TariffCounts.dropped ((profile, OCPI field) -> charging points) and logged
once per location, tariff and reason; elements left out without changing the price
(reservation prices, elements that never apply at the point, shadowed components) are
counted in its TariffCounts.omitted and logged too. The counts belong to one publication:
exports written at the same time, in threads or processes, never mix them.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from exporters.datex2 import identity, mapping, ocpi, supplement
from exporters.datex2.memo import BoundedMemo
from exporters.datex2.namespaces import Profile
from exporters.datex2.scoped_xml import Splices
from exporters.datex2.tariff_fit import Fitted, Limits, connector_limits, fit
from exporters.datex2.tariff_model import Drop, Tariff, read_tariff

if TYPE_CHECKING:
    from exporters.datex2.energy import EnergyMix

log = logging.getLogger("exporters.datex2")

TariffsByKey = Callable[[str, str, str], "dict | None"]

_UNKNOWN = Drop("tariff_ids", "no such tariff")


@dataclass
class TariffCounts:
    """What one publication left out: (profile, OCPI field or reason) -> count of (tariff,
    charging point) pairs. The log says which tariff and location."""

    dropped: Counter[tuple[str, str]] = field(default_factory=Counter)
    omitted: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, other: TariffCounts) -> None:
        """Fold in the counts of a part of the same publication (a table written in parallel)."""
        self.dropped.update(other.dropped)
        self.omitted.update(other.omitted)


@dataclass(frozen=True)
class CardPayment:
    """What the CPO's supplement adds to an AFIR ad hoc rate's payment (Annex A22, A23):
    means it names in words, and the card brands accepted."""
    other_means: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    other_brands: tuple[str, ...] = ()


NO_CARD_PAYMENT = CardPayment()


@dataclass(frozen=True)
class PublishedRate:
    fitted: Fitted
    tariff_id: str
    version: str
    payment_means: tuple[str, ...]  # ad hoc rates only: how one pays at the charging point
    mix: EnergyMix | None           # the tariff's own energy mix, if it states one
    card_payment: CardPayment = NO_CARD_PAYMENT  # ad hoc rates of the AFIR profile only

    def id_in(self, scope: str) -> str:
        """"{refill point id}#tariff:{tariff id}", unique in the payload."""
        return f"{scope}#tariff:{self.tariff_id}"

    @property
    def key(self) -> tuple:
        """Everything the rate's XML depends on besides its scope: the version covers the
        tariff's content and the connector limits it was fitted to."""
        return self.tariff_id, self.version, self.payment_means, self.mix, self.card_payment


def payment_means(profile: Profile, capabilities: list[str]) -> tuple[str, ...]:
    table = mapping.PAYMENT_MEANS_AFIR if profile.is_afir else mapping.PAYMENT_MEANS_GENERIC
    return tuple(dict.fromkeys(table[c] for c in capabilities if c in table))


def tariff_ids(evse: dict) -> dict[str, list[dict]]:
    """Tariff id -> the connectors that use it, in first-seen order."""
    result: dict[str, list[dict]] = {}
    for connector in ocpi.dicts(evse.get("connectors")):
        for tariff_id in ocpi.strings(connector.get("tariff_ids")):
            result.setdefault(tariff_id, []).append(connector)
    return result


class TariffCatalogue:
    """The tariffs of one publication (one profile, one publication time): each read once,
    fitted once per connector limits; `products` keeps the XML tariff_products.py writes,
    `splices` what the site being written needs of it."""

    def __init__(self, lookup: TariffsByKey, profile: Profile, at: datetime, counts: TariffCounts | None = None,
                 capacity: int = 4096) -> None:
        self.lookup, self.profile, self.at = lookup, profile, at
        self.counts = counts if counts is not None else TariffCounts()
        self._read: BoundedMemo[Tariff | Drop] = BoundedMemo(capacity)
        self._fitted: BoundedMemo[tuple[Fitted | Drop, str]] = BoundedMemo(capacity)
        self._mixes: BoundedMemo[EnergyMix | None] = BoundedMemo(capacity)
        self.products: BoundedMemo = BoundedMemo(capacity)
        self.splices = Splices()

    def tariff(self, country: str | None, party: str | None, tariff_id: str) -> Tariff | Drop:
        def read() -> Tariff | Drop:
            raw = self.lookup(country, party, tariff_id)
            return _UNKNOWN if raw is None else read_tariff(raw, self.at)
        return self._read.get((country, party, tariff_id), read)

    def fitted(self, tariff: Tariff, limits: Limits) -> tuple[Fitted | Drop, str]:
        """The tariff fitted to the limits, and the version of the rate that results."""
        return self._fitted.get((tariff.version, limits), lambda: (
            fit(tariff, limits, self.profile.name),
            identity.fingerprint([tariff.version, limits.power_kw, limits.current_a])))

    def mix(self, tariff: Tariff) -> EnergyMix | None:
        def make() -> EnergyMix | None:
            from exporters.datex2.energy import energy_mix  # see the TYPE_CHECKING import

            mix = energy_mix(tariff.energy_mix) if tariff.energy_mix else None
            return mix if mix else None
        return self._mixes.get(tariff.version, make)


class TariffSource:
    """The tariffs of one location, fitted per charging point, with the account of what
    could not be published."""

    def __init__(self, catalogue: TariffCatalogue, location: dict, site_id: str) -> None:
        self._catalogue, self._profile, self._site = catalogue, catalogue.profile, site_id
        self._country = ocpi.text(location.get("country_code"))
        self._party = ocpi.text(location.get("party_id"))
        self._means, self._card_payment = (), NO_CARD_PAYMENT
        if self._profile.is_afir:
            # The AFIR site says them once, in its GeneralRateInformation (supplement.py); the
            # German profile, converted from this one, has no place there, only in each rate.
            values = supplement.values_of(location)
            self._means = tuple(values.get("payment_means", ()))
            self._card_payment = CardPayment(*(tuple(values.get(name, ())) for name in
                                               ("other_payment_means", "payment_brands", "other_payment_brands")))
        self._dropped: dict[tuple[str, str, str], int] = defaultdict(int)
        self._omitted: dict[tuple[str, str], int] = defaultdict(int)

    @property
    def catalogue(self) -> TariffCatalogue:
        return self._catalogue

    def rates(self, evse: dict) -> list[PublishedRate]:
        """The rates of an EVSE, in first-seen tariff order."""
        catalogue = self._catalogue
        counts = catalogue.counts
        capabilities = ocpi.strings(evse.get("capabilities"))
        result = []
        for tariff_id, connectors in tariff_ids(evse).items():
            tariff = catalogue.tariff(self._country, self._party, tariff_id)
            limits = connector_limits(connectors)
            fitted, version = (tariff, "") if isinstance(tariff, Drop) else catalogue.fitted(tariff, limits)
            if isinstance(fitted, Drop):
                self._dropped[tariff_id, fitted.field, fitted.detail] += 1
                counts.dropped[self._profile.name, fitted.field] += 1
                continue
            for why, _ in fitted.omitted:
                self._omitted[tariff_id, why] += 1
                counts.omitted[self._profile.name, why] += 1
            ad_hoc = tariff.policy == mapping.RATE_POLICY_AD_HOC
            result.append(PublishedRate(
                fitted=fitted, tariff_id=tariff_id,
                version=version,
                payment_means=tuple(dict.fromkeys(payment_means(self._profile, capabilities) + self._means))
                if ad_hoc else (),
                mix=catalogue.mix(tariff), card_payment=self._card_payment if ad_hoc else NO_CARD_PAYMENT))
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
