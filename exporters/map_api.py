"""A map API for apps: the locations in a bounding box as a GeoJSON FeatureCollection.

    GET /api/v1/locations?bbox=minLon,minLat,maxLon,maxLat

Each feature is a location (Point, [longitude, latitude]) with what a map pin needs: the
best EVSE status, how many EVSEs are available, the maximum power and the connector types.
The same publication rules as for OCPI apply; REMOVED EVSEs never count, and a location
without any other EVSE is not on the map (mod_locations: it "can be considered expired").

The box is a range on the (latitude, longitude) index of locations, so a small box reads a
small slice of the index however many locations there are; EVSEs and connectors are then
fetched by their location/EVSE keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from flask import Blueprint, request
from sqlalchemy import select

from exporters.access import current_audience, install_access_control
from exporters.api_errors import catch_crashes, json_error
from exporters.http_caching import Fingerprint, Validators, not_modified
from nap.ocpi.envelope import json_response
from exporters.publication import Publication
from nap.store.tables import Connector, Evse, Location
from nap.web import db_session, settings

blueprint = Blueprint("map_api", __name__)
install_access_control(blueprint, lambda message, http_status, _code: json_error(message, http_status))
catch_crashes(blueprint)

# A pin shows the most useful status any of its EVSEs has: one free EVSE makes the site usable.
STATUS_ORDER = ("AVAILABLE", "CHARGING", "RESERVED", "BLOCKED", "PLANNED", "INOPERATIVE", "OUTOFORDER", "UNKNOWN")
PHASES = {"AC_1_PHASE": 1, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2, "AC_3_PHASE": 3, "DC": 1}


class BadRequest(ValueError):
    pass


@dataclass(frozen=True)
class Box:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


def parse_bbox(raw: str | None) -> Box:
    if not raw:
        raise BadRequest("bbox is required: bbox=minLon,minLat,maxLon,maxLat (WGS 84 degrees)")
    parts = raw.split(",")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != 4 or any(value != value for value in values):  # value != value: NaN
        raise BadRequest(f"bbox must be four numbers minLon,minLat,maxLon,maxLat, not {raw!r}")
    box = Box(*values)
    if not (-180 <= box.min_lon <= box.max_lon <= 180 and -90 <= box.min_lat <= box.max_lat <= 90):
        raise BadRequest("bbox needs -180 <= minLon <= maxLon <= 180 and -90 <= minLat <= maxLat <= 90")
    return box


def bbox_query(box: Box, publication: Publication, limit: int):
    """The locations in the box, in id order. Latitude first: it leads the index."""
    return (
        select(Location.id, Location.country_code, Location.party_id, Location.ocpi_id, Location.latitude,
               Location.longitude, Location.changed_at, Location.last_updated)
        .where(
            Location.latitude >= box.min_lat, Location.latitude <= box.max_lat,
            Location.longitude >= box.min_lon, Location.longitude <= box.max_lon,
            publication.location_condition(),
        )
        .order_by(Location.id)
        .limit(limit)
    )


def _power_kw(max_electric_power, power_type, voltage, amperage) -> float | None:
    if isinstance(max_electric_power, (int, float)) and max_electric_power > 0:
        watts = max_electric_power
    elif isinstance(voltage, (int, float)) and isinstance(amperage, (int, float)):
        watts = voltage * amperage * PHASES.get(power_type, 1)
    else:
        return None
    return round(watts / 1000, 1)


def _location_names(session, ids: list[int]) -> dict[int, dict]:
    rows = session.execute(
        select(Location.id, Location.data["name"], Location.data["address"], Location.data["city"])
        .where(Location.id.in_(ids))
    )
    return {pk: {"name": name, "address": address, "city": city} for pk, name, address, city in rows}


def _connectors(session, evse_pks: list[int]) -> dict[int, list[tuple]]:
    by_evse: dict[int, list[tuple]] = {}
    for start in range(0, len(evse_pks), 5000):
        for row in session.execute(
            select(Connector.evse_pk, Connector.standard, Connector.power_type, Connector.max_electric_power,
                   Connector.data["max_voltage"], Connector.data["max_amperage"])
            .where(Connector.evse_pk.in_(evse_pks[start:start + 5000]))
        ):
            by_evse.setdefault(row[0], []).append(row[1:])
    return by_evse


def _pin(row, evses: list, plugs: list[tuple], names: dict, base_url: str) -> dict:
    """The GeoJSON feature of one location with its shown (not REMOVED) EVSEs."""
    statuses = {evse.status for evse in evses}
    powers = [kw for kw in (_power_kw(power, power_type, voltage, amperage)
                            for _standard, power_type, power, voltage, amperage in plugs) if kw is not None]
    return {
        "type": "Feature",
        "id": f"{row.country_code}/{row.party_id}/{row.ocpi_id}",
        "geometry": {"type": "Point", "coordinates": [row.longitude, row.latitude]},
        "properties": {
            "country_code": row.country_code,
            "party_id": row.party_id,
            "location_id": row.ocpi_id,
            **names,
            "status": next((status for status in STATUS_ORDER if status in statuses), "UNKNOWN"),
            "evses": len(evses),
            "available_evses": sum(1 for evse in evses if evse.status == "AVAILABLE"),
            "max_power_kw": max(powers) if powers else None,
            "connector_types": sorted({standard for standard, *_ in plugs}),
            "ocpi_url": f"{base_url}/ocpi/2.3.0/locations/{row.country_code}/{row.party_id}/{row.ocpi_id}",
        },
    }


@blueprint.get("/api/v1/locations", strict_slashes=False)
def locations_in_box():
    try:
        box = parse_bbox(request.args.get("bbox"))
    except BadRequest as error:
        return json_error(str(error), 400)
    session = db_session()
    audience = current_audience()
    publication = Publication(session, audience, datetime.now(timezone.utc), settings().removed_evse_visible_hours)
    limit = settings().map_max_features
    locations = session.execute(bbox_query(box, publication, limit + 1)).all()
    truncated = len(locations) > limit
    locations = locations[:limit]

    # Validators from index columns only (see http_caching): locations, then EVSE statuses,
    # which change without their location when CPOs push.
    ids = [row.id for row in locations]
    fingerprint = Fingerprint("map", box, limit, truncated)
    moments = [audience.since]
    for row in locations:
        fingerprint.add(row.id, row.changed_at, row.last_updated)
        moments.append(row.changed_at)
    shown: dict[int, list] = {pk: [] for pk in ids}
    for start in range(0, len(ids), 5000):
        for evse in session.execute(
            select(Evse.id, Evse.location_pk, Evse.status, Evse.status_changed_at)
            .where(Evse.location_pk.in_(ids[start:start + 5000])).order_by(Evse.location_pk, Evse.position)
        ):
            fingerprint.add(evse.id, evse.status, evse.status_changed_at)
            moments.append(evse.status_changed_at)
            if evse.status != "REMOVED":
                shown[evse.location_pk].append(evse)
    validators = Validators(fingerprint.etag(), max((m for m in moments if m is not None), default=None))
    private, max_age = not audience.anonymous, settings().api_cache_max_age_seconds
    if validators.client_is_current():
        return not_modified(validators, private, max_age)

    on_map = [row for row in locations if shown[row.id]]
    names = _location_names(session, [row.id for row in on_map])
    plugs = _connectors(session, [evse.id for row in on_map for evse in shown[row.id]])
    base_url = request.url_root.rstrip("/")
    features = [_pin(row, shown[row.id], [plug for evse in shown[row.id] for plug in plugs.get(evse.id, [])],
                     names.get(row.id, {}), base_url) for row in on_map]
    body = {"type": "FeatureCollection", "bbox": [box.min_lon, box.min_lat, box.max_lon, box.max_lat],
            "features": features, "truncated": truncated}
    response = json_response(body)
    response.mimetype = "application/geo+json"
    return validators.apply(response, private, max_age)
