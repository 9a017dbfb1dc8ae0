"""The demo CPO over real HTTP on loopback: fleet realism, pagination, filters, auth, versions, handshake.

The spec knowledge used to check the output (enum values, required fields, regexes) is written out here on
purpose instead of being imported from demo_cpo, so that the tests are an independent reading of the
OCPI 2.3.0 / 2.2.1 / 2.1.1 texts in shared/spec.
"""

from __future__ import annotations

import base64
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from demo_cpo import DemoOptions, Fleet, create_app, generate_fleet, to_version, touch_location
from tests.waiting import record_sleeps

VERSIONS = ["2.3.0", "2.2.1", "2.1.1"]
EVSE_ID = re.compile(r"^[A-Z]{2}\*?[A-Z0-9]{3}\*?E[A-Z0-9\*]{1,30}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?$")
LATITUDE = {"2.3.0": r"^-?[0-9]{1,2}\.[0-9]{5,7}$", "2.2.1": r"^-?[0-9]{1,2}\.[0-9]{5,7}$",
            "2.1.1": r"^-?[0-9]{1,2}\.[0-9]{6}$"}
LONGITUDE = {"2.3.0": r"^-?[0-9]{1,3}\.[0-9]{5,7}$", "2.2.1": r"^-?[0-9]{1,3}\.[0-9]{5,7}$",
             "2.1.1": r"^-?[0-9]{1,3}\.[0-9]{6}$"}
GERMANY = {"lat": (47.27, 55.06), "lon": (5.87, 15.04)}  # bounding box

STATUS = {"AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED", "RESERVED",
          "UNKNOWN"}
CAPABILITY_211 = {"CHARGING_PROFILE_CAPABLE", "CREDIT_CARD_PAYABLE", "REMOTE_START_STOP_CAPABLE", "RESERVABLE",
                  "RFID_READER", "UNLOCK_CAPABLE"}
CAPABILITY_221 = CAPABILITY_211 | {"CHARGING_PREFERENCES_CAPABLE", "CHIP_CARD_SUPPORT", "CONTACTLESS_CARD_SUPPORT",
                                   "DEBIT_CARD_PAYABLE", "PED_TERMINAL", "START_SESSION_CONNECTOR_REQUIRED",
                                   "TOKEN_GROUP_CAPABLE"}
CAPABILITY = {"2.3.0": CAPABILITY_221, "2.2.1": CAPABILITY_221, "2.1.1": CAPABILITY_211}
CONNECTOR_211 = {"CHADEMO", "IEC_62196_T2", "IEC_62196_T2_COMBO", "DOMESTIC_F"}  # the subset the fleet may use
CONNECTOR = {"2.3.0": CONNECTOR_211 | {"MCS"}, "2.2.1": CONNECTOR_211, "2.1.1": CONNECTOR_211}
POWER_TYPE = {"2.3.0": {"AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"},
              "2.2.1": {"AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"},
              "2.1.1": {"AC_1_PHASE", "AC_3_PHASE", "DC"}}
FACILITY_211 = {"HOTEL", "RESTAURANT", "CAFE", "MALL", "SUPERMARKET", "SPORT", "RECREATION_AREA", "NATURE",
                "MUSEUM", "BUS_STOP", "TAXI_STAND", "TRAIN_STATION", "AIRPORT", "CARPOOL_PARKING", "FUEL_STATION",
                "WIFI"}
FACILITY = {"2.3.0": FACILITY_211 | {"BIKE_SHARING", "PARKING_LOT", "TRAM_STOP", "METRO_STATION"},
            "2.1.1": FACILITY_211}
FACILITY["2.2.1"] = FACILITY["2.3.0"]
PARKING_TYPE = {"ALONG_MOTORWAY", "PARKING_GARAGE", "PARKING_LOT", "ON_DRIVEWAY", "ON_STREET", "UNDERGROUND_GARAGE"}
LOCATION_TYPE_211 = {"ON_STREET", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "PARKING_LOT", "OTHER", "UNKNOWN"}
PARKING_RESTRICTION_221 = {"EV_ONLY", "PLUGGED", "DISABLED", "CUSTOMERS", "MOTORCYCLES"}
PARKING_RESTRICTION = {"2.3.0": PARKING_RESTRICTION_221 | {"EMPLOYEES", "TAXIS", "TENANTS"},
                       "2.2.1": PARKING_RESTRICTION_221, "2.1.1": PARKING_RESTRICTION_221}
VEHICLE_TYPE = {"MOTORCYCLE", "PERSONAL_VEHICLE", "PERSONAL_VEHICLE_WITH_TRAILER", "VAN", "SEMI_TRACTOR", "RIGID",
                "TRUCK_WITH_TRAILER", "BUS", "DISABLED"}
TARIFF_TYPE = {"AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"}
DIMENSION = {"ENERGY", "FLAT", "PARKING_TIME", "TIME"}
TARIFF_FIELDS_211 = {"id", "currency", "tariff_alt_text", "tariff_alt_url", "elements", "energy_mix", "last_updated"}


# ---------------------------------------------------------------------------------------------------------
# A validator: the list of problems of one object, in the shape of a given version.


def location_problems(loc: dict, version: str) -> list[str]:
    p = []

    def need(obj, key, where, check=lambda v: True):
        if key not in obj:
            p.append(f"{where}{key} missing")
        elif not check(obj[key]):
            p.append(f"{where}{key} invalid: {obj[key]!r}")

    is_str = lambda v: isinstance(v, str) and v != ""  # noqa: E731
    is_int = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    is_time = lambda v: isinstance(v, str) and bool(DATETIME.match(v))  # noqa: E731

    def geo(v):
        return (isinstance(v, dict) and isinstance(v.get("latitude"), str) and isinstance(v.get("longitude"), str)
                and re.match(LATITUDE[version], v["latitude"]) and re.match(LONGITUDE[version], v["longitude"])
                and -90 <= float(v["latitude"]) <= 90 and -180 <= float(v["longitude"]) <= 180)

    need(loc, "id", "", is_str)
    if version == "2.1.1":
        for key in ("country_code", "party_id", "publish", "parking_type", "parking_places", "help_phone"):
            if key in loc:
                p.append(f"{key} does not exist in 2.1.1")
        need(loc, "type", "", lambda v: v in LOCATION_TYPE_211)
        need(loc, "postal_code", "", is_str)
    else:
        need(loc, "country_code", "", lambda v: isinstance(v, str) and len(v) == 2)
        need(loc, "party_id", "", lambda v: isinstance(v, str) and len(v) == 3)
        need(loc, "publish", "", lambda v: isinstance(v, bool))
        need(loc, "time_zone", "", is_str)
        if "parking_type" in loc and loc["parking_type"] not in PARKING_TYPE:
            p.append("parking_type unknown")
        if version == "2.2.1" and ("parking_places" in loc or "help_phone" in loc):
            p.append("2.3.0 fields in 2.2.1")
    need(loc, "address", "", lambda v: is_str(v) and len(v) <= 45)
    need(loc, "city", "", lambda v: is_str(v) and len(v) <= 45)
    need(loc, "country", "", lambda v: isinstance(v, str) and bool(re.match(r"^[A-Z]{3}$", v)))
    need(loc, "coordinates", "", geo)
    need(loc, "last_updated", "", is_time)
    if not set(loc.get("facilities", [])) <= FACILITY[version]:
        p.append("unknown facility")
    hours = loc.get("opening_times")
    if hours is not None and version != "2.1.1" and not isinstance(hours.get("twentyfourseven"), bool):
        p.append("opening_times.twentyfourseven required")
    parking_ids = {pp.get("id") for pp in loc.get("parking_places", [])}
    for n, pp in enumerate(loc.get("parking_places", [])):
        need(pp, "id", f"parking_places[{n}].", is_str)
        need(pp, "vehicle_types", f"parking_places[{n}].", lambda v: bool(v) and set(v) <= VEHICLE_TYPE)
        need(pp, "restricted_to_type", f"parking_places[{n}].", lambda v: isinstance(v, bool))
        need(pp, "reservation_required", f"parking_places[{n}].", lambda v: isinstance(v, bool))
    for e, evse in enumerate(loc.get("evses", [])):
        w = f"evses[{e}]."
        need(evse, "uid", w, is_str)
        need(evse, "status", w, lambda v: v in STATUS)
        need(evse, "last_updated", w, is_time)
        if "evse_id" in evse and not EVSE_ID.match(str(evse["evse_id"])):
            p.append(f"{w}evse_id malformed")
        if not set(evse.get("capabilities", [])) <= CAPABILITY[version]:
            p.append(f"{w}capabilities unknown")
        if not set(evse.get("parking_restrictions", [])) <= PARKING_RESTRICTION[version]:
            p.append(f"{w}parking_restrictions unknown")
        if "coordinates" in evse and not geo(evse["coordinates"]):
            p.append(f"{w}coordinates invalid")
        if version != "2.3.0" and ("parking" in evse or "accepted_service_providers" in evse):
            p.append(f"{w}2.3.0 fields in {version}")
        for ref in evse.get("parking", []):
            if ref.get("parking_id") not in parking_ids:
                p.append(f"{w}parking refers to unknown parking {ref.get('parking_id')}")
        need(evse, "connectors", w, lambda v: isinstance(v, list) and len(v) > 0)
        for c, con in enumerate(evse.get("connectors", [])):
            cw = f"{w}connectors[{c}]."
            need(con, "id", cw, is_str)
            need(con, "standard", cw, lambda v: v in CONNECTOR[version])
            need(con, "format", cw, lambda v: v in ("SOCKET", "CABLE"))
            need(con, "power_type", cw, lambda v: v in POWER_TYPE[version])
            need(con, "last_updated", cw, is_time)
            if version == "2.1.1":
                need(con, "voltage", cw, is_int)
                need(con, "amperage", cw, is_int)
                if {"max_voltage", "max_amperage", "max_electric_power", "tariff_ids"} & set(con):
                    p.append(f"{cw}2.2+ fields in 2.1.1")
            else:
                need(con, "max_voltage", cw, is_int)
                need(con, "max_amperage", cw, is_int)
                if "max_electric_power" in con and not is_int(con["max_electric_power"]):
                    p.append(f"{cw}max_electric_power not an int")
    return p


def tariff_problems(tariff: dict, version: str) -> list[str]:
    p = []
    if version == "2.1.1":
        if set(tariff) - TARIFF_FIELDS_211:
            p.append(f"fields not in 2.1.1: {sorted(set(tariff) - TARIFF_FIELDS_211)}")
    else:
        if tariff.get("type") not in TARIFF_TYPE:
            p.append("type")
        if len(tariff.get("country_code", "")) != 2 or len(tariff.get("party_id", "")) != 3:
            p.append("owner")
    if version == "2.3.0":
        if tariff.get("tax_included") not in ("YES", "NO", "N/A"):
            p.append("tax_included")
        for key in ("min_price", "max_price"):
            if key in tariff and not isinstance(tariff[key].get("before_taxes"), (int, float)):
                p.append(f"{key} is not a PriceLimit")
    elif "tax_included" in tariff or "preauthorize_amount" in tariff:
        p.append("2.3.0 fields")
    if version == "2.2.1":
        for key in ("min_price", "max_price"):
            if key in tariff and not isinstance(tariff[key].get("excl_vat"), (int, float)):
                p.append(f"{key} is not a 2.2.1 Price")
    if tariff.get("currency") != "EUR" or not DATETIME.match(tariff.get("last_updated", "")):
        p.append("currency or last_updated")
    if not tariff.get("elements"):
        p.append("elements")
    for element in tariff.get("elements", []):
        for component in element.get("price_components", []):
            if component.get("type") not in DIMENSION or not isinstance(component.get("price"), (int, float)):
                p.append("price component")
            if not isinstance(component.get("step_size"), int):
                p.append("step_size")
            if version == "2.1.1" and "vat" in component:
                p.append("vat in 2.1.1")
    return p


# ---------------------------------------------------------------------------------------------------------
# A running demo CPO and a small OCPI client


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # keep pytest output readable
        pass


@dataclass
class Demo:
    app: object
    base: str
    version: str

    @property
    def fleet(self) -> Fleet:
        return self.app.config["FLEET"]

    def url(self, path: str) -> str:
        return f"{self.base}/ocpi/{self.version}{path}"


def auth(token: str, version: str) -> dict:
    """The Authorization header as a client of that version sends it."""
    value = token if version == "2.1.1" else base64.b64encode(token.encode()).decode()
    return {"Authorization": f"Token {value}"}


@contextmanager
def running(fleet: Fleet | None = None, **options):
    options.setdefault("ocpi_version", "2.3.0")
    app = create_app(fleet if fleet is not None else generate_fleet(200), DemoOptions(**options))
    server = make_server(host="127.0.0.1", port=0, app=app, threaded=True, request_handler=QuietHandler)
    # A short poll interval lets shutdown() return at once instead of after up to half a second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield Demo(app, f"http://127.0.0.1:{server.server_port}", options["ocpi_version"])
    finally:
        server.shutdown()
        thread.join()


def harvest(demo: Demo, module: str, token: str = "demo-token", retries: int = 0, **params):
    """Walk the Link chain from the first page; return (objects, responses)."""
    headers = auth(token, demo.version)
    objects, responses = [], []
    url, query = demo.url(f"/{module}"), params
    with httpx.Client(timeout=10) as client:
        while url:
            for attempt in range(retries + 1):
                response = client.get(url, params=query, headers=headers)
                if response.status_code != 503:
                    break
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["status_code"] == 1000
            responses.append(response)
            objects += body["data"]
            link = response.headers.get("Link")
            url, query = (re.match(r'^<([^>]+)>; rel="next"$', link).group(1), None) if link else (None, None)
    return objects, responses


@pytest.fixture(scope="module")
def fleet200() -> Fleet:
    return generate_fleet(200)


# ---------------------------------------------------------------------------------------------------------
# The fleet


def test_fleet_is_deterministic_for_a_seed():
    assert generate_fleet(60, seed=7) == generate_fleet(60, seed=7)
    assert generate_fleet(60, seed=7).locations != generate_fleet(60, seed=8).locations
    # Location i does not depend on the fleet size.
    assert generate_fleet(80, seed=7).locations[:30] == generate_fleet(30, seed=7).locations


def test_fleet_scales_to_25000_locations_with_unique_ids():
    fleet = generate_fleet(25000, seed=3)
    assert len({loc["id"] for loc in fleet.locations}) == 25000
    evses = [evse for loc in fleet.locations for evse in loc["evses"]]
    assert len({evse["uid"] for evse in evses}) == len(evses)
    assert len({evse["evse_id"] for evse in evses}) == len(evses)
    assert all(EVSE_ID.match(evse["evse_id"]) for evse in evses)
    for loc in fleet.locations:
        lat, lon = float(loc["coordinates"]["latitude"]), float(loc["coordinates"]["longitude"])
        assert GERMANY["lat"][0] < lat < GERMANY["lat"][1] and GERMANY["lon"][0] < lon < GERMANY["lon"][1]


def test_a_larger_fleet_spreads_into_rings_around_its_cities_at_the_same_density():
    """Past RING_LOCATIONS each further RING_LOCATIONS locations fill the next ring of the
    same area: a million-EVSE fleet is as dense as a 100k one, not ten times denser."""
    import random

    from demo_cpo.fleet import RING_LOCATIONS, _position

    spread_lat, spread_lon = 0.03, 0.045
    for ring in range(10):
        rng = random.Random(ring)
        inner, outer = ring ** 0.5, (ring + 1) ** 0.5
        for _ in range(300):
            lat, lon = _position(rng, ring * RING_LOCATIONS + rng.randrange(RING_LOCATIONS), 50.0, 10.0, False)
            reach = max(abs(lat - 50.0) / spread_lat, abs(lon - 10.0) / spread_lon)
            assert inner - 1e-9 <= reach <= outer + 1e-9
    # The outermost ring of a million-EVSE fleet (314,878 locations) still lies in Germany.
    from demo_cpo.fleet import make_location

    for index in range(10 * RING_LOCATIONS, 11 * RING_LOCATIONS, 15):
        loc = make_location(index)
        lat, lon = float(loc["coordinates"]["latitude"]), float(loc["coordinates"]["longitude"])
        assert GERMANY["lat"][0] < lat < GERMANY["lat"][1] and GERMANY["lon"][0] < lon < GERMANY["lon"][1]


def test_fleet_is_realistic_2_3_0(fleet200):
    tariffs = {t["id"]: t for t in fleet200.tariffs}
    assert 5 <= len(tariffs) <= 12
    assert all(tariff_problems(t, "2.3.0") == [] for t in fleet200.tariffs)
    dimensions = {c["type"] for t in fleet200.tariffs for e in t["elements"] for c in e["price_components"]}
    assert dimensions == DIMENSION
    restrictions = [e["restrictions"] for t in tariffs.values() for e in t["elements"] if "restrictions" in e]
    assert any("start_time" in r for r in restrictions) and any("min_power" in r for r in restrictions)
    assert {t["tax_included"] for t in tariffs.values()} >= {"YES", "NO"}

    kinds, statuses = set(), []
    for loc in fleet200.locations:
        assert location_problems(loc, "2.3.0") == [], loc["id"]
        assert loc["country"] == "DEU" and loc["time_zone"] == "Europe/Berlin" and loc["publish"] is True
        lat, lon = float(loc["coordinates"]["latitude"]), float(loc["coordinates"]["longitude"])
        assert GERMANY["lat"][0] < lat < GERMANY["lat"][1] and GERMANY["lon"][0] < lon < GERMANY["lon"][1]
        assert re.match(r"^\d{5}$", loc["postal_code"])
        assert loc["evses"] and loc["parking_places"]
        for evse in loc["evses"]:
            assert EVSE_ID.match(evse["evse_id"]) and evse["evse_id"].startswith("DE*ABC*E")
            assert [con["id"] for con in evse["connectors"]] == [str(i + 1) for i in range(len(evse["connectors"]))]
            assert 1 <= len(evse["connectors"]) <= 3
            assert evse["last_updated"] <= loc["last_updated"]
            statuses.append(evse["status"])
            for con in evse["connectors"]:
                assert con["last_updated"] <= evse["last_updated"]
                types = [tariffs[tid]["type"] for tid in con["tariff_ids"]]  # every id resolves
                assert types.count("AD_HOC_PAYMENT") == 1 and len(set(types)) == len(types)
                kinds.add((con["power_type"], con["standard"]))
                if con["power_type"] == "AC_3_PHASE":
                    assert con["max_voltage"] == 230 and con["max_amperage"] in (16, 32, 63)  # line to neutral
                if con["power_type"] == "DC":
                    assert 50000 <= con["max_electric_power"] <= 1000000
    assert ("AC_3_PHASE", "IEC_62196_T2") in kinds and ("DC", "IEC_62196_T2_COMBO") in kinds
    assert ("DC", "CHADEMO") in kinds
    assert statuses.count("AVAILABLE") > len(statuses) / 2 and "CHARGING" in statuses


# ---------------------------------------------------------------------------------------------------------
# Versions and pagination


@pytest.mark.parametrize("version", VERSIONS)
def test_versions_and_version_details(version):
    with running(ocpi_version=version) as demo:
        headers = auth("demo-token", version)
        body = httpx.get(f"{demo.base}/ocpi/versions", headers=headers).json()
        assert body["status_code"] == 1000 and DATETIME.match(body["timestamp"])
        assert body["data"] == [{"version": version, "url": f"{demo.base}/ocpi/{version}"}]
        details = httpx.get(body["data"][0]["url"], headers=headers).json()["data"]
        assert details["version"] == version
        assert {e["identifier"] for e in details["endpoints"]} == {"credentials", "locations", "tariffs"}
        for endpoint in details["endpoints"]:
            if version == "2.1.1":
                assert "role" not in endpoint
            else:
                assert endpoint["role"] == "SENDER"
            assert httpx.get(endpoint["url"], headers=headers).status_code == 200
        other = next(v for v in VERSIONS if v != version)
        assert httpx.get(f"{demo.base}/ocpi/{other}/locations", headers=headers).status_code == 404


def test_pagination_follows_link_chain_and_returns_each_object_once(fleet200):
    with running(fleet200, page_limit=25) as demo:
        locations, responses = harvest(demo, "locations")
        assert [loc["id"] for loc in locations] == [loc["id"] for loc in fleet200.locations]
        assert len(responses) == 8
        assert all(r.headers["X-Total-Count"] == "200" and r.headers["X-Limit"] == "25" for r in responses)
        assert "Link" not in responses[-1].headers
        offsets = [entry["query"].get("offset", "0") for entry in demo.app.config["REQUEST_LOG"]]
        assert offsets == [str(25 * n) for n in range(8)]

        headers = auth("demo-token", "2.3.0")
        capped = httpx.get(demo.url("/locations"), params={"limit": 1000}, headers=headers)
        assert capped.headers["X-Limit"] == "25" and len(capped.json()["data"]) == 25
        small = httpx.get(demo.url("/locations"), params={"limit": 10, "offset": 195}, headers=headers)
        assert small.headers["X-Limit"] == "10" and len(small.json()["data"]) == 5 and "Link" not in small.headers

        tariffs, _ = harvest(demo, "tariffs", limit=4)
        assert [t["id"] for t in tariffs] == [t["id"] for t in fleet200.tariffs]


def test_date_from_is_inclusive_and_date_to_exclusive(fleet200):
    stamps = sorted({loc["last_updated"] for loc in fleet200.locations})
    date_from, date_to = stamps[40], stamps[160]
    expected = [loc["id"] for loc in fleet200.locations if date_from <= loc["last_updated"] < date_to]
    with running(fleet200, page_limit=30) as demo:
        found, responses = harvest(demo, "locations", date_from=date_from, date_to=date_to)
        assert [loc["id"] for loc in found] == expected
        assert {r.headers["X-Total-Count"] for r in responses} == {str(len(expected))}
        # The next-page links keep the filters.
        assert all(e["query"]["date_from"] == date_from and e["query"]["date_to"] == date_to
                   for e in demo.app.config["REQUEST_LOG"])
        exact = [loc["id"] for loc in fleet200.locations if loc["last_updated"] == date_from]
        assert {loc["id"] for loc in harvest(demo, "locations", date_from=date_from, date_to=date_from)[0]} == set()
        to_inclusive, _ = harvest(demo, "locations", date_to=date_from)
        assert not set(exact) & {loc["id"] for loc in to_inclusive}
        # Fractional seconds and a missing 'Z' are valid OCPI DateTimes; '+00:00' is not.
        assert len(harvest(demo, "locations", date_from=date_from.rstrip("Z") + ".0")[0]) == \
            sum(loc["last_updated"] >= date_from for loc in fleet200.locations)
        bad = httpx.get(demo.url("/locations"), params={"date_from": "2024-01-01T00:00:00+00:00"},
                        headers=auth("demo-token", "2.3.0"))
        assert bad.status_code == 400 and bad.json()["status_code"] == 2001


def test_incremental_harvest_sees_a_touched_location():
    with running(generate_fleet(100)) as demo:
        before = demo.fleet.locations[42]["evses"][0]["status"]
        touch_location(demo.app, 42, datetime(2024, 8, 1, 12, 0, tzinfo=timezone.utc))
        changed, _ = harvest(demo, "locations", date_from="2024-07-15T00:00:00Z")
        assert [loc["id"] for loc in changed] == ["LOC000043"]
        assert changed[0]["last_updated"] == changed[0]["evses"][0]["last_updated"] == "2024-08-01T12:00:00Z"
        assert changed[0]["evses"][0]["status"] != before
        last = demo.app.config["REQUEST_LOG"][-1]
        assert {key: last[key] for key in ("method", "path", "query", "status")} == {
            "method": "GET", "path": "/ocpi/2.3.0/locations", "query": {"date_from": "2024-07-15T00:00:00Z"},
            "status": 200}


def test_single_object_endpoints():
    with running(generate_fleet(20), ocpi_version="2.2.1") as demo:
        headers = auth("demo-token", "2.2.1")
        location = demo.fleet.locations[3]
        evse = location["evses"][0]
        got = httpx.get(demo.url(f"/locations/{location['id']}"), headers=headers).json()["data"]
        assert got["id"] == location["id"] and "parking_places" not in got
        got = httpx.get(demo.url(f"/locations/{location['id']}/{evse['uid']}"), headers=headers).json()["data"]
        assert got["evse_id"] == evse["evse_id"]
        got = httpx.get(demo.url(f"/locations/{location['id']}/{evse['uid']}/1"), headers=headers).json()["data"]
        assert got["standard"] == evse["connectors"][0]["standard"]
        missing = httpx.get(demo.url("/locations/NOPE"), headers=headers)
        assert missing.status_code == 404 and missing.json()["status_code"] == 2003


# ---------------------------------------------------------------------------------------------------------
# Authentication and the credentials module


def test_missing_wrong_or_revoked_token_is_401_with_2001():
    with running(generate_fleet(5)) as demo:
        for headers in ({}, {"Authorization": "Bearer demo-token"}, auth("wrong", "2.3.0")):
            response = httpx.get(demo.url("/locations"), headers=headers)
            assert response.status_code == 401
            assert response.json()["status_code"] == 2001 and "data" not in response.json()
        assert httpx.get(demo.url("/locations"), headers=auth("demo-token", "2.3.0")).status_code == 200
        demo.app.config["REVOKED"] = True
        assert httpx.get(f"{demo.base}/ocpi/versions", headers=auth("demo-token", "2.3.0")).status_code == 401
        assert httpx.get(demo.url("/tariffs"), headers=auth("demo-token", "2.3.0")).status_code == 401


@pytest.mark.parametrize("version", VERSIONS)
def test_token_is_base64_from_2_2_and_plain_in_2_1_1(version):
    plain = {"Authorization": "Token demo-token"}
    encoded = {"Authorization": "Token " + base64.b64encode(b"demo-token").decode()}
    with running(generate_fleet(5), ocpi_version=version) as demo:
        right, wrong = (plain, encoded) if version == "2.1.1" else (encoded, plain)
        assert httpx.get(demo.url("/locations"), headers=right).status_code == 200
        assert httpx.get(demo.url("/locations"), headers=wrong).status_code == 401
        # The versions endpoint cannot expect a client to know the version yet: both forms work there.
        assert httpx.get(f"{demo.base}/ocpi/versions", headers=plain).status_code == 200
        assert httpx.get(f"{demo.base}/ocpi/versions", headers=encoded).status_code == 200


def client_credentials(version: str, token: str = "token-b-123", url: str = "https://nap.example/ocpi/versions"):
    party = {"party_id": "NAP", "country_code": "DE", "business_details": {"name": "Nationaler Zugangspunkt"}}
    if version == "2.1.1":
        return {"token": token, "url": url, **party}
    return {"token": token, "url": url, "roles": [{"role": "NAP", **party}]}


@pytest.mark.parametrize("version", VERSIONS)
def test_credentials_handshake_issues_token_c_and_invalidates_token_a(version):
    with running(generate_fleet(5), ocpi_version=version) as demo:
        token_a = auth("demo-token", version)
        posted = client_credentials(version)
        response = httpx.post(demo.url("/credentials"), json=posted, headers=token_a)
        assert response.status_code == 200 and response.json()["status_code"] == 1000
        ours = response.json()["data"]
        token_c = ours["token"]
        assert token_c not in ("demo-token", posted["token"]) and ours["url"] == f"{demo.base}/ocpi/versions"
        if version == "2.1.1":
            assert ours["party_id"] == "ABC" and ours["country_code"] == "DE" and "roles" not in ours
        else:
            assert ours["roles"][0]["role"] == "CPO" and ours["roles"][0]["party_id"] == "ABC"
        assert demo.app.config["CLIENT_CREDENTIALS"] == posted and demo.app.config["TOKEN_C"] == token_c

        assert httpx.get(demo.url("/locations"), headers=token_a).status_code == 401
        assert httpx.get(demo.url("/locations"), headers=auth(token_c, version)).status_code == 200
        assert httpx.post(demo.url("/credentials"), json=posted, headers=auth(token_c, version)).status_code == 405
        assert httpx.get(demo.url("/credentials"), headers=auth(token_c, version)).json()["data"]["token"] == token_c

        # PUT re-registers with a fresh TOKEN_C.
        renewed = httpx.put(demo.url("/credentials"), json=client_credentials(version, token="token-b-456"),
                            headers=auth(token_c, version)).json()["data"]["token"]
        assert renewed != token_c
        assert httpx.get(demo.url("/tariffs"), headers=auth(token_c, version)).status_code == 401
        assert httpx.get(demo.url("/tariffs"), headers=auth(renewed, version)).status_code == 200

        # DELETE unregisters; PUT and DELETE then say 405.
        assert httpx.delete(demo.url("/credentials"), headers=auth(renewed, version)).json()["status_code"] == 1000
        assert demo.app.config["CLIENT_CREDENTIALS"] is None
        assert httpx.delete(demo.url("/credentials"), headers=token_a).status_code == 405


def test_credentials_post_is_validated():
    with running(generate_fleet(5), ocpi_version="2.2.1") as demo:
        token_a = auth("demo-token", "2.2.1")
        no_roles = {"token": "abc", "url": "https://nap.example/ocpi/versions"}
        response = httpx.post(demo.url("/credentials"), json=no_roles, headers=token_a)
        assert response.json()["status_code"] == 2001 and "roles" in response.json()["status_message"]
        bad_json = httpx.post(demo.url("/credentials"), content=b"{nope", headers=token_a)
        assert bad_json.status_code == 400
        assert demo.app.config["TOKEN_C"] is None  # still in static-token mode
        assert httpx.get(demo.url("/locations"), headers=token_a).status_code == 200


def test_registration_fetches_the_clients_versions_when_asked():
    # The "client" is a second demo CPO that accepts TOKEN_B: a real endpoint to call back.
    with running(generate_fleet(1), ocpi_version="2.2.1", token="token-b-123") as client_side, \
            running(generate_fleet(5), ocpi_version="2.2.1", verify_client_versions=True) as demo:
        token_a = auth("demo-token", "2.2.1")
        unreachable = client_credentials("2.2.1", url="http://127.0.0.1:9/ocpi/versions")
        assert httpx.post(demo.url("/credentials"), json=unreachable, headers=token_a).json()["status_code"] == 3001
        reachable = client_credentials("2.2.1", url=f"{client_side.base}/ocpi/versions")
        assert httpx.post(demo.url("/credentials"), json=reachable, headers=token_a).json()["status_code"] == 1000
        fetched = demo.app.config["CLIENT_VERSIONS"]
        assert fetched["details"]["version"] == "2.2.1"
        assert [e["path"] for e in client_side.app.config["REQUEST_LOG"]] == ["/ocpi/versions", "/ocpi/2.2.1"]


# ---------------------------------------------------------------------------------------------------------
# Output per version


@pytest.mark.parametrize("version", VERSIONS)
def test_every_served_object_is_valid_in_its_version(fleet200, version):
    with running(fleet200, ocpi_version=version) as demo:
        locations, _ = harvest(demo, "locations")
        tariffs, _ = harvest(demo, "tariffs")
    assert len(locations) == 200
    assert {loc["id"]: location_problems(loc, version) for loc in locations if location_problems(loc, version)} == {}
    assert [t["id"] for t in tariffs if tariff_problems(t, version)] == []
    tariff_ids = {t["id"] for t in tariffs}
    for loc in locations:
        for evse in loc["evses"]:
            for con in evse["connectors"]:
                ids = [con["tariff_id"]] if version == "2.1.1" else con["tariff_ids"]
                assert set(ids) <= tariff_ids


def test_2_1_1_shape(fleet200):
    with running(fleet200, ocpi_version="2.1.1") as demo:
        locations, _ = harvest(demo, "locations")
        tariffs = {t["id"]: t for t in harvest(demo, "tariffs")[0]}
    connector = locations[0]["evses"][0]["connectors"][0]
    assert "voltage" in connector and "amperage" in connector and "max_voltage" not in connector
    assert "max_electric_power" not in connector and connector["tariff_id"].startswith("ADHOC-")
    by_id = {loc["id"]: loc for loc in locations}
    for original in fleet200.locations:
        served = by_id[original["id"]]
        expected_type = {"ALONG_MOTORWAY": "PARKING_LOT", "ON_DRIVEWAY": "OTHER", None: "UNKNOWN"}.get(
            original.get("parking_type"), original.get("parking_type"))
        assert served["type"] == expected_type
        assert abs(float(served["coordinates"]["latitude"]) - float(original["coordinates"]["latitude"])) < 1e-6
        hours = served["opening_times"]
        assert ("twentyfourseven" in hours) != ("regular_hours" in hours)  # 2.1.1: a choice of one
        if "energy_mix" in served and "environ_impact" in served["energy_mix"]:
            assert all("source" in i and "category" not in i for i in served["energy_mix"]["environ_impact"])
    # Gross ad-hoc prices become net prices: 0.59 incl. 19 % VAT is 0.4958 excl. VAT.
    assert tariffs["ADHOC-AC22"]["elements"][0]["price_components"][0] == {"type": "ENERGY", "price": 0.4958,
                                                                            "step_size": 1}
    assert tariffs["REG-AC"]["elements"][0]["price_components"][1]["price"] == 0.42  # net stays net


def test_2_2_1_shape(fleet200):
    with running(fleet200, ocpi_version="2.2.1") as demo:
        locations, _ = harvest(demo, "locations")
        tariffs = {t["id"]: t for t in harvest(demo, "tariffs")[0]}
    connector = locations[0]["evses"][0]["connectors"][0]
    assert {"max_voltage", "max_amperage", "max_electric_power", "tariff_ids"} <= set(connector)
    assert all("parking_places" not in loc and "help_phone" not in loc for loc in locations)
    assert tariffs["REG-DC"]["min_price"] == {"excl_vat": 1.0, "incl_vat": 1.19}
    assert tariffs["ADHOC-DC150"]["elements"][0]["price_components"][0]["price"] == round(0.79 / 1.19, 4)
    assert tariffs["ADHOC-DC150"]["elements"][0]["price_components"][0]["vat"] == 19.0
    connectors = [c for loc in locations for e in loc["evses"] for c in e["connectors"]]
    trucks = [c for c in connectors if c["max_electric_power"] >= 400000]
    assert trucks and all(c["standard"] != "MCS" for c in trucks)  # MCS does not exist before 2.3.0


def test_2_3_0_parking_and_tax_fields(fleet200):
    with running(fleet200) as demo:
        locations, _ = harvest(demo, "locations")
        tariffs, _ = harvest(demo, "tariffs")
    assert locations == fleet200.locations
    places = [p for loc in locations for p in loc["parking_places"]]
    assert {"PERSONAL_VEHICLE", "DISABLED"} <= {v for p in places for v in p["vehicle_types"]}
    assert all(isinstance(p["restricted_to_type"], bool) and isinstance(p["reservation_required"], bool)
               for p in places)
    refs = [ref for loc in locations for evse in loc["evses"] for ref in evse["parking"]]
    assert refs and all(set(ref) <= {"parking_id", "evse_position"} for ref in refs)
    assert {ref["evse_position"] for ref in refs} <= {"LEFT", "RIGHT", "CENTER"}
    assert all(t["tax_included"] in ("YES", "NO", "N/A") for t in tariffs)
    assert all("before_taxes" in t[k] for t in tariffs for k in ("min_price", "max_price") if k in t)


def test_to_version_rules_for_values_the_fleet_rarely_uses():
    location = generate_fleet(1).locations[0]
    evse = location["evses"][0]
    evse["connectors"] = [dict(evse["connectors"][0], standard="SAE_J3400", power_type="AC_2_PHASE")]
    evse["parking_restrictions"] = ["EMPLOYEES", "TAXIS", "TENANTS"]
    location["evses"].append(dict(evse, uid="MCS-ONLY", connectors=[dict(evse["connectors"][0], standard="MCS")]))
    snapshot = repr(location)

    v221 = to_version(location, "location", "2.2.1")
    assert v221["evses"][0]["connectors"][0]["standard"] == "TESLA_S"
    assert v221["evses"][0]["parking_restrictions"] == ["CUSTOMERS"]
    assert [e["uid"] for e in v221["evses"]] == [evse["uid"]]  # the MCS-only EVSE cannot exist in 2.2.1
    v211 = to_version(location, "location", "2.1.1")
    assert v211["evses"][0]["connectors"][0]["power_type"] == "AC_1_PHASE"
    assert repr(location) == snapshot  # the input is left alone

    tariff = {"country_code": "DE", "party_id": "ABC", "id": "T", "currency": "EUR", "tax_included": "N/A",
              "elements": [{"price_components": [{"type": "TIME", "price": 2.0, "vat": 0.0, "step_size": 60}],
                            "restrictions": {"reservation": "RESERVATION"}},
                           {"price_components": [{"type": "FLAT", "price": 0.0, "vat": 0.0, "step_size": 1}]}],
              "last_updated": "2024-01-01T00:00:00Z"}
    assert "vat" not in to_version(tariff, "tariff", "2.2.1")["elements"][1]["price_components"][0]
    assert len(to_version(tariff, "tariff", "2.1.1")["elements"]) == 1  # reservation element dropped


# ---------------------------------------------------------------------------------------------------------
# Misbehaviour on purpose


@pytest.mark.parametrize("version", VERSIONS)
def test_broken_objects_are_deterministic_and_caught(fleet200, version):
    with running(fleet200, ocpi_version=version, broken_objects=13, seed=5, page_limit=50) as demo:
        broken = demo.app.config["BROKEN_IDS"]
        assert len(broken) == 13 == len(set(demo.app.config["BROKEN_FLAWS"].values()))
        locations, _ = harvest(demo, "locations")
    assert create_app(fleet200, DemoOptions(broken_objects=13, seed=5)).config["BROKEN_IDS"] == broken
    invalid = {loc.get("id") for loc in locations if location_problems(loc, version)}
    assert invalid == set(broken)
    assert len(locations) == 200


def test_grow_while_paging_changes_total_count(fleet200):
    fleet = Fleet(locations=list(fleet200.locations), tariffs=fleet200.tariffs)
    with running(fleet, page_limit=50, grow_while_paging=7) as demo:
        locations, responses = harvest(demo, "locations")
    totals = [r.headers["X-Total-Count"] for r in responses]
    assert totals[0] == "200" and set(totals[1:]) == {"207"}
    ids = [loc["id"] for loc in locations]
    assert len(ids) == len(set(ids)) == 207 and ids[-7:] == [f"LOC{n:06d}" for n in range(201, 208)]
    assert all(location_problems(loc, "2.3.0") == [] for loc in locations[-7:])
    assert all(loc["last_updated"] > max(l["last_updated"] for l in fleet200.locations) for loc in locations[-7:])


def test_fail_rate_is_deterministic_and_retries_get_through():
    def run():
        with running(generate_fleet(30), fail_rate=0.4, seed=9, page_limit=10) as demo:
            headers = auth("demo-token", "2.3.0")
            responses = [httpx.get(demo.url(f"/{module}"), headers=headers) for module in ["locations", "tariffs"] * 6]
            # Not a list request: never fails.
            assert httpx.get(demo.url("/locations/LOC000001"), headers=headers).status_code == 200
            locations, _ = harvest(demo, "locations", retries=20)
            return [r.status_code for r in responses], responses, len(locations)

    statuses, responses, harvested = run()
    assert run()[0] == statuses and 503 in statuses and 200 in statuses
    for response in responses:
        if response.status_code == 503:
            assert response.json()["status_code"] == 3000 and response.headers["Retry-After"] == "1"
    assert harvested == 30


def test_slow_ms_delays_list_requests(monkeypatch):
    slept = record_sleeps(monkeypatch)
    with running(generate_fleet(5), slow_ms=250) as demo:
        assert httpx.get(demo.url("/locations"), headers=auth("demo-token", "2.3.0")).status_code == 200
    assert 0.25 in slept


def test_request_ids_are_echoed():
    with running(generate_fleet(3)) as demo:
        response = httpx.get(demo.url("/locations"), headers={**auth("demo-token", "2.3.0"),
                                                               "X-Request-ID": "r-1", "X-Correlation-ID": "c-1",
                                                               "OCPI-from-country-code": "DE",
                                                               "OCPI-from-party-id": "NAP"})
        assert response.headers["X-Request-ID"] == "r-1" and response.headers["X-Correlation-ID"] == "c-1"
        assert response.headers["OCPI-to-party-id"] == "NAP" and response.headers["OCPI-from-party-id"] == "ABC"
