"""The OpenAPI 3.1 description of every public endpoint, served at /openapi.json and
rendered as a plain HTML page at /docs.

The OCPI 2.3.0 object schemas are generated from the pydantic models NAP validates with
(nap.ocpi.schemas), so the description cannot drift from what is checked; the 2.2.1 view
points to the 2.2.1 specification.
"""
from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, Response, request
from pydantic.json_schema import models_json_schema

from exporters.api_docs import render_docs_page
from nap.ocpi.envelope import json_response
from nap.ocpi.versions import PUBLISHED
from nap.ocpi import schemas

blueprint = Blueprint("openapi", __name__)

OCPI_SPEC = "https://evroaming.org/ocpi-downloads/"
TAGS = [
    {"name": "OCPI versions", "description": "Version discovery (OCPI versions module)."},
    {"name": "OCPI 2.3.0", "description": "Locations and Tariffs of all CPOs, as stored (normalized to 2.3.0)."},
    {"name": "OCPI 2.2.1", "description": "The same data converted to OCPI 2.2.1: no Parking objects, no "
                                          "2.3.0-only fields or enum values."},
    {"name": "Map", "description": "GeoJSON for map apps."},
    {"name": "Documentation", "description": "This description."},
]
INTRO = """\
Charging locations and tariffs of every charge point operator (CPO) registered with this
National Access Point, free to use. No registration is needed: every endpoint can be read
anonymously. A consumer token (ask the operators) gives a higher rate limit and shows the
`publish: false` locations whose `publish_allowed_to` lists one of the consumer's tokens.

**Addressing.** Object ids are unique only per CPO, so single objects are addressed with the
owner's `country_code` and `party_id`: `/locations/{country_code}/{party_id}/{location_id}`
(and `/{evse_uid}`, `/{connector_id}` below it), `/tariffs/{country_code}/{party_id}/{tariff_id}`.

**Pagination** (OCPI transport_and_format): `offset`, `limit` (capped at the server maximum,
given in `X-Limit`), `date_from` (inclusive), `date_to` (exclusive) on `last_updated`; follow the
`Link: <...>; rel="next"` header; `X-Total-Count` counts all matching objects.

**Caching.** Responses carry a weak `ETag` and `Last-Modified`; send `If-None-Match` (or
`If-Modified-Since`) and an unchanged answer is a bodiless `304`. Send `Accept-Encoding: gzip`.

**Rate limits** are per client IP (anonymous) or per consumer token; beyond them the answer is
`429` with `Retry-After`. `X-RateLimit-Limit`/`X-RateLimit-Remaining` show the state.

**Removed EVSEs** keep status `REMOVED` for a while after the CPO removed them, then leave
their location.
"""


def _object_schemas() -> dict:
    models = (schemas.Location, schemas.Evse, schemas.Connector, schemas.Tariff)
    _, top = models_json_schema([(model, "serialization") for model in models],
                                ref_template="#/components/schemas/{model}")
    return top["$defs"]


def _envelope(data_schema: dict | None, description: str) -> dict:
    properties = {
        "status_code": {"type": "integer", "description": "OCPI status code: 1000 success, 2xxx client error, "
                                                         "3xxx server error."},
        "status_message": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
    }
    if data_schema is not None:
        properties["data"] = data_schema
    return {"type": "object", "description": description, "required": ["status_code", "timestamp"],
            "properties": properties}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _header(description: str, type_: str = "string") -> dict:
    return {"description": description, "schema": {"type": type_}}


CACHE_HEADERS = {
    "ETag": _header("Weak entity tag of this answer; send it back in If-None-Match."),
    "Last-Modified": _header("When this answer last changed."),
    "Cache-Control": _header("public (anonymous) or private (with a token), max-age in seconds."),
    "X-RateLimit-Limit": _header("Requests per minute allowed to this client.", "integer"),
    "X-RateLimit-Remaining": _header("Requests left in the current burst.", "integer"),
}
PAGING_HEADERS = {
    "Link": _header('Next page: <url>; rel="next", absent on the last page.'),
    "X-Total-Count": _header("Number of objects matching the request (without offset/limit).", "integer"),
    "X-Limit": _header("Maximum number of objects the server returns per page.", "integer"),
}
CONDITIONAL_PARAMETERS = [
    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "An ETag from an earlier answer: 304 when it still matches."},
    {"name": "If-Modified-Since", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "A Last-Modified value: 304 when nothing changed since (ignored with If-None-Match)."},
]
PAGING_PARAMETERS = [
    {"name": "date_from", "in": "query", "required": False, "schema": {"type": "string", "format": "date-time"},
     "description": "Only objects with last_updated at or after this time (inclusive)."},
    {"name": "date_to", "in": "query", "required": False, "schema": {"type": "string", "format": "date-time"},
     "description": "Only objects with last_updated before this time (exclusive)."},
    {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0, "default": 0},
     "description": "Index of the first object returned."},
    {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1},
     "description": "Maximum number of objects; capped at the server maximum (X-Limit)."},
]


def _path_parameter(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


OWNER_PARAMETERS = [
    _path_parameter("country_code", "ISO 3166 alpha-2 country code of the CPO that owns the object."),
    _path_parameter("party_id", "Party id of the CPO that owns the object."),
]


def _error_responses(ocpi: bool, not_found: str | None = None) -> dict:
    error = _ref("OcpiError") if ocpi else _ref("Error")
    content = {"application/json": {"schema": error}}
    responses = {
        "304": {"description": "Not modified: the client's copy (If-None-Match / If-Modified-Since) is current.",
                "headers": CACHE_HEADERS},
        "400": {"description": "Invalid parameter (OCPI status 2001).", "content": content},
        "401": {"description": "The Authorization header carries an unknown token (leave it out to read "
                               "anonymously).", "content": content},
        "429": {"description": "Rate limit exceeded.", "content": content,
                "headers": {"Retry-After": _header("Seconds to wait.", "integer")}},
    }
    if not_found:
        responses["404"] = {"description": not_found, "content": content}
    return responses


def _operation(tag: str, summary: str, description: str, parameters: list, ok: dict, ok_headers: dict,
               ocpi: bool = True, not_found: str | None = None, media: str = "application/json") -> dict:
    return {
        "tags": [tag],
        "summary": summary,
        "description": description,
        "parameters": parameters + CONDITIONAL_PARAMETERS,
        "security": [{}, {"consumerToken": []}],
        "responses": {
            "200": {"description": "OK", "headers": {**ok_headers, **CACHE_HEADERS},
                    "content": {media: {"schema": ok}}},
            **_error_responses(ocpi, not_found),
        },
    }


def _object_schema(name: str, version: str) -> dict:
    if version == "2.3.0":
        return _ref({"location": "Location", "evse": "Evse", "connector": "Connector", "tariff": "Tariff"}[name])
    return {"type": "object", "description": f"An OCPI {version} {name.capitalize()} object (mod_locations / "
                                             f"mod_tariffs of OCPI {version}).",
            "externalDocs": {"url": OCPI_SPEC}}


def _ocpi_paths(version: str) -> dict:
    tag = f"OCPI {version}"
    base = f"/ocpi/{version}"
    location = f"{base}/locations/{{country_code}}/{{party_id}}/{{location_id}}"
    location_id = _path_parameter("location_id", "Location.id")
    evse_uid = _path_parameter("evse_uid", "EVSE.uid")
    connector_id = _path_parameter("connector_id", "Connector.id")

    def envelope(name: str, many: bool) -> dict:
        schema = _object_schema(name, version)
        return _envelope({"type": "array", "items": schema} if many else schema, f"OCPI response with {name} data")

    return {
        base: {"get": {
            "tags": ["OCPI versions"], "summary": f"OCPI {version} version details",
            "description": "The endpoints of this version: locations and tariffs, role SENDER.",
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": _envelope(
                {"type": "object"}, "Version details")}}}},
        }},
        f"{base}/locations": {"get": _operation(
            tag, "List locations", "All published locations of all CPOs, oldest first, with their EVSEs and "
            "connectors (OCPI Locations, Sender interface, GET list).", PAGING_PARAMETERS,
            envelope("location", True), PAGING_HEADERS)},
        location: {"get": _operation(
            tag, "One location", "A location, addressed by its owner and id.", OWNER_PARAMETERS + [location_id],
            envelope("location", False), {}, not_found="Unknown location (OCPI status 2003).")},
        f"{location}/{{evse_uid}}": {"get": _operation(
            tag, "One EVSE", "An EVSE of a location.", OWNER_PARAMETERS + [location_id, evse_uid],
            envelope("evse", False), {}, not_found="Unknown location or EVSE (OCPI status 2003).")},
        f"{location}/{{evse_uid}}/{{connector_id}}": {"get": _operation(
            tag, "One connector", "A connector of an EVSE.", OWNER_PARAMETERS + [location_id, evse_uid, connector_id],
            envelope("connector", False), {}, not_found="Unknown location, EVSE or connector (OCPI status 2003).")},
        f"{base}/tariffs": {"get": _operation(
            tag, "List tariffs", "All tariffs of all CPOs, oldest first (OCPI Tariffs, Sender interface).",
            PAGING_PARAMETERS, envelope("tariff", True), PAGING_HEADERS)},
        f"{base}/tariffs/{{country_code}}/{{party_id}}/{{tariff_id}}": {"get": _operation(
            tag, "One tariff", "A tariff, addressed by its owner and id (an addition to the OCPI Sender "
            "interface, which has lists only).", OWNER_PARAMETERS + [_path_parameter("tariff_id", "Tariff.id")],
            envelope("tariff", False), {}, not_found="Unknown tariff.")},
    }


def _map_paths() -> dict:
    feature = {"type": "object", "properties": {
        "type": {"const": "Feature"},
        "id": {"type": "string", "description": "country_code/party_id/location_id"},
        "geometry": {"type": "object", "properties": {"type": {"const": "Point"}, "coordinates": {
            "type": "array", "items": {"type": "number"}, "description": "[longitude, latitude]"}}},
        "properties": {"type": "object", "properties": {
            "country_code": {"type": "string"}, "party_id": {"type": "string"}, "location_id": {"type": "string"},
            "name": {"type": ["string", "null"]}, "address": {"type": "string"}, "city": {"type": "string"},
            "status": {"type": "string", "description": "The best status among the location's EVSEs "
                                                        "(AVAILABLE before CHARGING before ... UNKNOWN)."},
            "evses": {"type": "integer", "description": "EVSEs that are not REMOVED."},
            "available_evses": {"type": "integer"},
            "max_power_kw": {"type": ["number", "null"], "description": "Highest connector power in kW."},
            "connector_types": {"type": "array", "items": {"type": "string"},
                                "description": "OCPI ConnectorType values."},
            "ocpi_url": {"type": "string", "description": "The location in the OCPI 2.3.0 API."},
        }},
    }}
    collection = {"type": "object", "properties": {
        "type": {"const": "FeatureCollection"}, "bbox": {"type": "array", "items": {"type": "number"}},
        "features": {"type": "array", "items": feature},
        "truncated": {"type": "boolean", "description": "More locations lie in the box than one answer carries: "
                                                       "zoom in."},
    }}
    bbox = {"name": "bbox", "in": "query", "required": True, "schema": {"type": "string"},
            "example": "13.30,52.48,13.45,52.56",
            "description": "minLon,minLat,maxLon,maxLat in WGS 84 degrees."}
    def query(name: str, description: str, schema: dict | None = None) -> dict:
        return {"name": name, "in": "query", "required": False, "schema": schema or {"type": "string"},
                "description": description}

    # The map's zoom and filters (exporters/map_api.py).
    map_parameters = [
        query("zoom", "The map's zoom. Below 13, and when the box holds more than NAP_MAP_CLUSTER_MIN_LOCATIONS "
              "matching locations, the features are clusters (properties.cluster true: locations, evses, "
              "available_evses, available_share, max_power_kw, power_class, cell).",
              {"type": "integer", "minimum": 0, "maximum": 22}),
        query("power", "Power classes, comma-separated: slow, medium, fast, ultra_fast_1, ultra_fast_2, ultra_fast_3."),
        query("connector", "OCPI ConnectorTypes, comma-separated."),
        query("available", "1: only EVSEs available now.", {"type": "string", "enum": ["0", "1"]}),
        query("operator", "The operator's name (exact, case-insensitive)."),
        query("card", "1: only EVSEs where one pays by card.", {"type": "string", "enum": ["0", "1"]}),
    ]
    owner = OWNER_PARAMETERS + [_path_parameter("location_id", "Location.id")]
    return {"/api/v1/locations": {"get": _operation(
        "Map", "Locations in a bounding box", "Published locations in the box as GeoJSON, with status, maximum "
        "power and connector types per location; with a zoom, clusters of them.", [bbox, *map_parameters],
        collection, {}, ocpi=False, media="application/geo+json")},
        "/api/v1/map/locations/{country_code}/{party_id}/{location_id}": {"get": _operation(
            "Map", "A location's pop-up", "Operator, opening hours, access, and per EVSE its status and since "
            "when, connectors with power and the ad hoc price in words.", owner, {"type": "object"}, {},
            ocpi=False, not_found="No such published location.")},
        "/api/v1/map/facets": {"get": _operation(
            "Map", "The map's filter choices", "Operators, connector types and power classes.", [],
            {"type": "object"}, {}, ocpi=False)},
        "/api/v1/provenance/{country_code}/{party_id}/{location_id}": {"get": _operation(
            "Provenance", "Where a location's values came from", "Its sources (the party's own feed, hubs, "
            "aggregators), which source gave each field of the location and of each EVSE and by which rule, the "
            "values the sources disagree on, and the rules (docs/merge-rules.md).", owner, {"type": "object"}, {},
            ocpi=False, not_found="No such published location.")}}


@lru_cache(maxsize=1)
def _document_template() -> dict:
    paths = {"/ocpi/versions": {"get": {
        "tags": ["OCPI versions"], "summary": "OCPI versions", "description": "The OCPI versions served: "
        + ", ".join(PUBLISHED) + ".",
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": _envelope(
            {"type": "array", "items": {"type": "object", "properties": {
                "version": {"type": "string"}, "url": {"type": "string"}}}}, "Versions")}}}},
    }}}
    for version in PUBLISHED:
        paths.update(_ocpi_paths(version))
    paths.update(_map_paths())
    from exporters.statistics_openapi import TAG, statistics_paths  # built on this module's helpers

    paths.update(statistics_paths())
    paths["/openapi.json"] = {"get": {"tags": ["Documentation"], "summary": "This OpenAPI document",
                                      "responses": {"200": {"description": "OK"}}}}
    paths["/docs"] = {"get": {"tags": ["Documentation"], "summary": "This description as a web page",
                              "responses": {"200": {"description": "OK"}}}}
    components = _object_schemas()
    components["OcpiError"] = _envelope(None, "OCPI response without data: status_code and status_message "
                                              "say what went wrong.")
    components["Error"] = {"type": "object", "properties": {"error": {"type": "string"},
                                                            "status": {"type": "integer"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "NAP: National Access Point for EV charging data", "version": "1",
                 "description": INTRO, "license": {"name": "Data: free to use (AFIR Art. 20)"}},
        "tags": TAGS + [TAG],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"consumerToken": {
                "type": "apiKey", "in": "header", "name": "Authorization",
                "description": "Optional. `Token <base64 of your consumer token>` as in OCPI 2.2+; the plain token "
                               "is accepted too."}},
        },
    }


def openapi_document(base_url: str) -> dict:
    return {**_document_template(), "servers": [{"url": base_url}]}


@blueprint.get("/openapi.json")
def openapi_json():
    response = json_response(openapi_document(request.url_root.rstrip("/")))
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@blueprint.get("/docs", strict_slashes=False)
def docs_page():
    html = render_docs_page(openapi_document(request.url_root.rstrip("/")))
    response = Response(html, mimetype="text/html")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
