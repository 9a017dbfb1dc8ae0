"""Germany's AFIR profile 01-00-00 (JSON) over real HTTP, from a harvested demo CPO: table and
status valid against the profile's JSON Schemas, gzip, conditional GETs, deltas, bad input,
the party filter, the bulk downloads; and the round trip: every mandatory field of the
profile carries the OCPI value docs/datex2-de-afir-mapping.md ("Mandatory fields") names.
The ROUND_TRIP tables below are that section's rows, as (JSON path, OCPI source) pairs."""
from __future__ import annotations

import gzip
import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from demo_cpo.server import touch_location
from exporters.bulk import export_snapshot
from nap.app import create_app
from nap.ocpi.values import format_datetime, parse_datetime
from tests.de_afir_schema import validate_status, validate_table
from tests.harvest_helpers import harvest, register_and_harvest, stored_locations, stored_tariffs
from tests.settings_helpers import replace
from tests.waiting import clock_past, with_last_modified

BASE = "/datex2/de-afir/01-00-00"
LOCATIONS = 8


# --- reading the documents ----------------------------------------------------------------------

def at(document, path: str):
    """The value at a dotted path (`a.b[0].c`); a missing step raises KeyError/IndexError,
    so a mandatory field that is not there fails the test with its path."""
    for step in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        document = document[int(step[1:-1])] if step.startswith("[") else document[step]
    return document


def sites(table: dict) -> dict[str, dict]:
    publication = table["payload"]["aegiEnergyInfrastructureTablePublication"]
    return {site["idG"]: site for site in publication["energyInfrastructureTable"][0]["energyInfrastructureSite"]}


def charging_points(site: dict) -> dict[str, dict]:
    """By EVSE ID (the charging point's evseId external identifier)."""
    points = {}
    for station in site["energyInfrastructureStation"]:
        for refill_point in station["refillPoint"]:
            point = refill_point["aegiElectricChargingPoint"]
            evse_ids = [i["identifier"] for i in point["externalIdentifier"]
                        if i["typeOfIdentifier"].get("extendedValueG") == "evseId"]
            points[evse_ids[0]] = point
    return points


def point_statuses(status: dict) -> dict[str, dict]:
    publication = status["messageContainer"]["payload"][0]["aegiEnergyInfrastructureStatusPublication"]
    return {point["aegiElectricChargingPointStatus"]["reference"]["idG"]: point["aegiElectricChargingPointStatus"]
            for site in publication.get("energyInfrastructureSiteStatus", ())
            for station in site.get("energyInfrastructureStationStatus", ())
            for point in station.get("refillPointStatus", ())}


def text(multilingual: dict) -> str:
    return multilingual["values"][0]["value"]


# --- the round trip: (JSON path, OCPI source) ---------------------------------------------------

# OCPI's country is ISO alpha-3; the demo CPO's locations are all in Germany.
ALPHA2 = {"DEU": "DE"}
# OCPI EVSE status -> the profile's RefillPointStatusEnum (docs/datex2-de-afir-mapping.md, Status values).
STATUS = {"AVAILABLE": "available", "BLOCKED": "blocked", "CHARGING": "charging", "RESERVED": "reserved",
          "INOPERATIVE": "inoperative", "OUTOFORDER": "outOfOrder", "PLANNED": "planned", "REMOVED": "removed",
          "UNKNOWN": "unknown"}
# The demo CPO's connector standards -> the profile's ConnectorTypeEnum.
CONNECTOR_TYPE = {"IEC_62196_T2": "iec62196T2", "IEC_62196_T2_COMBO": "iec62196T2COMBO", "CHADEMO": "chademo",
                  "MCS": "mcs", "DOMESTIC_F": "domesticF"}
STATION = "energyInfrastructureStation[0]"
STATION_PLACE = f"{STATION}.locationReference.locPointLocation"
ADDRESS = f"{STATION_PLACE}.locLocationExtensionG.FacilityLocation.address"


def _site_id(loc: dict) -> str:
    return f"{loc['country_code'].upper()}*{loc['party_id'].upper()}*{loc['id']}"


def _utc_offset(zone: str) -> str:
    offset = datetime.now(ZoneInfo(zone)).utcoffset()
    minutes = int(offset.total_seconds() // 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _power(connector: dict) -> float:
    return float(connector["max_electric_power"])


def _strongest(evse: dict) -> dict:
    return max(evse["connectors"], key=_power)


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


# Per location: (JSON path from the site, what it must equal, computed from the OCPI Location).
SITE_ROUND_TRIP = [
    ("idG", lambda loc: _site_id(loc)),
    (f"{STATION}.idG", lambda loc: f"{_site_id(loc)}#station"),
    (f"{STATION}.numberOfRefillPoints", lambda loc: len(loc["evses"])),
    # No grid_power_kw supplement: the sum of each charging point's greatest power.
    (f"{STATION}.totalMaximumPower", lambda loc: sum(_power(_strongest(evse)) for evse in loc["evses"])),
    (f"{STATION}.serviceType[0].serviceType.value", lambda loc: "unattended"),  # no service_type supplement
    (f"{STATION_PLACE}.pointByCoordinates.pointCoordinates.latitude",
     lambda loc: float(loc["coordinates"]["latitude"])),
    (f"{STATION_PLACE}.pointByCoordinates.pointCoordinates.longitude",
     lambda loc: float(loc["coordinates"]["longitude"])),
    (f"{ADDRESS}.city.values[0].value", lambda loc: loc["city"]),
    (f"{ADDRESS}.postcode", lambda loc: loc["postal_code"]),
    (f"{ADDRESS}.countryCode", lambda loc: ALPHA2[loc["country"]]),
    (f"{ADDRESS}.addressLine[0].text.values[0].value", lambda loc: loc["address"]),
    (f"{STATION_PLACE}.locLocationExtensionG.FacilityLocation.timeZone", lambda loc: _utc_offset(loc["time_zone"])),
    (f"{STATION}.operator.afacAnOrganisation.name.values[0].value", lambda loc: loc["operator"]["name"]),
    # No legal_name supplement: the operator's name.
    (f"{STATION}.operator.afacAnOrganisation.legalName.values[0].value", lambda loc: loc["operator"]["name"]),
    (f"{STATION}.operator.afacAnOrganisation.externalIdentifier[0].identifier",
     lambda loc: f"{loc['country_code'].upper()}*{loc['party_id'].upper()}"),
    (f"{STATION}.helpdesk.afacAnOrganisation.name.values[0].value", lambda loc: loc["operator"]["name"]),
]
# Per EVSE: (JSON path from its charging point, the value, from the OCPI Location and EVSE).
POINT_ROUND_TRIP = [
    ("idG", lambda loc, evse: f"{_site_id(loc)}#evse:{evse['uid']}"),
    ("deliveryUnit.value", lambda loc, evse: "kWh"),
    ("currentType.value", lambda loc, evse: "dc" if _strongest(evse)["power_type"] == "DC" else "ac"),
    ("availableChargingPower[0]", lambda loc, evse: _power(_strongest(evse))),
    ("numberOfConnectors", lambda loc, evse: len(evse["connectors"])),
]
# Per connector (same order as OCPI's).
CONNECTOR_ROUND_TRIP = [
    ("connectorType.value", lambda connector: CONNECTOR_TYPE[connector["standard"]]),
    ("maxPowerAtSocket", lambda connector: _power(connector)),
]


def _check_energy_rates(site_id: str, point: dict, evse: dict, tariffs: dict[str, dict]) -> int:
    """Each energy rate: idG, ratePolicy, lastUpdated, applicableCurrency and its per-kWh
    prices from the OCPI Tariff it names. The number of rates checked."""
    checked = 0
    point_id = point["idG"]
    for product in point.get("electricEnergy", ()):
        for rate in product.get("energyRate", ()):
            tariff_id = rate["idG"].removeprefix(f"{point_id}#tariff:")
            assert rate["idG"] != tariff_id, rate["idG"]
            tariff = tariffs[tariff_id]
            assert any(tariff_id in c.get("tariff_ids", ()) for c in evse["connectors"])
            assert rate["ratePolicy"]["value"] == ("contract" if tariff.get("type") == "REGULAR" else "adHoc")
            assert parse_datetime(rate["lastUpdated"]) == parse_datetime(tariff["last_updated"])
            assert rate["applicableCurrency"] == [tariff["currency"]]
            per_kwh = {price["value"] for price in rate["energyPrice"] if price["priceType"]["value"] == "pricePerKWh"}
            ocpi_per_kwh = {float(component["price"]) for element in tariff["elements"]
                            for component in element["price_components"] if component["type"] == "ENERGY"}
            assert per_kwh <= ocpi_per_kwh, (site_id, tariff_id)
            assert all(price["priceType"]["value"] and "value" in price for price in rate["energyPrice"])
            checked += 1
    return checked


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def harvested(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=LOCATIONS)
    # A planned maintenance tomorrow, for the status's plannedRefillPointStatus.
    tomorrow = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    cpo.app.config["FLEET"].locations[1]["evses"][0]["status_schedule"] = [
        {"period_begin": format_datetime(tomorrow), "period_end": format_datetime(tomorrow + timedelta(hours=2)),
         "status": "INOPERATIVE"}]
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    return cpo


def get(server, kind: str, **options) -> httpx.Response:
    return httpx.get(f"{server.url}{BASE}/{kind}", **options)


# --- the tests ------------------------------------------------------------------------------------

def test_table_and_status_are_valid_and_carry_the_ocpi_values(harvested, nap_server, sessions, settings):
    table_response = get(nap_server, "table", headers={"Accept-Encoding": "gzip"})
    assert table_response.status_code == 200, table_response.text
    assert table_response.headers["Content-Encoding"] == "gzip"
    assert table_response.headers["Content-Type"].startswith("application/json")
    table = table_response.json()  # httpx inflated it
    assert validate_table(table) == []
    status_response = get(nap_server, "status", headers={"Accept-Encoding": "identity"})
    assert status_response.status_code == 200 and "Content-Encoding" not in status_response.headers
    status = status_response.json()
    assert validate_status(status) == []

    payload = table["payload"]
    assert (payload["modelBaseVersionG"], payload["profileNameG"], payload["profileVersionG"]) == (
        "3", "AFIR Energy Infrastructure", "01-00-00")
    exchange = status["messageContainer"]["exchangeInformation"]
    assert exchange["exchangeContext"]["codedExchangeProtocol"]["value"] == "snapshotPush"
    assert exchange["exchangeContext"]["exchangeSpecificationVersion"] == "3.0"
    assert exchange["dynamicInformation"]["exchangeStatus"] == {"value": "online"}
    creator = {"country": settings.country_code.upper(), "nationalIdentifier": settings.party_id}
    assert exchange["exchangeContext"]["supplierOrCisRequester"]["internationalIdentifier"] == creator
    assert payload["aegiEnergyInfrastructureTablePublication"]["publicationCreator"] == creator
    table_id = payload["aegiEnergyInfrastructureTablePublication"]["energyInfrastructureTable"][0]
    status_publication = status["messageContainer"]["payload"][0]["aegiEnergyInfrastructureStatusPublication"]
    assert [(r["idG"], r["versionG"]) for r in status_publication["tableReference"]] == [
        (table_id["idG"], table_id["versionG"])]

    locations, tariffs = stored_locations(sessions), stored_tariffs(sessions)
    published, statuses = sites(table), point_statuses(status)
    assert len(published) == len(locations) == LOCATIONS
    rates, seen = 0, {"planned": 0, "providers": 0}
    for loc in locations.values():
        site = published[_site_id(loc)]
        for path, source in SITE_ROUND_TRIP:
            assert at(site, path) == source(loc), (site["idG"], path)
        assert _digits(at(site, f"{STATION}.helpdesk.afacAnOrganisation.organisationUnit[0].contactInformation[0]"
                                 ".afacContactInformation.telephoneNumber")) == _digits(loc["help_phone"])
        points = charging_points(site)
        assert set(points) == {evse["evse_id"] for evse in loc["evses"]}
        for evse in loc["evses"]:
            point = points[evse["evse_id"]]
            for path, source in POINT_ROUND_TRIP:
                assert at(point, path) == source(loc, evse), (point["idG"], path)
            for connector, written in zip(evse["connectors"], point["connector"], strict=True):
                for path, source in CONNECTOR_ROUND_TRIP:
                    assert at(written, path) == source(connector), (point["idG"], path)
            rates += _check_energy_rates(site["idG"], point, evse, tariffs)
            # The status refers to the same charging point (id and version) and says its OCPI status.
            point_status = statuses[point["idG"]]
            assert point_status["reference"] == {"targetClass": "FacilityObject", "idG": point["idG"],
                                                 "versionG": point["versionG"]}
            assert point_status["status"]["value"] == STATUS[evse["status"]]
            planned = [(STATUS[period["status"]], parse_datetime(period["period_begin"]))
                       for period in evse.get("status_schedule") or ()]
            assert [(p["status"]["value"], parse_datetime(p["overallPeriod"]["overallStartTime"]))
                    for p in point_status.get("plannedRefillPointStatus", ())] == planned
            providers = {text(provider["afacAnOrganisation"]["name"]) for product in point.get("electricEnergy", ())
                         for provider in product.get("mobilityServiceProvider", ())}
            assert providers == set(evse.get("accepted_service_providers") or ())
            seen["planned"] += len(planned)
            seen["providers"] += len(providers)
            # Its ad hoc prices refer to the table's ad hoc rates of that charging point, all of them.
            ad_hoc = {rate["idG"]: rate for product in point.get("electricEnergy", ())
                      for rate in product.get("energyRate", ()) if rate["ratePolicy"]["value"] == "adHoc"}
            updates = point_status.get("energyRateUpdate", [])
            assert sorted(u["energyRateReference"]["idG"] for u in updates) == sorted(ad_hoc)
            for update in updates:
                rate = ad_hoc[update["energyRateReference"]["idG"]]
                assert update["energyRateReference"]["targetClass"] == "EnergyRate"
                assert update["lastUpdated"] == rate["lastUpdated"] and update["energyPrice"] == rate["energyPrice"]
    assert rates > 0 and seen["planned"] > 0 and seen["providers"] > 0, (rates, seen)  # nothing checked in vain


def test_conditional_gets_deltas_and_the_party_filter(harvested, nap_server, sessions, settings):
    first = with_last_modified(lambda: get(nap_server, "table"))
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert get(nap_server, "table", headers={"If-None-Match": etag}).status_code == 304
    assert get(nap_server, "table", headers={"If-Modified-Since": modified}).status_code == 304
    status = with_last_modified(lambda: get(nap_server, "status"))
    assert get(nap_server, "status", headers={"If-None-Match": status.headers["ETag"]}).status_code == 304

    # A status change: in a delta since before it, alone; the status ETag changes, the table's not.
    since_moment = clock_past(datetime.now(timezone.utc))
    since = format_datetime(since_moment)
    changed = touch_location(harvested.app, 3, clock_past(since_moment))
    assert harvest(sessions, settings).status == "success"
    delta = get(nap_server, "status", params={"since": since})
    assert delta.status_code == 200 and validate_status(delta.json()) == []
    assert delta.json()["messageContainer"]["exchangeInformation"]["exchangeContext"][
        "codedExchangeProtocol"]["value"] == "deltaPush"
    statuses = point_statuses(delta.json())
    assert set(statuses) == {f"DE*ABC*{changed['id']}#evse:{changed['evses'][0]['uid']}"}
    assert statuses.popitem()[1]["status"]["value"] == STATUS[changed["evses"][0]["status"]]
    assert get(nap_server, "status", headers={"If-None-Match": status.headers["ETag"]}).status_code == 200
    later = format_datetime(clock_past(datetime.now(timezone.utc)))
    assert get(nap_server, "status", params={"since": later}).status_code == 204

    # The party filter: the demo CPO's party (any case), another party, bad spellings.
    own = get(nap_server, "table", params={"party": "de*abc"})
    assert own.status_code == 200 and len(sites(own.json())) == LOCATIONS
    assert own.headers["ETag"] != first.headers["ETag"]
    assert get(nap_server, "table", params={"party": "FR*XYZ"}).status_code == 204
    mixed = get(nap_server, "status", params=[("party", "FR*XYZ"), ("party", "DE*ABC")])
    assert mixed.status_code == 200 and validate_status(mixed.json()) == []


def test_bad_requests_and_an_empty_store(nap_server):
    for kind in ("table", "status"):
        assert get(nap_server, kind).status_code == 204
    for since in ("yesterday", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00 01:00"):
        bad = get(nap_server, "status", params={"since": since})
        assert bad.status_code == 400 and bad.text.startswith("since: ") and "RFC 3339" in bad.text
    for party in ("DE", "DE*ABCD", "DE-ABC", "*ABC", "D1*ABC"):
        bad = get(nap_server, "table", params={"party": party})
        assert bad.status_code == 400 and "COUNTRY*PARTY" in bad.text
    many = [("party", f"DE*A{i:02d}") for i in range(51)]
    assert get(nap_server, "status", params=many).status_code == 400


def test_the_bulk_downloads_hold_the_german_profile(harvested, sessions, settings, live_server, tmp_path):
    settings = replace(settings, export_dir=str(tmp_path / "exports"))
    generated_at = datetime.now(timezone.utc).replace(microsecond=0)
    export_snapshot(sessions, settings, tmp_path / "exports", generated_at)
    server = live_server(create_app(settings))
    listing = httpx.get(f"{server.url}/downloads.json").json()
    snapshot = listing["snapshots"][0]
    files = {f["name"]: f for f in snapshot["files"]}
    documents = {}
    for name in ("datex2-de-afir-table.json.gz", "datex2-de-afir-status.json.gz"):
        assert name in files
        # The bytes as stored (the download is served with Content-Encoding: gzip, which
        # httpx would undo): what the SHA-256 sum is of.
        with httpx.stream("GET", f"{server.url}/downloads/{snapshot['date']}/{name}") as response:
            assert response.status_code == 200
            body = b"".join(response.iter_raw())
        assert hashlib.sha256(body).hexdigest() == files[name]["sha256"] and len(body) == files[name]["size"]
        documents[name] = json.loads(gzip.decompress(body))
    sums = httpx.get(f"{server.url}/downloads/{snapshot['date']}/SHA256SUMS").text
    assert f"{files['datex2-de-afir-table.json.gz']['sha256']}  datex2-de-afir-table.json.gz" in sums
    page = httpx.get(f"{server.url}/downloads").text
    assert "datex2-de-afir-table.json.gz" in page and files["datex2-de-afir-status.json.gz"]["sha256"] in page
    table, status = documents["datex2-de-afir-table.json.gz"], documents["datex2-de-afir-status.json.gz"]
    assert validate_table(table) == [] and validate_status(status) == []
    assert len(sites(table)) == LOCATIONS
    # The bulk table's version is made from its sites as they are written: the status names it.
    (reference,) = status["messageContainer"]["payload"][0]["aegiEnergyInfrastructureStatusPublication"][
        "tableReference"]
    assert table["payload"]["aegiEnergyInfrastructureTablePublication"]["energyInfrastructureTable"][0][
        "versionG"] == reference["versionG"]
    assert status["messageContainer"]["exchangeInformation"]["exchangeContext"]["codedExchangeProtocol"] == {
        "value": "snapshotPush"}
    assert table["payload"]["aegiEnergyInfrastructureTablePublication"]["publicationTime"] in (
        format_datetime(generated_at), generated_at.isoformat())
