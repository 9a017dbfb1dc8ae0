"""Energy products with their prices: one per published tariff, in both models.

AFIR: aegi:energyProduct (xsi:type ElectricEnergy) holds energy rates; generic:
egi:electricEnergyMix holds one fac:Rates. Both say "this energy, at these prices", so each
published tariff gets its own product (AFIR) or mix (generic): with the tariff's own
energy_mix when it has one (OCPI: "details on the energy supplied with this tariff"), else
the location's. A product per tariff also gives tariff_alt_url its one AFIR home,
energyProductInformation. The mix fields are those energy.py writes for the location;
without published tariffs energy.py writes the location's product or mix, as before.

Charging points with the same rates and mix get the same XML but for the ids, which carry
the charging point's id: append_products writes it once per publication and copies it
(scoped_xml.py), which the site splices in when it is serialised. AFIR products also name
the EVSE's eMSPs, which vary far more: they are a template of their own.
"""
from __future__ import annotations

from exporters.datex2 import tariff_afir, tariff_generic
from exporters.datex2.energy import (EnergyMix, write_impacts_and_sources, write_name_and_green,
                                     write_service_providers)
from exporters.datex2.namespaces import Profile
from exporters.datex2.organisation import Organisation, write_organisation
from exporters.datex2.scoped_xml import ScopedXml
from exporters.datex2.tariffs import PublishedRate, TariffCatalogue
from exporters.datex2.xmlbuild import Element, sub, typed


def _write_product_head(parent: Element, profile: Profile, rate: PublishedRate, mix: EnergyMix) -> None:
    write_name_and_green(parent, profile, mix)
    if rate.fitted.tariff.alt_url:
        sub(parent, profile.e("energyProductInformation"), rate.fitted.tariff.alt_url)


def _write_product_rate(parent: Element, profile: Profile, rate: PublishedRate, mix: EnergyMix, scope: str) -> None:
    tariff_afir.write_energy_rate(parent, profile, rate.fitted, rate_id=rate.id_in(scope),
                                  payment_means=rate.payment_means, card_payment=rate.card_payment)
    write_impacts_and_sources(parent, profile, mix)


def afir_product_templates(catalogue: TariffCatalogue, rates: list[PublishedRate], *, location_mix: EnergyMix,
                           providers: tuple[str, ...]) -> list[list[ScopedXml]]:
    """Per rate, the templates of its energyProduct in order: its head (name, green,
    information), the EVSE's eMSPs and its rate (with the mix's impacts). The eMSPs vary by
    EVSE far more than the rates do (hundreds of combinations in a national table): a
    template holding both was built again for most charging points once the combinations
    outnumbered the memo."""
    profile, memo = catalogue.profile, catalogue.products
    provider_xml = None if not providers else memo.get(("afir providers", providers), lambda: ScopedXml.build(
        profile, lambda element, scope: write_service_providers(element, profile, providers, scope)))
    products = []
    for rate in rates:  # the builders bind rate and mix: a template that declines keeps its builder
        mix = rate.mix or location_mix
        head = memo.get(("afir head", rate.key, mix), lambda: ScopedXml.build(
            profile, lambda element, _, rate=rate, mix=mix: _write_product_head(element, profile, rate, mix)))
        priced = memo.get(("afir rate", rate.key, mix), lambda: ScopedXml.build(
            profile, lambda element, scope, rate=rate, mix=mix: _write_product_rate(element, profile, rate, mix,
                                                                                     scope)))
        products.append([head, priced] if provider_xml is None else [head, provider_xml, priced])
    return products


def _append_afir_products(parent: Element, catalogue: TariffCatalogue, rates: list[PublishedRate], *,
                          location_mix: EnergyMix, providers: tuple[str, ...], scope: str) -> None:
    """One energyProduct per rate, of three templates each (afir_product_templates)."""
    profile, splices = catalogue.profile, catalogue.splices
    for templates in afir_product_templates(catalogue, rates, location_mix=location_mix, providers=providers):
        product = typed(parent, profile.e("energyProduct"), profile.etype("ElectricEnergy"))
        for template in templates:
            splices.insert(product, template, scope)


def write_generic_mixes(parent: Element, profile: Profile, rates: list[PublishedRate], *,
                        location_mix: EnergyMix, scope: str) -> None:
    for index, rate in enumerate(rates, start=1):
        mix = rate.mix or location_mix
        element = sub(parent, profile.e("electricEnergyMix"), attrib={"energyMixIndex": str(index)})
        write_name_and_green(element, profile, mix)
        write_impacts_and_sources(element, profile, mix)
        if mix.supplier:
            write_organisation(element, profile.e("energyProvider"), profile, Organisation(name=mix.supplier),
                               f"{rate.id_in(scope)}#supplier")
        tariff_generic.write_rate_table(element, profile, rate.fitted, rate_id=rate.id_in(scope), version=rate.version,
                                        payment_means=rate.payment_means)


def append_products(parent: Element, catalogue: TariffCatalogue, rates: list[PublishedRate], *,
                    location_mix: EnergyMix, providers: list[str], scope: str) -> None:
    """The charging point's energy products (AFIR) or mixes (generic) for its rates, `scope`
    being its refill point id."""
    profile = catalogue.profile
    if profile.is_afir:
        _append_afir_products(parent, catalogue, rates, location_mix=location_mix, providers=tuple(providers),
                              scope=scope)
        return
    key = ("generic", tuple(rate.key for rate in rates), location_mix)

    def builder(element: Element, scope: str) -> None:
        write_generic_mixes(element, profile, rates, location_mix=location_mix, scope=scope)
    catalogue.splices.insert(parent, catalogue.products.get(key, lambda: ScopedXml.build(profile, builder)), scope)
