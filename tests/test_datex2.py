"""DATEX II 3.7 Energy Infrastructure writer: every document is checked against the real XSDs.

Inputs: the OCPI 2.3.0 spec's own Location examples, a synthetic fleet covering the OCPI
enumerations, and deliberately broken data. No mocks: output is parsed and validated with
DATEXII_3_D2Payload.xsd from shared/spec/datex2-3.7.
"""
from __future__ import annotations

import logging

import copy
import io
import json
import re
import threading
import tracemalloc
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from lxml import etree

from exporters.datex2 import mapping, ocpi
from exporters.datex2.namespaces import AEGI, AFAC, COM, EGI, FAC, LOC, LOCX, XSI_TYPE
from exporters.datex2.status import write_status
from exporters.datex2.table import write_table
from exporters.datex2.tariff_fit import OMITTED_NEVER, OMITTED_RESERVATION, OMITTED_SHADOWED
from exporters.datex2.tariffs import TariffCounts
from tests.conftest import DATEX2_XSD_DIR, OCPI_SPEC
from tests.xsd import load_schema, validate

OCPI = OCPI_SPEC / "ocpi-2.3.0"
NOW = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
PROFILES = ("generic", "afir")
NS = {"egi": EGI, "fac": FAC, "aegi": AEGI, "afac": AFAC, "com": COM, "loc": LOC, "locx": LOCX}


# --- helpers -------------------------------------------------------------------------------

def render(writer, locations, profile: str, **options) -> tuple[int, bytes]:
    out = io.BytesIO()
    count = writer(out, locations, profile=profile, publication_time=NOW, **options)
    return count, out.getvalue()


def assert_valid(document: bytes) -> etree._Element:
    errors = validate(document)
    assert errors == [], "\n".join(errors[:20])
    return etree.fromstring(document)


def egi(profile: str) -> str:
    return "aegi" if profile == "afir" else "egi"


def fac(profile: str) -> str:
    return "afac" if profile == "afir" else "fac"


def texts(root: etree._Element, xpath: str) -> list[str]:
    return [node.text if isinstance(node, etree._Element) else str(node) for node in root.xpath(xpath, namespaces=NS)]


def spec_connector_types() -> list[str]:
    """Every ConnectorType value listed in the OCPI 2.3.0 spec."""
    text = (OCPI / "mod_locations.asciidoc").read_text(encoding="utf-8")
    section = text.split("==== ConnectorType _OpenEnum_", 1)[1].split("[[mod_locations_energymix_class]]", 1)[0]
    return [v for v in re.findall(r"^\|([A-Z][A-Za-z0-9_]*)\s*\|", section, re.M) if v != "Value"]


def example_json() -> dict[str, object]:
    return {path.name: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((OCPI / "examples").glob("location*.json"))}


def whole_locations() -> list[dict]:
    """The spec examples that are complete Location objects (the rest are PATCH bodies,
    single EVSEs or Hours/EnergyMix fragments)."""
    required = {"country_code", "party_id", "id", "coordinates", "address", "city", "country", "time_zone"}
    return [doc for doc in example_json().values() if isinstance(doc, dict) and required <= doc.keys()]


# --- synthetic fleet -----------------------------------------------------------------------

CONNECTOR_TYPES = None  # filled lazily from the spec
STATUSES = list(mapping.EVSE_STATUS)
PARKING_TYPES = list(mapping.SITE_TYPE) + ["SOMETHING_NEW"]
FACILITIES = ["HOTEL", "RESTAURANT", "CAFE", "MALL", "SUPERMARKET", "SPORT", "RECREATION_AREA", "NATURE", "MUSEUM",
              "BIKE_SHARING", "BUS_STOP", "TAXI_STAND", "TRAM_STOP", "METRO_STATION", "TRAIN_STATION", "AIRPORT",
              "PARKING_LOT", "CARPOOL_PARKING", "FUEL_STATION", "WIFI"]
CAPABILITIES = ["CHARGING_PROFILE_CAPABLE", "CHARGING_PREFERENCES_CAPABLE", "CHIP_CARD_SUPPORT",
                "CONTACTLESS_CARD_SUPPORT", "CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "PED_TERMINAL",
                "REMOTE_START_STOP_CAPABLE", "RESERVABLE", "RFID_READER", "START_SESSION_CONNECTOR_REQUIRED",
                "TOKEN_GROUP_CAPABLE", "UNLOCK_CAPABLE"]
VEHICLE_TYPES = list(mapping.VEHICLE_TYPE) + ["DISABLED"]
RESTRICTIONS = ["CUSTOMERS", "DISABLED", "EMPLOYEES", "EV_ONLY", "MOTORCYCLES", "PLUGGED", "TAXIS", "TENANTS"]
STAMP = "2024-01-01T12:00:00Z"


def synthetic_tariffs() -> dict[tuple[str, str, str], dict]:
    def tariff(tariff_id: str, elements: list, **extra) -> dict:
        return {"country_code": "DE", "party_id": "NAP", "id": tariff_id, "currency": "EUR", "elements": elements,
                "tax_included": "YES", "last_updated": STAMP, **extra}

    def component(kind: str, price: float, **extra) -> dict:
        return {"type": kind, "price": price, "step_size": 1, **extra}

    tariffs = [
        tariff("AC", [{"price_components": [component("ENERGY", 0.49, vat=19.0)]}], type="AD_HOC_PAYMENT"),
        tariff("DC", [{"price_components": [component("FLAT", 1.00), component("ENERGY", 0.69)]},
                      {"price_components": [component("PARKING_TIME", 6.00)],
                       "restrictions": {"min_duration": 3600}}],
               max_price={"before_taxes": 50.0, "after_taxes": 59.5},
               tariff_alt_text=[{"language": "de", "text": "Blockiergebühr ab 60 Minuten"}]),
        tariff("TIERED", [{"price_components": [component("ENERGY", 0.59)], "restrictions": {"max_kwh": 20}},
                          {"price_components": [component("ENERGY", 0.49)], "restrictions": {"min_kwh": 20}},
                          {"price_components": [component("TIME", 6.00)], "restrictions": {"min_duration": 1800}},
                          {"price_components": [component("FLAT", 5.0)],
                           "restrictions": {"reservation": "RESERVATION"}}],
               start_date_time="2024-01-01T00:00:00Z", end_date_time="2030-01-01T00:00:00Z"),
        tariff("HOURLY", [{"price_components": [component("TIME", 2.00)]}], tax_included="NO"),
        tariff("FREE", [{"price_components": [component("FLAT", 0.0)]}]),
        tariff("REGULAR", [{"price_components": [component("ENERGY", 0.39)]}], type="REGULAR"),
        tariff("PEAK", [{"price_components": [component("ENERGY", 0.79)], "restrictions": {"start_time": "17:00"}}]),
        tariff("ODD", [{"price_components": [component("ENERGY", 0.589)]}]),
        tariff("EXPIRED", [{"price_components": [component("ENERGY", 0.29)]}], end_date_time="2020-01-01T00:00:00Z"),
    ]
    return {(t["country_code"], t["party_id"], t["id"]): t for t in tariffs}


def connector(index: int, standard: str, power_type: str, volts: int, amps: int, **extra) -> dict:
    return {"id": str(index), "standard": standard, "format": "CABLE" if power_type == "DC" else "SOCKET",
            "power_type": power_type, "max_voltage": volts, "max_amperage": amps, "last_updated": STAMP, **extra}


def synthetic_location(i: int) -> dict:
    """Location i of a deterministic fleet: AC and DC EVSEs, every OCPI enumeration in turn."""
    global CONNECTOR_TYPES
    CONNECTOR_TYPES = CONNECTOR_TYPES or spec_connector_types()
    evses = []
    first = sum(1 + j % 3 for j in range(i))  # fleet-wide running EVSE number
    for n in range(1 + i % 3):
        k = first + n
        if k % 2:  # DC: CCS + CHAdeMO on one EVSE
            connectors = [connector(1, "IEC_62196_T2_COMBO", "DC", 920, 500, max_electric_power=150000,
                                    tariff_ids=["DC"], capabilities=["ISO_15118_2_PLUG_AND_CHARGE"]),
                          connector(2, "CHADEMO", "DC", 500, 125, max_electric_power=50000, tariff_ids=["DC"])]
        else:  # AC: 22 kW Type 2 plus a connector type taken round-robin from the spec's list
            connectors = [connector(1, "IEC_62196_T2", "AC_3_PHASE", 230, 32, max_electric_power=22000,
                                    tariff_ids=["AC", "TIERED", "HOURLY", "FREE", "REGULAR", "PEAK", "ODD",
                                                "EXPIRED", "MISSING"]),
                          connector(2, CONNECTOR_TYPES[k // 2 % len(CONNECTOR_TYPES)],
                                    ["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE"][k % 4], 230, 16)]
        evse = {
            "uid": f"EVSE-{i}-{n}", "evse_id": f"DE*NAP*E{i:05d}{n}", "status": STATUSES[k % len(STATUSES)],
            "capabilities": [CAPABILITIES[k % len(CAPABILITIES)], CAPABILITIES[(k + 5) % len(CAPABILITIES)]],
            "connectors": connectors, "physical_reference": f"P{n}", "floor_level": str(n - 1),
            "coordinates": {"latitude": f"{52.5 + i / 1000:.6f}", "longitude": f"{13.4 + n / 1000:.6f}"},
            "directions": [{"language": "de", "text": "Hinter der Schranke links"}],
            "parking_restrictions": [RESTRICTIONS[k % len(RESTRICTIONS)]],
            "parking": [{"parking_id": f"P{n}", "evse_position": "LEFT"}],
            "images": [{"url": f"https://img.example/{k}.jpg", "category": "CHARGER", "type": "jpeg"}],
            "accepted_service_providers": ["Example eMSP"],
            "status_schedule": [{"period_begin": "2025-06-01T00:00:00Z", "status": "AVAILABLE"}],
            "last_updated": STAMP,
        }
        evses.append(evse)
    parking_places = [{
        "id": f"P{n}", "physical_reference": f"S{n}", "vehicle_types": [VEHICLE_TYPES[(i + n) % len(VEHICLE_TYPES)]],
        "max_vehicle_weight": 3500, "max_vehicle_height": 250, "max_vehicle_length": 600, "max_vehicle_width": 220,
        "parking_space_length": 600, "parking_space_width": 300, "restricted_to_type": True,
        "reservation_required": False, "roofed": bool(n % 2), "lighting": True,
        "images": [{"url": f"https://img.example/p{n}.jpg", "category": "LOCATION", "type": "jpeg"}],
    } for n in range(len(evses) + 1)]  # one place no EVSE refers to
    hours = [None, {"twentyfourseven": True},
             {"twentyfourseven": True, "exceptional_closings": [
                 {"period_begin": "2024-12-24T00:00:00Z", "period_end": "2024-12-26T00:00:00Z"}]},
             {"twentyfourseven": False, "regular_hours": [
                 {"weekday": d, "period_begin": "07:00", "period_end": "22:00"} for d in range(1, 6)]
                 + [{"weekday": 6, "period_begin": "22:00", "period_end": "02:00"}],
              "exceptional_openings": [{"period_begin": "2024-06-01T08:00:00Z", "period_end": "2024-06-01T12:00:00Z"}]},
             ][i % 4]
    location = {
        "country_code": "DE", "party_id": "NAP", "id": f"LOC-{i:03d}", "publish": True, "name": f"Ladepark {i}",
        "address": f"Hauptstraße {i}", "city": "Berlin", "postal_code": "10115", "state": "Berlin", "country": "DEU",
        "coordinates": {"latitude": f"{52.5 + i / 1000:.6f}", "longitude": "13.400000"},
        "parking_type": PARKING_TYPES[i % len(PARKING_TYPES)],
        "evses": evses, "parking_places": parking_places,
        "directions": [{"language": "en", "text": "Enter from the north"}, {"language": "de", "text": "Einfahrt Nord"}],
        "operator": {"name": "Example CPO", "website": "https://cpo.example",
                     "logo": {"url": "https://cpo.example/logo.png", "category": "OPERATOR", "type": "png"}},
        "facilities": [FACILITIES[i % len(FACILITIES)], FACILITIES[(i + 7) % len(FACILITIES)]],
        "time_zone": "Europe/Berlin",
        "images": [{"url": f"https://img.example/l{i}.jpg", "category": "LOCATION", "type": "jpeg"}],
        "help_phone": "+49 30 1234567",
        "last_updated": STAMP,
    }
    if hours:
        location["opening_times"] = hours
    if i % 3 == 0:
        location["suboperator"] = {"name": "Example Sub-CPO"}
        location["owner"] = {"name": "Stadtwerke Example"}
    if i % 2 == 0:
        location["energy_mix"] = example_json()["location_energymix_example_complete.json"]["energy_mix"]
    if i % 5 == 0:
        del location["operator"]
    return location


def synthetic_fleet(size: int = 50) -> list[dict]:
    return [synthetic_location(i) for i in range(size)]


def tariff_lookup():
    tariffs = synthetic_tariffs()
    return lambda country, party, tariff_id: tariffs.get((country, party, tariff_id))


# --- schema and examples ---------------------------------------------------------------------

def test_schema_compiles_offline_and_accepts_the_reference_examples():
    assert (DATEX2_XSD_DIR / "DATEXII_3_D2Payload.xsd").is_file()
    assert load_schema() is load_schema()  # cached
    for path in sorted((DATEX2_XSD_DIR / "examples").glob("*.xml")):
        assert validate(path) == [], path.name
        assert validate(path.read_bytes()) == [], path.name


def test_validate_reports_errors():
    broken = (DATEX2_XSD_DIR / "examples" / "table_min.xml").read_bytes().replace(
        b"<egi:connectorType>iec62196T2</egi:connectorType>", b"<egi:connectorType>type2</egi:connectorType>")
    assert any("connectorType" in error for error in validate(broken))
    assert validate(b"<not-closed>")[0].startswith("not well-formed")


def test_spec_examples_have_whole_locations():
    assert len(whole_locations()) >= 5


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("writer", [write_table, write_status], ids=["table", "status"])
def test_spec_examples_validate(profile, writer):
    """All location*.json examples go in; fragments are skipped, whole Locations written."""
    everything = list(example_json().values())
    expected = sum(len(location["evses"]) for location in whole_locations())
    count, document = render(writer, everything, profile)
    assert count == expected
    root = assert_valid(document)
    tag = "energyInfrastructureSite" if writer is write_table else "energyInfrastructureSiteStatus"
    assert len(root.xpath(f"//{egi(profile)}:{tag}", namespaces=NS)) == len(whole_locations())
    for location in whole_locations():  # and each one alone
        assert_valid(render(writer, [location], profile)[1])


@pytest.mark.parametrize("profile", PROFILES)
def test_spec_example_fragments_merged_into_a_location_validate(profile):
    """Hours and energy mix examples are fragments: graft them onto a whole Location."""
    examples = example_json()
    base = examples["location_example.json"]
    locations = []
    for name, fragment in examples.items():
        if "twentyfourseven" in fragment or "opening_times" in fragment:
            locations.append({**base, "id": name, "opening_times": fragment.get("opening_times", fragment)})
        if "energy_mix" in fragment:
            locations.append({**base, "id": name, **fragment})
    assert len(locations) >= 7
    for writer in (write_table, write_status):
        assert_valid(render(writer, locations, profile, **({"tariffs_by_key": tariff_lookup()}
                                                          if writer is write_table else {}))[1])


# --- synthetic fleet -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def fleet() -> list[dict]:
    return synthetic_fleet(50)


@pytest.fixture(scope="module")
def documents(fleet) -> dict[tuple[str, str], etree._Element]:
    result = {}
    for profile in PROFILES:
        count, table = render(write_table, fleet, profile, tariffs_by_key=tariff_lookup(),
                              table_id="NAP-TABLE", table_version="7")
        assert count == sum(len(location["evses"]) for location in fleet)
        status_count, status = render(write_status, fleet, profile, table_id="NAP-TABLE", table_version="7")
        assert status_count == count
        result[profile, "table"], result[profile, "status"] = assert_valid(table), assert_valid(status)
    return result


def test_fleet_covers_ac_dc_and_every_spec_connector_type(fleet):
    power_types = {c["power_type"] for loc in fleet for e in loc["evses"] for c in e["connectors"]}
    standards = {c["standard"] for loc in fleet for e in loc["evses"] for c in e["connectors"]}
    assert {"DC", "AC_1_PHASE", "AC_3_PHASE"} <= power_types
    assert set(spec_connector_types()) <= standards


@pytest.mark.parametrize("profile", PROFILES)
def test_fleet_documents_validate(documents, profile):
    table = documents[profile, "table"]
    assert table.get(XSI_TYPE) == f"{egi(profile)}:EnergyInfrastructureTablePublication"
    assert len(table.xpath(f"//{egi(profile)}:energyInfrastructureSite", namespaces=NS)) == 50
    # one synthesized station per location
    assert len(table.xpath(f"//{egi(profile)}:energyInfrastructureStation", namespaces=NS)) == 50


@pytest.mark.parametrize("profile", PROFILES)
def test_status_references_match_the_table(documents, profile):
    e, f = egi(profile), fac(profile)
    table, status = documents[profile, "table"], documents[profile, "status"]
    published = set()
    for kind in ("energyInfrastructureSite", "energyInfrastructureStation", "refillPoint"):
        published |= {(node.get("id"), node.get("version")) for node in table.xpath(f"//{e}:{kind}", namespaces=NS)}
    references = status.xpath(f"//{f}:reference", namespaces=NS)
    assert references and {(r.get("id"), r.get("version")) for r in references} <= published
    assert {r.get("targetClass") for r in references} == {f"{f}:FacilityObject"}
    table_reference = status.xpath(f"{e}:tableReference", namespaces=NS)[0]
    assert (table_reference.get("targetClass"), table_reference.get("id"), table_reference.get("version")) == (
        f"{e}:EnergyInfrastructureTable", "NAP-TABLE", "7")


@pytest.mark.parametrize("profile", PROFILES)
def test_connector_mapping_values(documents, profile):
    e = egi(profile)
    table = documents[profile, "table"]
    ccs = table.xpath(f"//{e}:connector[{e}:connectorType='iec62196T2COMBO']", namespaces=NS)
    assert ccs and texts(ccs[0], f"{e}:maxPowerAtSocket") == ["150000"]
    assert texts(ccs[0], f"{e}:connectorFormat") == ["otherCable"]  # attached DC cable is not mode 3
    type2 = table.xpath(f"//{e}:connector[{e}:connectorType='iec62196T2'][{e}:maxPowerAtSocket='22000']",
                        namespaces=NS)
    assert type2 and texts(type2[0], f"{e}:voltage") == ["230"] and texts(type2[0], f"{e}:maximumCurrent") == ["32"]
    assert texts(type2[0], f"{e}:connectorFormat") == ["socket"]
    domestic = "domesticFType" if profile == "afir" else "domesticF"
    assert table.xpath(f"//{e}:connector[{e}:connectorType='{domestic}']", namespaces=NS)
    assert set(texts(table, f"//{e}:connector[{e}:connectorType='other']/{e}:otherConnector")) >= {
        "CHAOJI", "GBT_AC", "NEMA_5_20"}
    assert ("mcs" in texts(table, f"//{e}:connectorType")) == (profile == "afir")
    assert "teslaConnectorAmerica" in texts(table, f"//{e}:connectorType")  # SAE J3400 (NACS)
    assert "22000" in texts(table, f"//{e}:refillPoint/{e}:availableChargingPower")
    if profile == "generic":
        assert set(texts(table, f"//{e}:chargingMode")) == {"mode4DC", "mode3AC3p"}
    else:
        assert set(texts(table, f"//{e}:currentType")) == {"ac", "dc"}
        dc_point = table.xpath(f"//{e}:refillPoint[{e}:connector/{e}:connectorType='iec62196T2COMBO']",
                               namespaces=NS)[0]
        assert texts(dc_point, f"{e}:currentType") == ["dc"] and texts(dc_point, f"{e}:chargingMode") == ["mode4DC"]
        # CHARGING_PREFERENCES_CAPABLE and Plug & Charge (docs/datex2-mapping.md, B9).
        assert texts(dc_point, f"{e}:smartRechargingServices") == ["powerOptimisationByUser", "plugAndCharge"]


@pytest.mark.parametrize("profile", PROFILES)
def test_site_and_charging_point_mapping_values(documents, fleet, profile):
    e, f = egi(profile), fac(profile)
    table = documents[profile, "table"]
    site = table.xpath(f"//{e}:energyInfrastructureSite[@id='DE*NAP*LOC-003']", namespaces=NS)[0]
    assert texts(site, f"{f}:name/com:values/com:value") == ["Ladepark 3"]
    assert texts(site, f"{f}:lastUpdated") == ["2024-01-01T12:00:00Z"]
    assert texts(site, f"{f}:locationReference/loc:pointByCoordinates/loc:pointCoordinates/loc:latitude") == [
        "52.503"]
    assert texts(site, ".//locx:countryCode") == ["DE"] and texts(site, ".//locx:postcode") == ["10115"]
    assert texts(site, f"{e}:typeOfSite") == [mapping.SITE_TYPE[fleet[3]["parking_type"]]]
    assert texts(site, f"{f}:operator/{f}:name/com:values/com:value") == ["Example CPO"]
    assert texts(site, f"{f}:operator/{f}:subOrganisation/{f}:name/com:values/com:value") == ["Example Sub-CPO"]
    assert texts(site, f"{f}:owner/{f}:name/com:values/com:value") == ["Stadtwerke Example"]
    phone = f"{f}:helpdesk" if profile == "afir" else f"{f}:operator"
    assert texts(site, f"{phone}/{f}:organisationUnit/{f}:contactInformation/{f}:telephoneNumber") == [
        "+49301234567"]  # sent as +49 30 1234567: E.164 (nap/phone.py)
    hours = site.xpath(f"{f}:operatingHours", namespaces=NS)[0]
    assert hours.get(XSI_TYPE) == f"{f}:OperatingHoursSpecification"
    assert texts(hours, ".//com:startTimeOfPeriod") == ["07:00:00", "22:00:00"]
    point = site.xpath(f".//{e}:refillPoint[@id='DE*NAP*LOC-003#evse:EVSE-3-0']", namespaces=NS)[0]
    identifier = f"{f}:externalIdentifier/{f}:identifier" if profile == "afir" else f"{f}:externalIdentifier"
    assert texts(point, identifier) == ["DE*NAP*E000030"]
    assert texts(point, f"{e}:deliveryUnit") == ["kWh"]
    open_all = table.xpath(f"//{e}:energyInfrastructureSite[@id='DE*NAP*LOC-001']/{f}:operatingHours", namespaces=NS)
    assert open_all[0].get(XSI_TYPE) == f"{f}:OpenAllHours"
    # facilities: hotel (i=0) as service facility, airport (i=15) as associated facility
    assert table.xpath(f"//{e}:energyInfrastructureSite[@id='DE*NAP*LOC-000']/{f}:supplementalFacility"
                       f"[{f}:serviceFacilityType='hotel']", namespaces=NS)
    assert texts(table, f"//{e}:energyInfrastructureSite[@id='DE*NAP*LOC-015']/{f}:associatedFacility/{f}:type") == [
        "airport"]


@pytest.mark.parametrize("profile", PROFILES)
def test_parking_mapping(documents, profile):
    e, f = egi(profile), fac(profile)
    table = documents[profile, "table"]
    space_tag = f"{f}:dedicatedParkingSpaces" if profile == "afir" else f"{e}:vehicleSpace"
    spaces = table.xpath(f"//{e}:refillPoint/{space_tag}", namespaces=NS)
    assert spaces
    space = spaces[0]
    assert texts(space, f"{f}:dimension/{f}:length") == ["6"] and texts(space, f"{f}:dimension/{f}:width") == ["3"]
    assert texts(space, f"{f}:applicableForVehicles/com:heightCharacteristic/com:vehicleHeight") == ["2.5"]
    assert texts(space, f"{f}:applicableForVehicles/com:grossWeightCharacteristic/com:grossVehicleWeight") == ["3.5"]
    assert "lorry" in texts(table, f"//{space_tag}/{f}:applicableForVehicles/com:vehicleType")
    assert "disabilityAccessible" in texts(table, f"//{space_tag}/{f}:accessibility")
    if profile == "afir":
        assert set(texts(table, f"//{space_tag}/{e}:numberOfSpaces")) == {"1"}
        assert "customers" in texts(table, f"//{space_tag}/{e}:userSpecific")
        # the parking place no EVSE refers to goes on the site
        assert table.xpath(f"//{e}:energyInfrastructureSite/{f}:dedicatedParkingSpaces", namespaces=NS)
    else:
        assert "false" in texts(table, f"//{space_tag}/{e}:parkingAllowedAfterCharging")


def test_afir_energy_rates(documents):
    table = documents["afir", "table"]
    ac_point = table.xpath("//aegi:refillPoint[@id='DE*NAP*LOC-000#evse:EVSE-0-0']", namespaces=NS)[0]
    rates = {rate.get("id").rsplit(":", 1)[1]: rate for rate in ac_point.xpath(".//aegi:energyRate", namespaces=NS)}
    # published: ad hoc / typeless, REGULAR (as contract), PEAK (time of day); dropped: ODD (0.589), EXPIRED, MISSING
    assert set(rates) == {"AC", "TIERED", "HOURLY", "FREE", "REGULAR", "PEAK"}
    ac = rates["AC"]
    assert texts(ac, "aegi:ratePolicy") == ["adHoc"] and texts(ac, "aegi:applicableCurrency") == ["EUR"]
    assert texts(ac, "aegi:energyPrice/aegi:priceType") == ["pricePerKWh"]
    assert texts(ac, "aegi:energyPrice/aegi:value") == ["0.49"]
    assert texts(ac, "aegi:energyPrice/aegi:taxIncluded") == ["true"]
    assert texts(ac, "aegi:energyPrice/aegi:taxRate") == ["19"]
    assert texts(ac, "aegi:payment/afac:paymentMeans") == ["paymentDebitCard"]  # EVSE-0-0 is DEBIT_CARD_PAYABLE
    tiered = rates["TIERED"]
    assert texts(tiered, "aegi:energyPrice/aegi:priceType") == ["pricePerKWh", "pricePerKWh", "pricePerMinute"]
    assert texts(tiered, "aegi:energyPrice/aegi:value") == ["0.59", "0.49", "0.10"]
    assert texts(tiered, "aegi:energyPrice/aegi:energyBasedApplicability/aegi:toKWh") == ["20"]
    assert texts(tiered, "aegi:energyPrice/aegi:timeBasedApplicability/aegi:fromMinute") == ["30"]
    assert texts(tiered, "aegi:overallPeriod/com:overallEndTime") == ["2030-01-01T00:00:00Z"]
    hourly = rates["HOURLY"]  # 2.00/h is not a whole cent per minute: kept per hour, as "other"
    assert texts(hourly, "aegi:energyPrice/aegi:priceType") == ["other"]
    assert texts(hourly, "aegi:energyPrice/aegi:value") == ["2.00"]
    assert texts(rates["FREE"], "aegi:energyPrice/aegi:priceType") == ["free"]
    dc = table.xpath("//aegi:energyRate[contains(@id, '#tariff:DC')]", namespaces=NS)[0]
    assert texts(dc, "aegi:combinationWithParkingFee") == ["true"]
    assert texts(dc, "aegi:maximumDeliveryFee") == ["59.50"]  # tax included: after_taxes
    assert texts(dc, "aegi:energyPrice/aegi:priceType") == ["basePrice", "pricePerKWh", "other"]  # + parking
    mix = ac_point.xpath("aegi:energyProduct", namespaces=NS)[0]
    assert texts(mix, "aegi:isGreenEnergy") == ["false"]
    assert "generalGreen" in texts(mix, "aegi:electricEnergySourceRatio/aegi:energySource")
    assert texts(mix, "aegi:mobilityServiceProvider/afac:name/com:values/com:value") == ["Example eMSP"]


@pytest.mark.parametrize("profile", PROFILES)
def test_status_mapping_values(documents, fleet, profile):
    e, f = egi(profile), fac(profile)
    status = documents[profile, "status"]
    by_id = {node.xpath(f"{f}:reference/@id", namespaces=NS)[0]: node
             for node in status.xpath(f"//{e}:refillPointStatus", namespaces=NS)}
    seen = set()
    for location in fleet:
        for evse in location["evses"]:
            node = by_id[f"DE*NAP*{location['id']}#evse:{evse['uid']}"]
            assert node.get(XSI_TYPE) == f"{e}:ElectricChargingPointStatus"
            assert texts(node, f"{e}:status") == [mapping.EVSE_STATUS[evse["status"]]]
            seen.add((evse["status"], texts(node, f"{e}:status")[0]))
    assert ("OUTOFORDER", "outOfOrder") in seen and len(seen) == len(mapping.EVSE_STATUS)
    assert set(texts(status, f"//{e}:energyInfrastructureStationStatus/{e}:isAvailable")) == {"true", "false"}
    assert {"open", "closed"} & set(texts(status, f"//{e}:energyInfrastructureSiteStatus/{f}:openingStatus"))
    if profile == "afir":
        assert "technicalDefect" in texts(status, f"//{e}:refillPointStatus/{f}:operationStatus")
        assert texts(status, f"(//{e}:plannedRefillPointStatus)[1]/{e}:status") == ["available"]


def test_evse_status_table_is_complete_and_schema_spelled():
    assert mapping.EVSE_STATUS == {
        "AVAILABLE": "available", "CHARGING": "charging", "BLOCKED": "blocked", "RESERVED": "reserved",
        "OUTOFORDER": "outOfOrder", "INOPERATIVE": "inoperative", "PLANNED": "planned", "REMOVED": "removed",
        "UNKNOWN": "unknown"}
    xsd = (DATEX2_XSD_DIR / "DATEXII_3_EnergyInfrastructure.xsd").read_text(encoding="utf-8")
    section = xsd.split('name="RefillPointStatusEnum"', 1)[1].split("</xs:simpleType>", 1)[0]
    assert set(mapping.EVSE_STATUS.values()) <= set(re.findall(r'value="([^"]+)"', section))
    assert len(mapping.COUNTRY_ALPHA2) >= 249 and mapping.COUNTRY_ALPHA2["DEU"] == "DE"


# --- ids and versions ------------------------------------------------------------------------

def _site_and_point_versions(location: dict, profile: str = "generic") -> tuple[str, str]:
    root = etree.fromstring(render(write_table, [location], profile)[1])
    site = root.xpath("//egi:energyInfrastructureSite", namespaces=NS)[0]
    point = root.xpath("//egi:refillPoint", namespaces=NS)[0]
    return site.get("version"), point.get("version")


def test_versions_change_with_static_content_only():
    location = synthetic_location(1)
    original = _site_and_point_versions(location)
    assert _site_and_point_versions(copy.deepcopy(location)) == original  # deterministic
    reordered = json.loads(json.dumps(location, sort_keys=True))
    assert _site_and_point_versions(reordered) == original  # key order is irrelevant
    live = copy.deepcopy(location)
    live["evses"][0]["status"] = "CHARGING"
    live["evses"][0]["last_updated"] = live["last_updated"] = "2025-01-01T11:59:00Z"
    assert _site_and_point_versions(live) == original  # status updates keep table versions
    changed = copy.deepcopy(location)
    changed["evses"][0]["connectors"][0]["max_electric_power"] = 11000
    new_site, new_point = _site_and_point_versions(changed)
    assert new_site != original[0] and new_point != original[1]


def test_ids_are_distinct_even_when_ocpi_ids_collide():
    location = copy.deepcopy(synthetic_location(0))
    location["id"] = location["evses"][0]["uid"] = "1"
    root = assert_valid(render(write_table, [location], "generic")[1])
    ids = [node.get("id") for node in root.xpath("//*[@id]")]
    assert len(ids) == len(set(ids))


# --- URLs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_urls_with_spaces_are_percent_encoded_not_dropped(profile):
    e, f = egi(profile), fac(profile)
    location = synthetic_location(3)
    location["images"] = [{"url": "https://cpo.example/img/charger 1.jpg", "category": "LOCATION", "type": "jpeg"},
                          {"url": "https://cpo.example/img/Ladesäule 2.jpg", "category": "ENTRANCE", "type": "jpeg"},
                          {"url": "https://cpo.example/img/schon%20kodiert.jpg", "category": "OTHER", "type": "jpeg"}]
    location["evses"][0]["images"] = [{"url": " https://cpo.example/img/evse [A].jpg ", "category": "CHARGER"}]
    location["parking_places"][0]["images"] = [{"url": "https://cpo.example/img/bay 1.jpg#a#b", "category": "LOCATION"}]
    location["operator"]["website"] = "https://cpo.example/über uns"
    location["operator"]["logo"]["url"] = "https://cpo.example/logo 100%.png"
    _, document = render(write_table, [location], profile, tariffs_by_key=tariff_lookup())
    site = assert_valid(document).xpath(f"//{e}:energyInfrastructureSite", namespaces=NS)[0]
    assert texts(site, f"{f}:photoUrl/com:urlLinkAddress") == [
        "https://cpo.example/img/charger%201.jpg", "https://cpo.example/img/Lades%C3%A4ule%202.jpg",
        "https://cpo.example/img/schon%20kodiert.jpg"]
    assert texts(site, f".//{e}:refillPoint[@id='DE*NAP*LOC-003#evse:EVSE-3-0']/{f}:photoUrl/com:urlLinkAddress") == [
        "https://cpo.example/img/evse%20%5BA%5D.jpg"]
    assert "https://cpo.example/img/bay%201.jpg#a%23b" in texts(site, f".//{f}:photoUrl/com:urlLinkAddress")
    assert texts(site, f"{f}:operator/{f}:linkToGeneralInformation") == ["https://cpo.example/%C3%BCber%20uns"]
    assert texts(site, f"{f}:operator/{f}:linkToLogo") == ["https://cpo.example/logo%20100%25.png"]


@pytest.mark.parametrize(("sent", "published"), [
    ("https://cpo.example/img/charger 1.jpg", "https://cpo.example/img/charger%201.jpg"),
    ("https://cpo.example/img/charger%201.jpg", "https://cpo.example/img/charger%201.jpg"),  # encoded: kept
    ("https://cpo.example/a%2Fb%3F", "https://cpo.example/a%2Fb%3F"),
    ("https://cpo.example/100%.jpg", "https://cpo.example/100%25.jpg"),  # a "%" starting no escape
    ("https://cpo.example/x.jpg?size=large&q=a b", "https://cpo.example/x.jpg?size=large&q=a%20b"),
    ("https://cpo.example/p;v=1/(x)!*'$,@:~_.-+=", "https://cpo.example/p;v=1/(x)!*'$,@:~_.-+="),  # all allowed
    ('https://cpo.example/{x}|"y"<z>^`\\', "https://cpo.example/%7Bx%7D%7C%22y%22%3Cz%3E%5E%60%5C"),
    ("https://cpo.example/x[1]", "https://cpo.example/x%5B1%5D"),
    ("https://cpo.example/x#top#1", "https://cpo.example/x#top%231"),
    ("https://cpo.example/Straße?ort=Köln#ü", "https://cpo.example/Stra%C3%9Fe?ort=K%C3%B6ln#%C3%BC"),  # IRI
    ("https://bücher.example/a b", "https://xn--bcher-kva.example/a%20b"),  # IDNA host
    ("HTTPS://CPO.example:8443/a b", "https://CPO.example:8443/a%20b"),
    ("https://[2001:db8::1]:8080/a b", "https://[2001:db8::1]:8080/a%20b"),
    ("https://cpo.example", "https://cpo.example"),
    ("ftp://cpo.example/a", None), ("cpo.example/a b", None), ("https:///a", None), ("https://cpo example/a", None),
    ("https://cpo.example:99999/a", None), ("https://[2001:db8::1/a", None), ("javascript:alert(1)", None),
    ("", None), (5, None), (None, None),
])
def test_url_percent_encoding(sent, published):
    assert ocpi.url(sent) == published


@pytest.mark.parametrize("plain", ["https://cpo.example/img/l1.jpg", "http://a-b.example/x/y/?q=1&r=(2)#top",
                                   "https://cpo.example", "https://cpo.example/p;v=1/(x)!*'$,@:~_.-+="])
def test_url_shortcut_gives_what_the_encoding_gives(plain):
    assert ocpi.url(plain) == ocpi.uri_of(plain) == plain


# --- operator of locations that name none ----------------------------------------------------

PARTY_OPERATORS = {("DE", "NAP"): {"name": "NAP Ladenetz GmbH", "website": "https://nap-laden.example/über uns",
                                   "logo": {"url": "https://nap-laden.example/logo.png", "category": "OPERATOR"}}}


def _sites(root: etree._Element, profile: str) -> dict[str, etree._Element]:
    return {site.get("id"): site for site in root.xpath(f"//{egi(profile)}:energyInfrastructureSite", namespaces=NS)}


def _operator_name(site: etree._Element, profile: str, tag: str = "operator") -> list[str]:
    f = fac(profile)
    return texts(site, f"{f}:{tag}/{f}:name/com:values/com:value")


@pytest.mark.parametrize("profile", PROFILES)
def test_a_location_without_operator_is_operated_by_its_party(profile):
    e, f = egi(profile), fac(profile)
    without = synthetic_location(15)  # no operator (i % 5 == 0), a suboperator and an owner (i % 3 == 0)
    unknown = synthetic_location(10)
    unknown["party_id"] = "XYZ"  # a party NAP knows nothing of
    fleet = [without, synthetic_location(4), unknown]
    assert "operator" not in without and "operator" not in unknown
    _, table = render(write_table, fleet, profile, tariffs_by_key=tariff_lookup(), party_operators=PARTY_OPERATORS)
    sites = _sites(assert_valid(table), profile)
    assert "operator" not in without  # the caller's document is left as it is

    site = sites["DE*NAP*LOC-015"]
    assert _operator_name(site, profile) == ["NAP Ladenetz GmbH"]
    assert texts(site, f"{f}:operator/{f}:linkToGeneralInformation") == ["https://nap-laden.example/%C3%BCber%20uns"]
    assert texts(site, f"{f}:operator/{f}:linkToLogo") == ["https://nap-laden.example/logo.png"]
    assert texts(site, f"{f}:operator/{f}:subOrganisation/{f}:name/com:values/com:value") == ["Example Sub-CPO"]
    assert _operator_name(site, profile, "owner") == ["Stadtwerke Example"]
    helpdesk = f"{f}:helpdesk" if profile == "afir" else f"{f}:operator"
    assert _operator_name(site, profile, helpdesk.split(":")[1]) == ["NAP Ladenetz GmbH"]
    assert texts(site, f"{helpdesk}/{f}:organisationUnit/{f}:contactInformation/{f}:telephoneNumber") == [
        "+49301234567"]  # sent as +49 30 1234567: E.164 (nap/phone.py)
    assert _operator_name(sites["DE*NAP*LOC-004"], profile) == ["Example CPO"]  # its own operator wins
    # A party NAP knows nothing of: as without the fallback, no operator; the AFIR helpdesk
    # is named by the party's id.
    assert _operator_name(sites["DE*XYZ*LOC-010"], profile) == []
    if profile == "afir":
        assert _operator_name(sites["DE*XYZ*LOC-010"], profile, "helpdesk") == ["DE*XYZ"]

    # The operator is part of the site's static description: its version changes with it,
    # and the status publication, given the same operators, references that version.
    _, plain = render(write_table, fleet, profile, tariffs_by_key=tariff_lookup())
    plain_sites = _sites(assert_valid(plain), profile)
    assert _operator_name(plain_sites["DE*NAP*LOC-015"], profile) == []
    changed = {key for key in sites if sites[key].get("version") != plain_sites[key].get("version")}
    assert changed == {"DE*NAP*LOC-015"}
    _, status = render(write_status, fleet, profile, party_operators=PARTY_OPERATORS)
    references = {(r.get("id"), r.get("version"))
                  for r in assert_valid(status).xpath(f"//{e}:energyInfrastructureSiteStatus/{f}:reference",
                                                      namespaces=NS)}
    assert references == {(key, site.get("version")) for key, site in sites.items()}


def test_party_operators_are_looked_up_whatever_the_case_of_the_party():
    location = synthetic_location(5)
    location["country_code"], location["party_id"] = "de", "nap"
    _, table = render(write_table, [location], "afir", party_operators=PARTY_OPERATORS)
    assert _operator_name(_sites(assert_valid(table), "afir")["DE*NAP*LOC-005"], "afir") == ["NAP Ladenetz GmbH"]


# --- robustness ------------------------------------------------------------------------------

def _bad_locations() -> list[dict]:
    good = synthetic_location(0)
    bad_coordinates = [{"latitude": "abc", "longitude": "13.4"}, {"latitude": "91.000000", "longitude": "13.4"},
                       {"latitude": "NaN", "longitude": "Infinity"}, {"latitude": None}, "52.5,13.4", None]
    result = []
    for n, coordinates in enumerate(bad_coordinates):
        location = copy.deepcopy(good)
        location["id"], location["coordinates"] = f"BAD-{n}", coordinates
        result.append(location)
    no_coordinates = copy.deepcopy(good)
    no_coordinates["id"] = "NO-COORDINATES"
    del no_coordinates["coordinates"]
    return result + [no_coordinates, {"id": "no-party"}, "not a location", None, 42]


@pytest.mark.parametrize("profile", PROFILES)
def test_bad_coordinates_skip_the_location_without_crashing(profile):
    good = synthetic_location(0)
    for writer in (write_table, write_status):
        count, document = render(writer, _bad_locations() + [good], profile)
        root = assert_valid(document)
        assert count == len(good["evses"])
        tag = "energyInfrastructureSite" if writer is write_table else "energyInfrastructureSiteStatus"
        assert len(root.xpath(f"//{egi(profile)}:{tag}", namespaces=NS)) == 1


def _garbage_location() -> dict:
    location = synthetic_location(2)
    location.update({
        "name": "Bad\x00name\x1f with control chars \ud800" + "x" * 3000, "postal_code": 10115, "country": "XXX",
        "coordinates": {"latitude": 52.5, "longitude": 13.4},  # numbers instead of strings: still usable
        "opening_times": {"twentyfourseven": "yes", "regular_hours": [{"weekday": 9, "period_begin": "25:00"},
                                                                      "nonsense", {"weekday": True}]},
        "facilities": "WIFI", "images": [None, {"url": 5}], "energy_mix": {"energy_sources": [{"source": "X"}]},
        "operator": {"name": ""}, "owner": "someone", "parking_places": [{"id": None}, "P0"],
        "directions": [{"language": "not a language!", "text": "ok"}], "last_updated": "0999-01-01T00:00:00Z",
        "time_zone": "Mars/Olympus",
    })
    location["evses"].extend([
        {"uid": "NO-CONNECTORS", "status": "WEIRD", "connectors": None},
        {"uid": "BAD-CONNECTORS", "status": "AVAILABLE",
         "connectors": ["x", {"standard": None, "max_voltage": "abc", "max_amperage": -1},
                        {"standard": "IEC_62196_T2", "power_type": "AC_3_PHASE", "max_voltage": 230,
                         "max_amperage": 16, "max_electric_power": "lots", "format": "PLUG"}],
         "capabilities": "RFID_READER", "parking": [{"parking_id": "nowhere"}, 7], "coordinates": {"latitude": "x"},
         "status_schedule": [{"status": "PLANNED"}, "x"], "last_updated": "0001-01-01T00:30:00+01:00"},
        {"uid": "BAD-DATE", "status": "AVAILABLE", "last_updated": "yesterday", "connectors": [
            {"standard": ["IEC_62196_T2"], "format": {}, "power_type": "DC", "max_voltage": 1e308,
             "max_amperage": 1e308}]},
        {"uid": None, "connectors": []},
        "not an evse",
    ])
    return location


@pytest.mark.parametrize("profile", PROFILES)
def test_garbage_everywhere_still_gives_valid_documents(profile):
    tariffs = synthetic_tariffs()
    tariffs["DE", "NAP", "AC"] = {"id": "AC", "elements": "broken"}  # and a broken tariff
    lookup = lambda country, party, tariff_id: tariffs.get((country, party, tariff_id))  # noqa: E731
    location = _garbage_location()
    count, document = render(write_table, [location], profile, tariffs_by_key=lookup)
    assert count >= 2
    root = assert_valid(document)
    names = texts(root, f"//{egi(profile)}:energyInfrastructureSite/{fac(profile)}:name/com:values/com:value")
    assert len(names[0]) == 1024 and "\x00" not in names[0]
    assert_valid(render(write_status, [location], profile)[1])


def test_unknown_profile_is_rejected():
    with pytest.raises(ValueError):
        write_table(io.BytesIO(), [], profile="datex", publication_time=NOW)


# --- streaming -------------------------------------------------------------------------------

class ByteCounter:
    """A write-only sink: keeping the output would itself be memory that grows."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def streamed_locations(count: int):
    for i in range(count):
        yield {"country_code": "DE", "party_id": "NAP", "id": f"STREAM-{i}", "address": "Teststraße 1",
               "city": "Berlin", "postal_code": "10115", "country": "DEU",
               "coordinates": {"latitude": "52.520008", "longitude": "13.404954"},
               "evses": [{"uid": f"E{i}", "evse_id": f"DE*NAP*E{i}", "status": "AVAILABLE", "last_updated": STAMP,
                          "connectors": [connector(1, "IEC_62196_T2", "AC_3_PHASE", 230, 16)]}],
               "time_zone": "Europe/Berlin", "last_updated": STAMP}


def _written_and_peak(locations: int) -> tuple[int, int, int]:
    """(refill points written, bytes written, peak memory growth) of a generic table."""
    sink = ByteCounter()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        count = write_table(sink, streamed_locations(locations), profile="generic", publication_time=NOW)
        return count, sink.size, tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()


def test_write_table_streams_in_constant_memory():
    # Two sizes rather than one large table: tracemalloc slows the writer several times over,
    # and what shows streaming is that three times the output takes no more memory.
    _, small_size, small_peak = _written_and_peak(1_000)
    count, size, peak = _written_and_peak(3_000)
    assert count == 3_000
    assert size > 3_000 * 1_000 and size > 2.9 * small_size  # everything was written...
    assert peak < 2 * 1024 * 1024 and peak < small_peak + 1024 * 1024, \
        f"peak memory growth {peak / 1e6:.1f} MB (at 1,000 locations: {small_peak / 1e6:.1f} MB)"  # ...without holding it


# --- tariffs: every OCPI example in both models, checked value by value --------------------

TARIFF_EXAMPLES = sorted(path.name for path in (OCPI / "examples").glob("tariff*.json"))
# Before tariff_6's end_date_time (2019-06-30), so no example is expired.
EARLY = datetime(2019, 1, 1, tzinfo=timezone.utc)
# 230 V x 16 A on one phase: 3.68 kW, 16 A. Decides the power/current examples (see below).
SMALL_AC = {"standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_1_PHASE", "max_voltage": 230,
            "max_amperage": 16}
# What cannot be published at SMALL_AC, as (example, profile) -> OCPI field named in the log.
EXAMPLE_DROPS = {
    ("tariff_3_alt_url.json", "afir"): "type",          # PROFILE_CHEAP: a charging preference
    ("tariff_3_alt_url.json", "generic"): "type",
    ("tariff_4_complex.json", "generic"): "day_of_week",  # no day applicability in fac:RateLine*
    ("tariff_put_example.json", "afir"): "last_updated",  # aegi:EnergyRate/lastUpdated is mandatory
}
# Elements left out without changing the price at SMALL_AC: OCPI index -> why.
EXAMPLE_OMISSIONS = {
    "tariff_4_complex.json": {3: "never", 4: "never"},  # min_current 32 A: 16 A is never reached
    "tariff_15_reservation_5_euro_per_hour.json": {1: "reservation"},
    "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json": {1: "reservation"},
    "tariff_17_reservation_with_expire_fee.json": {1: "reservation", 2: "reservation"},
    "tariff_18_reservation_with_expire_time.json": {1: "reservation", 2: "reservation"},
    # max_power 16 kW always holds at 3.68 kW, so OCPI always takes element 1 for ENERGY.
    "tariffrestriction_example_max_power.json": {2: "shadowed", 3: "shadowed"},
}
CENT = Decimal("0.01")


def tariff_example(name: str) -> dict:
    return json.loads((OCPI / "examples" / name).read_text(encoding="utf-8"))


def render_tariffs(tariffs: list[dict], profile: str, *, connector_template: dict = SMALL_AC,
                   at: datetime = EARLY, counts: TariffCounts | None = None,
                   ) -> tuple[etree._Element, list[etree._Element]]:
    """One location whose single connector uses every given tariff (same CPO); returns the
    validated document and the rates written (aegi:energyRate / egi:rates). What the
    publication left out is counted into `counts`."""
    by_key = {(t["country_code"], t["party_id"], t["id"]): t for t in tariffs}
    out = io.BytesIO()
    write_table(out, [tariff_location(tariffs, connector_template)], profile=profile, publication_time=at,
                tariffs_by_key=lambda country, party, tariff_id: by_key.get((country, party, tariff_id)),
                tariff_counts=counts)
    root = assert_valid(out.getvalue())
    rate_path = "//aegi:energyRate" if profile == "afir" else "//egi:electricEnergyMix/egi:rates"
    return root, root.xpath(rate_path, namespaces=NS)


def tariff_location(tariffs: list[dict], connector_template: dict = SMALL_AC) -> dict:
    """A location of the tariffs' CPO whose single connector uses every given tariff."""
    first = tariffs[0]
    return {
        "country_code": first["country_code"], "party_id": first["party_id"], "id": "TARIFF-LOC",
        "address": "Teststraße 1", "city": "Berlin", "country": "DEU", "time_zone": "Europe/Berlin",
        "coordinates": {"latitude": "52.52", "longitude": "13.40"}, "last_updated": STAMP,
        "evses": [{"uid": "E1", "status": "AVAILABLE", "capabilities": ["CREDIT_CARD_PAYABLE", "RFID_READER"],
                   "last_updated": STAMP,
                   "connectors": [{"id": "1", **connector_template, "tariff_ids": [t["id"] for t in tariffs]}]}],
    }


def one(node: etree._Element, xpath: str) -> str | None:
    found = texts(node, xpath)
    assert len(found) <= 1, (xpath, found)
    return found[0] if found else None


def ocpi_time(value: str | None) -> str:
    return f"{value or '00:00'}:00"


def expected_afir_price(component: dict) -> tuple[str, Decimal, str | None]:
    """(priceType, value, note) the AFIR model should carry for an OCPI PriceComponent."""
    price = Decimal(str(component["price"]))
    if component["type"] == "TIME":
        per_minute = price / 60
        if per_minute == per_minute.quantize(CENT):
            return "pricePerMinute", per_minute, None
        return "other", price, mapping.PRICE_NOTE_HOURLY
    if component["type"] == "PARKING_TIME":
        return "other", price, mapping.PRICE_NOTE_PARKING
    return {"ENERGY": "pricePerKWh", "FLAT": "basePrice"}[component["type"]], price, None


def check_afir_restrictions(price: etree._Element, restrictions: dict) -> None:
    has_time = restrictions.get("start_time") or restrictions.get("end_time")
    assert (one(price, ".//com:startTimeOfPeriod"), one(price, ".//com:endTimeOfPeriod")) == (
        (ocpi_time(restrictions.get("start_time")), ocpi_time(restrictions.get("end_time"))) if has_time
        else (None, None))
    assert texts(price, ".//com:applicableDay") == [day.lower() for day in restrictions.get("day_of_week", [])]
    assert one(price, ".//com:startOfPeriod") == (restrictions.get("start_date") and
                                                 f"{restrictions['start_date']}T00:00:00")
    assert one(price, ".//com:endOfPeriod") == (restrictions.get("end_date") and f"{restrictions['end_date']}T00:00:00")
    for ocpi_key, xpath, unit in (("min_duration", "aegi:timeBasedApplicability/aegi:fromMinute", 60),
                                  ("max_duration", "aegi:timeBasedApplicability/aegi:toMinute", 60),
                                  ("min_kwh", "aegi:energyBasedApplicability/aegi:fromKWh", 1),
                                  ("max_kwh", "aegi:energyBasedApplicability/aegi:toKWh", 1)):
        value = restrictions.get(ocpi_key)
        assert one(price, xpath) == (None if value is None else str(int(value // unit))), ocpi_key


def check_afir_rate(rate: etree._Element, tariff: dict, elements: dict[int, dict]) -> None:
    product = rate.getparent()
    assert one(rate, "aegi:ratePolicy") == ("contract" if tariff.get("type") == "REGULAR" else "adHoc")
    assert one(rate, "aegi:applicableCurrency") == tariff["currency"]
    assert one(rate, "aegi:lastUpdated") == tariff["last_updated"]
    assert texts(rate, "aegi:payment/afac:paymentMeans") == (
        [] if tariff.get("type") == "REGULAR" else ["paymentCreditCard"])
    assert texts(rate, "aegi:additionalInformation/com:values/com:value") == [
        t["text"] for t in tariff.get("tariff_alt_text", [])]
    assert one(product, "aegi:energyProductInformation") == tariff.get("tariff_alt_url")
    tax_key = "after_taxes" if tariff["tax_included"] == "YES" else "before_taxes"
    for ocpi_key, xpath in (("max_price", "aegi:maximumDeliveryFee"), ("min_price", "aegi:minimumDeliveryFee")):
        limit = tariff.get(ocpi_key)
        assert one(rate, xpath) == (None if limit is None else f"{Decimal(str(limit[tax_key])):.2f}")
    assert one(rate, "aegi:overallPeriod/com:overallEndTime") == tariff.get("end_date_time")
    components = [(index, c, element.get("restrictions", {})) for index, element in elements.items()
                  for c in element["price_components"]]
    parking = any(c["type"] == "PARKING_TIME" for _, c, _ in components)
    assert one(rate, "aegi:combinationWithParkingFee") == ("true" if parking else None)
    prices = rate.xpath("aegi:energyPrice", namespaces=NS)
    tax_included = {"YES": "true", "NO": "false"}[tariff["tax_included"]]
    if all(Decimal(str(c["price"])) == 0 for _, c, _ in components):  # free of charge
        assert [(one(p, "aegi:priceType"), one(p, "aegi:value")) for p in prices] == [("free", "0.00")]
        return
    assert len(prices) == len(components)
    for price, (index, component, restrictions) in zip(prices, components):
        kind, value, note = expected_afir_price(component)
        assert one(price, "aegi:priceGroupIndex") == str(index)
        assert one(price, "aegi:priceType") == kind
        assert Decimal(one(price, "aegi:value")) == value  # exact: nothing rounded
        assert one(price, "aegi:taxIncluded") == tax_included
        assert one(price, "aegi:taxRate") == (None if component.get("vat") is None
                                              else ocpi_number(component["vat"]))
        information = one(price, "aegi:additionalInformation/com:values/com:value") or ""
        assert (note or "") in information
        if component.get("step_size", 1) > 1 and component["type"] != "FLAT":
            assert f"billed in steps of {component['step_size']}" in information
        check_afir_restrictions(price, restrictions)


def ocpi_number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def check_generic_rate(rate: etree._Element, tariff: dict, elements: dict[int, dict]) -> None:
    assert rate.get(XSI_TYPE) == "fac:RateTable"
    assert one(rate, "fac:applicableCurrency") == tariff["currency"]
    assert one(rate, "fac:lastUpdated") == tariff.get("last_updated")
    assert one(rate, "fac:rateType") == ("contract" if tariff.get("type") == "REGULAR" else None)
    assert one(rate, "fac:additionalInformation") == tariff.get("tariff_alt_url")
    assert one(rate, "fac:validityEnd") == tariff.get("end_date_time")
    policy = rate.xpath("fac:energyPricingPolicy", namespaces=NS)[0]
    assert texts(policy, "egi:additionalInformation/com:values/com:value") == [
        t["text"] for t in tariff.get("tariff_alt_text", [])]
    tax_key = "after_taxes" if tariff["tax_included"] == "YES" else "before_taxes"
    for ocpi_key, xpath in (("max_price", "egi:maximumDeliveryFee"), ("min_price", "egi:minimumDeliveryFee")):
        limit = tariff.get(ocpi_key)
        assert one(policy, xpath) == (None if limit is None else f"{Decimal(str(limit[tax_key])):.2f}")
    collections = rate.xpath("fac:rateLineCollection", namespaces=NS)
    assert [int(c.get("collectionSequence")) for c in collections] == list(elements)
    tax_included = {"YES": "true", "NO": "false"}[tariff["tax_included"]]
    for collection, element in zip(collections, elements.values()):
        restrictions = element.get("restrictions", {})
        assert one(collection, "fac:applicableCurrency") == tariff["currency"]
        assert one(collection, "fac:taxIncluded") == tax_included
        assert one(collection, "fac:validStart") == (restrictions.get("start_date") and
                                                     f"{restrictions['start_date']}T00:00:00")
        assert one(collection, "fac:validEnd") == (restrictions.get("end_date") and
                                                   f"{restrictions['end_date']}T00:00:00")
        clock = restrictions.get("start_time") or restrictions.get("end_time")
        duration = "min_duration" in restrictions or "max_duration" in restrictions
        assert one(collection, "fac:relativeTimes") == ("false" if clock else "true" if duration else None)
        if clock:
            window = (ocpi_time(restrictions.get("start_time")), ocpi_time(restrictions.get("end_time")))
        else:
            window = tuple(None if restrictions.get(key) is None else
                           f"{restrictions[key] // 3600:02d}:{restrictions[key] // 60 % 60:02d}:00"
                           for key in ("min_duration", "max_duration"))
        lines = collection.xpath("fac:rateLine", namespaces=NS)
        assert len(lines) == len(element["price_components"])
        for line, component in zip(lines, element["price_components"]):
            assert one(line, "fac:rateLineType") == mapping.RATE_LINE_TYPE[component["type"]]
            assert one(line, "fac:description/com:values/com:value").startswith(
                mapping.RATE_LINE_NOTE[component["type"]])
            assert Decimal(one(line, "fac:value")) == Decimal(str(component["price"]))  # the OCPI value
            assert one(line, "fac:incrementPeriod") == (
                "PT1H" if component["type"] in ("TIME", "PARKING_TIME") else None)
            assert (one(line, "fac:durationStart"), one(line, "fac:durationEnd")) == window
            assert one(line, "fac:rateLineTax/fac:taxRate") == (None if component.get("vat") is None
                                                                else ocpi_number(component["vat"]))
            if component.get("vat") is not None:
                assert one(line, "fac:rateLineTax/fac:taxIncluded") == tax_included


def test_every_spec_tariff_example_is_covered():
    assert len(TARIFF_EXAMPLES) >= 20
    assert {name for name, _ in EXAMPLE_DROPS} | set(EXAMPLE_OMISSIONS) <= set(TARIFF_EXAMPLES)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", TARIFF_EXAMPLES)
def test_spec_tariff_examples(name, profile, caplog):
    caplog.set_level(logging.DEBUG, logger="exporters.datex2")  # per-tariff lines are DEBUG
    """Each spec example on a connector: the document validates, and every price component of
    every element that can apply is there with its value, dimension, tax and restrictions."""
    tariff = tariff_example(name)
    omitted = EXAMPLE_OMISSIONS.get(name, {})
    reasons = {"never": OMITTED_NEVER, "reservation": OMITTED_RESERVATION, "shadowed": OMITTED_SHADOWED}
    counts = TariffCounts()
    _, rates = render_tariffs([tariff], profile, counts=counts)
    drop = EXAMPLE_DROPS.get((name, profile))
    if drop:
        assert rates == []
        assert f"tariff {tariff['country_code']}*{tariff['party_id']}*{tariff['id']} not published" in caplog.text
        assert f": {drop}: " in caplog.text
        return
    assert len(rates) == 1, caplog.text
    for why, reason in reasons.items():  # counted, never silent
        assert counts.omitted[profile, reason] == list(omitted.values()).count(why)
    elements = {index: element for index, element in enumerate(tariff["elements"], start=1) if index not in omitted}
    if profile == "afir":
        check_afir_rate(rates[0], tariff, elements)
    else:
        check_generic_rate(rates[0], tariff, elements)


@pytest.mark.parametrize("profile", PROFILES)
def test_several_elements_keep_every_price_not_the_highest(profile):
    """A "max price per dimension" mapping would publish 0.59/kWh (and 0.40/kWh below):
    every element's price, with its own window, must be there instead."""
    time_of_use = {
        "country_code": "DE", "party_id": "NAP", "id": "TOU", "currency": "EUR", "tax_included": "YES",
        "last_updated": STAMP, "elements": [
            {"price_components": [{"type": "ENERGY", "price": 0.59, "vat": 19, "step_size": 1}],
             "restrictions": {"start_time": "07:00", "end_time": "22:00"}},
            {"price_components": [{"type": "ENERGY", "price": 0.39, "vat": 19, "step_size": 1}],
             "restrictions": {"start_time": "22:00", "end_time": "07:00"}},
            {"price_components": [{"type": "FLAT", "price": 0.99, "vat": 19, "step_size": 1},
                                  {"type": "PARKING_TIME", "price": 6.00, "vat": 19, "step_size": 60}],
             "restrictions": {"min_duration": 7200}}]}
    duration_tiers = {**tariff_example("tariffrestriction_example_max_duration.json"), "country_code": "DE",
                      "party_id": "NAP"}
    _, rates = render_tariffs([time_of_use, duration_tiers], profile)
    assert len(rates) == 2
    if profile == "afir":
        tou, tiers = rates
        assert [(one(p, "aegi:priceGroupIndex"), one(p, "aegi:value"), one(p, ".//com:startTimeOfPeriod"))
                for p in tou.xpath("aegi:energyPrice[aegi:priceType='pricePerKWh']", namespaces=NS)] == [
            ("1", "0.59", "07:00:00"), ("2", "0.39", "22:00:00")]
        assert texts(tou, "aegi:energyPrice[aegi:priceGroupIndex='3']/aegi:value") == ["0.99", "6.00"]
        assert [(one(p, "aegi:value"), one(p, "aegi:timeBasedApplicability/aegi:toMinute"))
                for p in tiers.xpath("aegi:energyPrice", namespaces=NS)] == [
            ("0.00", "30"), ("0.25", "60"), ("0.40", None)]
    else:
        tou, tiers = rates
        assert [(c.get("collectionSequence"), one(c, "fac:rateLine/fac:value"),
                 one(c, "fac:rateLine/fac:durationStart"))
                for c in tou.xpath("fac:rateLineCollection", namespaces=NS)[:2]] == [
            ("1", "0.59", "07:00:00"), ("2", "0.39", "22:00:00")]
        assert texts(tou, "fac:rateLineCollection[@collectionSequence='3']/fac:rateLine/fac:value") == ["0.99", "6.00"]
        assert [(one(c, "fac:rateLine/fac:value"), one(c, "fac:rateLine/fac:durationEnd"))
                for c in tiers.xpath("fac:rateLineCollection", namespaces=NS)] == [
            ("0.00", "00:30:00"), ("0.25", "01:00:00"), ("0.40", None)]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(("name", "connector_template", "field", "reach"), [
    ("tariff_4_complex.json", {**SMALL_AC, "power_type": "AC_3_PHASE", "max_amperage": 32}, "max_current", "96 A"),
    ("tariffrestriction_example_max_power.json",
     {"standard": "IEC_62196_T2_COMBO", "format": "CABLE", "power_type": "DC", "max_voltage": 500,
      "max_amperage": 100, "max_electric_power": 50000}, "max_power", "50 kW"),
])
def test_power_and_current_restrictions_that_cannot_be_decided_drop_the_tariff(
        profile, name, connector_template, field, reach, caplog):
    caplog.set_level(logging.DEBUG, logger="exporters.datex2")
    counts = TariffCounts()
    _, rates = render_tariffs([tariff_example(name)], profile, connector_template=connector_template, counts=counts)
    assert rates == []
    assert counts.dropped == {(profile, field): 1}
    assert f": {field}: " in caplog.text and reach in caplog.text


def synthetic_tariff(elements: list[dict], **extra) -> dict:
    return {"country_code": "DE", "party_id": "NAP", "id": "T", "currency": "EUR", "tax_included": "NO",
            "last_updated": STAMP, "elements": elements, **extra}


def energy_element(price: float = 0.30, **restrictions) -> dict:
    element = {"price_components": [{"type": "ENERGY", "price": price, "step_size": 1}]}
    return {**element, "restrictions": restrictions} if restrictions else element


@pytest.mark.parametrize(("tariff", "drops"), [
    (synthetic_tariff([energy_element(0.305)]), {"afir": "price", "generic": "price"}),  # never rounded
    (synthetic_tariff([energy_element(max_kwh=2.5)]), {"afir": "max_kwh", "generic": "max_kwh"}),
    (synthetic_tariff([energy_element(min_kwh=20)]), {"generic": "min_kwh"}),
    (synthetic_tariff([energy_element(max_duration=90)]), {"afir": "max_duration"}),  # not whole minutes
    (synthetic_tariff([energy_element(start_time="08:00", max_duration=3600)]), {"generic": "max_duration"}),
    (synthetic_tariff([energy_element(start_time="8 o'clock")]), {"afir": "start_time", "generic": "start_time"}),
    (synthetic_tariff([energy_element(day_of_week=["MONDAY", "FUNDAY"])]),
     {"afir": "day_of_week", "generic": "day_of_week"}),
    (synthetic_tariff([energy_element(weather="SUNNY")]),  # a restriction OCPI does not define
     {"afir": "weather", "generic": "weather"}),
    (synthetic_tariff([energy_element()], tax_included="YES", max_price={"before_taxes": 10}),
     {"afir": "max_price", "generic": "max_price"}),  # the cap is not on the prices' tax basis
    (synthetic_tariff([energy_element()], type="PROFILE_GREEN"), {"afir": "type", "generic": "type"}),
    (synthetic_tariff([energy_element()], end_date_time="2018-01-01T00:00:00Z"), {"afir": "end_date_time",
                                                                         "generic": "end_date_time"}),
    (synthetic_tariff([energy_element(reservation="RESERVATION")]), {"afir": "reservation", "generic": "reservation"}),
], ids=["amount", "fractional-kwh", "kwh-generic", "seconds", "clock-and-duration", "bad-time", "bad-day",
        "unknown-restriction", "cap-basis", "profile", "expired", "reservation-only"])
@pytest.mark.parametrize("profile", PROFILES)
def test_a_tariff_is_dropped_only_with_a_logged_reason(tariff, drops, profile, caplog):
    caplog.set_level(logging.DEBUG, logger="exporters.datex2")  # per-tariff lines are DEBUG
    field = drops.get(profile)
    counts = TariffCounts()
    _, rates = render_tariffs([tariff], profile, counts=counts)
    if field is None:
        assert len(rates) == 1, caplog.text
        return
    assert rates == []
    assert counts.dropped == {(profile, field): 1}
    assert "tariff DE*NAP*T not published at 1 charging point(s) of DE*NAP*TARIFF-LOC" in caplog.text
    assert f": {field}: " in caplog.text
    # and one WARNING summary per publication, by reason
    assert any(r.levelname == "WARNING" and "tariffs not published at 1 charging point(s)" in r.getMessage()
               and field in r.getMessage() for r in caplog.records)


def test_concurrent_publications_count_only_their_own_drops(caplog):
    """Two tables written at once, each reading its tariff while the other reads its own:
    each counts and reports its own drop. Fails with a process-wide tally that each
    publication reads before and after."""
    tariffs = {"price": synthetic_tariff([energy_element(0.305)]),
               "weather": synthetic_tariff([energy_element(weather="SUNNY")])}
    both_reading = threading.Barrier(2, timeout=10)
    counts = {reason: TariffCounts() for reason in tariffs}

    def publish(reason: str) -> None:
        def lookup(country, party, tariff_id):
            both_reading.wait()
            return tariffs[reason]
        write_table(io.BytesIO(), [tariff_location([tariffs[reason]])], profile="generic", publication_time=EARLY,
                    tariffs_by_key=lookup, tariff_counts=counts[reason])

    threads = [threading.Thread(target=publish, args=(reason,)) for reason in tariffs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert {reason: dict(c.dropped) for reason, c in counts.items()} == {
        "price": {("generic", "price"): 1}, "weather": {("generic", "weather"): 1}}
    summaries = sorted(r.getMessage() for r in caplog.records if "tariffs not published" in r.getMessage())
    summary = "DATEX II generic table: tariffs not published at 1 charging point(s), by reason: "
    assert summaries == [summary + "{'price': 1}", summary + "{'weather': 1}"]


@pytest.mark.parametrize("profile", PROFILES)
def test_tariff_details_without_loss(profile):
    """Tax N/A, billing steps, the tariff's own energy mix and URL, vacuous restrictions."""
    mix = example_json()["location_energymix_example_simple.json"]["energy_mix"]
    tariff = synthetic_tariff(
        [{"price_components": [{"type": "ENERGY", "price": 0.25, "step_size": 100},
                               {"type": "TIME", "price": 1.00, "step_size": 300}],
          "restrictions": {"min_power": 0, "day_of_week": list(mapping.DAY_OF_WEEK),
                           "start_date": "2024-12-24", "end_date": "2025-01-02"}}],
        tax_included="N/A", energy_mix=mix, tariff_alt_url="https://cpo.example/tariffs/T",
        start_date_time="2024-06-01T00:00:00Z")
    _, rates = render_tariffs([tariff], profile, at=NOW)
    [rate] = rates
    green = "true" if mix["is_green_energy"] else "false"
    if profile == "afir":
        product = rate.getparent()
        assert one(product, "aegi:isGreenEnergy") == green
        assert one(product, "aegi:energyProductInformation") == "https://cpo.example/tariffs/T"
        assert texts(rate, "aegi:energyPrice/aegi:taxIncluded") == ["true", "true"]
        assert texts(rate, "aegi:energyPrice/aegi:taxRate") == ["0", "0"]
        assert texts(rate, "aegi:energyPrice/aegi:additionalInformation/com:values/com:value") == [
            "billed in steps of 100 Wh", f"{mapping.PRICE_NOTE_HOURLY}; billed in steps of 300 s"]
        assert texts(rate, ".//com:applicableDay") == []  # all seven days: no restriction
        assert texts(rate, "aegi:energyPrice/aegi:overallPeriod/com:overallStartTime") == ["2024-06-01T00:00:00Z"] * 2
        assert texts(rate, "aegi:energyPrice/aegi:overallPeriod/com:validPeriod/com:endOfPeriod") == [
            "2025-01-02T00:00:00"] * 2
    else:
        assert one(rate.getparent(), "egi:isGreenEnergy") == green
        assert one(rate, "fac:additionalInformation") == "https://cpo.example/tariffs/T"
        assert one(rate, "fac:validityStart") == "2024-06-01T00:00:00Z"
        assert texts(rate, ".//fac:rateLineTax/fac:taxRate") == ["0", "0"]
        assert texts(rate, "fac:energyPricingPolicy/egi:pricingPolicy") == ["pricePerDeliveryUnit",
                                                                            "pricePerChargingTime"]
        assert texts(rate, ".//fac:validEnd") == ["2025-01-02T00:00:00"]


JUNK = [None, "", "x", [], {}, -1, 1e308, ["MONDAY"], {"before_taxes": "x"}]


def junk_variants(tariff: dict):
    """The tariff with one field at a time replaced by junk: top level, restrictions, components."""
    for key in tariff:
        for junk in JUNK:
            yield {**tariff, key: junk}
    for index, element in enumerate(tariff["elements"]):
        for key in list(element.get("restrictions", {})) + ["start_time", "max_kwh", "reservation"]:
            for junk in JUNK:
                elements = copy.deepcopy(tariff["elements"])
                elements[index].setdefault("restrictions", {})[key] = junk
                yield {**tariff, "elements": elements}
        for key in ("type", "price", "vat", "step_size"):
            for junk in JUNK:
                elements = copy.deepcopy(tariff["elements"])
                elements[index]["price_components"][0][key] = junk
                yield {**tariff, "elements": elements}


@pytest.mark.parametrize("profile", PROFILES)
def test_junk_in_any_tariff_field_never_costs_the_location(profile):
    tariffs = [tariff_example(name) for name in ("tariff_4_complex.json", "tariff_6_025kwh_start_max_price.json",
                                                 "tariffrestriction_example_max_duration.json")]
    for tariff in tariffs:
        for variant in junk_variants(tariff):
            variant = {**variant, "country_code": tariff["country_code"], "party_id": tariff["party_id"],
                       "id": tariff["id"]}  # the lookup key stays readable
            root, _ = render_tariffs([variant], profile)
            assert len(root.xpath(f"//{egi(profile)}:refillPoint", namespaces=NS)) == 1, variant


HOSTILE = ["a---b -", "x]]>y <z> & w --> <!--", "c\x01o\x0bn\x1ft\x7fr\u2028l", "-"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("writer", [write_table, write_status], ids=["table", "status"])
@pytest.mark.parametrize("hostile", HOSTILE, ids=["dashes", "markup", "controls", "dash"])
def test_hostile_free_texts_stay_text_in_every_publication(writer, profile, hostile):
    """What a CPO writes (names, address, operator, directions) and what names it (its
    feed's name and licence, in the preamble comment of a bulk file) never breaks the
    document: a preamble with "---" used to make lxml refuse the comment, and the export
    failed for everyone."""
    locations = [synthetic_location(i) for i in range(4)]
    for location in locations:
        location["name"] = f"{hostile} name"
        location["address"] = f"{hostile} street"
        location["city"] = hostile
        location["operator"] = {"name": f"{hostile} operator"}
        location["owner"] = {"name": f"{hostile} owner"}
        location["directions"] = [{"language": "en", "text": f"{hostile} directions"}]
    preamble = f"Source feeds: {hostile} (licence: {hostile}-)"
    count, document = render(writer, locations, profile, preamble=preamble)
    root = assert_valid(document)
    comment = root.getprevious()
    assert isinstance(comment, etree._Comment) and "--" not in comment.text
    assert "Source feeds" in comment.text
