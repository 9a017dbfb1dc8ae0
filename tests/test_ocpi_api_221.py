"""The OCPI 2.2.1 view: the same data converted down, checked against an independent,
strict reading of the 2.2.1 object definitions (mod_locations, mod_tariffs of 2.2.1):
unknown fields, 2.3.0-only fields and enum values outside the 2.2.1 lists are errors."""
from __future__ import annotations

from typing import Literal, Optional

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, Field

from nap.ocpi.downgrade import to_version
from tests.test_ocpi_api_fixtures import (
    CC, EXTENSIONS, J3400, LOCATIONS, MCS_ONLY, PARTY, PRIVATE_SHARED, fetch_all, location_id, token_header,
)

# The shared data set (fixture `published`): one harvest per database for the whole session.
pytest_plugins = ["tests.test_ocpi_api_fixtures"]

DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z?$"
HOUR = r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$"
Status = Literal["AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED", "RESERVED",
                 "UNKNOWN"]
Capability = Literal["CHARGING_PROFILE_CAPABLE", "CHARGING_PREFERENCES_CAPABLE", "CHIP_CARD_SUPPORT",
                     "CONTACTLESS_CARD_SUPPORT", "CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "PED_TERMINAL",
                     "REMOTE_START_STOP_CAPABLE", "RESERVABLE", "RFID_READER", "START_SESSION_CONNECTOR_REQUIRED",
                     "TOKEN_GROUP_CAPABLE", "UNLOCK_CAPABLE"]
ConnectorType = Literal[
    "CHADEMO", "CHAOJI", "DOMESTIC_A", "DOMESTIC_B", "DOMESTIC_C", "DOMESTIC_D", "DOMESTIC_E", "DOMESTIC_F",
    "DOMESTIC_G", "DOMESTIC_H", "DOMESTIC_I", "DOMESTIC_J", "DOMESTIC_K", "DOMESTIC_L", "DOMESTIC_M",
    "DOMESTIC_N", "DOMESTIC_O", "GBT_AC", "GBT_DC", "IEC_60309_2_single_16", "IEC_60309_2_three_16",
    "IEC_60309_2_three_32", "IEC_60309_2_three_64", "IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2",
    "IEC_62196_T2_COMBO", "IEC_62196_T3A", "IEC_62196_T3C", "NEMA_5_20", "NEMA_6_30", "NEMA_6_50", "NEMA_10_30",
    "NEMA_10_50", "NEMA_14_30", "NEMA_14_50", "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN", "TESLA_R", "TESLA_S"]
Facility = Literal["HOTEL", "RESTAURANT", "CAFE", "MALL", "SUPERMARKET", "SPORT", "RECREATION_AREA", "NATURE",
                   "MUSEUM", "BIKE_SHARING", "BUS_STOP", "TAXI_STAND", "TRAM_STOP", "METRO_STATION",
                   "TRAIN_STATION", "AIRPORT", "PARKING_LOT", "CARPOOL_PARKING", "FUEL_STATION", "WIFI"]
ImageCategory = Literal["CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER"]
ParkingRestriction = Literal["EV_ONLY", "PLUGGED", "DISABLED", "CUSTOMERS", "MOTORCYCLES"]
ParkingType = Literal["ALONG_MOTORWAY", "PARKING_GARAGE", "PARKING_LOT", "ON_DRIVEWAY", "ON_STREET",
                      "UNDERGROUND_GARAGE"]
PowerType = Literal["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"]
TokenType = Literal["AD_HOC_USER", "APP_USER", "OTHER", "RFID"]


class V221(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DisplayText(V221):
    language: str = Field(min_length=2, max_length=2)
    text: str = Field(max_length=512)


class Image(V221):
    url: str
    thumbnail: Optional[str] = None
    category: ImageCategory
    type: str = Field(max_length=4)
    width: Optional[int] = Field(None, le=99999)
    height: Optional[int] = Field(None, le=99999)


class BusinessDetails(V221):
    name: str = Field(max_length=100)
    website: Optional[str] = None
    logo: Optional[Image] = None


class GeoLocation(V221):
    latitude: str = Field(pattern=r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
    longitude: str = Field(pattern=r"^-?[0-9]{1,3}\.[0-9]{5,7}$")


class AdditionalGeoLocation(GeoLocation):
    name: Optional[DisplayText] = None


class RegularHours(V221):
    weekday: int = Field(ge=1, le=7)
    period_begin: str = Field(pattern=HOUR)
    period_end: str = Field(pattern=HOUR)


class ExceptionalPeriod(V221):
    period_begin: str = Field(pattern=DATETIME)
    period_end: str = Field(pattern=DATETIME)


class Hours(V221):
    twentyfourseven: bool
    regular_hours: Optional[list[RegularHours]] = None
    exceptional_openings: Optional[list[ExceptionalPeriod]] = None
    exceptional_closings: Optional[list[ExceptionalPeriod]] = None


class EnergySource(V221):
    source: Literal["NUCLEAR", "GENERAL_FOSSIL", "COAL", "GAS", "GENERAL_GREEN", "SOLAR", "WIND", "WATER"]
    percentage: float


class EnvironmentalImpact(V221):
    category: Literal["NUCLEAR_WASTE", "CARBON_DIOXIDE"]
    amount: float


class EnergyMix(V221):
    is_green_energy: bool
    energy_sources: Optional[list[EnergySource]] = None
    environ_impact: Optional[list[EnvironmentalImpact]] = None
    supplier_name: Optional[str] = Field(None, max_length=64)
    energy_product_name: Optional[str] = Field(None, max_length=64)


class PublishTokenType(V221):
    uid: Optional[str] = Field(None, max_length=36)
    type: Optional[TokenType] = None
    visual_number: Optional[str] = Field(None, max_length=64)
    issuer: Optional[str] = Field(None, max_length=64)
    group_id: Optional[str] = Field(None, max_length=36)


class StatusSchedule(V221):
    period_begin: str = Field(pattern=DATETIME)
    period_end: Optional[str] = Field(None, pattern=DATETIME)
    status: Status


class Connector(V221):
    id: str = Field(max_length=36)
    standard: ConnectorType
    format: Literal["SOCKET", "CABLE"]
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: Optional[int] = None
    tariff_ids: Optional[list[str]] = None
    terms_and_conditions: Optional[str] = None
    last_updated: str = Field(pattern=DATETIME)


class Evse(V221):
    uid: str = Field(max_length=36)
    evse_id: Optional[str] = Field(None, max_length=48)
    status: Status
    status_schedule: Optional[list[StatusSchedule]] = None
    capabilities: Optional[list[Capability]] = None
    connectors: list[Connector] = Field(min_length=1)
    floor_level: Optional[str] = Field(None, max_length=4)
    coordinates: Optional[GeoLocation] = None
    physical_reference: Optional[str] = Field(None, max_length=16)
    directions: Optional[list[DisplayText]] = None
    parking_restrictions: Optional[list[ParkingRestriction]] = None
    images: Optional[list[Image]] = None
    last_updated: str = Field(pattern=DATETIME)


class Location(V221):
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=3, max_length=3)
    id: str = Field(max_length=36)
    publish: bool
    publish_allowed_to: Optional[list[PublishTokenType]] = None
    name: Optional[str] = Field(None, max_length=255)
    address: str = Field(max_length=45)
    city: str = Field(max_length=45)
    postal_code: Optional[str] = Field(None, max_length=10)
    state: Optional[str] = Field(None, max_length=20)
    country: str = Field(min_length=3, max_length=3)
    coordinates: GeoLocation
    related_locations: Optional[list[AdditionalGeoLocation]] = None
    parking_type: Optional[ParkingType] = None
    evses: Optional[list[Evse]] = None
    directions: Optional[list[DisplayText]] = None
    operator: Optional[BusinessDetails] = None
    suboperator: Optional[BusinessDetails] = None
    owner: Optional[BusinessDetails] = None
    facilities: Optional[list[Facility]] = None
    time_zone: str
    opening_times: Optional[Hours] = None
    charging_when_closed: Optional[bool] = None
    images: Optional[list[Image]] = None
    energy_mix: Optional[EnergyMix] = None
    last_updated: str = Field(pattern=DATETIME)


class Price(V221):
    excl_vat: float
    incl_vat: Optional[float] = None


class PriceComponent(V221):
    type: Literal["ENERGY", "FLAT", "PARKING_TIME", "TIME"]
    price: float
    vat: Optional[float] = None
    step_size: int


class TariffRestrictions(V221):
    start_time: Optional[str] = Field(None, pattern=HOUR)
    end_time: Optional[str] = Field(None, pattern=HOUR)
    start_date: Optional[str] = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    end_date: Optional[str] = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    min_kwh: Optional[float] = None
    max_kwh: Optional[float] = None
    min_current: Optional[float] = None
    max_current: Optional[float] = None
    min_power: Optional[float] = None
    max_power: Optional[float] = None
    min_duration: Optional[int] = None
    max_duration: Optional[int] = None
    day_of_week: Optional[list[Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY",
                                       "SUNDAY"]]] = None
    reservation: Optional[Literal["RESERVATION", "RESERVATION_EXPIRES"]] = None


class TariffElement(V221):
    price_components: list[PriceComponent] = Field(min_length=1)
    restrictions: Optional[TariffRestrictions] = None


class Tariff(V221):
    country_code: str = Field(min_length=2, max_length=2)
    party_id: str = Field(min_length=3, max_length=3)
    id: str = Field(max_length=36)
    currency: str = Field(min_length=3, max_length=3)
    type: Optional[Literal["AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"]] = None
    tariff_alt_text: Optional[list[DisplayText]] = None
    tariff_alt_url: Optional[str] = None
    min_price: Optional[Price] = None
    max_price: Optional[Price] = None
    elements: list[TariffElement] = Field(min_length=1)
    start_date_time: Optional[str] = Field(None, pattern=DATETIME)
    end_date_time: Optional[str] = Field(None, pattern=DATETIME)
    energy_mix: Optional[EnergyMix] = None
    last_updated: str = Field(pattern=DATETIME)


def get(published, path: str, **kwargs) -> httpx.Response:
    return httpx.get(published.url(path), **kwargs)


def test_every_2_2_1_location_parses_as_2_2_1_and_is_the_2_3_0_one_converted(published):
    modern, _ = fetch_all(published.url("/ocpi/2.3.0/locations"))
    legacy, responses = fetch_all(published.url("/ocpi/2.2.1/locations"), params={"limit": 10})
    assert responses[0].headers["X-Total-Count"] == str(len(modern)) == str(LOCATIONS - 2)
    assert "/ocpi/2.2.1/locations?" in responses[0].headers["Link"]
    assert legacy == [to_version(location, "location", "2.2.1") for location in modern]
    for location in legacy:
        Location.model_validate(location)


def test_every_2_2_1_tariff_parses_as_2_2_1_with_net_prices(published):
    legacy, _ = fetch_all(published.url("/ocpi/2.2.1/tariffs"))
    assert len(legacy) == len(published.tariffs)
    for tariff in legacy:
        Tariff.model_validate(tariff)
    gross = published.tariffs["ADHOC-AC11"]
    assert gross["tax_included"] == "YES"
    net = next(t for t in legacy if t["id"] == "ADHOC-AC11")
    energy = net["elements"][0]["price_components"][0]
    assert energy["price"] == round(gross["elements"][0]["price_components"][0]["price"] / 1.19, 4)
    truck = next(t for t in legacy if t["id"] == "ADHOC-TRUCK")
    assert truck["min_price"] == {"excl_vat": 5.0, "incl_vat": 5.95}


def test_2_2_1_lists_take_the_same_filters(published):
    params = {"date_from": "2024-02-01T08:00:00Z", "date_to": "2024-04-01T08:00:00Z", "limit": 2}
    modern, _ = fetch_all(published.url("/ocpi/2.3.0/tariffs"), params=params)
    legacy, responses = fetch_all(published.url("/ocpi/2.2.1/tariffs"), params=params)
    assert [t["id"] for t in modern] == ["ADHOC-AC11", "ADHOC-AC22", "ADHOC-DC50", "ADHOC-DC150", "ADHOC-DC300"]
    assert legacy == [to_version(tariff, "tariff", "2.2.1") for tariff in modern]
    assert responses[0].headers["X-Total-Count"] == "5" and "date_to=2024-04-01" in responses[0].headers["Link"]


def test_2_3_0_only_fields_and_values_are_converted_or_left_out(published):
    location = get(published, f"/ocpi/2.2.1/locations/{CC}/{PARTY}/{location_id(EXTENSIONS)}").json()["data"]
    Location.model_validate(location)
    assert "parking_places" not in location and "help_phone" not in location
    evse = location["evses"][0]
    assert "parking" not in evse and "accepted_service_providers" not in evse
    assert evse["parking_restrictions"] == ["EV_ONLY", "CUSTOMERS"]  # TAXIS has no counterpart
    assert "SOLAR_CANOPY" not in evse["capabilities"]
    assert "HYPERPLUG_X" not in [c["standard"] for c in evse["connectors"]]
    assert location["facilities"] == ["CAFE"]
    assert [image["category"] for image in location["images"]] == ["LOCATION"]
    assert location["energy_mix"]["environ_impact"] == [{"category": "CARBON_DIOXIDE", "amount": 0.0}]

    j3400 = published.locations[location_id(J3400)]["evses"][0]
    connector = get(published, f"/ocpi/2.2.1/locations/{CC}/{PARTY}/{location_id(J3400)}/{j3400['uid']}/"
                               f"{j3400['connectors'][0]['id']}").json()["data"]
    assert connector["standard"] == "TESLA_S"
    Connector.model_validate(connector)


def test_an_evse_with_only_connector_types_2_2_1_lacks_is_not_in_the_2_2_1_view(published):
    stored = published.locations[location_id(MCS_ONLY)]
    mcs_uid = stored["evses"][0]["uid"]
    path = f"/locations/{CC}/{PARTY}/{location_id(MCS_ONLY)}"
    assert get(published, f"/ocpi/2.3.0{path}/{mcs_uid}").json()["data"]["connectors"][0]["standard"] == "MCS"
    legacy = get(published, f"/ocpi/2.2.1{path}").json()["data"]
    assert [e["uid"] for e in legacy["evses"]] == [e["uid"] for e in stored["evses"][1:]]
    missing = get(published, f"/ocpi/2.2.1{path}/{mcs_uid}")
    assert missing.status_code == 404 and missing.json()["status_code"] == 2003
    assert "2.3.0" in missing.json()["status_message"]


@pytest.mark.parametrize("kind", ["location", "evse", "connector", "tariff"])
def test_single_objects_in_2_2_1_parse_as_2_2_1(published, kind):
    document = published.locations[location_id(12)]
    evse, connector = document["evses"][0], document["evses"][0]["connectors"][0]
    path, model = {
        "location": (f"/locations/{CC}/{PARTY}/{document['id']}", Location),
        "evse": (f"/locations/{CC}/{PARTY}/{document['id']}/{evse['uid']}", Evse),
        "connector": (f"/locations/{CC}/{PARTY}/{document['id']}/{evse['uid']}/{connector['id']}", Connector),
        "tariff": (f"/tariffs/{CC}/{PARTY}/ADHOC-DC300", Tariff),
    }[kind]
    response = get(published, f"/ocpi/2.2.1{path}")
    assert response.status_code == 200
    model.model_validate(response.json()["data"])
    original = get(published, f"/ocpi/2.3.0{path}").json()["data"]
    assert response.json()["data"] == to_version(original, kind, "2.2.1")


def test_a_private_location_parses_as_2_2_1_for_its_consumer(published):
    response = get(published, f"/ocpi/2.2.1/locations/{CC}/{PARTY}/{location_id(PRIVATE_SHARED)}",
                   headers=token_header(published.consumer_token))
    assert response.status_code == 200
    location = Location.model_validate(response.json()["data"])
    assert location.publish is False and [t.uid for t in location.publish_allowed_to] == ["RFID-0001"]
