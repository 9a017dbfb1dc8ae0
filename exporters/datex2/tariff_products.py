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

from exporters.datex2 import ocpi, tariff_afir, tariff_generic
from exporters.datex2.energy import EnergyMix
from exporters.datex2.namespaces import COM, Profile, q
from exporters.datex2.organisation import Organisation, write_organisation
from exporters.datex2.scoped_xml import ScopedXml
from exporters.datex2.tariffs import PublishedRate, TariffCatalogue
from exporters.datex2.xmlbuild import Element, bool_text, single_language, sub, typed


def _write_impacts_and_sources(parent: Element, profile: Profile, mix: EnergyMix) -> None:
    if mix.carbon_dioxide is not None:
        sub(parent, profile.e("carbonDioxideImpact"), ocpi.xml_number(mix.carbon_dioxide))
    if mix.nuclear_waste is not None:
        sub(parent, profile.e("nuclearWasteImpact"), ocpi.xml_number(mix.nuclear_waste))
    for source, share in mix.sources:
        ratio = sub(parent, profile.e("electricEnergySourceRatio"))
        sub(ratio, profile.e("energySource"), source)
        value = sub(ratio, profile.e("sourceRatioValue"))
        sub(value, q(COM, "percentage"), ocpi.xml_number(share))


def _name_and_green(parent: Element, profile: Profile, mix: EnergyMix) -> None:
    single_language(parent, profile.e("energyProductName"), mix.product_name)
    if mix.green is not None:
        sub(parent, profile.e("isGreenEnergy"), bool_text(mix.green))


def _write_product_head(parent: Element, profile: Profile, rate: PublishedRate, mix: EnergyMix) -> None:
    _name_and_green(parent, profile, mix)
    if rate.fitted.tariff.alt_url:
        sub(parent, profile.e("energyProductInformation"), rate.fitted.tariff.alt_url)


def _write_providers(parent: Element, profile: Profile, providers: tuple[str, ...]) -> None:
    for provider in providers:  # the eMSPs accepted at the EVSE, whatever the product
        write_organisation(parent, profile.e("mobilityServiceProvider"), profile, Organisation(name=provider), "")


def _write_product_rate(parent: Element, profile: Profile, rate: PublishedRate, mix: EnergyMix, scope: str) -> None:
    tariff_afir.write_energy_rate(parent, profile, rate.fitted, rate_id=rate.id_in(scope),
                                  payment_means=rate.payment_means, card_payment=rate.card_payment)
    _write_impacts_and_sources(parent, profile, mix)


def _append_afir_products(parent: Element, catalogue: TariffCatalogue, rates: list[PublishedRate], *,
                          location_mix: EnergyMix, providers: tuple[str, ...], scope: str) -> None:
    """One energyProduct per rate: its head (name, green, information), the EVSE's eMSPs and
    its rate (with the mix's impacts), three templates. The eMSPs vary by EVSE far more than
    the rates do (hundreds of combinations in a national table): a template holding both
    was built again for most charging points once the combinations outnumbered the memo."""
    profile, splices, memo = catalogue.profile, catalogue.splices, catalogue.products
    provider_xml = memo.get(("afir providers", providers), lambda: ScopedXml.build(
        profile, lambda element, _: _write_providers(element, profile, providers))) if providers else None
    for rate in rates:  # the builders bind rate and mix: a template that declines keeps its builder
        mix = rate.mix or location_mix
        product = typed(parent, profile.e("energyProduct"), profile.etype("ElectricEnergy"))
        splices.insert(product, memo.get(("afir head", rate.key, mix), lambda: ScopedXml.build(
            profile, lambda element, _, rate=rate, mix=mix: _write_product_head(element, profile, rate, mix))), scope)
        if provider_xml is not None:
            splices.insert(product, provider_xml, scope)
        splices.insert(product, memo.get(("afir rate", rate.key, mix), lambda: ScopedXml.build(
            profile, lambda element, scope, rate=rate, mix=mix: _write_product_rate(element, profile, rate, mix, scope))),
                       scope)


def write_generic_mixes(parent: Element, profile: Profile, rates: list[PublishedRate], *,
                        location_mix: EnergyMix, scope: str) -> None:
    for index, rate in enumerate(rates, start=1):
        mix = rate.mix or location_mix
        element = sub(parent, profile.e("electricEnergyMix"), attrib={"energyMixIndex": str(index)})
        _name_and_green(element, profile, mix)
        _write_impacts_and_sources(element, profile, mix)
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
