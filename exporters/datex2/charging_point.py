"""OCPI EVSE -> refillPoint xsi:type ElectricChargingPoint (one per EVSE)."""
from __future__ import annotations

from datetime import datetime

from exporters.datex2 import mapping, ocpi, sequences
from exporters.datex2.connector import charging_mode, is_plug_and_charge, write_connector
from exporters.datex2.energy import EnergyMix, write_afir_energy_product, write_generic_energy_mix
from exporters.datex2.location_reference import evse_address, write_point_location
from exporters.datex2.namespaces import Profile
from exporters.datex2.parking import write_parking_space
from exporters.datex2.selection import PublishedEvse
from exporters.datex2.tariff_products import append_products
from exporters.datex2.tariffs import PublishedRate, TariffSource
from exporters.datex2.xmlbuild import Element, multilingual, single_language, sub, typed, url_link, write_in_order


def facility_slots(profile: Profile, name: str | None, last_updated: str | None, obj: dict) -> dict:
    """The fac:FacilityObject children a site and a charging point fill alike: name, last
    update, directions as additional information, photos."""
    return {
        "name": [lambda e: single_language(e, profile.f("name"), name)],
        "lastUpdated": [lambda e: sub(e, profile.f("lastUpdated"), last_updated)] if last_updated else [],
        "additionalInformation": [lambda e: multilingual(e, profile.f("additionalInformation"),
                                                         ocpi.display_texts(obj.get("directions")))],
        "photoUrl": [lambda e, url=url: url_link(e, profile.f("photoUrl"), url, "image")
                     for url in photo_urls(obj.get("images"))],
    }


def photo_urls(images: object) -> list[str]:
    """Image URLs that show the place; logos are left to the organisations."""
    urls = [ocpi.url(image.get("url")) for image in ocpi.dicts(images)
            if ocpi.code(image.get("category")) in mapping.PHOTO_CATEGORIES]
    return list(dict.fromkeys(url for url in urls if url))


def available_voltages(connectors: list[tuple[dict, float]]) -> list[float]:
    """The connectors' voltages, highest first, each once."""
    return sorted({v for v in (ocpi.positive(c.get("max_voltage")) for c, _ in connectors) if v}, reverse=True)


def reservation_of(capabilities: list[str]) -> str | None:
    return next((mapping.RESERVATION[c] for c in capabilities if c in mapping.RESERVATION), None)


def used_parking(evse: dict, parking_places: dict[str, dict]) -> list[tuple[str, dict]]:
    """(id, place) of the location's parking places the EVSE refers to."""
    return [(key, parking_places[key]) for key in ocpi.evse_parking_ids(evse) if key in parking_places]


def common_charging_mode(connectors: list[tuple[dict, float]]) -> str | None:
    """AFIR has one charging mode per point: only if all its connectors agree."""
    modes = {charging_mode(c) for c, _ in connectors}
    return modes.pop() if len(modes) == 1 else None


def smart_recharging_services(capabilities: list[str], plug_and_charge: bool) -> list[str]:
    services = [mapping.SMART_RECHARGING[c] for c in capabilities if c in mapping.SMART_RECHARGING]
    if plug_and_charge:
        services.append(mapping.SMART_RECHARGING_PLUG_AND_CHARGE)
    return list(dict.fromkeys(services))


def _write_external_identifier(parent: Element, profile: Profile, evse_id: str) -> None:
    if not profile.is_afir:
        sub(parent, profile.f("externalIdentifier"), evse_id)
        return
    identifier = sub(parent, profile.f("externalIdentifier"))
    sub(identifier, profile.f("identifier"), evse_id)
    # TypeOfIdentifierEnum only has "_extended"; "evseId" is its one allowed extension value.
    sub(identifier, profile.f("typeOfIdentifier"), "_extended", {"_extendedValue": "evseId"})


def write_charging_point(parent: Element, profile: Profile, published: PublishedEvse, *, site_id: str,
                         parking_places: dict[str, dict], mix: EnergyMix, tariffs: TariffSource | None,
                         at: datetime, rates: list[PublishedRate] | None = None) -> Element:
    """`rates`: tariffs.rates(evse), when the caller needed them first (the station's
    renewableSources); asking twice would count each dropped tariff twice."""
    evse, connectors = published.evse, published.connectors
    element = typed(parent, profile.e("refillPoint"), profile.etype("ElectricChargingPoint"),
                    {"id": published.id, "version": published.version})
    capabilities = ocpi.strings(evse.get("capabilities"))
    restrictions = ocpi.strings(evse.get("parking_restrictions"))
    evse_id = ocpi.text(evse.get("evse_id"))
    powers = [power for _, power in connectors]
    voltages = available_voltages(connectors)
    plug_and_charge = any(is_plug_and_charge(c) for c, _ in connectors)
    last_updated = ocpi.xml_timestamp(evse.get("last_updated"))
    reservation = reservation_of(capabilities)
    parking = used_parking(evse, parking_places)
    if rates is None:
        rates = tariffs.rates(evse) if tariffs is not None else []

    slots = {
        **facility_slots(profile, ocpi.text(evse.get("physical_reference")), last_updated, evse),
        "locationReference": [lambda e: write_point_location(
            e, profile.f("locationReference"), profile, ocpi.coordinates(evse.get("coordinates")),
            evse_address(evse))],
        "deliveryUnit": [lambda e: sub(e, profile.e("deliveryUnit"), "kWh")],
        "availableVoltage": [lambda e, v=v: sub(e, profile.e("availableVoltage"), ocpi.xml_number(v))
                             for v in voltages],
        "availableChargingPower": [lambda e: sub(e, profile.e("availableChargingPower"),
                                                 ocpi.xml_number(max(powers)))] if powers else [],
        "connector": [lambda e, c=c, power=power: write_connector(e, profile, c, power) for c, power in connectors],
    }
    if evse_id:
        slots["externalIdentifier"] = [lambda e: _write_external_identifier(e, profile, evse_id)]
    if reservation:
        slots["reservation"] = [lambda e: sub(e, profile.e("reservation"), reservation)]
    if plug_and_charge:
        slots["vehicleToGridCommunicationType"] = [
            lambda e: sub(e, profile.e("vehicleToGridCommunicationType"), mapping.V2G_COMMUNICATION_PLUG_AND_CHARGE)]
    parking_tag = profile.f("dedicatedParkingSpaces") if profile.is_afir else profile.e("vehicleSpace")
    slots["dedicatedParkingSpaces" if profile.is_afir else "vehicleSpace"] = [
        lambda e, key=key, place=place: write_parking_space(
            e, parking_tag, profile, site_id=site_id, parking_id=key, place=place, restrictions=restrictions)
        for key, place in parking]

    if profile.is_afir:
        mode = common_charging_mode(connectors)
        slots["currentType"] = [lambda e: sub(e, profile.e("currentType"), published.current_type)]
        slots["numberOfConnectors"] = [lambda e: sub(e, profile.e("numberOfConnectors"), str(len(connectors)))]
        if mode:
            slots["chargingMode"] = [lambda e: sub(e, profile.e("chargingMode"), mode)]
        slots["smartRechargingServices"] = [
            lambda e, service=service: sub(e, profile.e("smartRechargingServices"), service)
            for service in smart_recharging_services(capabilities, plug_and_charge)]
        providers = ocpi.strings(evse.get("accepted_service_providers"))
        # One product per published tariff (tariff_products.py); without any, the location's.
        slots["energyProduct"] = [
            (lambda e: append_products(e, tariffs.catalogue, rates, location_mix=mix, providers=providers,
                                       scope=published.id)) if rates else
            (lambda e: write_afir_energy_product(e, profile, mix=mix, providers=providers, scope=published.id))]
    else:
        slots["electricEnergyMix"] = [
            (lambda e: append_products(e, tariffs.catalogue, rates, location_mix=mix, providers=[],
                                       scope=published.id)) if rates else
            (lambda e: write_generic_energy_mix(e, profile, mix, published.id))]

    write_in_order(element, sequences.CHARGING_POINT[profile.name], slots)
    return element
