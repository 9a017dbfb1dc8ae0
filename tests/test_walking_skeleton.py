"""The whole path on real parts: demo CPO over HTTP -> harvest -> store (SQLite and
PostgreSQL) -> OCPI 2.3.0 API and DATEX II table, validated against the real XSD."""
from __future__ import annotations

import httpx
from lxml import etree

from harvesters.harvest import Harvester
from tests.harvest_helpers import register_and_harvest
from tests.xsd import validate


def fetch_all(url: str, token: str | None = None) -> list[dict]:
    """Walk an OCPI paginated list by its Link headers."""
    headers = {"Authorization": f"Token {token}"} if token else {}
    objects, next_url, pages = [], url, 0
    while next_url:
        response = httpx.get(next_url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status_code"] == 1000
        objects.extend(body["data"])
        pages += 1
        next_url = response.links.get("next", {}).get("url")
        assert pages < 1000
    return objects


def served_by_cpo(cpo, kind: str) -> list[dict]:
    import base64

    token = base64.b64encode(cpo.token.encode()).decode()
    return fetch_all(f"{cpo.url}/ocpi/2.3.0/{kind}?limit=100", token)


def test_demo_cpo_locations_are_republished_field_by_field(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=120, page_limit=25)
    run = register_and_harvest(sessions, settings, cpo)
    assert run.status == "success", run.error
    assert run.ocpi_version == "2.3.0"
    assert run.pages >= 5  # 120 locations at <= 50 per page, plus tariffs: Link was followed

    source = {loc["id"]: loc for loc in served_by_cpo(cpo, "locations")}
    published = fetch_all(f"{nap_server.url}/ocpi/2.3.0/locations?limit=40")
    assert len(source) == 120
    assert {loc["id"] for loc in published} == set(source)
    for location in published:
        assert location == source[location["id"]]

    source_tariffs = {t["id"]: t for t in served_by_cpo(cpo, "tariffs")}
    published_tariffs = fetch_all(f"{nap_server.url}/ocpi/2.3.0/tariffs")
    assert {t["id"]: t for t in published_tariffs} == source_tariffs


def test_pagination_headers_and_envelope(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=30)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    response = httpx.get(f"{nap_server.url}/ocpi/2.3.0/locations", params={"limit": 10, "offset": 5})
    assert response.headers["X-Total-Count"] == "30"
    assert response.headers["X-Limit"] == "10"
    assert 'rel="next"' in response.headers["Link"] and "offset=15" in response.headers["Link"]
    body = response.json()
    assert body["status_code"] == 1000 and len(body["data"]) == 10 and "timestamp" in body

    last = httpx.get(f"{nap_server.url}/ocpi/2.3.0/locations", params={"limit": 10, "offset": 20})
    assert "Link" not in last.headers

    bad = httpx.get(f"{nap_server.url}/ocpi/2.3.0/locations", params={"date_from": "yesterday"})
    assert bad.status_code == 400 and bad.json()["status_code"] == 2001

    versions = httpx.get(f"{nap_server.url}/ocpi/versions").json()["data"]
    assert versions == [{"version": "2.3.0", "url": f"{nap_server.url}/ocpi/2.3.0"},
                        {"version": "2.2.1", "url": f"{nap_server.url}/ocpi/2.2.1"}]
    details = httpx.get(versions[0]["url"]).json()["data"]
    assert {(e["identifier"], e["role"]) for e in details["endpoints"]} == {
        ("locations", "SENDER"), ("tariffs", "SENDER"), ("locations", "RECEIVER"), ("tariffs", "RECEIVER")}
    receiver = next(e["url"] for e in details["endpoints"] if e["role"] == "RECEIVER" and e["identifier"] == "locations")
    assert receiver == f"{nap_server.url}/ocpi/2.3.0/receiver/locations"


def test_single_objects_are_addressed_per_cpo(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=5)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    location = fetch_all(f"{nap_server.url}/ocpi/2.3.0/locations")[0]
    evse = location["evses"][0]
    connector = evse["connectors"][0]
    base = f"{nap_server.url}/ocpi/2.3.0/locations/{location['country_code']}/{location['party_id']}/{location['id']}"
    assert httpx.get(base).json()["data"] == location
    assert httpx.get(f"{base}/{evse['uid']}").json()["data"] == evse
    assert httpx.get(f"{base}/{evse['uid']}/{connector['id']}").json()["data"] == connector
    missing = httpx.get(f"{nap_server.url}/ocpi/2.3.0/locations/XX/YYY/nope")
    assert missing.status_code == 404 and missing.json()["status_code"] == 2003


def test_datex2_table_validates_against_the_xsd(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=40)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    published = fetch_all(f"{nap_server.url}/ocpi/2.3.0/locations")
    for profile in ("generic", "afir"):
        response = httpx.get(f"{nap_server.url}/datex2/v3.7/energy-infrastructure/table", params={"profile": profile})
        assert response.status_code == 200
        assert validate(response.content) == []
        document = etree.fromstring(response.content)
        assert document.tag == "{http://datex2.eu/schema/3/d2Payload}payload"
        refill_points = document.xpath("//*[local-name()='refillPoint']")
        assert len(refill_points) == sum(len(loc["evses"]) for loc in published)
    generic = etree.fromstring(
        httpx.get(f"{nap_server.url}/datex2/v3.7/energy-infrastructure/table").content)
    assert generic.nsmap.get("egi") == "http://datex2.eu/schema/3/energyInfrastructure"
    assert "EnergyInfrastructureTablePublication" in generic.get("{http://www.w3.org/2001/XMLSchema-instance}type")


def test_a_failed_harvest_keeps_the_last_good_data(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=15)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    before = fetch_all(f"{nap_server.url}/ocpi/2.3.0/locations")
    cpo.app.config["REVOKED"] = True
    run = Harvester(sessions, settings).harvest("demo")
    assert run.status == "failed" and "credentials" in run.error
    assert fetch_all(f"{nap_server.url}/ocpi/2.3.0/locations") == before
