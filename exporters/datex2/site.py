"""OCPI Location -> energyInfrastructureSite with one synthesized energyInfrastructureStation.

Station synthesis rule: OCPI 2.x has no charging-station level, so every Location yields
exactly one station holding all of its published EVSEs, id "{site id}#station", version =
site version. Grouping by EVSE-ID prefix was rejected: the EVSE ID format does not encode a
station, so any prefix rule would be a guess. The station carries what is common to the EVSEs
(union of authentication methods), and no totalMaximumPower of its own: OCPI does not say
whether EVSEs share a grid connection, so summing their maxima could overstate it; the CPO's
supplement gives it (supplement.py).
"""
from __future__ import annotations

from datetime import datetime

from lxml import etree

from exporters.datex2 import identity, mapping, ocpi, sequences, supplement
from exporters.datex2.charging_point import facility_slots, write_charging_point
from exporters.datex2.connector import is_plug_and_charge
from exporters.datex2.energy import EnergyMix, energy_mix
from exporters.datex2.location_reference import location_address, write_point_location
from exporters.datex2.namespaces import Profile
from exporters.datex2.opening_hours import write_operating_hours
from exporters.datex2.organisation import Organisation, business, write_organisation
from exporters.datex2.parking import write_parking_space
from exporters.datex2.selection import PublishedSite
from exporters.datex2.tariffs import PublishedRate, TariffCatalogue, TariffSource
from exporters.datex2.xmlbuild import Element, bool_text, sub, typed, write_in_order
from nap import phone


def authentication_methods(published: PublishedSite) -> list[str]:
    methods: dict[str, None] = {}
    for charge_point in published.evses:
        for capability in ocpi.strings(charge_point.evse.get("capabilities")):
            if capability in mapping.AUTHENTICATION:
                methods.setdefault(mapping.AUTHENTICATION[capability])
        if any(is_plug_and_charge(c) for c, _ in charge_point.connectors):
            methods.setdefault(mapping.AUTHENTICATION_PLUG_AND_CHARGE)
    return list(methods)


def exclusive_users(published: PublishedSite) -> list[str]:
    """Parking restrictions that hold for every EVSE of the location apply to the site."""
    if not published.evses:
        return []
    per_evse = [set(ocpi.strings(cp.evse.get("parking_restrictions"))) for cp in published.evses]
    common = set.intersection(*per_evse)
    return [user for restriction, user in mapping.PARKING_RESTRICTION_USER.items() if restriction in common]


def _renewable_sources(mix: EnergyMix, rates: list[list[PublishedRate]]) -> bool | None:
    """AFIR Annex B10, "100 % renewable", for the station: what the energy products of its
    charging points say, so that the two never disagree. A point's products are those of its
    tariffs (each with the tariff's own energy mix, else the location's), without tariffs the
    location's. True when every product is green energy (OCPI is_green_energy: 100 %
    renewable), False when any is not (some session gets energy that is not), else unknown."""
    green = [(rate.mix or mix).green for point in rates for rate in point]
    green += [mix.green for point in rates if not point]
    if False in green:
        return False
    return True if green and all(green) else None


def _write_facility(parent: Element, profile: Profile, site_id: str, version: str, facility: str) -> None:
    """OCPI Facility -> supplementalFacility (service or equipment) or associatedFacility."""
    kind = facility_kind(facility)
    if kind is None:
        associated = sub(parent, profile.f("associatedFacility"))
        sub(associated, profile.f("type"), mapping.FACILITY_ASSOCIATED[facility])
        return
    xsi_type, tag, value = kind
    order = (sequences.SUPPLEMENTAL_SERVICE if xsi_type == "SupplementalServiceFacility"
             else sequences.SUPPLEMENTAL_EQUIPMENT)
    element = typed(parent, profile.f("supplementalFacility"), profile.ftype(xsi_type),
                    {"id": identity.facility_id(site_id, facility), "version": version})
    write_in_order(element, order[profile.name], {tag: [lambda e: sub(e, profile.f(tag), value)]})


def site_organisations(location: dict, profile: Profile) -> tuple[Organisation | None, Organisation | None,
                                                                  Organisation | None]:
    """(owner, operator, helpdesk) of a location; the helpdesk in the AFIR model only."""
    help_phone = ocpi.text(location.get("help_phone"))
    if help_phone:
        # AFIR Annex: "+CC number". One the library cannot read goes out as the CPO sent it
        # (the quality rule help-phone-malformed tells the CPO): a doubtful number still
        # beats none.
        help_phone = phone.help_phone(help_phone, location.get("country")) or help_phone
    operator = business(location.get("operator"), phone=None if profile.is_afir else help_phone)
    if operator is not None:
        operator.legal_name = operator.name  # see Organisation.legal_name
        supplement.name_operator(operator, location)
        operator.sub_organisation = business(location.get("suboperator"))
    helpdesk = None
    if profile.is_afir and help_phone:
        # afac:helpdesk needs a name: the operator's (the location's own, else its party's:
        # selection.with_party_operator), else the CPO's OCPI party id (help_phone is the
        # CPO's customer service number).
        helpdesk = Organisation(name=operator.name if operator else ocpi.text(identity.party(location)),
                                phone=help_phone)
    return business(location.get("owner")), operator, helpdesk


_MAPPED_FACILITIES = mapping.FACILITY_ASSOCIATED.keys() | mapping.FACILITY_SERVICE.keys() | mapping.FACILITY_EQUIPMENT.keys()


def site_facilities(location: dict) -> list[str]:
    """The location's OCPI facilities that DATEX II has a value for."""
    return [f for f in ocpi.strings(location.get("facilities")) if f in _MAPPED_FACILITIES]


def facility_kind(facility: str) -> tuple[str, str, str] | None:
    """(xsi:type, the element naming it, its value) of a supplemental facility; None for an
    associated one."""
    if facility in mapping.FACILITY_ASSOCIATED:
        return None
    if facility in mapping.FACILITY_SERVICE:
        return "SupplementalServiceFacility", "serviceFacilityType", mapping.FACILITY_SERVICE[facility]
    return "SupplementalEquipment", "equipmentType", mapping.FACILITY_EQUIPMENT[facility]


def _write_station(parent: Element, profile: Profile, published: PublishedSite, *, mix: EnergyMix,
                   tariffs: TariffSource | None, at: datetime) -> Element:
    location = published.location
    station = sub(parent, profile.e("energyInfrastructureStation"),
                  attrib={"id": published.station_id, "version": published.version})
    last_updated = ocpi.xml_timestamp(location.get("last_updated"))
    parking_places = ocpi.parking_places(location)
    rates = [tariffs.rates(cp.evse) if tariffs is not None else [] for cp in published.evses]
    slots = {
        "lastUpdated": [lambda e: sub(e, profile.f("lastUpdated"), last_updated)] if last_updated else [],
        "authenticationAndIdentificationMethods": [
            lambda e, m=m: sub(e, profile.e("authenticationAndIdentificationMethods"), m)
            for m in authentication_methods(published)],
        "numberOfRefillPoints": [lambda e: sub(e, profile.e("numberOfRefillPoints"), str(len(published.evses)))],
        "refillPoint": [lambda e, cp=cp, r=r: write_charging_point(
            e, profile, cp, site_id=published.id, parking_places=parking_places, mix=mix, tariffs=tariffs, at=at,
            rates=r)
            for cp, r in zip(published.evses, rates)],
    }
    renewable = _renewable_sources(mix, rates)
    if profile.is_afir and renewable is not None:
        slots["renewableSources"] = [lambda e: sub(e, profile.e("renewableSources"), bool_text(renewable))]
    supplement.add_station_slots(slots, profile, published)
    write_in_order(station, sequences.STATION[profile.name], slots)
    return station


def build_site(published: PublishedSite, profile: Profile, *, catalogue: TariffCatalogue | None,
               at: datetime) -> Element:
    """A standalone energyInfrastructureSite element, ready for xmlfile.write()."""
    location = published.location
    site = etree.Element(profile.e("energyInfrastructureSite"), nsmap=profile.nsmap,
                         id=published.id, version=published.version)
    last_updated = ocpi.xml_timestamp(location.get("last_updated"))
    owner, operator, helpdesk = site_organisations(location, profile)
    facilities = site_facilities(location)
    site_type = mapping.SITE_TYPE.get(ocpi.code(location.get("parking_type")))

    slots = {
        **facility_slots(profile, ocpi.text(location.get("name")), last_updated, location),
        "operatingHours": [lambda e: write_operating_hours(
            e, profile, location.get("opening_times"), object_id=f"{published.id}#hours",
            version=published.version, valid_since=last_updated)],
        "locationReference": [lambda e: write_point_location(
            e, profile.f("locationReference"), profile, ocpi.coordinates(location.get("coordinates")),
            location_address(location), published.utc_offset)],
        "associatedFacility": [lambda e, f=f: _write_facility(e, profile, published.id, published.version, f)
                               for f in facilities if f in mapping.FACILITY_ASSOCIATED],
        "supplementalFacility": [lambda e, f=f: _write_facility(e, profile, published.id, published.version, f)
                                 for f in facilities if f not in mapping.FACILITY_ASSOCIATED],
        "exclusiveUsers": [lambda e, u=u: sub(e, profile.e("exclusiveUsers"), u) for u in exclusive_users(published)],
    }
    if owner is not None:
        slots["owner"] = [lambda e: write_organisation(e, profile.f("owner"), profile, owner, f"{published.id}#owner")]
    if operator is not None:
        slots["operator"] = [lambda e: write_organisation(e, profile.f("operator"), profile, operator,
                                                          f"{published.id}#operator")]
    if helpdesk is not None:
        slots["helpdesk"] = [lambda e: write_organisation(e, profile.f("helpdesk"), profile, helpdesk,
                                                          f"{published.id}#helpdesk")]
    if profile.is_afir:
        slots["dedicatedParkingSpaces"] = [
            lambda e, key=key, place=place: write_parking_space(
                e, profile.f("dedicatedParkingSpaces"), profile, site_id=published.id, parking_id=key, place=place,
                restrictions=[])
            for key, place in unused_parking(published).items()]
    if site_type:
        slots["typeOfSite"] = [lambda e: sub(e, profile.e("typeOfSite"), site_type)]
    tariffs = None
    if published.evses:
        mix = energy_mix(location.get("energy_mix"))
        tariffs = TariffSource(catalogue, location, published.id) if catalogue is not None else None
        slots["energyInfrastructureStation"] = [
            lambda e: _write_station(e, profile, published, mix=mix, tariffs=tariffs, at=at)]
    supplement.add_site_slots(slots, profile, published)
    write_in_order(site, sequences.SITE[profile.name], slots)
    if tariffs is not None:
        tariffs.report()
    return site


def unused_parking(published: PublishedSite) -> dict[str, dict]:
    """Parking places no published EVSE refers to (those are written on the charging points)."""
    used = {key for cp in published.evses for key in ocpi.evse_parking_ids(cp.evse)}
    return {key: place for key, place in ocpi.parking_places(published.location).items() if key not in used}
