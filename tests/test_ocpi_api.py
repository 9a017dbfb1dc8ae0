"""The OCPI 2.3.0 sender interface over real HTTP, on SQLite and PostgreSQL: versions,
paginated lists with their filters and headers, single objects addressed per CPO, errors,
and conformance of every object served to its normalized source and to the 2.3.0 model."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from nap.ocpi import schemas
from nap.ocpi.values import format_datetime, parse_datetime
from tests.test_ocpi_api_fixtures import (
    CC, EXTENSIONS, LOCATIONS, MAX_LIMIT, NEW_REMOVED, OLD_REMOVED, PARKING_AS_IDS, PARTY, PRIVATE_NOBODY,
    PRIVATE_SHARED, fetch_all, location_id,
)

# The shared data set (fixture `published`): one harvest per database for the whole session.
pytest_plugins = ["tests.test_ocpi_api_fixtures"]

PUBLIC_COUNT = LOCATIONS - 2  # two locations are publish=false


def get(published, path: str, **kwargs) -> httpx.Response:
    return httpx.get(published.url(path), **kwargs)


def expected_served(published, document: dict) -> dict:
    """A stored location as anyone may be served it: without EVSEs REMOVED long ago."""
    served = dict(document)
    if document["id"] == location_id(OLD_REMOVED):
        served["evses"] = [evse for evse in document["evses"] if evse["status"] != "REMOVED"]
    return served


def conforms(model, obj: dict) -> list[str]:
    """Problems of `obj` as a 2.3.0 object: invalid, not in normal form (the model would
    change it), or needing a repair. OpenEnum extension values are allowed."""
    context: dict[str, list[str]] = {"warnings": []}
    normal = model.model_validate(obj, context=context).to_json()
    problems = [w for w in context["warnings"] if "is not a known" not in w]
    if normal != obj:
        problems.append(f"not in normal form: {normal} != {obj}")
    return problems


# -- versions ---------------------------------------------------------------------------------


def test_versions_list_both_and_their_details_point_to_working_endpoints(published):
    body = get(published, "/ocpi/versions").json()
    assert body["status_code"] == 1000
    assert body["data"] == [{"version": "2.3.0", "url": published.url("/ocpi/2.3.0")},
                            {"version": "2.2.1", "url": published.url("/ocpi/2.2.1")}]
    for version in body["data"]:
        details = httpx.get(version["url"]).json()["data"]
        assert details["version"] == version["version"]
        assert {(e["identifier"], e["role"]) for e in details["endpoints"]} == {
            ("locations", "SENDER"), ("tariffs", "SENDER"), ("locations", "RECEIVER"), ("tariffs", "RECEIVER")}
        for endpoint in details["endpoints"]:
            if endpoint["role"] == "SENDER":  # receivers take pushes from CPOs (test_push_receiver)
                assert httpx.get(endpoint["url"]).json()["status_code"] == 1000


# -- lists --------------------------------------------------------------------------------------


def test_location_pages_follow_link_headers_with_count_and_limit(published):
    objects, responses = fetch_all(published.url("/ocpi/2.3.0/locations"), params={"limit": 7})
    assert [loc["id"] for loc in objects] == [location_id(i) for i in range(LOCATIONS)
                                              if i not in (PRIVATE_SHARED, PRIVATE_NOBODY)]  # oldest first
    assert len(responses) == 6
    for number, response in enumerate(responses):
        assert response.headers["X-Total-Count"] == str(PUBLIC_COUNT)
        assert response.headers["X-Limit"] == "7"
        if number < len(responses) - 1:
            next_query = parse_qs(urlparse(response.links["next"]["url"]).query)
            assert next_query == {"offset": [str(7 * (number + 1))], "limit": ["7"]}
    assert "Link" not in responses[-1].headers


def test_the_server_caps_the_limit_and_says_so_in_x_limit(published):
    for params in ({}, {"limit": 1000}):
        response = get(published, "/ocpi/2.3.0/locations", params=params)
        assert response.headers["X-Limit"] == str(MAX_LIMIT)
        assert len(response.json()["data"]) == MAX_LIMIT
        assert f"limit={MAX_LIMIT}" in response.headers["Link"]


def test_date_from_is_inclusive_date_to_exclusive_and_links_keep_them(published):
    stamps = sorted(parse_datetime(doc["last_updated"]) for doc in published.locations.values()
                    if doc["publish"])
    date_from, date_to = stamps[5], stamps[30]
    expected = {doc["id"] for doc in published.locations.values()
                if doc["publish"] and date_from <= parse_datetime(doc["last_updated"]) < date_to}
    params = {"date_from": format_datetime(date_from), "date_to": format_datetime(date_to), "limit": 10}
    objects, responses = fetch_all(published.url("/ocpi/2.3.0/locations"), params=params)
    assert {loc["id"] for loc in objects} == expected and len(objects) == len(expected) == 25
    assert all(r.headers["X-Total-Count"] == "25" for r in responses)
    link_query = parse_qs(urlparse(responses[0].links["next"]["url"]).query)
    assert link_query["date_from"] == [params["date_from"]] and link_query["date_to"] == [params["date_to"]]
    only_from = get(published, "/ocpi/2.3.0/locations", params={"date_from": params["date_from"]})
    assert only_from.headers["X-Total-Count"] == str(sum(1 for s in stamps if s >= date_from))


def test_tariffs_list_equals_the_normalized_source_and_conforms(published):
    objects, responses = fetch_all(published.url("/ocpi/2.3.0/tariffs"), params={"limit": 4})
    assert responses[0].headers["X-Total-Count"] == str(len(published.tariffs)) == "10"
    assert {t["id"]: t for t in objects} == published.tariffs
    for tariff in objects:
        assert conforms(schemas.Tariff, tariff) == []
    stamps = sorted({t["last_updated"] for t in objects})
    newest = get(published, "/ocpi/2.3.0/tariffs", params={"date_from": stamps[-1]}).json()["data"]
    assert {t["id"] for t in newest} == {t["id"] for t in objects if t["last_updated"] == stamps[-1]}


@pytest.mark.parametrize("params, mentioned", [
    ({"offset": "-1"}, "offset"), ({"limit": "0"}, "limit"), ({"limit": "ten"}, "limit"),
    ({"date_from": "yesterday"}, "date_from"), ({"date_to": "2024-13-45T00:00:00Z"}, "date_to"),
])
def test_invalid_list_parameters_are_400_with_status_2001(published, params, mentioned):
    response = get(published, "/ocpi/2.3.0/locations", params=params)
    body = response.json()
    assert response.status_code == 400 and body["status_code"] == 2001
    assert mentioned in body["status_message"] and "data" not in body and "timestamp" in body


# -- conformance --------------------------------------------------------------------------------


def test_every_location_served_equals_its_normalized_source_and_conforms_to_2_3_0(published):
    served, _ = fetch_all(published.url("/ocpi/2.3.0/locations"))
    assert len(served) == PUBLIC_COUNT
    for location in served:
        assert location == expected_served(published, published.locations[location["id"]])
        assert conforms(schemas.Location, location) == []
        for evse in location["evses"]:
            assert conforms(schemas.Evse, evse) == []


def test_cpo_input_outside_the_model_is_served_in_2_3_0_form(published):
    raw = published.raw_locations[location_id(PARKING_AS_IDS)]
    assert all(isinstance(ref, str) for ref in raw["evses"][0]["parking"])  # the CPO sent plain ids
    assert isinstance(raw["coordinates"]["latitude"], float)  # ... and numbers
    location = get(published, f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(PARKING_AS_IDS)}").json()["data"]
    assert location["evses"][0]["parking"] == [{"parking_id": ref} for ref in raw["evses"][0]["parking"]]
    for axis, pattern in (("latitude", r"^-?[0-9]{1,2}\.[0-9]{5,7}$"), ("longitude", r"^-?[0-9]{1,3}\.[0-9]{5,7}$")):
        value = location["coordinates"][axis]
        assert isinstance(value, str) and re.match(pattern, value), value  # GeoLocation: string with regex
        assert abs(float(value) - raw["coordinates"][axis]) < 1e-7
    assert conforms(schemas.Location, location) == []


def test_extension_values_of_open_enums_are_kept_in_2_3_0(published):
    location = get(published, f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(EXTENSIONS)}").json()["data"]
    evse = location["evses"][0]
    assert "SOLAR_CANOPY" in evse["capabilities"] and "TAXIS" in evse["parking_restrictions"]
    assert [c["standard"] for c in evse["connectors"]][-1] == "HYPERPLUG_X"
    assert location == published.locations[location_id(EXTENSIONS)]


# -- single objects -----------------------------------------------------------------------------


def test_location_evse_connector_and_tariff_are_addressed_by_owner_and_id(published):
    document = published.locations[location_id(10)]
    base = f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{document['id']}"
    evse = document["evses"][-1]
    connector = evse["connectors"][-1]
    assert get(published, base).json()["data"] == document
    assert get(published, f"{base}/{evse['uid']}").json()["data"] == evse
    assert get(published, f"{base}/{evse['uid']}/{connector['id']}").json()["data"] == connector
    tariff = next(iter(published.tariffs.values()))
    response = get(published, f"/ocpi/2.3.0/tariffs/{CC}/{PARTY}/{tariff['id']}")
    assert response.status_code == 200 and response.json()["data"] == tariff
    # Ids are CiStrings: case does not matter, in the owner either.
    lower = f"/ocpi/2.3.0/locations/{CC.lower()}/{PARTY.lower()}/{document['id'].lower()}/{evse['uid'].lower()}"
    assert get(published, lower).json()["data"] == evse
    assert get(published, f"/ocpi/2.3.0/tariffs/de/abc/{tariff['id'].lower()}").json()["data"] == tariff


@pytest.mark.parametrize("path, code", [
    (f"/ocpi/2.3.0/locations/{CC}/{PARTY}/NOPE", 2003),
    (f"/ocpi/2.3.0/locations/NL/{PARTY}/{location_id(10)}", 2003),  # the id exists, at another CPO
    (f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(10)}/NOPE", 2003),
    (f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(10)}/{location_id(10)}-1/NOPE", 2003),
    (f"/ocpi/2.3.0/tariffs/{CC}/{PARTY}/NOPE", 2000),
])
def test_unknown_objects_are_404_with_an_ocpi_status(published, path, code):
    response = get(published, path)
    assert response.status_code == 404 and response.json()["status_code"] == code
    assert "unknown" in response.json()["status_message"]


def test_plain_ocpi_object_paths_explain_the_per_cpo_addressing(published):
    for path in (f"/ocpi/2.3.0/locations/{location_id(10)}", f"/ocpi/2.3.0/locations/{location_id(10)}/x",
                 "/ocpi/2.3.0/tariffs/ADHOC-AC11"):
        response = get(published, path)
        assert response.status_code == 404 and response.json()["status_code"] == 2001
        assert "{country_code}/{party_id}" in response.json()["status_message"]


@pytest.mark.parametrize("parameter", ["offset", "limit", "date_from", "date_to"])
def test_an_empty_paging_parameter_is_an_error_not_the_default(published, parameter):
    for path in ("/ocpi/2.3.0/locations", "/ocpi/2.3.0/tariffs", "/ocpi/2.2.1/locations", "/ocpi/2.2.1/tariffs"):
        for empty in ("", " "):
            response = httpx.get(published.url(path), params={parameter: empty})
            assert response.status_code == 400, (path, parameter)
            assert response.json()["status_code"] == 2001 and parameter in response.json()["status_message"]
    assert get(published, "/ocpi/2.3.0/locations").status_code == 200


def test_unknown_paths_and_methods_still_get_an_ocpi_envelope(published):
    missing = get(published, "/ocpi/2.3.0/sessions")
    assert missing.status_code == 404 and missing.json()["status_code"] == 2000
    post = httpx.post(published.url("/ocpi/2.3.0/locations"), json={})
    assert post.status_code == 405 and post.json()["status_code"] == 2000
    assert "timestamp" in post.json()


def test_private_and_long_removed_objects_are_unknown_to_anonymous_readers(published):
    for index in (PRIVATE_SHARED, PRIVATE_NOBODY):
        assert get(published, f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(index)}").status_code == 404
    old = published.locations[location_id(OLD_REMOVED)]["evses"][0]
    assert old["status"] == "REMOVED"
    assert get(published, f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(OLD_REMOVED)}/{old['uid']}"
               ).status_code == 404
    recent = published.locations[location_id(NEW_REMOVED)]["evses"][0]
    response = get(published, f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(NEW_REMOVED)}/{recent['uid']}")
    assert response.status_code == 200 and response.json()["data"]["status"] == "REMOVED"
