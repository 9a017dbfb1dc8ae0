"""What is sold at a charging point: OCPI EnergyMix (+ tariffs, AFIR) -> DATEX II.

Generic model: egi:electricEnergyMix on the charging point (supplier as energyProvider).
AFIR model: one aegi:energyProduct xsi:type="aegi:ElectricEnergy" per charging point, holding
the energy mix, the eMSPs accepted at the EVSE (mobilityServiceProvider) and the ad hoc
energy rates of its connectors' tariffs. The AFIR product has no home for the supplier name.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from exporters.datex2 import mapping, ocpi
from exporters.datex2.namespaces import COM, Profile, q
from exporters.datex2.organisation import Organisation, write_organisation
from exporters.datex2.xmlbuild import Element, bool_text, single_language, sub, typed


@dataclass(frozen=True)  # hashable: part of the key under which a product's XML is memoised
class EnergyMix:
    green: bool | None = None
    product_name: str | None = None
    supplier: str | None = None
    carbon_dioxide: float | None = None   # g/kWh
    nuclear_waste: float | None = None    # g/kWh
    sources: tuple[tuple[str, float], ...] = ()

    def __bool__(self) -> bool:
        return any((self.green is not None, self.product_name, self.supplier, self.carbon_dioxide is not None,
                    self.nuclear_waste is not None, self.sources))


def energy_mix(value: object) -> EnergyMix:
    mix = ocpi.as_dict(value)
    if mix is None:
        return EnergyMix()
    impacts = {ocpi.code(item.get("category")): ocpi.number(item.get("amount"))
               for item in ocpi.dicts(mix.get("environ_impact"))}
    sources = []
    for item in ocpi.dicts(mix.get("energy_sources")):
        source, share = mapping.ENERGY_SOURCE.get(ocpi.code(item.get("source"))), ocpi.number(item.get("percentage"))
        if source and share is not None and 0 <= share <= 100:
            sources.append((source, share))
    green = mix.get("is_green_energy")
    return EnergyMix(green=green if isinstance(green, bool) else None,
                     product_name=ocpi.text(mix.get("energy_product_name")),
                     supplier=ocpi.text(mix.get("supplier_name")),
                     carbon_dioxide=impacts.get("CARBON_DIOXIDE"), nuclear_waste=impacts.get("NUCLEAR_WASTE"),
                     sources=tuple(sources))


def write_name_and_green(parent: Element, profile: Profile, mix: EnergyMix) -> None:
    single_language(parent, profile.e("energyProductName"), mix.product_name)
    if mix.green is not None:
        sub(parent, profile.e("isGreenEnergy"), bool_text(mix.green))


def write_impacts_and_sources(parent: Element, profile: Profile, mix: EnergyMix) -> None:
    if mix.carbon_dioxide is not None:
        sub(parent, profile.e("carbonDioxideImpact"), ocpi.xml_number(mix.carbon_dioxide))
    if mix.nuclear_waste is not None:
        sub(parent, profile.e("nuclearWasteImpact"), ocpi.xml_number(mix.nuclear_waste))
    for source, share in mix.sources:
        ratio = sub(parent, profile.e("electricEnergySourceRatio"))
        sub(ratio, profile.e("energySource"), source)
        value = sub(ratio, profile.e("sourceRatioValue"))
        sub(value, q(COM, "percentage"), ocpi.xml_number(share))


def write_service_providers(parent: Element, profile: Profile, providers: Iterable[str], scope: str) -> None:
    """AFIR: the eMSPs accepted at the EVSE, whatever the product."""
    for provider in providers:
        write_organisation(parent, profile.e("mobilityServiceProvider"), profile, Organisation(name=provider), scope)


def write_generic_energy_mix(parent: Element, profile: Profile, mix: EnergyMix, scope: str) -> None:
    if not mix:
        return
    element = sub(parent, profile.e("electricEnergyMix"), attrib={"energyMixIndex": "1"})
    write_name_and_green(element, profile, mix)
    write_impacts_and_sources(element, profile, mix)
    if mix.supplier:
        write_organisation(element, profile.e("energyProvider"), profile, Organisation(name=mix.supplier),
                           f"{scope}#supplier")


def write_afir_energy_product(parent: Element, profile: Profile, *, mix: EnergyMix, providers: list[str],
                              scope: str) -> None:
    """The location's energy product for a charging point with no published tariff (those
    with tariffs get one product per tariff: tariff_products.py)."""
    if not (mix.green is not None or mix.product_name or providers or mix.carbon_dioxide is not None
            or mix.nuclear_waste is not None or mix.sources):
        return
    product = typed(parent, profile.e("energyProduct"), profile.etype("ElectricEnergy"))
    write_name_and_green(product, profile, mix)
    write_service_providers(product, profile, providers, scope)
    write_impacts_and_sources(product, profile, mix)
