"""The map API: locations in a bounding box as GeoJSON, with status, maximum power and
connector types per location, the publication rules, and a query the (latitude, longitude)
index serves."""
from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import text

from exporters.consumers import ANONYMOUS
from exporters.map_api import Box, bbox_query
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
