"""DATEX II 3.7 Energy Infrastructure writer: every document is checked against the real XSDs.

Inputs: the OCPI 2.3.0 spec's own Location examples, a synthetic fleet covering the OCPI
enumerations, and deliberately broken data. No mocks: output is parsed and validated with
DATEXII_3_D2Payload.xsd from shared/spec/datex2-3.7.
"""
from __future__ import annotations

import copy
import io
import json
import os
import re
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from exporters.datex2 import mapping
from exporters.datex2.namespaces import AEGI, AFAC, COM, EGI, FAC, LOC, LOCX, XSI_TYPE
from exporters.datex2.status import write_status
from exporters.datex2.table import write_table
from exporters.datex2.validate import load_schema, validate, xsd_dir

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NAP_SHARED_DIR", REPO.parent / "shared"))
OCPI = SHARED / "spec" / "ocpi-2.3.0"
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
    assert (xsd_dir() / "DATEXII_3_D2Payload.xsd").is_file()
    assert load_schema() is load_schema()  # cached
    for path in sorted((xsd_dir() / "examples").glob("*.xml")):
        assert validate(path) == [], path.name
        assert validate(path.read_bytes()) == [], path.name


def test_validate_reports_errors():
    broken = (xsd_dir() / "examples" / "table_min.xml").read_bytes().replace(
        b"<egi:connectorType>iec62196T2</egi:connectorType>", b"<egi:connectorType>type2</egi:connectorType>")
    assert any("connectorType" in error for error in validate(broken))
    assert validate(b"<not-closed>")[0].startswith("not well-formed")


def test_xsd_dir_can_be_configured(monkeypatch, tmp_path):
    monkeypatch.setenv("NAP_DATEX2_XSD_DIR", str(tmp_path))
    assert xsd_dir() == tmp_path


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
        assert texts(dc_point, f"{e}:smartRechargingServices") == ["plugAndCharge"]


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
        "+49 30 1234567"]
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
    # published: ad hoc / typeless, expressible; dropped: REGULAR, PEAK (time of day), ODD (0.589), EXPIRED, MISSING
    assert set(rates) == {"AC", "TIERED", "HOURLY", "FREE"}
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
    assert texts(dc, "aegi:energyPrice/aegi:priceType") == ["basePrice", "pricePerKWh"]
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
    xsd = (xsd_dir() / "DATEXII_3_EnergyInfrastructure.xsd").read_text(encoding="utf-8")
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


def test_write_table_streams_in_constant_memory():
    sink = ByteCounter()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        count = write_table(sink, streamed_locations(20_000), profile="generic", publication_time=NOW)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert sink.size > 20_000 * 1_000  # everything was written...
    assert peak < 30 * 1024 * 1024, f"peak memory growth {peak / 1e6:.1f} MB"  # ...without holding it
