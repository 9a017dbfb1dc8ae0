"""The map API: what the public map and apps draw.

    GET /api/v1/locations?bbox=minLon,minLat,maxLon,maxLat[&zoom=Z][&filters]

Without zoom, or from zoom POINTS_FROM_ZOOM on, each feature is a location (Point,
[longitude, latitude]) with what a pin needs: the best EVSE status, how many EVSEs are
available, the maximum power, the connector types and the operator. Below that zoom, when
the box holds more than NAP_MAP_CLUSTER_MIN_LOCATIONS matching locations, the features
are clusters: the locations of one grid cell (a cell is about a pin's width on
screen), counted in SQL, placed at their mean position, with the best power class and the
share of EVSEs available. Every cell that meets the box is counted whole, a tile of cells
at a time, and tiles are kept for a short while (exporters/map_tiles.py). So the national
view of 100,000 EVSEs is a few dozen features, about 1 KB with gzip, not 100,000
(bench/api.py measures both).

Filters (all optional, combined with AND; an EVSE must meet all of them at once):
power=<power class keys, comma-separated>, connector=<OCPI ConnectorTypes>, available=1,
operator=<operator name, exact, case-insensitive>, card=1 (pay by card at the charger:
exporters.afir_csv.PAYMENT_CAPABILITIES). A location is shown when one of its EVSEs
matches; clusters summarise the matching EVSEs.

    GET /api/v1/map/locations/<country_code>/<party_id>/<location_id>: a pop-up's content
    GET /api/v1/map/facets: the operators and connector types a filter can choose from

The same publication rules as for OCPI apply; REMOVED EVSEs never count, and a location
without any other EVSE is not on the map (mod_locations: it "can be considered expired").

The box is a range on the (latitude, longitude) index of locations (ix_locations_lat_lon),
so a small box reads a small slice of it however many locations there are; the pins' names
come with that read, and their EVSEs and connectors come in one more query, by the indexes
that lead with their parent key (uq_evse_uid, uq_connector_id).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from hashlib import sha256
from urllib.parse import quote

from flask import Blueprint, request
from sqlalchemy import Integer, Text, and_, bindparam, case, cast, exists, func, or_, select

from exporters.access import current_audience, install_access_control
from exporters.afir_csv import PAYMENT_CAPABILITIES, ad_hoc_tariff, opening_hours
from exporters.api_errors import catch_crashes, json_error
from exporters.datex2.source import tariff_lookup
from exporters.http_caching import Fingerprint, Validators, not_modified
from exporters.map_price import price_sentence, tax_note
from exporters.map_tiles import Cell, TileCache, cells_in_view
from exporters.publication import Publication
from nap.ocpi.envelope import json_response
from nap.ocpi.ids import id_key
from nap.parties import VERIFIED
from nap.store.documents import assemble_locations, execute_keyed
from nap.store.power_classes import POWER_CLASSES, UNKNOWN_POWER, power_class as class_of_power
from nap.store.tables import Connector, Evse, FeedParty, Location
from nap.web import db_session, settings

blueprint = Blueprint("map_api", __name__)
install_access_control(blueprint, lambda message, http_status, _code: json_error(message, http_status))
catch_crashes(blueprint)

# A pin shows the most useful status any of its EVSEs has: one free EVSE makes the site usable.
STATUS_ORDER = ("AVAILABLE", "CHARGING", "RESERVED", "BLOCKED", "PLANNED", "INOPERATIVE", "OUTOFORDER", "UNKNOWN")
PHASES = {"AC_1_PHASE": 1, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2, "AC_3_PHASE": 3, "DC": 1}

# The power classes of the overview page and the statistics (nap/store/power_classes.py,
# AFIR Annex III), by an EVSE's highest connector power.
POWER_KEYS = [key for key, _label, _below in POWER_CLASSES]
# key: (lowest watts, watts above the class or None); each class starts where the one before ends.
POWER_RANGES = {key: (POWER_CLASSES[index - 1][2] if index else 0, below)
                for index, (key, _label, below) in enumerate(POWER_CLASSES)}

# From this zoom on the map shows locations; below it, clusters. At zoom 13 a screen of
# 1280 px spans about 0.1 degrees of longitude: a town, a few dozen locations.
POINTS_FROM_ZOOM = 13
MAX_ZOOM = 22
# A cell is about 64 px wide at its zoom: 360 degrees are 256 * 2^zoom px.
CELL_PIXELS = 64
CONNECTOR_STANDARD = re.compile(r"^[A-Z0-9_]{1,40}$")
TRUE, FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


FACETS = TileCache(max_tiles=100)  # the filter choices, by database and audience


class BadRequest(ValueError):
    pass


@dataclass(frozen=True)
class Box:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


@dataclass(frozen=True)
class Filters:
    power: tuple[str, ...] = ()
    connectors: tuple[str, ...] = ()
    available: bool = False
    operator: str = ""
    card: bool = False

    @property
    def any(self) -> bool:
        return bool(self.power or self.connectors or self.available or self.operator or self.card)


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


def parse_zoom(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) > MAX_ZOOM:
        raise BadRequest(f"zoom must be a whole number from 0 to {MAX_ZOOM}, not {raw[:20]!r}")
    return int(raw)


def _flag(args, name: str) -> bool:
    value = args.get(name, "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise BadRequest(f"{name} must be 1 or 0, not {value[:20]!r}")


def _list(args, name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in args.get(name, "").split(",") if part.strip()))


def parse_filters(args) -> Filters:
    power = _list(args, "power")
    unknown = [key for key in power if key not in POWER_KEYS]
    if unknown:
        raise BadRequest(f"power must be power classes out of {', '.join(POWER_KEYS)}; not {unknown[0][:40]!r}")
    connectors = tuple(standard.upper() for standard in _list(args, "connector"))
    bad = [standard for standard in connectors if not CONNECTOR_STANDARD.match(standard)]
    if bad:
        raise BadRequest(f"connector must be OCPI ConnectorTypes such as IEC_62196_T2, not {bad[0][:40]!r}")
    operator = args.get("operator", "").strip()
    if len(operator) > 200:
        raise BadRequest("operator must be an operator's name of at most 200 characters")
    return Filters(power, connectors, _flag(args, "available"), operator, _flag(args, "card"))


def cell_degrees(zoom: int) -> float:
    return 360 * CELL_PIXELS / (256 * 2 ** zoom)


def power_class(watts: float | None) -> str | None:
    key, _label = class_of_power(watts)
    return None if key == UNKNOWN_POWER[0] else key


def _watts(max_electric_power, power_type, voltage, amperage) -> float | None:
    if isinstance(max_electric_power, (int, float)) and max_electric_power > 0:
        return max_electric_power
    if isinstance(voltage, (int, float)) and isinstance(amperage, (int, float)):
        return voltage * amperage * PHASES.get(power_type, 1)
    return None


def _power_kw(max_electric_power, power_type, voltage, amperage) -> float | None:
    watts = _watts(max_electric_power, power_type, voltage, amperage)
    return None if watts is None else round(watts / 1000, 1)


# -- SQL building blocks --------------------------------------------------------------------

def _in_box(box: Box):
    """Latitude first: it leads ix_locations_lat_lon."""
    return and_(Location.latitude >= box.min_lat, Location.latitude <= box.max_lat,
                Location.longitude >= box.min_lon, Location.longitude <= box.max_lon)


def evse_watts():
    """An EVSE's highest connector power in watts, as _power_kw reads one connector:
    max_electric_power, else max_voltage x max_amperage (x phases). A correlated subquery
    on uq_connector_id, whose first column is the EVSE."""
    phases = case((Connector.power_type == "AC_3_PHASE", 3),
                  (Connector.power_type.in_(("AC_2_PHASE", "AC_2_PHASE_SPLIT")), 2), else_=1)
    derived = Connector.data["max_voltage"].as_float() * Connector.data["max_amperage"].as_float() * phases
    watts = func.coalesce(func.nullif(Connector.max_electric_power, 0), derived)
    return select(func.max(watts)).where(Connector.evse_pk == Evse.id).correlate(Evse).scalar_subquery()


def _operator_name():
    return Location.data[("operator", "name")].as_string()


def evse_conditions(filters: Filters, watts=None) -> list:
    """SQL conditions an EVSE meets to count: shown (not REMOVED) and every filter."""
    conditions = [Evse.status != "REMOVED"]
    if filters.available:
        conditions.append(Evse.status == "AVAILABLE")
    if filters.connectors:
        conditions.append(exists().where(Connector.evse_pk == Evse.id, Connector.standard.in_(filters.connectors)))
    if filters.card:
        # capabilities is a JSON list of enum words; its text holds each as "WORD", the same
        # on SQLite and PostgreSQL, where JSON containment operators differ.
        capabilities = cast(Evse.data["capabilities"], Text)
        conditions.append(or_(*(capabilities.like(f'%"{word}"%') for word in sorted(PAYMENT_CAPABILITIES))))
    if filters.power:
        watts = evse_watts() if watts is None else watts
        ranges = [and_(watts >= low, watts < high) if high else watts >= low
                  for key, (low, high) in POWER_RANGES.items() if key in filters.power]
        conditions.append(and_(watts > 0, or_(*ranges)))
    return conditions


def location_conditions(box: Box, publication: Publication, filters: Filters) -> list:
    conditions = [_in_box(box), publication.location_condition()]
    if filters.operator:
        conditions.append(func.lower(_operator_name()) == filters.operator.lower())
    return conditions


def matching_locations(box: Box, publication: Publication, filters: Filters) -> list:
    """Conditions of the locations in the box with an EVSE that meets the filters."""
    conditions = location_conditions(box, publication, filters)
    if filters.any:
        conditions.append(exists().where(Evse.location_pk == Location.id, *evse_conditions(filters)))
    return conditions


def bbox_query(box: Box, publication: Publication, limit: int, filters: Filters = Filters()):
    """The locations in the box with an EVSE that meets the filters, in id order, with what
    their pins name (read with the row: one visit of each location's page)."""
    conditions = matching_locations(box, publication, filters)
    return (
        select(Location.id, Location.country_code, Location.party_id, Location.ocpi_id, Location.latitude,
               Location.longitude, Location.changed_at, Location.last_updated, Location.data["name"].label("name"),
               Location.data["address"].label("address"), Location.data["city"].label("city"),
               _operator_name().label("operator"))
        .where(*conditions)
        .order_by(Location.id)
        .limit(limit)
    )


# A box of parameters, and the statements built with it: building the statement anew was
# a third of a small box's time. One per filters, audience's private locations and limit.
_BOX_PARAMETERS = Box(bindparam("min_lon"), bindparam("min_lat"), bindparam("max_lon"), bindparam("max_lat"))
_BOX_STATEMENTS: dict[tuple, object] = {}


def _bbox_statement(publication: Publication, limit: int, filters: Filters):
    key = (filters, tuple(publication.private_location_ids()), limit)
    statement = _BOX_STATEMENTS.get(key)
    if statement is None:
        if len(_BOX_STATEMENTS) >= 256:  # filters come from the query string: keep it bounded
            _BOX_STATEMENTS.clear()
        statement = _BOX_STATEMENTS[key] = bbox_query(_BOX_PARAMETERS, publication, limit, filters)
    return statement


def _cell(column, offset: float, size: float, dialect: str):
    """The grid row/column of a coordinate: floor((value + offset) / size). Shifted to be
    never negative, so SQLite's CAST (which truncates; floor() needs an optional build
    flag) floors too; PostgreSQL's CAST rounds, so it gets floor()."""
    shifted = (column + offset) / size
    if dialect == "postgresql":
        return cast(func.floor(shifted), Integer)
    return cast(shifted, Integer)


def cluster_query(box: Box, publication: Publication, filters: Filters, zoom: int, dialect: str,
                  limit: int | None = None):
    """Per grid cell: locations, their mean position, matching EVSEs, available ones and the
    highest power, in one statement with the filters inside it."""
    watts = evse_watts()
    matching = (
        select(Location.id.label("location_pk"), Location.latitude.label("lat"), Location.longitude.label("lon"),
               Evse.status.label("status"), watts.label("watts"))
        .join(Evse, Evse.location_pk == Location.id)
        .where(*location_conditions(box, publication, filters), *evse_conditions(filters, watts))
        .subquery()
    )
    per_location = (
        select(matching.c.location_pk, matching.c.lat, matching.c.lon, func.count().label("evses"),
               func.sum(case((matching.c.status == "AVAILABLE", 1), else_=0)).label("available"),
               func.max(matching.c.watts).label("watts"))
        .group_by(matching.c.location_pk, matching.c.lat, matching.c.lon)
        .subquery()
    )
    size = cell_degrees(zoom)
    row = _cell(per_location.c.lat, 90.0, size, dialect).label("row")
    column = _cell(per_location.c.lon, 180.0, size, dialect).label("col")
    return (
        select(row, column, func.count().label("locations"), func.avg(per_location.c.lat).label("lat"),
               func.avg(per_location.c.lon).label("lon"), func.sum(per_location.c.evses).label("evses"),
               func.sum(per_location.c.available).label("available"), func.max(per_location.c.watts).label("watts"))
        .group_by(row, column)
        .order_by(row, column)
        .limit(limit)
    )


# -- answers -----------------------------------------------------------------------------------

def _cluster_feature(row) -> dict:
    evses, available = int(row.evses), int(row.available)
    return {
        "type": "Feature",
        "id": f"cell/{row.row}/{row.col}",
        "geometry": {"type": "Point", "coordinates": [round(row.lon, 6), round(row.lat, 6)]},
        "properties": {
            "cluster": True,
            "cell": [row.row, row.col],
            "locations": row.locations,
            "evses": evses,
            "available_evses": available,
            "available_share": round(available / evses, 3) if evses else 0.0,
            "max_power_kw": round(row.watts / 1000, 1) if row.watts else None,
            "power_class": power_class(row.watts),
        },
    }


def _clusters(session, box: Box, publication: Publication, filters: Filters, zoom: int):
    limit = settings().map_max_features
    bind = session.get_bind()

    def count(read: tuple[float, float, float, float]) -> list[Cell]:
        return [Cell(*row) for row in session.execute(
            cluster_query(Box(*read), publication, filters, zoom, bind.dialect.name, None))]

    # The tiles' key: all a count depends on besides the box (processes may serve several
    # databases, tests do).
    key = (bind.url.render_as_string(hide_password=True), zoom, filters, tuple(publication.private_location_ids()))
    rows = cells_in_view((box.min_lon, box.min_lat, box.max_lon, box.max_lat), cell_degrees(zoom), key,
                         settings().api_cache_max_age_seconds, count)
    truncated = len(rows) > limit
    body = {"type": "FeatureCollection", "bbox": [box.min_lon, box.min_lat, box.max_lon, box.max_lat],
            "zoom": zoom, "clustered": True, "cell_degrees": cell_degrees(zoom),
            "features": [_cluster_feature(row) for row in rows[:limit]], "truncated": truncated}
    response = json_response(body)
    # Validators from the answer itself: the aggregate reads every row a fingerprint would.
    validators = Validators(sha256(response.get_data()).hexdigest()[:32], None)
    private, max_age = not publication.audience.anonymous, settings().api_cache_max_age_seconds
    if validators.client_is_current():
        return not_modified(validators, private, max_age)
    response.mimetype = "application/geo+json"
    return validators.apply(response, private, max_age)


def _evses_with_plugs(in_keys):
    """The EVSEs of some locations in their order, each with its connectors (one row per
    connector; an EVSE without any has one row of NULLs): the pins' EVSEs and plugs in one
    query, run by execute_keyed."""
    return (
        select(Evse.id, Evse.location_pk, Evse.status, Evse.status_changed_at, Connector.id, Connector.standard,
               Connector.power_type, Connector.max_electric_power, Connector.data["max_voltage"],
               Connector.data["max_amperage"])
        .outerjoin(Connector, Connector.evse_pk == Evse.id)
        .where(in_keys(Evse.location_pk))
        .order_by(Evse.location_pk, Evse.position, Evse.id)
    )


def ocpi_url(base_url: str, country_code: str, party_id: str, location_id: str) -> str:
    return f"{base_url}/ocpi/2.3.0/locations/{country_code}/{party_id}/{quote(location_id, safe='')}"


def _pin(row, evses: list, plugs: list[tuple], base_url: str) -> dict:
    """The GeoJSON feature of one location with its shown (not REMOVED) EVSEs."""
    statuses = {evse.status for evse in evses}
    powers = [watts for watts in (_watts(power, power_type, voltage, amperage)
                                  for _standard, power_type, power, voltage, amperage in plugs) if watts is not None]
    max_watts = max(powers) if powers else None
    return {
        "type": "Feature",
        "id": f"{row.country_code}/{row.party_id}/{row.ocpi_id}",
        "geometry": {"type": "Point", "coordinates": [row.longitude, row.latitude]},
        "properties": {
            "country_code": row.country_code,
            "party_id": row.party_id,
            "location_id": row.ocpi_id,
            "name": row.name,
            "address": row.address,
            "city": row.city,
            "operator": row.operator,
            "status": next((status for status in STATUS_ORDER if status in statuses), "UNKNOWN"),
            "evses": len(evses),
            "available_evses": sum(1 for evse in evses if evse.status == "AVAILABLE"),
            "max_power_kw": round(max_watts / 1000, 1) if max_watts is not None else None,
            "power_class": power_class(max_watts),
            "connector_types": sorted({standard for standard, *_ in plugs}),
            "ocpi_url": ocpi_url(base_url, row.country_code, row.party_id, row.ocpi_id),
        },
    }


def _points(session, box: Box, publication: Publication, filters: Filters, zoom: int | None):
    audience = publication.audience
    limit = settings().map_max_features
    locations = session.execute(_bbox_statement(publication, limit + 1, filters), {
        "min_lon": box.min_lon, "min_lat": box.min_lat, "max_lon": box.max_lon, "max_lat": box.max_lat}).all()
    truncated = len(locations) > limit
    locations = locations[:limit]

    # Validators from index columns only (see http_caching): locations, then EVSE statuses,
    # which change without their location when CPOs push.
    ids = [row.id for row in locations]
    fingerprint = Fingerprint("map", box, limit, truncated, filters)
    moments = [audience.since]
    for row in locations:
        fingerprint.add(row.id, row.changed_at, row.last_updated)
        moments.append(row.changed_at)
    shown: dict[int, list] = {pk: [] for pk in ids}
    plugs: dict[int, list[tuple]] = {pk: [] for pk in ids}  # location pk -> its shown EVSEs' connectors
    last_evse = None
    for row in execute_keyed(session, _evses_with_plugs, ids) if ids else ():
        evse_pk, location_pk, status, status_changed_at, connector_pk, *plug = row
        if evse_pk != last_evse:
            last_evse = evse_pk
            fingerprint.add(evse_pk, status, status_changed_at)
            moments.append(status_changed_at)
            if status != "REMOVED":
                shown[location_pk].append(row)
        if status != "REMOVED" and connector_pk is not None:
            plugs[location_pk].append(tuple(plug))
    validators = Validators(fingerprint.etag(), max((m for m in moments if m is not None), default=None))
    private, max_age = not audience.anonymous, settings().api_cache_max_age_seconds
    if validators.client_is_current():
        return not_modified(validators, private, max_age)

    base_url = request.url_root.rstrip("/")
    features = [_pin(row, shown[row.id], plugs[row.id], base_url) for row in locations if shown[row.id]]
    body = {"type": "FeatureCollection", "bbox": [box.min_lon, box.min_lat, box.max_lon, box.max_lat],
            "features": features, "truncated": truncated}
    if zoom is not None:
        body.update(zoom=zoom, clustered=False)
    response = json_response(body)
    response.mimetype = "application/geo+json"
    return validators.apply(response, private, max_age)


def _many(session, box: Box, publication: Publication, filters: Filters) -> bool:
    """More matching locations in the box than NAP_MAP_CLUSTER_MIN_LOCATIONS: counted up to
    one past it, so a national box stops reading the index there."""
    threshold = settings().map_cluster_min_locations
    if threshold <= 0:
        return True
    # No order: the first locations the index yields will do, a sort would read them all.
    first = select(Location.id).where(*matching_locations(box, publication, filters)).limit(threshold + 1)
    return session.scalar(select(func.count()).select_from(first.subquery())) > threshold


def _publication(session) -> Publication:
    return Publication(session, current_audience(), datetime.now(timezone.utc), settings().removed_evse_visible_hours)


@blueprint.get("/api/v1/locations", strict_slashes=False)
def locations_in_box():
    try:
        box = parse_bbox(request.args.get("bbox"))
        zoom = parse_zoom(request.args.get("zoom"))
        filters = parse_filters(request.args)
    except BadRequest as error:
        return json_error(str(error), 400)
    session = db_session()
    publication = _publication(session)
    if zoom is not None and zoom < POINTS_FROM_ZOOM and _many(session, box, publication, filters):
        return _clusters(session, box, publication, filters, zoom)
    return _points(session, box, publication, filters, zoom)


# -- a pop-up's content --------------------------------------------------------------------------

PARKING_TYPES = {"ALONG_MOTORWAY": "at a motorway service area", "PARKING_GARAGE": "in a multistorey car park",
                 "PARKING_LOT": "in a car park", "ON_DRIVEWAY": "on a driveway", "ON_STREET": "on the street",
                 "UNDERGROUND_GARAGE": "in an underground car park"}
RESTRICTIONS = {"DISABLED": "a space reserved for disabled drivers", "EV_ONLY": "for electric vehicles only",
                "PLUGGED": "parking only while charging", "CUSTOMERS": "for customers only",
                "MOTORCYCLES": "for motorcycles only", "TAXIS": "for taxis only", "EMPLOYEES": "for employees only"}


def _accessibility(location: dict, evses: list[dict]) -> list[str]:
    lines = []
    if location.get("parking_type") in PARKING_TYPES:
        lines.append("Parking " + PARKING_TYPES[location["parking_type"]])
    restrictions = sorted({word for evse in evses for word in evse.get("parking_restrictions") or []})
    lines += [RESTRICTIONS.get(word, word.replace("_", " ").lower()).capitalize() for word in restrictions]
    floors = sorted({evse["floor_level"] for evse in evses if evse.get("floor_level")})
    if floors:
        lines.append("Floor " + ", ".join(floors))
    if location.get("charging_when_closed") is True:
        lines.append("Charging continues when the site is closed")
    return lines


def _operator(session, location: dict) -> str | None:
    """The location's operator; OCPI: when it names none, the party's (credentials)."""
    name = (location.get("operator") or {}).get("name")
    if name:
        return name
    details = session.scalar(select(FeedParty.business_details).where(
        FeedParty.country_code == location["country_code"], FeedParty.party_id == location["party_id"],
        FeedParty.state == VERIFIED))
    return (details or {}).get("name")


def _connector_text(connector: dict) -> dict:
    return {"id": connector.get("id"), "standard": connector.get("standard"), "format": connector.get("format"),
            "power_type": connector.get("power_type"),
            "power_kw": _power_kw(connector.get("max_electric_power"), connector.get("power_type"),
                                  connector.get("max_voltage"), connector.get("max_amperage"))}


@blueprint.get("/api/v1/map/locations/<country_code>/<party_id>/<location_id>")
def location_details(country_code: str, party_id: str, location_id: str):
    session = db_session()
    publication = _publication(session)
    row = session.scalar(select(Location).where(
        Location.country_code == country_code.upper(), Location.party_id == party_id.upper(),
        Location.id_key == id_key(location_id), publication.location_condition()))
    if row is None:
        return json_error(f"no published location {country_code}/{party_id}/{location_id[:80]}", 404)
    document = assemble_locations(session, [row])[0]
    states = {uid: (status, changed) for uid, status, changed in session.execute(
        select(Evse.uid, Evse.status, Evse.status_changed_at).where(Evse.location_pk == row.id))}
    lookup = tariff_lookup(session)
    evses = []
    shown = [evse for evse in document["evses"] if states.get(evse["uid"], ("REMOVED",))[0] != "REMOVED"]
    for evse in shown:
        status, changed = states[evse["uid"]]
        tariff = ad_hoc_tariff(document, evse, lookup)
        evses.append({
            "uid": evse["uid"], "evse_id": evse.get("evse_id"), "status": status,
            "status_since": changed.isoformat().replace("+00:00", "Z") if changed else None,
            "connectors": [_connector_text(connector) for connector in evse.get("connectors") or []],
            "card_payment": bool(PAYMENT_CAPABILITIES & set(evse.get("capabilities") or [])),
            "ad_hoc_price": price_sentence(tariff) if tariff else None,
            "ad_hoc_price_tax": tax_note(tariff) if tariff else None,
        })
    base_url = request.url_root.rstrip("/")
    body = {
        "id": f"{row.country_code}/{row.party_id}/{row.ocpi_id}",
        "location_id": row.ocpi_id, "name": document.get("name"), "address": document.get("address"),
        "postal_code": document.get("postal_code"), "city": document.get("city"),
        "coordinates": [row.longitude, row.latitude],
        "operator": _operator(session, document),
        "opening_hours": opening_hours(document) or None,
        "accessibility": _accessibility(document, shown),
        "evses": evses,
        "ocpi_url": ocpi_url(base_url, row.country_code, row.party_id, row.ocpi_id),
        # "Where did my charger go?": the portal's lookup by EVSE or location id.
        "lookup_url": f"{base_url}/lookup?q={quote(row.ocpi_id, safe='')}",
    }
    return json_response(body)


@blueprint.get("/api/v1/map/facets")
def facets():
    """What the map's filters can choose from, among the locations this audience sees."""
    session = db_session()
    publication = _publication(session)
    # Every map page asks, and the answer reads every connector (a second at 100,000
    # EVSEs): kept as long as clients may keep API answers.
    cache_key = (session.get_bind().url.render_as_string(hide_password=True),
                 tuple(publication.private_location_ids()))
    ttl, now = settings().api_cache_max_age_seconds, time.monotonic()
    body = FACETS.get(cache_key, ttl, now) if ttl > 0 else None
    if body is None:
        operators = session.scalars(select(_operator_name()).where(publication.location_condition()).distinct())
        standards = session.scalars(
            select(Connector.standard).join(Evse, Evse.id == Connector.evse_pk)
            .join(Location, Location.id == Evse.location_pk)
            .where(publication.location_condition(), Evse.status != "REMOVED").distinct())
        body = {
            "operators": sorted({name for name in operators if name}, key=str.lower),
            "connector_types": sorted(set(standards)),
            "power_classes": [[key, label] for key, label, _below in POWER_CLASSES],
        }
        FACETS.put(cache_key, body, now)
    return json_response(body)
