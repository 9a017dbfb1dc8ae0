"""HTTP around the data: conditional GETs answered 304, Cache-Control, gzip, and the
OpenAPI document and docs page that must describe every public endpoint."""
from __future__ import annotations

import re
from email.utils import format_datetime as http_date
from email.utils import parsedate_to_datetime

import httpx
import pytest
from harvesters.harvest import Harvester
from nap.app import create_app
from nap.config import Settings
from demo_cpo import touch_location
from tests.harvest_helpers import register_and_harvest
from tests.test_listed_ids import statements  # noqa: F401 (a fixture)
from tests.test_ocpi_api_fixtures import CC, PARTY, location_id, token_header
from tests.waiting import with_last_modified

# The shared data set (fixture `published`): one harvest per database for the whole session.
pytest_plugins = ["tests.test_ocpi_api_fixtures"]

PUBLIC_PATHS = [
    "/ocpi/2.3.0/locations?limit=5&offset=5",
    f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(10)}",
    f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(10)}/{location_id(10)}-1",
    f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(10)}/{location_id(10)}-1/1",
    "/ocpi/2.3.0/tariffs",
    f"/ocpi/2.3.0/tariffs/{CC}/{PARTY}/REG-AC",
    "/ocpi/2.2.1/locations?limit=5",
    f"/ocpi/2.2.1/locations/{CC}/{PARTY}/{location_id(10)}",
    f"/ocpi/2.2.1/locations/{CC}/{PARTY}/{location_id(10)}/{location_id(10)}-1",
    f"/ocpi/2.2.1/locations/{CC}/{PARTY}/{location_id(10)}/{location_id(10)}-1/1",
    "/ocpi/2.2.1/tariffs?date_from=2024-01-01T00:00:00Z",
    f"/ocpi/2.2.1/tariffs/{CC}/{PARTY}/REG-AC",
    "/api/v1/locations?bbox=5,47,15,55",
]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_every_data_endpoint_answers_304_to_a_current_etag_or_date(published, path):
    first = with_last_modified(lambda: httpx.get(published.url(path)))
    assert first.status_code == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('W/"')
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert "Authorization" in first.headers["Vary"]

    same = httpx.get(published.url(path), headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["ETag"] == etag and same.headers["Cache-Control"] == "public, max-age=60"
    assert httpx.get(published.url(path), headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert httpx.get(published.url(path), headers={"If-Modified-Since": modified}).status_code == 304

    assert httpx.get(published.url(path), headers={"If-None-Match": 'W/"stale"'}).status_code == 200
    before = http_date(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
    assert httpx.get(published.url(path), headers={"If-Modified-Since": before}).status_code == 200
    # If-None-Match decides alone when both are sent (RFC 9110).
    assert httpx.get(published.url(path), headers={"If-None-Match": 'W/"stale"',
                                                   "If-Modified-Since": modified}).status_code == 200


def test_a_single_location_that_cannot_be_a_304_reads_its_documents_with_their_marks(published, statements):
    """Without validators the answer cannot be a 304, so the location's document is read
    with its row and the EVSEs' documents in the pass that reads their marks (for the
    ETag): two statements fewer than a conditional GET that misses, for the same answer."""
    path = published.url(f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(10)}")
    httpx.get(path)  # anything read once per process (the kept ids, the publication) is read now
    statements.clear()
    plain = httpx.get(path)
    plain_statements = len(statements)
    statements.clear()
    missed = httpx.get(path, headers={"If-None-Match": 'W/"stale"'})
    assert plain.status_code == missed.status_code == 200 and plain.json()["data"] == missed.json()["data"]
    assert plain.json()["data"]["evses"]
    assert plain_statements == len(statements) - 2


def test_etags_differ_between_pages_versions_and_filters(published):
    paths = ["/ocpi/2.3.0/locations?limit=5", "/ocpi/2.3.0/locations?limit=5&offset=5",
             "/ocpi/2.2.1/locations?limit=5", "/ocpi/2.3.0/locations?limit=5&date_from=2024-01-01T00:00:00Z",
             "/ocpi/2.3.0/tariffs?limit=5"]
    etags = [httpx.get(published.url(path)).headers["ETag"] for path in paths]
    assert len(set(etags)) == len(paths)


def test_pagination_headers_come_with_a_304_too(published):
    first = httpx.get(published.url("/ocpi/2.3.0/locations"), params={"limit": 5})
    again = httpx.get(published.url("/ocpi/2.3.0/locations"), params={"limit": 5},
                      headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    for header in ("Link", "X-Total-Count", "X-Limit"):
        assert again.headers[header] == first.headers[header]


def test_answers_for_a_consumer_are_private(published):
    response = httpx.get(published.url("/ocpi/2.3.0/tariffs"), headers=token_header(published.consumer_token))
    assert response.headers["Cache-Control"] == "private, max-age=60"


def test_large_answers_are_gzipped_when_the_client_accepts_it(published):
    with httpx.Client() as client:
        zipped = client.get(published.url("/ocpi/2.3.0/locations"), headers={"Accept-Encoding": "gzip"})
        plain = client.get(published.url("/ocpi/2.3.0/locations"), headers={"Accept-Encoding": "identity"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert "Content-Encoding" not in plain.headers
    assert zipped.json()["data"] == plain.json()["data"]
    assert int(zipped.headers["Content-Length"]) * 5 < int(plain.headers["Content-Length"])
    tiny = httpx.get(published.url("/ocpi/versions"), headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in tiny.headers  # not worth it


def test_a_change_makes_the_old_validators_stale(demo_cpo, live_server, sessions, database_url):
    """On fresh data: after a harvest that changes one location and removes another, the
    page holding the change, the page the removal shifted and the changed object answer 200
    to their old ETag and Last-Modified; an untouched object still answers 304."""
    settings = Settings(database_url=database_url, harvest_page_limit=50, full_sync_hours=0,
                        outbound_allow=("127.0.0.0/8",))
    cpo = demo_cpo(locations=12)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    nap = live_server(create_app(settings))
    fleet = cpo.app.config["FLEET"]
    changed, untouched = fleet.locations[8]["id"], fleet.locations[10]["id"]
    paths = {
        "page with the change": "/ocpi/2.3.0/locations?limit=4&offset=8",
        "page shifted by the removal": "/ocpi/2.3.0/locations?limit=4&offset=4",
        "changed location": f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{changed}",
        "untouched location": f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{untouched}",
    }
    before = {name: with_last_modified(lambda path=path: httpx.get(nap.url + path)) for name, path in paths.items()}

    touch_location(cpo.app, 8, "2030-01-01T00:00:00Z")
    del fleet.locations[1]  # no longer served: the full sync marks it removed
    run = Harvester(sessions, settings).harvest("demo")
    assert run.status == "success" and run.objects_removed == 1

    for name, path in paths.items():
        etag, modified = before[name].headers["ETag"], before[name].headers["Last-Modified"]
        by_etag = httpx.get(nap.url + path, headers={"If-None-Match": etag})
        by_date = httpx.get(nap.url + path, headers={"If-Modified-Since": modified})
        if name == "untouched location":
            assert by_etag.status_code == by_date.status_code == 304, name
        else:
            assert by_etag.status_code == by_date.status_code == 200, name
            assert by_etag.headers["ETag"] != etag, name
            assert by_etag.json()["data"] != before[name].json()["data"], name


# -- OpenAPI and docs -----------------------------------------------------------------------------


def _public_routes(app) -> set[str]:
    """Every GET path of the public blueprints, as an OpenAPI path template."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("ocpi_api", "map_api", "openapi", "statistics_api",
                                           "provenance_api") and "GET" in rule.methods:
            if "misaddressed" in rule.endpoint:  # answers only with directions to the right path
                continue
            routes.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
    return routes


def test_the_openapi_document_describes_every_public_endpoint(published):
    response = httpx.get(published.url("/openapi.json"))
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == _public_routes(create_app(published.settings))
    schemas = document["components"]["schemas"]
    for path, methods in document["paths"].items():
        for operation in methods.values():
            assert "200" in operation["responses"], path
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert "{" + parameter["name"] + "}" in path, (path, parameter["name"])
            for name in re.findall(r"\{(\w+)\}", path):
                assert name in {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}, path
    for reference in set(re.findall(r'"#/components/schemas/(\w+)"', response.text)):
        assert reference in schemas, reference
    evse = schemas["Evse"]["properties"]["parking"]["anyOf"][0]["items"]
    assert evse == {"$ref": "#/components/schemas/EvseParking"}  # the 2.3.0 object form


def test_the_docs_page_is_plain_html_listing_every_endpoint(published):
    response = httpx.get(published.url("/docs"))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    # Self-contained: nothing loaded from elsewhere (no CDN at run time).
    assert not re.search(r"<script|<link|src=", response.text)
    for path, methods in httpx.get(published.url("/openapi.json")).json()["paths"].items():
        assert f"</span>{path}</h3>" in response.text
        for method in methods.values():
            for parameter in method.get("parameters", []):
                assert f"<code>{parameter['name']}</code>" in response.text


HOSTILE_IDS = ["%00", "A%00B", "%ED%A0%80", "%FF"]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_a_nul_or_undecodable_id_is_simply_not_found(published, hostile):
    """Fails without the check: on PostgreSQL, /locations/DE/XSS/%00 answered 500 (the
    driver refuses NUL in a query parameter)."""
    for path, code in ((f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{hostile}", 2003),
                       (f"/ocpi/2.3.0/locations/{CC}/{hostile}/{location_id(10)}", 2003),
                       (f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(10)}/{hostile}", 2003),
                       (f"/ocpi/2.3.0/locations/{CC}/{PARTY}/{location_id(10)}/{location_id(10)}-1/{hostile}", 2003),
                       (f"/ocpi/2.2.1/locations/{hostile}/{PARTY}/{location_id(10)}", 2003),
                       (f"/ocpi/2.3.0/tariffs/{CC}/{PARTY}/{hostile}", 2000),
                       (f"/ocpi/2.2.1/tariffs/{hostile}/{PARTY}/REG-AC", 2000)):
        answer = httpx.get(published.url(path))
        assert answer.status_code == 404 and answer.json()["status_code"] == code, (path, answer.text)
