"""The map API: locations in a bounding box as GeoJSON, with status, maximum power and
connector types per location, the publication rules, and a query the (latitude, longitude)
index serves; below the points zoom, clusters counted in SQL, checked against a count in
Python over the harvested demo fleet, with and without filters; a pop-up's content."""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import text

from exporters.consumers import ANONYMOUS
from exporters import map_api
from exporters.map_api import Box, Filters, bbox_query, cluster_query
from exporters.publication import Publication
from nap.store.db import get_engine
from tests.test_ocpi_api_fixtures import (
    ALL_REMOVED, CC, MCS_ONLY, OLD_REMOVED, PARTY, PRIVATE_SHARED, location_id, token_header,
)

# The shared data set (fixture `published`): one harvest per database for the whole session.
pytest_plugins = ["tests.test_ocpi_api_fixtures"]

GERMANY = "5.8,47.2,15.1,55.1"
PHASES = {"AC_1_PHASE": 1, "AC_3_PHASE": 3, "DC": 1}


def features(published, bbox: str, headers: dict | None = None) -> dict[str, dict]:
    response = httpx.get(published.url("/api/v1/locations"), params={"bbox": bbox}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["truncated"] is False
    return {feature["properties"]["location_id"]: feature for feature in body["features"]}


def expected_pin(document: dict) -> dict:
    """What a pin shows, worked out from the stored OCPI document."""
    evses = [evse for evse in document["evses"] if evse["status"] != "REMOVED"]
    statuses = {evse["status"] for evse in evses}
    order = ["AVAILABLE", "CHARGING", "RESERVED", "BLOCKED", "PLANNED", "INOPERATIVE", "OUTOFORDER", "UNKNOWN"]
    connectors = [c for evse in evses for c in evse["connectors"]]
    watts = [c.get("max_electric_power") or c["max_voltage"] * c["max_amperage"] * PHASES[c["power_type"]]
             for c in connectors]
    return {
        "status": next(status for status in order if status in statuses),
        "evses": len(evses),
        "available_evses": sum(1 for evse in evses if evse["status"] == "AVAILABLE"),
        "max_power_kw": round(max(watts) / 1000, 1),
        "connector_types": sorted({c["standard"] for c in connectors}),
    }


def test_a_box_around_germany_holds_every_public_location_with_its_pin_data(published):
    pins = features(published, GERMANY)
    public = {doc["id"]: doc for doc in published.locations.values() if doc["publish"]}
    assert set(pins) == set(public) - {location_id(ALL_REMOVED)}  # nothing left to charge at
    for location_id_, feature in pins.items():
        document = public[location_id_]
        assert feature["id"] == f"{CC}/{PARTY}/{location_id_}"
        assert feature["geometry"] == {"type": "Point", "coordinates": [
            float(document["coordinates"]["longitude"]), float(document["coordinates"]["latitude"])]}
        properties = feature["properties"]
        assert {key: properties[key] for key in expected_pin(document)} == expected_pin(document), location_id_
        assert properties["name"] == document.get("name") and properties["city"] == document["city"]
        ocpi = httpx.get(properties["ocpi_url"]).json()["data"]
        assert ocpi["id"] == location_id_
    assert "MCS" in pins[location_id(MCS_ONLY)]["properties"]["connector_types"]
    assert pins[location_id(MCS_ONLY)]["properties"]["max_power_kw"] == 1000.0
    assert pins[location_id(OLD_REMOVED)]["properties"]["evses"] == len(
        published.locations[location_id(OLD_REMOVED)]["evses"]) - 1


def test_a_small_box_holds_exactly_the_locations_inside_it(published):
    document = published.locations[location_id(20)]
    lat, lon = float(document["coordinates"]["latitude"]), float(document["coordinates"]["longitude"])
    inside = {doc["id"] for doc in published.locations.values() if doc["publish"]
              and abs(float(doc["coordinates"]["latitude"]) - lat) <= 0.01
              and abs(float(doc["coordinates"]["longitude"]) - lon) <= 0.01}
    pins = features(published, f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}")
    assert set(pins) == inside and document["id"] in inside
    assert features(published, "-10,-10,-9,-9") == {}


def test_private_locations_are_on_the_map_only_for_their_consumers(published):
    assert location_id(PRIVATE_SHARED) not in features(published, GERMANY)
    assert location_id(PRIVATE_SHARED) in features(published, GERMANY, token_header(published.consumer_token))


def test_a_box_with_more_locations_than_one_answer_carries_is_truncated(published):
    nap = published.nap_with(map_max_features=5)
    body = httpx.get(f"{nap.url}/api/v1/locations", params={"bbox": GERMANY}).json()
    assert body["truncated"] is True and len(body["features"]) <= 5


@pytest.mark.parametrize("bbox", [None, "1,2,3", "a,b,c,d", "10,50,9,51", "0,-91,1,0", "nan,1,2,3"])
def test_a_bad_bbox_is_a_400_that_says_what_is_expected(published, bbox):
    response = httpx.get(published.url("/api/v1/locations"), params={"bbox": bbox} if bbox else {})
    assert response.status_code == 400
    assert "bbox" in response.json()["error"] and "minLon" in response.json()["error"]


def test_the_bbox_query_uses_the_latitude_longitude_index(published):
    engine = get_engine(published.database_url)
    with engine.connect() as connection:
        from sqlalchemy.orm import Session

        publication = Publication(Session(bind=connection), ANONYMOUS, datetime.now(timezone.utc), 48)
        statement = bbox_query(Box(13.30, 52.48, 13.45, 52.56), publication, 100)
        compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
        if engine.dialect.name == "postgresql":
            # The planner prefers a sequential scan on a table this small; forbid it to see
            # whether the query can use the index at all (it could not if it were not sargable).
            connection.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
        else:
            plan = "\n".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_locations_lat_lon" in plan, plan


# -- clusters ---------------------------------------------------------------------------------

CARD = {"CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "CHIP_CARD_SUPPORT", "CONTACTLESS_CARD_SUPPORT", "PED_TERMINAL"}


def connector_watts(connector: dict) -> float:
    if connector.get("max_electric_power"):
        return connector["max_electric_power"]
    return connector["max_voltage"] * connector["max_amperage"] * PHASES[connector["power_type"]]


def evse_matches(document: dict, evse: dict, query: dict) -> bool:
    """The filters as the map's help text says them, read off the stored OCPI document."""
    if evse["status"] == "REMOVED":
        return False
    if query.get("available") == "1" and evse["status"] != "AVAILABLE":
        return False
    if "connector" in query and not {c["standard"] for c in evse["connectors"]} & set(query["connector"].split(",")):
        return False
    if query.get("card") == "1" and not CARD & set(evse.get("capabilities") or []):
        return False
    if "power" in query:
        from nap.portal.stats import power_class

        if power_class(max(connector_watts(c) for c in evse["connectors"]))[0] not in query["power"].split(","):
            return False
    if "operator" in query and (document.get("operator") or {}).get("name", "").lower() != query["operator"].lower():
        return False
    return True


def brute_force_clusters(published, zoom: int, query: dict, bbox: str = GERMANY) -> dict[tuple, dict]:
    """Every public location's matching EVSEs, put into grid cells one by one; the cells
    that meet the box, each whole."""
    from nap.portal.stats import power_class

    size = 360 * 64 / (256 * 2 ** zoom)
    min_lon, min_lat, max_lon, max_lat = map(float, bbox.split(","))
    cells: dict[tuple, dict] = defaultdict(lambda: {"lats": [], "lons": [], "evses": 0, "available": 0, "watts": 0})
    for document in published.locations.values():
        if not document["publish"]:
            continue
        evses = [evse for evse in document["evses"] if evse_matches(document, evse, query)]
        if not evses:
            continue
        lat, lon = float(document["coordinates"]["latitude"]), float(document["coordinates"]["longitude"])
        cell = cells[(math.floor((lat + 90.0) / size), math.floor((lon + 180.0) / size))]
        cell["lats"].append(lat)
        cell["lons"].append(lon)
        cell["evses"] += len(evses)
        cell["available"] += sum(1 for evse in evses if evse["status"] == "AVAILABLE")
        cell["watts"] = max([cell["watts"]] + [connector_watts(c) for evse in evses for c in evse["connectors"]])
    return {key: {"locations": len(cell["lats"]), "lat": sum(cell["lats"]) / len(cell["lats"]),
                  "lon": sum(cell["lons"]) / len(cell["lons"]), "evses": cell["evses"],
                  "available_evses": cell["available"], "max_power_kw": round(cell["watts"] / 1000, 1),
                  "power_class": power_class(cell["watts"])[0]}
            for key, cell in cells.items()
            if key[0] * size - 90 <= max_lat and (key[0] + 1) * size - 90 >= min_lat
            and key[1] * size - 180 <= max_lon and (key[1] + 1) * size - 180 >= min_lon}


@pytest.fixture(scope="module")
def clustering(published):
    """The shared NAP clustering however few locations a box holds (the fleet has 40)."""
    return published.nap_with(map_cluster_min_locations=0)


def served_clusters(nap, zoom: int, query: dict, bbox: str = GERMANY) -> dict[tuple, dict]:
    response = httpx.get(f"{nap.url}/api/v1/locations", params={"bbox": bbox, "zoom": zoom, **query})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["clustered"] is True and body["truncated"] is False and body["zoom"] == zoom
    clusters = {}
    for feature in body["features"]:
        properties = feature["properties"]
        assert properties["cluster"] is True
        assert properties["available_share"] == round(properties["available_evses"] / properties["evses"], 3)
        lon, lat = feature["geometry"]["coordinates"]
        clusters[tuple(properties["cell"])] = {
            "locations": properties["locations"], "lat": lat, "lon": lon, "evses": properties["evses"],
            "available_evses": properties["available_evses"], "max_power_kw": properties["max_power_kw"],
            "power_class": properties["power_class"]}
    return clusters


FILTERS = [
    {},
    {"power": "fast,ultra_fast_1"},
    {"power": "ultra_fast_3"},
    {"connector": "CHADEMO,DOMESTIC_F"},
    {"available": "1"},
    {"card": "1"},
    {"operator": f"{PARTY.lower()} ladenetz gmbh"},
    {"operator": "Nobody GmbH"},
    {"available": "1", "connector": "IEC_62196_T2", "card": "1", "power": "medium"},
]


@pytest.mark.parametrize("query", FILTERS, ids=lambda query: "&".join(f"{k}={v}" for k, v in query.items()) or "none")
def test_clusters_count_what_a_count_over_the_fleet_in_python_counts(published, clustering, query):
    for zoom in (4, 6, 9, 12):
        expected, served = brute_force_clusters(published, zoom, query), served_clusters(clustering, zoom, query)
        assert set(served) == set(expected), (zoom, query)
        for key, cluster in served.items():
            wanted = expected[key]
            assert math.isclose(cluster.pop("lat"), wanted.pop("lat"), abs_tol=1e-6)
            assert math.isclose(cluster.pop("lon"), wanted.pop("lon"), abs_tol=1e-6)
            assert cluster == wanted, (zoom, query, key)
    if query.get("operator") == "Nobody GmbH":
        assert served == {}
    elif query and "operator" not in query:  # the demo fleet has one operator: it keeps everything
        # Every other filter here leaves out something: the test sees it work, not pass through.
        everything = brute_force_clusters(published, 12, {})
        assert sum(c["evses"] for c in expected.values()) < sum(c["evses"] for c in everything.values())


@pytest.mark.parametrize("query", [{}, {"available": "1"}], ids=["none", "available"])
def test_a_small_box_holds_the_cells_that_meet_it_each_counted_whole(published, clustering, query):
    berlin = "13.37,52.50,13.40,52.52"
    for zoom in (7, 9, 11, 12):
        expected = brute_force_clusters(published, zoom, query, berlin)
        served = served_clusters(clustering, zoom, query, berlin)
        assert expected and set(served) == set(expected), zoom
        for key, cluster in served.items():
            assert math.isclose(cluster.pop("lat"), expected[key].pop("lat"), abs_tol=1e-6)
            assert math.isclose(cluster.pop("lon"), expected[key].pop("lon"), abs_tol=1e-6)
            assert cluster == expected[key], (zoom, key)


def test_cells_are_counted_a_tile_at_a_time_and_kept_for_the_cache_age(published):
    """A second look and a small pan read nothing; with no cache age every look reads."""
    from sqlalchemy.orm import Session

    from exporters.map_tiles import Cell, TileCache, cells_in_view

    engine = get_engine(published.database_url)
    with Session(engine) as session:
        publication = Publication(session, ANONYMOUS, datetime.now(timezone.utc), 48)
        reads = []

        def count(read):
            reads.append(read)
            return [Cell(*row) for row in session.execute(
                cluster_query(Box(*read), publication, Filters(), 9, engine.dialect.name))]

        cache, size = TileCache(), map_api.cell_degrees(9)
        first = cells_in_view((13.30, 52.48, 13.45, 52.56), size, ("db", 9), 60, count, cache)
        assert len(reads) == 1 and sum(cell.locations for cell in first) >= 8
        again = cells_in_view((13.30, 52.48, 13.45, 52.56), size, ("db", 9), 60, count, cache)
        panned = cells_in_view((13.31, 52.49, 13.46, 52.57), size, ("db", 9), 60, count, cache)
        assert len(reads) == 1 and again == first and panned
        cells_in_view((13.30, 52.48, 13.45, 52.56), size, ("db", 9), 0, count, cache)
        assert len(reads) == 2


def test_the_national_view_is_a_handful_of_clusters_and_a_city_view_is_locations(published, clustering):
    national = httpx.get(f"{clustering.url}/api/v1/locations", params={"bbox": GERMANY, "zoom": 6}).json()
    assert national["clustered"] is True
    assert sum(f["properties"]["locations"] for f in national["features"]) == len(
        [d for d in published.locations.values() if d["publish"]]) - 1  # ALL_REMOVED has nothing left
    assert len(national["features"]) < 20
    berlin = httpx.get(f"{clustering.url}/api/v1/locations",
                       params={"bbox": "13.30,52.48,13.45,52.56", "zoom": map_api.POINTS_FROM_ZOOM}).json()
    assert berlin["clustered"] is False and berlin["features"]
    assert all("location_id" in f["properties"] and "operator" in f["properties"] for f in berlin["features"])


def test_a_box_with_few_locations_is_answered_with_the_locations_at_any_zoom(published):
    """40 locations are below NAP_MAP_CLUSTER_MIN_LOCATIONS (200): pins, not clusters."""
    body = httpx.get(published.url("/api/v1/locations"), params={"bbox": GERMANY, "zoom": 5}).json()
    assert body["clustered"] is False and body["zoom"] == 5
    assert {f["properties"]["location_id"] for f in body["features"]} == set(features(published, GERMANY))


def test_filters_narrow_the_points_too(published):
    pins = features(published, GERMANY)
    chademo = httpx.get(published.url("/api/v1/locations"), params={"bbox": GERMANY, "connector": "CHADEMO"}).json()
    with_chademo = {f["properties"]["location_id"] for f in chademo["features"]}
    assert with_chademo == {key for key, pin in pins.items() if "CHADEMO" in pin["properties"]["connector_types"]}
    assert 0 < len(with_chademo) < len(pins)
    for query in ({"power": "ultra_fast_3"}, {"card": "1", "available": "1"}):
        body = httpx.get(published.url("/api/v1/locations"), params={"bbox": GERMANY, **query}).json()
        expected = {doc["id"] for doc in published.locations.values() if doc["publish"]
                    and any(evse_matches(doc, evse, query) for evse in doc["evses"])}
        assert {f["properties"]["location_id"] for f in body["features"]} == expected and expected, query


@pytest.mark.parametrize("query, word", [
    ({"zoom": "x"}, "zoom"), ({"zoom": "23"}, "zoom"), ({"zoom": "-1"}, "zoom"), ({"power": "warp"}, "power"),
    ({"connector": "T2; DROP"}, "connector"), ({"available": "maybe"}, "available"), ({"card": "2"}, "card"),
    ({"operator": "x" * 201}, "operator"),
])
def test_a_bad_zoom_or_filter_is_a_400_that_names_it(published, query, word):
    response = httpx.get(published.url("/api/v1/locations"), params={"bbox": GERMANY, **query})
    assert response.status_code == 400 and word in response.json()["error"]


def test_the_map_power_classes_are_the_overview_power_classes():
    from nap.portal.stats import POWER_CLASSES

    assert map_api.POWER_CLASSES == POWER_CLASSES
    assert [map_api.power_class(watts) for watts in (None, 0, 7_399, 7_400, 22_000, 22_001, 350_000)] == [
        None, None, "slow", "medium", "medium", "fast", "ultra_fast_3"]


def test_the_cluster_query_reads_the_latitude_longitude_index(published):
    engine = get_engine(published.database_url)
    with engine.connect() as connection:
        from sqlalchemy.orm import Session

        publication = Publication(Session(bind=connection), ANONYMOUS, datetime.now(timezone.utc), 48)
        statement = cluster_query(Box(13.30, 52.48, 13.45, 52.56), publication, Filters(card=True), 8,
                                  engine.dialect.name, 100)
        compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {compiled}")))
        else:
            plan = "\n".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_locations_lat_lon" in plan, plan
    # EVSEs and connectors by the unique indexes that lead with their parent's key (SQLite
    # names those of UNIQUE constraints itself).
    if engine.dialect.name == "postgresql":
        assert "uq_evse_uid" in plan and "uq_connector_id" in plan, plan
    else:
        assert "SEARCH evses USING INDEX" in plan and "(location_pk=?)" in plan, plan
        assert "SEARCH connectors USING INDEX" in plan and "(evse_pk=?)" in plan, plan


# -- a pop-up's content --------------------------------------------------------------------------

def test_a_locations_details_carry_operator_evse_states_connectors_and_the_ad_hoc_price_in_words(published):
    document = next(doc for doc in published.locations.values() if doc["publish"] and any(
        c.get("tariff_ids", [None])[0] == "ADHOC-AC11" for e in doc["evses"] for c in e["connectors"]))
    response = httpx.get(published.url(f"/api/v1/map/locations/{CC}/{PARTY}/{document['id']}"))
    assert response.status_code == 200, response.text
    details = response.json()
    assert details["operator"] == document["operator"]["name"] == f"{PARTY} Ladenetz GmbH"
    assert details["name"] == document.get("name") and details["opening_hours"]
    shown = [evse for evse in document["evses"] if evse["status"] != "REMOVED"]
    assert [evse["uid"] for evse in details["evses"]] == [evse["uid"] for evse in shown]
    for served, stored in zip(details["evses"], shown):
        assert served["status"] == stored["status"] and served["status_since"].endswith("Z")
        assert [c["standard"] for c in served["connectors"]] == [c["standard"] for c in stored["connectors"]]
        assert [c["power_kw"] for c in served["connectors"]] == [
            round(connector_watts(c) / 1000, 1) for c in stored["connectors"]]
    ac11 = next(served for served, stored in zip(details["evses"], shown)
                if stored["connectors"][0]["tariff_ids"][0] == "ADHOC-AC11")
    assert ac11["ad_hoc_price"] == "0.59 €/kWh, 0.10 €/min after 4 h" and ac11["ad_hoc_price_tax"] == "incl. VAT"
    assert httpx.get(details["ocpi_url"]).json()["data"]["id"] == document["id"]
    assert details["lookup_url"].endswith(f"/lookup?q={document['id']}")


def test_details_of_a_private_or_unknown_location_are_a_404(published):
    for location in (location_id(PRIVATE_SHARED), "NOPE"):
        response = httpx.get(published.url(f"/api/v1/map/locations/{CC}/{PARTY}/{location}"))
        assert response.status_code == 404 and "no published location" in response.json()["error"]
    shared = httpx.get(published.url(f"/api/v1/map/locations/{CC}/{PARTY}/{location_id(PRIVATE_SHARED)}"),
                       headers=token_header(published.consumer_token))
    assert shared.status_code == 200


def test_facets_list_the_operators_and_connector_types_on_the_map(published):
    body = httpx.get(published.url("/api/v1/map/facets")).json()
    assert body["operators"] == [f"{PARTY} Ladenetz GmbH"]
    public = [d for d in published.locations.values() if d["publish"]]
    assert set(body["connector_types"]) == {c["standard"] for d in public for e in d["evses"]
                                           if e["status"] != "REMOVED" for c in e["connectors"]}
    assert [key for key, _label in body["power_classes"]][0] == "slow"


def test_the_map_page_allows_images_from_a_configured_tile_server_only(published):
    plain = httpx.get(published.url("/map"))
    assert plain.status_code == 200 and 'data-tiles=""' in plain.text
    policy = plain.headers["Content-Security-Policy"]
    assert "img-src 'self' data:;" in policy and "connect-src 'self'" in policy
    tiled = published.nap_with(map_tile_url="https://tiles.example.org/{z}/{x}/{y}.png",
                               map_tile_attribution="Tiles: Example")
    page = httpx.get(f"{tiled.url}/map")
    assert "img-src 'self' data: https://tiles.example.org;" in page.headers["Content-Security-Policy"]
    assert 'data-tiles="https://tiles.example.org/{z}/{x}/{y}.png"' in page.text
