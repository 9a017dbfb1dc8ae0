"""Issue 17: Germany's AFIR DATEX II profile 01-00-00 (JSON), the static table and the dynamic
status. Every document is validated against the profile's own JSON Schemas
(tests/de_afir_schema.py), for the demo fleet, the profile's examples and the real feeds;
the publication carries the 3.7 AFIR publication's ids, versions and ad hoc rates; a delta
holds exactly what changed, and a version changes only with its object."""
from __future__ import annotations

import base64
import copy
import io
import json
from datetime import datetime, timedelta, timezone

import httpx
import orjson
import pytest
from lxml import etree
from sqlalchemy import func, select

from demo_cpo.fleet import generate_fleet
from exporters.datex2.de_afir import PROFILE, table_version, write_status, write_table
from exporters.datex2.de_afir import versioning
from exporters.datex2.de_afir.shapes import build_all, load
from exporters.datex2.de_afir.status import write_status_document
from exporters.datex2.de_afir.table import write_table_document
from exporters.datex2.supplement import OperatorsWithSupplements
from exporters.datex2.status import write_status as write_status_37
from exporters.datex2.table import write_table as write_table_37
from nap.config import Settings
from nap.feeds import get_feed, issue_push_token
from nap.ocpi.values import format_datetime
from nap.store.tables import Location, SiteVersion
from tests.conftest import DATEX2_DE_AFIR_DIR, REAL_FEEDS
from tests.de_afir_schema import representative_status, representative_table, validate_status, validate_table
from tests.harvest_helpers import register_and_harvest
from tests.test_datex2 import NS, texts
from tests.waiting import clock_past

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
SETTINGS = Settings(country_code="DE", party_id="NAP")


def read_json(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8-sig"))


def lookup_of(tariffs: list[dict]):
    by_key = {(t["country_code"], t["party_id"], t["id"]): t for t in tariffs}
    return lambda country, party, tariff_id: by_key.get((country, party, tariff_id))


def table_of(locations, lookup=None, version: str = "v1") -> tuple[dict, int]:
    out = io.BytesIO()
    count = write_table_document(out, locations, SETTINGS, now=NOW, table_version=version, tariffs_by_key=lookup)
    document = orjson.loads(out.getvalue())
    assert validate_table(representative_table(document)) == []
    return document, count


def status_of(locations, lookup=None, version: str = "v1", delta: bool = False) -> tuple[dict, int]:
    out = io.BytesIO()
    count = write_status_document(out, locations, SETTINGS, now=NOW, table_version=version, delta=delta,
                                  tariffs_by_key=lookup)
    document = orjson.loads(out.getvalue())
    assert validate_status(representative_status(document)) == []
    return document, count


def table_publication(document: dict) -> dict:
    return document["payload"]["aegiEnergyInfrastructureTablePublication"]


def sites(document: dict) -> list[dict]:
    return table_publication(document)["energyInfrastructureTable"][0]["energyInfrastructureSite"]


def points(document: dict) -> dict[str, dict]:
    """Charging point idG -> the charging point, in a table."""
    return {point["aegiElectricChargingPoint"]["idG"]: point["aegiElectricChargingPoint"]
            for site in sites(document) for station in site.get("energyInfrastructureStation", ())
            for point in station.get("refillPoint", ())}


def versions(document: dict) -> dict[str, str]:
    """idG -> versionG of every site, station and charging point of a table."""
    found = {}
    for site in sites(document):
        found[site["idG"]] = site["versionG"]
        for station in site.get("energyInfrastructureStation", ()):
            found[station["idG"]] = station["versionG"]
    found.update({point_id: point["versionG"] for point_id, point in points(document).items()})
    return found


def rates(document: dict) -> dict[str, dict]:
    """EnergyRate idG -> the rate, in a table."""
    return {rate["idG"]: rate for point in points(document).values() for energy in point.get("electricEnergy", ())
            for rate in energy.get("energyRate", ())}


def status_publication(document: dict) -> dict:
    (payload,) = document["messageContainer"]["payload"]
    return payload["aegiEnergyInfrastructureStatusPublication"]


def point_statuses(document: dict) -> dict[str, dict]:
    """Charging point idG -> its status, in a status publication."""
    return {status["aegiElectricChargingPointStatus"]["reference"]["idG"]: status["aegiElectricChargingPointStatus"]
            for site in status_publication(document).get("energyInfrastructureSiteStatus", ())
            for station in site.get("energyInfrastructureStationStatus", ())
            for status in station.get("refillPointStatus", ())}


def protocol(document: dict) -> str:
    return document["messageContainer"]["exchangeInformation"]["exchangeContext"]["codedExchangeProtocol"]["value"]


@pytest.fixture(scope="module")
def demo():
    fleet = generate_fleet(60)
    return fleet, lookup_of(fleet.tariffs)


@pytest.fixture(scope="module")
def demo_table(demo):
    fleet, lookup = demo
    return table_of(fleet.locations, lookup)


@pytest.fixture(scope="module")
def demo_status(demo):
    fleet, lookup = demo
    return status_of(fleet.locations, lookup)


# --- the validator and the schema shapes -----------------------------------------------------------

def test_the_profiles_examples_validate_and_a_broken_document_does_not():
    table = read_json(DATEX2_DE_AFIR_DIR / "example-table.json")
    status = read_json(DATEX2_DE_AFIR_DIR / "example-status.json")
    assert validate_table(table) == [] and validate_status(status) == []
    broken = copy.deepcopy(table)
    del sites(broken)[0]["idG"]
    sites(broken)[0]["typeOfSite"] = {"value": "onTheMoon"}
    errors = validate_table(broken)
    assert any("'idG' is a required property" in error for error in errors)
    assert any("onTheMoon" in error for error in errors)
    no_exchange = copy.deepcopy(status)
    del no_exchange["messageContainer"]["exchangeInformation"]
    assert validate_status(no_exchange) != []
    assert validate_status(table) != [] and validate_table(status) != []


def test_the_converter_reads_the_shapes_of_the_profiles_schemas():
    assert build_all(DATEX2_DE_AFIR_DIR) == load()
    assert PROFILE == "de-afir/01-00-00"


# --- the demo fleet, written from documents ---------------------------------------------------------

def test_the_demo_table_and_status_carry_the_ids_and_versions_of_the_37_publication(demo, demo_table, demo_status):
    fleet, lookup = demo
    table, count = demo_table
    status, status_count = demo_status
    xml = io.BytesIO()
    assert write_table_37(xml, fleet.locations, profile="afir", publication_time=NOW, tariffs_by_key=lookup) == count
    afir = etree.fromstring(xml.getvalue())
    expected = {element.get("id"): element.get("version") for element in afir.xpath(
        "//aegi:energyInfrastructureSite | //aegi:energyInfrastructureStation | //aegi:refillPoint", namespaces=NS)}
    assert versions(table) == expected and count == len(points(table)) > 100
    assert set(rates(table)) == set(texts(afir, "//aegi:energyRate/@id"))

    assert status_count == count and protocol(status) == "snapshotPush"
    assert status_publication(status)["tableReference"] == [
        {"targetClass": "EnergyInfrastructureTable", "idG": table_publication(table)["energyInfrastructureTable"][0][
            "idG"], "versionG": "v1"}]
    statuses = point_statuses(status)
    assert {point: state["reference"]["versionG"] for point, state in statuses.items()} == {
        point: value["versionG"] for point, value in points(table).items()}
    evses = {f"DE*ABC*{location['id']}#evse:{evse['uid']}": evse for location in fleet.locations
             for evse in location["evses"]}
    assert {point: state["status"]["value"] for point, state in statuses.items()} == {
        point: {"OUTOFORDER": "outOfOrder"}.get(evses[point]["status"], evses[point]["status"].lower())
        for point in statuses}


def test_ad_hoc_prices_are_energy_rate_updates_of_the_tables_ad_hoc_rates(demo, demo_table, demo_status):
    fleet, lookup = demo
    table_rates = rates(demo_table[0])
    updates = {point: [update["energyRateReference"]["idG"] for update in state.get("energyRateUpdate", ())]
               for point, state in point_statuses(demo_status[0]).items()}
    ad_hoc = {point: [rate["idG"] for energy in value.get("electricEnergy", ()) for rate in energy.get("energyRate", ())
                      if rate["ratePolicy"]["value"] == "adHoc"] for point, value in points(demo_table[0]).items()}
    assert any(ad_hoc.values()) and updates == ad_hoc
    # The same choice as the 3.7 AFIR status, which the profile's status repeats.
    xml = io.BytesIO()
    write_status_37(xml, fleet.locations, profile="afir", publication_time=NOW, tariffs_by_key=lookup)
    assert sorted(rate for ids in updates.values() for rate in ids) == sorted(
        texts(etree.fromstring(xml.getvalue()), "//aegi:energyRateUpdate/aegi:energyRateReference/@id"))
    for state in point_statuses(demo_status[0]).values():
        for update in state.get("energyRateUpdate", ()):
            rate = table_rates[update["energyRateReference"]["idG"]]
            assert update["energyRateReference"]["targetClass"] == "EnergyRate"
            assert update["lastUpdated"] == rate["lastUpdated"]
            assert update["energyPrice"] == rate["energyPrice"] and update["energyPrice"]


def test_what_the_profile_asks_beyond_the_37_publication(demo, demo_table):
    fleet, _ = demo
    table, _ = demo_table
    for site in sites(table):
        (station,) = site["energyInfrastructureStation"]
        for shared in ("locationReference", "operator", "helpdesk"):
            assert station[shared] == site[shared]
        operator = site["operator"]["afacAnOrganisation"]
        assert {"identifier": "DE*ABC", "typeOfIdentifier": {"value": "extendedG", "extendedValueG": "operatorId"}} in \
            operator["externalIdentifier"]
        assert station["serviceType"] == [{"serviceType": {"value": "unattended"}}]
        powers = [point["aegiElectricChargingPoint"]["availableChargingPower"][0] for point in station["refillPoint"]]
        assert station["totalMaximumPower"] == sum(powers) > 0
    text = json.dumps(table)
    assert '"domesticFType"' not in text and '"extendedG"' not in text.replace(
        '{"value": "extendedG", "extendedValueG": "evseId"}', "").replace(
        '{"value": "extendedG", "extendedValueG": "operatorId"}', "")
    domestic = [connector for point in points(table).values() for connector in point["connector"]
                if connector["connectorType"]["value"].startswith("domestic")]
    assert domestic and {c["connectorType"]["value"] for c in domestic} <= {"domesticF", "domesticE"}
    periods = [window for rate in rates(table).values() for price in rate["energyPrice"]
               for period in price.get("overallPeriod", {}).get("validPeriod", ())
               for window in period.get("recurringTimePeriodOfDay", ())]
    assert periods and all(w["startTimeOfPeriod"].endswith("Z") and w["endTimeOfPeriod"].endswith("Z")
                           for w in periods)


def test_a_cpos_supplement_reaches_the_station(demo):
    fleet, lookup = demo
    supplement = {"legal_name": "ABC Ladenetz GmbH & Co. KG", "brand_name": "ABC Laden", "service_type": "selfService",
                  "toilets": True, "rest_area": False, "nuts1": "DED", "grid_power_kw": 150.5,
                  "payment_means": ["emv", "qrCode"], "payment_brands": ["visa"],
                  "other_payment_means": ["Ladekarte ABC"], "other_payment_brands": ["ABC Card"]}
    operators = OperatorsWithSupplements({("DE", "ABC"): {"name": "ABC"}},
                                         {("DE", "ABC"): {"party": supplement, "locations": {}}})
    out = io.BytesIO()
    write_table_document(out, fleet.locations[:3], SETTINGS, now=NOW, table_version="v1", tariffs_by_key=lookup,
                         party_operators=operators)
    table = orjson.loads(out.getvalue())
    assert validate_table(table) == []
    for site in sites(table):
        (station,) = site["energyInfrastructureStation"]
        assert station["totalMaximumPower"] == 150500
        # A value the profile's enumeration lacks goes out as extendedG, with the value.
        assert station["serviceType"] == site["serviceType"] == [
            {"serviceType": {"value": "extendedG", "extendedValueG": "selfService"}}]
        location = station["locationReference"]["locPointLocation"]["locLocationExtensionG"]["FacilityLocation"]
        assert location["nutsArea"] == [{"nutsCodeType": {"value": "nuts1Code"}, "nutsCode": "DED"}]
        assert site["brand"] == {"values": [{"lang": "de", "value": "ABC Laden"}]}
        assert site["operator"]["afacAnOrganisation"]["legalName"]["values"][0]["value"] == supplement["legal_name"]
        equipment = {facility["afacSupplementalEquipment"]["equipmentType"]["value"]:
                     facility["afacSupplementalEquipment"]["availability"]["value"]
                     for facility in site["supplementalFacility"] if "afacSupplementalEquipment" in facility}
        assert equipment == {"toilet": "available", "restingFacilities": "notAvailable"}
    # A22/A23: each ad hoc rate's payment holds the supplement's means and brands, after those
    # of the EVSE's capabilities; a rate of a contract is paid under it.
    ad_hoc = [rate for rate in rates(table).values() if rate["ratePolicy"]["value"] == "adHoc"]
    others = [rate for rate in rates(table).values() if rate["ratePolicy"]["value"] != "adHoc"]
    assert ad_hoc and others
    for rate in ad_hoc:
        payment = rate["payment"]
        assert {"value": "emv"} in payment["paymentMeans"] and {"value": "qrCode"} in payment["paymentMeans"]
        assert len(payment["paymentMeans"]) == len({means["value"] for means in payment["paymentMeans"]})
        assert payment["brandsAccepted"] == [{"value": "visa"}]
        assert payment["otherPaymentMeans"] == [{"values": [{"lang": "de", "value": "Ladekarte ABC"}]}]
        assert payment["otherBrandsAccepted"] == ["ABC Card"]
    assert all("brandsAccepted" not in rate.get("payment", {}) for rate in others)


def _sites_built(monkeypatch) -> list[str]:
    """The ids of the locations whose sites versioning.py builds from now on, in order."""
    built = []
    real_version = versioning.published_site_version
    monkeypatch.setattr(versioning, "published_site_version", lambda document, *args: (
        built.append(document["id"]), real_version(document, *args))[1])
    return built


def test_a_process_that_starts_reads_the_site_versions_another_one_kept(demo_cpo, nap_server, sessions, settings,
                                                                         monkeypatch):
    cpo = demo_cpo(locations=8)
    assert register_and_harvest(sessions, settings, cpo, country_code="DE", party_id="ABC").status == "success"
    built = _sites_built(monkeypatch)

    def version_in_a_new_process() -> str:
        versioning._CACHES.clear()
        built.clear()
        with sessions() as session:
            return versioning.content_version(session, datetime.now(timezone.utc))

    first = version_in_a_new_process()
    assert len(built) == 8
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(SiteVersion)) == 8
    assert version_in_a_new_process() == first and built == []  # every site version read, none built

    # A static change: that location alone is built again, by the next process too.
    location = cpo.app.config["FLEET"].locations[2]
    with sessions.begin() as session:
        headers = _auth(issue_push_token(session, get_feed(session, "demo")))
    patch = httpx.patch(f"{nap_server.url}/ocpi/2.3.0/receiver/locations/DE/ABC/{location['id']}/"
                        f"{location['evses'][0]['uid']}",
                        json={"physical_reference": "Bay 7", "last_updated": _stamp(1)}, headers=headers)
    assert patch.json()["status_code"] == 1000
    changed = version_in_a_new_process()
    assert changed != first and built == [location["id"]]
    assert version_in_a_new_process() == changed and built == []


def test_a_static_change_committed_late_moves_the_version_of_a_warm_process(demo_cpo, sessions, settings,
                                                                             monkeypatch):
    """A write stamps its locations before it commits. One stamped inside the last OVERLAP
    but committed after a publication read the store must change the next version, however
    many publications came in between (on PostgreSQL they skip the listing while no stamp
    moved, versioning._stamps_after)."""
    cpo = demo_cpo(locations=6)
    assert register_and_harvest(sessions, settings, cpo, country_code="DE", party_id="ABC").status == "success"
    built = _sites_built(monkeypatch)

    def version() -> str:
        with sessions() as session:
            return versioning.content_version(session, datetime.now(timezone.utc))

    versioning._CACHES.clear()
    first = version()
    built.clear()
    assert version() == first and version() == first and built == []  # quiet: nothing built again
    location_id = cpo.app.config["FLEET"].locations[4]["id"]
    with sessions.begin() as session:  # stamped half an OVERLAP ago, committed now
        row = session.scalar(select(Location).where(Location.ocpi_id == location_id))
        row.data = {**row.data, "name": "Committed late"}
        row.static_changed_at = row.changed_at = datetime.now(timezone.utc) - versioning.OVERLAP / 2
    late = version()
    assert late != first and built == [location_id]
    assert version() == late and built == [location_id]


# --- real feeds ------------------------------------------------------------------------------------

def _normalized(path) -> list[dict]:
    from harvesters.normalize import FeedIdentity, normalize_object
    from tests.test_real_feeds import _identity, _locations, _version

    raw = _locations(path)
    identity = FeedIdentity(*_identity(raw))
    results = (normalize_object("location", location, _version(path), identity) for location in raw)
    return [result.data for result in results if result.ok]


@pytest.mark.parametrize("path", sorted(REAL_FEEDS.glob("*.json")), ids=lambda p: p.stem)
def test_real_feeds_give_valid_tables_and_statuses(path):
    locations = _normalized(path)
    table, count = table_of(locations)
    status, status_count = status_of(locations)
    assert count == status_count == len(points(table)) == len(point_statuses(status)) > 0
    assert versions(table).items() >= {point: state["reference"]["versionG"]
                                       for point, state in point_statuses(status).items()}.items()


# --- the sites written directly, as the 3.7 site converted ---------------------------------------------

def _sites_both_ways(locations, lookup=None) -> list[tuple[str, dict, dict]]:
    """(site id, as SiteWriter writes it, as the 3.7 builder writes it converted) per site,
    each way with a publication context of its own, as JSON read back."""
    from exporters.datex2.de_afir.envelope import LANGUAGE
    from exporters.datex2.de_afir.sites import SiteWriter
    from exporters.datex2.de_afir.table import catalogue_for, converted_site
    from exporters.datex2.de_afir.convert import Converter
    from exporters.datex2.namespaces import AFIR
    from exporters.datex2.selection import published_site, published_site_version

    def context():
        catalogue = catalogue_for(lookup, NOW)
        converter = Converter(load()["table"], LANGUAGE, catalogue.splices if catalogue is not None else None)
        return catalogue, converter
    (catalogue, converter), (direct_catalogue, direct_converter) = context(), context()
    direct = SiteWriter(direct_converter, direct_catalogue, NOW)
    result = []
    for location in locations:
        published = published_site(location, AFIR, None, NOW)
        if published is None:
            assert published_site_version(location, None, NOW) is None
            continue
        assert published_site_version(location, None, NOW) == published.version  # versioning.py's
        converter.local_offset = direct_converter.local_offset = published.utc_offset or "Z"
        result.append((published.id, orjson.loads(orjson.dumps(direct.site(published))),
                       orjson.loads(orjson.dumps(converted_site(published, catalogue, NOW, converter)))))
    return result


def _direct_sources():
    from tests.test_datex2 import _bad_locations, synthetic_fleet, tariff_lookup, whole_locations

    fleet = generate_fleet(120)
    yield "demo fleet", fleet.locations, lookup_of(fleet.tariffs)
    yield "edge cases", synthetic_fleet(80) + _bad_locations(), tariff_lookup()
    yield "OCPI examples", whole_locations(), None
    for path in sorted(REAL_FEEDS.glob("*.json")):
        yield path.stem, _normalized(path), None


def test_the_sites_written_directly_are_the_37_sites_converted():
    """The German table writes its sites as JSON directly (sites.py): for every source of
    locations, each site is the one the 3.7 AFIR builder writes, converted, byte for byte
    once read back; the kinds of site each source has are counted so that none is empty."""
    seen = {"hours": 0, "parking": 0, "tariffs": 0, "facilities": 0, "photos": 0, "vehicles": 0}
    for name, locations, lookup in _direct_sources():
        pairs = _sites_both_ways(locations, lookup)
        assert pairs, name
        for site_id, direct, converted in pairs:
            assert direct == converted, f"{name}: {site_id}"
            text = orjson.dumps(direct).decode()
            seen["hours"] += '"afacOperatingHoursSpecification"' in text
            seen["parking"] += '"dedicatedParkingSpaces"' in text
            seen["tariffs"] += '"energyRate"' in text
            seen["facilities"] += '"supplementalFacility"' in text
            seen["photos"] += '"photoUrl"' in text
            seen["vehicles"] += '"applicableForVehicles"' in text
    assert all(seen.values()), seen


# --- a harvested store, over the interface B and C use -----------------------------------------------

def _auth(token: str) -> dict:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def _stamp(seconds: int = 0) -> str:
    return format_datetime(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=seconds))


def _write(writer, sessions, settings, **options) -> tuple[dict, int]:
    out = io.BytesIO()
    with sessions() as session:
        count = writer(out, session, settings, now=datetime.now(timezone.utc), **options)
    return (orjson.loads(out.getvalue()) if count else None), count


def _stamps(sessions, location_id: str) -> tuple[datetime, datetime]:
    """(changed_at, static_changed_at) of a location."""
    with sessions() as session:
        return session.execute(select(Location.changed_at, Location.static_changed_at)
                               .where(Location.ocpi_id == location_id)).one()


def test_a_harvested_store_status_changes_prices_and_versions(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=12)
    assert register_and_harvest(sessions, settings, cpo, country_code="DE", party_id="ABC").status == "success"
    with sessions.begin() as session:
        headers = _auth(issue_push_token(session, get_feed(session, "demo")))
    receiver = f"{nap_server.url}/ocpi/2.3.0/receiver"
    fleet = cpo.app.config["FLEET"]
    total = sum(len(location["evses"]) for location in fleet.locations)

    table, count = _write(write_table, sessions, settings)
    assert validate_table(table) == [] and count == total
    with sessions() as session:
        assert table_publication(table)["energyInfrastructureTable"][0]["versionG"] == table_version(
            session, datetime.now(timezone.utc))[1]
    snapshot, snapshot_count = _write(write_status, sessions, settings)
    assert validate_status(snapshot) == [] and snapshot_count == total and protocol(snapshot) == "snapshotPush"
    assert status_publication(snapshot)["publicationCreator"] == {"country": settings.country_code,
                                                                  "nationalIdentifier": settings.party_id}
    supplier = snapshot["messageContainer"]["exchangeInformation"]["exchangeContext"]["supplierOrCisRequester"]
    assert supplier["internationalIdentifier"]["nationalIdentifier"] == settings.party_id

    # A status push: the delta holds exactly that charging point, and no version moves.
    location = fleet.locations[3]
    evse = location["evses"][0]
    point_id = f"DE*ABC*{location['id']}#evse:{evse['uid']}"
    new_status = "OUTOFORDER" if evse["status"] != "OUTOFORDER" else "AVAILABLE"
    since = clock_past(datetime.now(timezone.utc))
    stamps_before = _stamps(sessions, location["id"])
    patch = httpx.patch(f"{receiver}/locations/DE/ABC/{location['id']}/{evse['uid']}",
                        json={"status": new_status, "last_updated": _stamp(1)}, headers=headers)
    assert patch.json()["status_code"] == 1000
    # It moved the location's change time, and not the one of its static content, which the
    # table's version reads again from (versioning.py).
    stamps_after = _stamps(sessions, location["id"])
    assert stamps_after[0] > stamps_before[0] and stamps_after[1] == stamps_before[1]
    delta, delta_count = _write(write_status, sessions, settings, since=since)
    assert validate_status(delta) == [] and protocol(delta) == "deltaPush" and delta_count == 1
    after_status, _ = _write(write_table, sessions, settings)
    assert versions(after_status) == versions(table)
    assert table_publication(after_status)["energyInfrastructureTable"] == [
        {**table_publication(table)["energyInfrastructureTable"][0],
         "energyInfrastructureSite": sites(after_status)}]  # the table's own versionG too
    table_ref = status_publication(delta)["tableReference"][0]["versionG"]
    assert table_ref == table_publication(after_status)["energyInfrastructureTable"][0]["versionG"]
    (changed,) = point_statuses(delta).items()
    assert changed[0] == point_id and changed[1]["reference"]["versionG"] == points(table)[point_id]["versionG"]
    # The site and station the delta refers to carry the table's versions, which cover the
    # location's charging points that did not change too.
    assert len(location["evses"]) > 1
    (site_status,) = status_publication(delta)["energyInfrastructureSiteStatus"]
    (station_status,) = site_status["energyInfrastructureStationStatus"]
    site_id = f"DE*ABC*{location['id']}"
    assert (site_status["reference"]["idG"], site_status["reference"]["versionG"]) == (site_id, versions(table)[site_id])
    assert station_status["reference"]["versionG"] == versions(table)[f"{site_id}#station"]
    assert changed[1]["status"]["value"] == {"OUTOFORDER": "outOfOrder", "AVAILABLE": "available"}[new_status]
    assert _write(write_status, sessions, settings, since=clock_past(datetime.now(timezone.utc)))[1] == 0

    # An ad hoc price pushed: energyRateUpdates of the table's EnergyRates, with the new price.
    ad_hoc = {point: [rate["idG"] for energy in value.get("electricEnergy", ()) for rate in energy["energyRate"]
                      if rate["ratePolicy"]["value"] == "adHoc"] for point, value in points(after_status).items()}
    rate_id = next(ids[0] for ids in ad_hoc.values() if ids)
    tariff_id = rate_id.rsplit("#tariff:", 1)[1]
    using = {point for point, ids in ad_hoc.items() if f"{point}#tariff:{tariff_id}" in ids}
    tariff = copy.deepcopy(next(t for t in fleet.tariffs if t["id"] == tariff_id))
    energy = next(c for e in tariff["elements"] for c in e["price_components"] if c["type"] == "ENERGY")
    energy["price"] = new_price = round(energy["price"] + 0.05, 2)
    tariff["last_updated"] = _stamp()
    since = clock_past(datetime.now(timezone.utc))
    put = httpx.put(f"{receiver}/tariffs/DE/ABC/{tariff_id}", json=tariff, headers=headers)
    assert put.json()["status_code"] == 1000
    priced, priced_count = _write(write_status, sessions, settings, since=since)
    assert validate_status(priced) == [] and priced_count == len(using)
    new_table, _ = _write(write_table, sessions, settings)
    new_rates = rates(new_table)
    updates = {point: state["energyRateUpdate"] for point, state in point_statuses(priced).items()}
    assert set(updates) == using
    for point, point_updates in updates.items():
        update = next(u for u in point_updates if u["energyRateReference"]["idG"] == f"{point}#tariff:{tariff_id}")
        assert update["energyRateReference"]["idG"] in new_rates
        assert {"priceType": {"value": "pricePerKWh"}, "value": new_price} in [
            {key: price[key] for key in ("priceType", "value")} for price in update["energyPrice"]]
    assert status_publication(priced)["tableReference"][0]["versionG"] == table_publication(new_table)[
        "energyInfrastructureTable"][0]["versionG"] != table_ref

    # A static change of one charging point: its version and its site's (and station's) change.
    before = versions(new_table)
    other = fleet.locations[5]
    changed_point = f"DE*ABC*{other['id']}#evse:{other['evses'][0]['uid']}"
    patch = httpx.patch(f"{receiver}/locations/DE/ABC/{other['id']}/{other['evses'][0]['uid']}",
                        json={"physical_reference": "Bay 99", "last_updated": _stamp(2)}, headers=headers)
    assert patch.json()["status_code"] == 1000
    assert _stamps(sessions, other["id"])[1] > stamps_after[1]
    static, _ = _write(write_table, sessions, settings)
    moved = {object_id for object_id, version in versions(static).items() if before.get(object_id) != version}
    site_id = f"DE*ABC*{other['id']}"
    assert moved == {changed_point, site_id, f"{site_id}#station"}
    table_versions = [table_publication(document)["energyInfrastructureTable"][0]["versionG"]
                      for document in (new_table, static)]
    assert table_versions[0] != table_versions[1]
    # The version kept from one publication to the next is the one a fresh process computes.
    versioning._CACHES.clear()
    with sessions() as session:
        assert table_version(session, datetime.now(timezone.utc))[1] == table_versions[1]

    # Only some parties.
    assert _write(write_table, sessions, settings, parties=[("de", "abc")])[1] == total
    assert _write(write_table, sessions, settings, parties=[("NL", "XYZ")])[1] == 0
    assert _write(write_status, sessions, settings, parties=[("NL", "XYZ")])[1] == 0
    # Since before the price change: the charging points of the tariff, and not the one whose
    # static content changed (a table matter: no status or price of it changed).
    assert _write(write_status, sessions, settings, since=since, parties=[("DE", "ABC")])[1] == len(using)
