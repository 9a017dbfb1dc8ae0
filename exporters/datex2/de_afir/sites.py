"""The German table's sites written as the profile's JSON directly.

The meaning is the 3.7 AFIR site's (exporters/datex2/site.py and the builders it calls),
and every decision is theirs: the same functions pick the ids, versions, organisations,
facilities, voltages, modes, services, parking users, vehicle limits and tariffs. What
differs is the spelling only: building the 3.7 element tree and converting it (convert.py)
cost three quarters of the German table's time, so the common parts of a site are written
here as the converter would spell them, and the rare ones still go through the 3.7
builders and the converter, element by element:
  * operating hours other than 24/7 (write_operating_hours),
  * an energy product without tariffs (write_afir_energy_product), once per kind,
  * the tariffs' energy products (templates the converter turns into JSON once),
  * a site with a CPO supplement (supplement.py) is built whole the 3.7 way.
tests/test_datex2_de_afir.py holds both ways equal for the demo fleet, the real feeds and
the examples.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from lxml import etree

from exporters.datex2 import identity, mapping, ocpi, supplement
from exporters.datex2.charging_point import (available_voltages, common_charging_mode, photo_urls, reservation_of,
                                             smart_recharging_services, used_parking)
from exporters.datex2.connector import connector_format, connector_type, is_plug_and_charge
from exporters.datex2.de_afir.convert import Converter, json_number
from exporters.datex2.energy import EnergyMix, energy_mix, write_afir_energy_product
from exporters.datex2.location_reference import Address, evse_address, location_address
from exporters.datex2.memo import BoundedMemo
from exporters.datex2.namespaces import AFIR
from exporters.datex2.opening_hours import write_operating_hours
from exporters.datex2.organisation import Organisation
from exporters.datex2.parking import (parking_amenities, parking_dimension, parking_photo_urls, parking_users,
                                      vehicle_limits)
from exporters.datex2.selection import PublishedEvse, PublishedSite
from exporters.datex2.site import (authentication_methods, exclusive_users, facility_kind,
                                   site_facilities, site_organisations, unused_parking)
from exporters.datex2.tariff_products import afir_product_templates
from exporters.datex2.tariffs import TariffCatalogue, TariffSource

_EVSE_ID = {"value": "extendedG", "extendedValueG": "evseId"}  # see charging_point._write_external_identifier


class SiteWriter:
    """One per publication, as its Converter (whose shapes, language and memo it uses)."""

    def __init__(self, converter: Converter, catalogue: TariffCatalogue | None, at: datetime) -> None:
        self.converter, self.catalogue, self.at = converter, catalogue, at
        self.lang = converter.lang
        self._enums: dict[tuple[str, str, str], dict] = {}
        # The product of a point without tariffs, per mix and eMSPs (these vary by EVSE).
        self._untariffed: BoundedMemo[list] = BoundedMemo(1024)

    # -- values --------------------------------------------------------------------------------

    def _enum(self, class_name: str, prop: str, value: str) -> dict:
        """The profile's spelling of an enumeration value of `class_name.prop`; never mutated
        by the caller, so one object serves every use."""
        key = (class_name, prop, value)
        found = self._enums.get(key)
        if found is None:
            enum = self.converter.classes[class_name]["props"][prop][1]
            found = self._enums[key] = self.converter.enum_value(enum, value)
        return found

    def _text(self, value: str | None) -> dict | None:
        """A MultilingualString of one text in no stated language (xmlbuild.single_language)."""
        return {"values": [{"lang": self.lang, "value": value}]} if value else None

    def _texts(self, values: list[tuple[str | None, str]]) -> dict | None:
        """xmlbuild.multilingual: texts with their languages, the publication's where none."""
        values = [{"lang": lang or self.lang, "value": text} for lang, text in values if text]
        return {"values": values} if values else None

    def _photos(self, urls: list[str]) -> list[dict]:
        """xmlbuild.url_link of each, as an image."""
        return [{"urlLinkAddress": url, "urlLinkType": self._enum("UrlLink", "urlLinkType", "image")} for url in urls]

    def _facility(self, result: dict, name: str | None, last_updated: str | None, obj: dict) -> None:
        """charging_point.facility_slots: what a site and a charging point fill alike."""
        if name:
            result["name"] = self._text(name)
        if last_updated:
            result["lastUpdated"] = last_updated
        information = self._texts(ocpi.display_texts(obj.get("directions")))
        if information:
            result["additionalInformation"] = [information]
        photos = self._photos(photo_urls(obj.get("images")))
        if photos:
            result["photoUrl"] = photos

    def _via_xml(self, class_name: str, write: Callable[[etree._Element], object]) -> dict:
        """What a 3.7 builder writes into an object of `class_name`, converted: for the rare parts."""
        container = etree.Element("scoped")
        write(container)
        return self.converter.convert(container, class_name)

    # -- parts -----------------------------------------------------------------------------------

    def _organisation(self, organisation: Organisation) -> dict:
        """organisation.write_organisation, AFIR: an AnOrganisation without id."""
        result = {"name": self._text(organisation.name)}
        if organisation.legal_name:
            result["legalName"] = self._text(organisation.legal_name)
        if organisation.website:
            result["linkToGeneralInformation"] = organisation.website
        if organisation.logo:
            result["linkToLogo"] = organisation.logo
        if organisation.phone:
            result["organisationUnit"] = [{"contactInformation": [
                {"afacContactInformation": {"telephoneNumber": organisation.phone}}]}]
        if organisation.sub_organisation is not None:
            result["subOrganisation"] = [self._organisation(organisation.sub_organisation)]
        return {"afacAnOrganisation": result}

    def _address(self, address: Address) -> dict:
        result = {}
        if address.postcode:
            result["postcode"] = address.postcode
        if address.city:
            result["city"] = self._text(address.city)
        if address.country:
            result["countryCode"] = address.country
        if address.lines:
            result["addressLine"] = [
                {"order": order, "type": self._enum("AddressLine", "type", line_type), "text": self._text(content)}
                for order, (line_type, content) in enumerate(address.lines, start=1)]
        return result

    def _point_location(self, point: tuple[float, float] | None, address: Address,
                        time_zone: str | None = None) -> dict | None:
        """location_reference.write_point_location, AFIR."""
        if point is None and not address:
            return None
        result = {}
        coordinates = {"latitude": json_number(point[0]), "longitude": json_number(point[1])} if point else None
        if coordinates:
            result["coordinatesForDisplay"] = coordinates
        if address or time_zone:
            facility_location = {}
            if time_zone:
                facility_location["timeZone"] = time_zone
            if address:
                facility_location["address"] = self._address(address)
            result["locLocationExtensionG"] = {"FacilityLocation": facility_location}
        if coordinates:
            result["pointByCoordinates"] = {"pointCoordinates": coordinates}
        return {"locPointLocation": result}

    def _vehicles(self, place: dict) -> dict | None:
        limits = vehicle_limits(place)
        if not limits:
            return None
        result = {}
        if limits.types:
            result["vehicleType"] = [self._enum("VehicleCharacteristics", "vehicleType", v) for v in limits.types]
        at_most = self._enum("GrossWeightCharacteristic", "comparisonOperator", "lessThanOrEqualTo")
        if limits.weight is not None:
            result["grossWeightCharacteristic"] = [{
                "comparisonOperator": at_most, "grossVehicleWeight": json_number(limits.weight),
                "typeOfWeight": self._enum("GrossWeightCharacteristic", "typeOfWeight", "maximumPermitted")}]
        for characteristic, value_name, metres in limits.sizes:
            result[characteristic] = [{"comparisonOperator": at_most, value_name: json_number(metres)}]
        return result

    def _parking_space(self, site_id: str, parking_id: str, place: dict, restrictions: list[str]) -> dict:
        """parking.write_parking_space, AFIR: one DedicatedParkingSpaces per OCPI Parking."""
        result = {"idG": identity.parking_space_id(site_id, parking_id),
                  "versionG": identity.parking_space_version(place, restrictions)}
        name = ocpi.text(place.get("physical_reference"))
        if name:
            result["name"] = self._text(name)
        photos = self._photos(parking_photo_urls(place))
        if photos:
            result["photoUrl"] = photos
        vehicles = self._vehicles(place)
        if vehicles is not None:
            result["applicableForVehicles"] = [vehicles]
        length, width = parking_dimension(place)
        if length is not None or width is not None:
            result["dimension"] = {key: json_number(value) for key, value in (("length", length), ("width", width))
                                   if value is not None}
        vehicle_types = ocpi.strings(place.get("vehicle_types"))
        if mapping.DISABLED_VEHICLE_TYPE in vehicle_types:
            result["accessibility"] = [self._enum("DedicatedParkingSpaces", "accessibility",
                                                  mapping.DISABLED_ACCESSIBILITY)]
        amenities = parking_amenities(place)
        if amenities:
            result["amenities"] = amenities
        result["numberOfSpaces"] = 1
        users = parking_users(restrictions, vehicle_types)
        if users:
            result["userSpecific"] = [self._enum("DedicatedParkingSpaces", "userSpecific", u) for u in users]
        return result

    def _connector(self, connector: dict, power_w: float) -> dict:
        """connector.write_connector, AFIR."""
        value, other = connector_type(connector.get("standard"), AFIR)
        result = {"connectorType": self._enum("Connector", "connectorType", value)}
        if other:
            result["otherConnector"] = other
        form = connector_format(connector)
        if form:
            result["connectorFormat"] = self._enum("Connector", "connectorFormat", form)
        result["maxPowerAtSocket"] = json_number(power_w)
        voltage, amperage = ocpi.positive(connector.get("max_voltage")), ocpi.positive(connector.get("max_amperage"))
        if voltage is not None:
            result["voltage"] = json_number(voltage)
        if amperage is not None:
            result["maximumCurrent"] = json_number(amperage)
        return result

    def _products(self, published: PublishedEvse, tariffs: TariffSource | None, rates: list, mix: EnergyMix,
                  providers: list[str]) -> list:
        """charging_point's energyProduct slot: one per rate, else the location's."""
        if rates:
            products = []
            for templates in afir_product_templates(tariffs.catalogue, rates, location_mix=mix,
                                                    providers=tuple(providers)):
                product: dict = {}
                for template in templates:
                    self.converter.append_template(product, "ElectricEnergy", template, published.id)
                products.append(product)
            return products
        # The AFIR product names no id: it is the same for every charging point.
        return self._untariffed.get((mix, tuple(providers)), lambda: self._via_xml(
            "ElectricChargingPoint", lambda e: write_afir_energy_product(e, AFIR, mix=mix, providers=providers,
                                                                         scope=published.id)).get("electricEnergy", []))

    def _charging_point(self, published: PublishedEvse, site_id: str, parking_places: dict[str, dict],
                        mix: EnergyMix, tariffs: TariffSource | None, rates: list) -> dict:
        """charging_point.write_charging_point, AFIR."""
        evse, connectors = published.evse, published.connectors
        capabilities = ocpi.strings(evse.get("capabilities"))
        restrictions = ocpi.strings(evse.get("parking_restrictions"))
        plug_and_charge = any(is_plug_and_charge(c) for c, _ in connectors)
        result = {"idG": published.id, "versionG": published.version}
        self._facility(result, ocpi.text(evse.get("physical_reference")), ocpi.xml_timestamp(evse.get("last_updated")),
                       evse)
        location = self._point_location(ocpi.coordinates(evse.get("coordinates")), evse_address(evse))
        if location is not None:
            result["locationReference"] = location
        evse_id = ocpi.text(evse.get("evse_id"))
        if evse_id:
            result["externalIdentifier"] = [{"identifier": evse_id, "typeOfIdentifier": _EVSE_ID}]
        parking = [self._parking_space(site_id, key, place, restrictions)
                   for key, place in used_parking(evse, parking_places)]
        if parking:
            result["dedicatedParkingSpaces"] = parking
        reservation = reservation_of(capabilities)
        if reservation:
            result["reservation"] = self._enum("ElectricChargingPoint", "reservation", reservation)
        if plug_and_charge:
            result["vehicleToGridCommunicationType"] = [self._enum(
                "ElectricChargingPoint", "vehicleToGridCommunicationType", mapping.V2G_COMMUNICATION_PLUG_AND_CHARGE)]
        result["deliveryUnit"] = self._enum("ElectricChargingPoint", "deliveryUnit", "kWh")
        providers = ocpi.strings(evse.get("accepted_service_providers"))
        products = self._products(published, tariffs, rates, mix, providers)
        if products:
            result["electricEnergy"] = products
        result["currentType"] = self._enum("ElectricChargingPoint", "currentType", published.current_type)
        result["numberOfConnectors"] = len(connectors)
        voltages = available_voltages(connectors)
        if voltages:
            result["availableVoltage"] = [json_number(v) for v in voltages]
        if connectors:
            result["availableChargingPower"] = [json_number(max(power for _, power in connectors))]
        mode = common_charging_mode(connectors)
        if mode:
            result["chargingMode"] = self._enum("ElectricChargingPoint", "chargingMode", mode)
        services = smart_recharging_services(capabilities, plug_and_charge)
        if services:
            result["smartRechargingServices"] = [
                self._enum("ElectricChargingPoint", "smartRechargingServices", s) for s in services]
        if connectors:
            result["connector"] = [self._connector(c, power) for c, power in connectors]
        return {"aegiElectricChargingPoint": result}

    def _station(self, published: PublishedSite, mix: EnergyMix, tariffs: TariffSource | None) -> dict:
        """site._write_station, AFIR (its renewableSources the profile has no place for)."""
        location = published.location
        result = {"idG": published.station_id, "versionG": published.version}
        last_updated = ocpi.xml_timestamp(location.get("last_updated"))
        if last_updated:
            result["lastUpdated"] = last_updated
        methods = authentication_methods(published)
        if methods:
            result["authenticationAndIdentificationMethods"] = [
                self._enum("EnergyInfrastructureStation", "authenticationAndIdentificationMethods", m) for m in methods]
        result["numberOfRefillPoints"] = len(published.evses)
        parking_places = ocpi.parking_places(location)
        rates = [tariffs.rates(cp.evse) if tariffs is not None else [] for cp in published.evses]
        result["refillPoint"] = [self._charging_point(cp, published.id, parking_places, mix, tariffs, r)
                                 for cp, r in zip(published.evses, rates)]
        return result

    def _hours(self, published: PublishedSite, last_updated: str | None) -> dict | None:
        hours = ocpi.as_dict(published.location.get("opening_times"))
        if hours is None:
            return None
        if hours.get("twentyfourseven") is True and not hours.get("exceptional_closings"):
            return {"afacOpenAllHours": {}}
        return self._via_xml("EnergyInfrastructureSite", lambda e: write_operating_hours(
            e, AFIR, hours, object_id=f"{published.id}#hours", version=published.version,
            valid_since=last_updated)).get("operatingHours")

    def site(self, published: PublishedSite) -> dict:
        """site.build_site, AFIR, converted: before complete_site."""
        location = published.location
        result = {"idG": published.id, "versionG": published.version}
        last_updated = ocpi.xml_timestamp(location.get("last_updated"))
        self._facility(result, ocpi.text(location.get("name")), last_updated, location)
        hours = self._hours(published, last_updated)
        if hours is not None:
            result["operatingHours"] = hours
        point = self._point_location(ocpi.coordinates(location.get("coordinates")), location_address(location),
                                     published.utc_offset)
        if point is not None:
            result["locationReference"] = point
        owner, operator, helpdesk = site_organisations(location, AFIR)
        for key, organisation in (("owner", owner), ("operator", operator), ("helpdesk", helpdesk)):
            if organisation is not None:
                result[key] = self._organisation(organisation)
        facilities = []
        for facility in site_facilities(location):
            kind = facility_kind(facility)
            if kind is not None:  # an associated facility: the profile has no place for it
                xsi_type, prop, value = kind
                facilities.append({f"afac{xsi_type}": {
                    "idG": identity.facility_id(published.id, facility), "versionG": published.version,
                    prop: self._enum(xsi_type, prop, value)}})
        if facilities:
            result["supplementalFacility"] = facilities
        users = exclusive_users(published)
        if users:
            result["exclusiveUsers"] = [self._enum("EnergyInfrastructureSite", "exclusiveUsers", u) for u in users]
        parking = [self._parking_space(published.id, key, place, []) for key, place in unused_parking(published).items()]
        if parking:
            result["dedicatedParkingSpaces"] = parking
        site_type = mapping.SITE_TYPE.get(ocpi.code(location.get("parking_type")))
        if site_type:
            result["typeOfSite"] = self._enum("EnergyInfrastructureSite", "typeOfSite", site_type)
        if published.evses:
            tariffs = TariffSource(self.catalogue, location, published.id) if self.catalogue is not None else None
            result["energyInfrastructureStation"] = [self._station(published, energy_mix(location.get("energy_mix")),
                                                                   tariffs)]
            if tariffs is not None:
                tariffs.report()
        return result


def has_supplement(published: PublishedSite) -> bool:
    """A site the CPO's supplement adds to: built the 3.7 way (module docstring)."""
    return bool(supplement.values_of(published.location))
