"""Issue 23, "publish what OCPI carries": AFIR Annex items the DATEX II output now holds
(time zone, smart charging, legal name, renewable energy, helpdesk number). Every document
is validated against the real XSD; the demo CPO's fleet is the input where it shows a case.
"""
from __future__ import annotations

import copy
import io
from datetime import datetime, timezone

import pytest
from lxml import etree

from exporters.datex2.status import write_status
from exporters.datex2.table import write_table
from demo_cpo.fleet import generate_fleet
from tests.test_datex2 import NS, PROFILES, assert_valid, egi, fac, synthetic_location, tariff_lookup, texts

BEFORE_DST = datetime(2026, 3, 29, 0, 59, tzinfo=timezone.utc)  # Europe/Berlin: 01:59 CET
AFTER_DST = datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)    # 03:00 CEST


def render_at(writer, locations, profile: str, at: datetime, **options) -> etree._Element:
    out = io.BytesIO()
    writer(out, locations, profile=profile, publication_time=at, **options)
    return assert_valid(out.getvalue())


@pytest.fixture(scope="module")
def demo():
    fleet = generate_fleet(200)
    tariffs = {(t["country_code"], t["party_id"], t["id"]): t for t in fleet.tariffs}
    return fleet.locations, (lambda country, party, tariff_id: tariffs.get((country, party, tariff_id)))


@pytest.fixture(scope="module")
def demo_afir(demo):
    locations, lookup = demo
    return render_at(write_table, locations, "afir", AFTER_DST, tariffs_by_key=lookup)


def _sites(root: etree._Element, profile: str) -> list[etree._Element]:
    return root.xpath(f"//{egi(profile)}:energyInfrastructureSite", namespaces=NS)


# --- A15 time zone ------------------------------------------------------------------------------

SITE_TIME_ZONE = {
    "afir": "afac:locationReference/loc:_locationExtension/loc:afirFacilityLocation/afac:timeZone",
    "generic": "fac:locationReference/loc:_locationReferenceExtension/loc:facilityLocation/locx:timeZone",
}


def test_every_demo_site_has_its_time_zone(demo_afir):
    sites = _sites(demo_afir, "afir")
    assert len(sites) == 200
    assert {tuple(texts(site, SITE_TIME_ZONE["afir"])) for site in sites} == {("+02:00",)}


@pytest.mark.parametrize("profile", PROFILES)
def test_time_zone_offset_follows_daylight_saving_time(profile):
    location = synthetic_location(1)  # Europe/Berlin
    elsewhere = synthetic_location(2)
    elsewhere["time_zone"] = "Asia/Kolkata"  # no DST, half-hour offset
    before, after = (render_at(write_table, [location, elsewhere], profile, at) for at in (BEFORE_DST, AFTER_DST))
    (berlin_before, kolkata_before), (berlin_after, kolkata_after) = _sites(before, profile), _sites(after, profile)
    assert texts(berlin_before, SITE_TIME_ZONE[profile]) == ["+01:00"]
    assert texts(berlin_after, SITE_TIME_ZONE[profile]) == ["+02:00"]
    assert texts(kolkata_before, SITE_TIME_ZONE[profile]) == texts(kolkata_after, SITE_TIME_ZONE[profile]) == [
        "+05:30"]
    # A new offset is a new version of the site (and of what shares its version); a zone
    # whose offset stayed keeps its version.
    assert berlin_before.get("version") != berlin_after.get("version")
    assert kolkata_before.get("version") == kolkata_after.get("version")
    # The status publication of the same moment references the table's versions.
    status = render_at(write_status, [location], profile, AFTER_DST)
    f = fac(profile)
    assert texts(status, f"//{egi(profile)}:energyInfrastructureSiteStatus/{f}:reference/@version") == [
        berlin_after.get("version")]


@pytest.mark.parametrize("zone", [None, "Mars/Olympus", "../etc/passwd", "", ["Europe/Berlin"]])
def test_an_unknown_time_zone_is_left_out(zone):
    location = synthetic_location(1)
    if zone is None:
        del location["time_zone"]
    else:
        location["time_zone"] = zone
    for profile in PROFILES:
        site = _sites(render_at(write_table, [location], profile, AFTER_DST), profile)[0]
        assert texts(site, SITE_TIME_ZONE[profile]) == []


def test_offset_since_names_the_change():
    from exporters.datex2.time_zones import offset_since

    assert offset_since("Europe/Berlin", AFTER_DST) == AFTER_DST
    assert offset_since("Europe/Berlin", datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)) == datetime(
        2025, 10, 26, 1, 0, tzinfo=timezone.utc)
    assert offset_since("Asia/Kolkata", AFTER_DST) is None
    assert offset_since("Nowhere/Special", AFTER_DST) is None


def test_table_version_and_last_change_follow_the_offsets(demo_cpo, sessions, settings):
    from exporters.datex2.source import table_state
    from tests.harvest_helpers import register_and_harvest

    assert register_and_harvest(sessions, settings, demo_cpo(locations=3)).status == "success"
    next_change = datetime(2027, 3, 28, 1, 0, tzinfo=timezone.utc)  # after the harvest: no data changes since
    with sessions() as session:
        winter = table_state(session, next_change.replace(minute=0) - (AFTER_DST - BEFORE_DST))
        later_winter = table_state(session, next_change.replace(hour=0))
        summer = table_state(session, next_change)
    assert winter[1] == later_winter[1] != summer[1]
    assert winter[0] == later_winter[0] < next_change  # the harvest
    assert summer[0] == next_change  # the table changed then, though no data did


# --- B9 smart charging --------------------------------------------------------------------------

def test_smart_recharging_services_from_the_evse_capabilities():
    location = synthetic_location(1)
    evses = location["evses"]  # EVSE 0: DC with Plug & Charge; EVSE 1: AC without
    evses[0]["capabilities"] = ["CHARGING_PROFILE_CAPABLE", "CHARGING_PREFERENCES_CAPABLE", "RFID_READER"]
    evses[1]["capabilities"] = ["CHARGING_PREFERENCES_CAPABLE", "REMOTE_START_STOP_CAPABLE"]
    root = render_at(write_table, [location], "afir", AFTER_DST, tariffs_by_key=tariff_lookup())
    services = {point.get("id").rsplit(":", 1)[1]: texts(point, "aegi:smartRechargingServices")
                for point in root.xpath("//aegi:refillPoint", namespaces=NS)}
    assert services == {"EVSE-1-0": ["remoteMonitoring", "powerOptimisationByUser", "plugAndCharge"],
                        "EVSE-1-1": ["powerOptimisationByUser"]}


def test_demo_charging_profiles_are_published(demo, demo_afir):
    locations, _ = demo
    capable = sum("CHARGING_PROFILE_CAPABLE" in evse.get("capabilities", [])
                  for location in locations for evse in location["evses"])
    assert capable and len(texts(demo_afir, "//aegi:smartRechargingServices[. = 'remoteMonitoring']")) == capable


# --- A1 operator's legal name -------------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_the_operators_name_is_its_legal_name(profile):
    from tests.test_datex2 import PARTY_OPERATORS

    own, from_party = synthetic_location(1), synthetic_location(5)  # LOC-005 names no operator
    root = render_at(write_table, [own, from_party], profile, AFTER_DST, party_operators=PARTY_OPERATORS)
    f = fac(profile)
    legal = [texts(site, f"{f}:operator/{f}:legalName/com:values/com:value") for site in _sites(root, profile)]
    assert legal == [["Example CPO"], ["NAP Ladenetz GmbH"]]
    # Only the operator: owners, sub-operators and helpdesks are not named by the Annex.
    assert texts(root, f"//{f}:owner/{f}:legalName | //{f}:subOrganisation/{f}:legalName") == []


# --- B10 100 % renewable ------------------------------------------------------------------------

def test_demo_station_and_energy_products_agree_on_renewable_energy(demo, demo_afir):
    locations, _ = demo
    # The sites whose own mix is not green, all of whose tariffs supply green energy (issue 23).
    assert sum(location["energy_mix"]["is_green_energy"] is False for location in locations) == 61
    for site in _sites(demo_afir, "afir"):
        station = site.xpath("aegi:energyInfrastructureStation", namespaces=NS)[0]
        products = set(texts(station, "aegi:refillPoint/aegi:energyProduct/aegi:isGreenEnergy"))
        assert texts(station, "aegi:renewableSources") == [products.pop()] and not products, site.get("id")


def _renewable(location: dict, **options) -> tuple[list[str], set[str]]:
    root = render_at(write_table, [location], "afir", AFTER_DST, **options)
    station = root.xpath("//aegi:energyInfrastructureStation", namespaces=NS)[0]
    return texts(station, "aegi:renewableSources"), set(texts(station, ".//aegi:isGreenEnergy"))


def test_not_renewable_is_said_explicitly():
    grey, green = synthetic_location(2), synthetic_location(2)  # the spec's complete energy mix example
    grey["energy_mix"] = {**grey["energy_mix"], "is_green_energy": False}
    green["energy_mix"] = {**green["energy_mix"], "is_green_energy": True}
    assert _renewable(grey) == (["false"], {"false"})
    assert _renewable(green) == (["true"], {"true"})
    assert _renewable(synthetic_location(1)) == ([], set())  # no energy mix: nothing is known
    # A tariff's own mix describes the energy sold with it (OCPI): one grey tariff at a green
    # location makes the station not 100 % renewable, as its product says.
    tariffs = {("DE", "NAP", "AC"): {"country_code": "DE", "party_id": "NAP", "id": "AC", "currency": "EUR",
                                     "type": "AD_HOC_PAYMENT", "tax_included": "YES",
                                     "last_updated": "2024-01-01T12:00:00Z",
                                     "energy_mix": {"is_green_energy": False},
                                     "elements": [{"price_components": [
                                         {"type": "ENERGY", "price": 0.49, "step_size": 1}]}]}}
    assert _renewable(green, tariffs_by_key=lambda *key: tariffs.get(key)) == (["false"], {"true", "false"})


# --- A5 helpdesk number -------------------------------------------------------------------------

HELPDESK_PHONE = {
    "afir": "afac:helpdesk/afac:organisationUnit/afac:contactInformation/afac:telephoneNumber",
    "generic": "fac:operator/fac:organisationUnit/fac:contactInformation/fac:telephoneNumber",
}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("sent, country, published", [
    ("+49 800 5523240", "DEU", "+498005523240"),   # the demo CPO's
    ("030 1234567", "DEU", "+49301234567"),        # national form: the location's country
    ("0049 (0)30-1234567", "DEU", "+49301234567"),
    ("020 123 4567", "NLD", "+31201234567"),
    ("+31 20 123 4567", "DEU", "+31201234567"),    # its own country code wins
    ("+49 12", "DEU", "+49 12"),                   # no valid number: as sent
    ("Hotline Mo-Fr", "DEU", "Hotline Mo-Fr"),
    ("030 1234567", "XYZ", "030 1234567"),         # no country to read it in
])
def test_help_phone_is_published_as_plus_country_code_and_number(profile, sent, country, published):
    location = copy.deepcopy(synthetic_location(1))
    location["help_phone"], location["country"] = sent, country
    site = _sites(render_at(write_table, [location], profile, AFTER_DST), profile)[0]
    assert texts(site, HELPDESK_PHONE[profile]) == [published]


def test_demo_helpdesk_numbers_are_normalised(demo_afir):
    assert set(texts(demo_afir, "//" + HELPDESK_PHONE["afir"])) == {"+498005523240"}
