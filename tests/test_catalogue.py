"""/catalogue: the DCAT-AP (mobilityDCAT-AP) description of every dataset NAP offers, in
JSON-LD and Turtle, built from the settings and the feeds, and naming endpoints that exist."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic

from exporters.catalogue import MOBILITYDCATAP
from nap.app import create_app
from tests.harvest_helpers import register_and_harvest
from tests.settings_helpers import replace

# Plain namespaces: rdflib's closed ones warn when pytest probes module attributes.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
BASE = "https://nap.example.org"
FREQUENCIES = "http://publications.europa.eu/resource/authority/frequency/"
FILE_TYPES = "http://publications.europa.eu/resource/authority/file-type/"
STANDARDS = "https://w3id.org/mobilitydcat-ap/mobility-data-standard/"
THEMES = "https://w3id.org/mobilitydcat-ap/mobility-theme/"

# What each dataset must state (DCAT-AP mandatory and recommended, mobilityDCAT-AP
# mandatory), as (name, property, the value's vocabulary or None).
DATASET_PROPERTIES = [
    ("title", DCTERMS["title"], None), ("description", DCTERMS.description, None),
    ("publisher", DCTERMS.publisher, None), ("contact point", DCAT.contactPoint, None),
    ("update frequency", DCTERMS.accrualPeriodicity, FREQUENCIES),
    ("spatial coverage", DCTERMS.spatial, "http://publications.europa.eu/resource/authority/country/FRA"),
    ("mobility theme", MOBILITYDCATAP.mobilityTheme, THEMES), ("distribution", DCAT.distribution, None),
]
DISTRIBUTION_PROPERTIES = [
    ("access URL", DCAT.accessURL, BASE + "/"), ("format", DCTERMS["format"], FILE_TYPES),
    ("licence", DCTERMS.license, "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"),
    ("mobility data standard", MOBILITYDCATAP.mobilityDataStandard, STANDARDS),
]
# Every dataset NAP offers, by an access URL path of one of its distributions.
OFFERED = ["/ocpi/2.3.0/locations", "/ocpi/2.2.1/locations", "/ocpi/2.3.0/tariffs",
           "/datex2/v3.7/energy-infrastructure/table?profile=generic",
           "/datex2/v3.7/energy-infrastructure/status?profile=generic",
           "/datex2/v3.7/energy-infrastructure/table?profile=afir",
           "/datex2/v3.7/energy-infrastructure/status?profile=afir",
           "/datex2/de-afir/01-00-00/table", "/datex2/de-afir/01-00-00/status",
           "/api/v1/statistics/national", "/api/v1/locations", "/downloads"]


@pytest.fixture
def catalogue_site(demo_cpo, live_server, sessions, settings, tmp_path):
    """NAP serving a harvested demo CPO, configured as a French access point elsewhere."""
    cpo = demo_cpo(locations=3)
    assert register_and_harvest(sessions, settings, cpo, licence="Etalab-2.0").status == "success"
    configured = replace(settings, public_base_url=BASE + "/", country_code="FR", export_dir=str(tmp_path / "exports"),
                         operator_name="Point d'accès national")
    return configured, live_server(create_app(configured))


def _fetch(url: str, **options) -> httpx.Response:
    response = httpx.get(url, **options)
    assert response.status_code == 200, response.text
    return response


def test_json_ld_and_turtle_are_the_same_graph_by_accept_header_or_parameter(catalogue_site):
    _, nap = catalogue_site
    json_ld = _fetch(f"{nap.url}/catalogue", headers={"Accept": "application/ld+json"})
    turtle = _fetch(f"{nap.url}/catalogue", headers={"Accept": "text/turtle"})
    assert json_ld.headers["Content-Type"].startswith("application/ld+json")
    assert turtle.headers["Content-Type"].startswith("text/turtle")
    assert json_ld.headers["Vary"] == turtle.headers["Vary"] == "Accept"
    from_json_ld = Graph().parse(data=json_ld.text, format="json-ld")
    from_turtle = Graph().parse(data=turtle.text, format="turtle")
    assert len(from_json_ld) > 100 and isomorphic(from_json_ld, from_turtle)
    by_parameter = [_fetch(f"{nap.url}/catalogue?format={name}", headers={"Accept": "text/html"})
                    for name in ("jsonld", "ttl")]
    assert isomorphic(Graph().parse(data=by_parameter[0].text, format="json-ld"), from_turtle)
    assert isomorphic(Graph().parse(data=by_parameter[1].text, format="turtle"), from_turtle)
    # A browser's Accept (*/* among others) gets JSON-LD; what cannot be served, a clear 4xx.
    assert _fetch(f"{nap.url}/catalogue", headers={"Accept": "text/html,*/*;q=0.8"}).headers[
        "Content-Type"].startswith("application/ld+json")
    refused = httpx.get(f"{nap.url}/catalogue", headers={"Accept": "text/html"})
    assert refused.status_code == 406 and "text/turtle" in refused.text
    unknown = httpx.get(f"{nap.url}/catalogue?format=rdfxml")
    assert unknown.status_code == 400 and "format=ttl" in unknown.text
    assert 'href="/catalogue"' in _fetch(f"{nap.url}/downloads").text


def _missing(graph: Graph, subject, required) -> list[str]:
    missing = []
    for name, prop, vocabulary in required:
        values = list(graph.objects(subject, prop))
        if not values or (vocabulary and not any(str(v).startswith(vocabulary) for v in values)):
            missing.append(f"{name} ({prop}{', in ' + vocabulary if vocabulary else ''})")
    return missing


def test_every_dataset_has_the_required_properties_from_the_settings_and_feeds(catalogue_site):
    settings, nap = catalogue_site
    graph = Graph().parse(data=_fetch(f"{nap.url}/catalogue?format=ttl").text, format="turtle")
    catalogue = URIRef(f"{BASE}/catalogue")
    assert (catalogue, RDF.type, DCAT.Catalog) in graph
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert datasets == set(graph.objects(catalogue, DCAT.dataset)) and len(datasets) >= 12

    problems = []
    for dataset in sorted(datasets):
        problems += [f"{dataset}: no {name}" for name in _missing(graph, dataset, DATASET_PROPERTIES)]
        for distribution in graph.objects(dataset, DCAT.distribution):
            problems += [f"{dataset} distribution {distribution}: no {name}"
                         for name in _missing(graph, distribution, DISTRIBUTION_PROPERTIES)]
        for publisher in graph.objects(dataset, DCTERMS.publisher):
            if (publisher, FOAF.name, Literal(settings.operator_name, lang="en")) not in graph:
                problems.append(f"{dataset}: publisher {publisher} without the operator's foaf:name")
    assert problems == []

    # The feed list: each CPO's stated licence beside NAP's.
    rights = {str(text) for d in graph.subjects(RDF.type, DCAT.Distribution)
              for r in graph.objects(d, DCTERMS.rights) for text in graph.objects(r, DCTERMS.description)}
    assert len(rights) == 1 and "demo (Etalab-2.0)" in rights.pop()

    access_urls = {str(u) for u in graph.objects(None, DCAT.accessURL)}
    assert [path for path in OFFERED if BASE + path not in access_urls] == []
    assert {str(u) for u in graph.objects(None, DCTERMS["format"])} >= {
        FILE_TYPES + "JSON", FILE_TYPES + "XML", FILE_TYPES + "CSV", FILE_TYPES + "PARQUET"}
    assert {str(u) for u in graph.objects(None, MOBILITYDCATAP.mobilityDataStandard)} >= {
        STANDARDS + "ocpi", STANDARDS + "datex-II"}


def test_every_access_url_is_an_endpoint_nap_serves(catalogue_site):
    _, nap = catalogue_site
    graph = Graph().parse(data=_fetch(f"{nap.url}/catalogue?format=jsonld").text, format="json-ld")
    unserved = []
    for url in sorted({str(u) for p in (DCAT.accessURL, DCAT.downloadURL) for u in graph.objects(None, p)}):
        parts = urlsplit(url)
        answer = httpx.get(f"{nap.url}{parts.path}" + (f"?{parts.query}" if parts.query else ""))
        # 400 is an endpoint asking for its parameters (a map's bounding box); 404, 405, 5xx are none.
        if answer.status_code in (404, 405) or answer.status_code >= 500:
            unserved.append(f"{url}: {answer.status_code}")
    assert unserved == []
