"""The OCPI sender interface for Locations and Tariffs, for all CPOs at once, in OCPI 2.3.0
and (converted down) 2.2.1.

    /ocpi/versions                                     both versions
    /ocpi/{version}                                    version details
    /ocpi/{version}/locations                          paginated list (date_from, date_to, offset, limit)
    /ocpi/{version}/locations/{cc}/{party}/{location_id}[/{evse_uid}[/{connector_id}]]
    /ocpi/{version}/tariffs                            paginated list
    /ocpi/{version}/tariffs/{cc}/{party}/{tariff_id}

Ids are unique only per CPO, so single objects are addressed with the owner's country_code
and party_id, as OCPI itself does for client-owned objects (transport_and_format). Reading
is anonymous; publication rules, rate limits and HTTP caching apply to every answer.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Response, request

from exporters.access import current_audience, install_access_control
from exporters.api_errors import catch_crashes
from exporters.http_caching import Validators, not_modified
from nap.ocpi.envelope import OcpiError, ocpi_error, ocpi_response, ocpi_response_of_json
from nap.ocpi.paging import paging_headers, parse_window
from exporters.ocpi.sources import LocationSource, Snapshot, TariffSource
from exporters.ocpi.views import render, render_all
from nap.ocpi.versions import PUBLISHED, STORED
from exporters.publication import Publication
from nap.runtime import paused_gc
from nap.jsonutil import unreadable_text
from nap.ocpi.ids import same_id
from nap.web import db_session, settings

blueprint = Blueprint("ocpi_api", __name__)
install_access_control(blueprint, lambda message, http_status, code: ocpi_error(code, message, http_status))
catch_crashes(blueprint)

ADDRESSING = ("single objects are addressed as /locations/{country_code}/{party_id}/{location_id}"
              "[/{evse_uid}[/{connector_id}]] and /tariffs/{country_code}/{party_id}/{tariff_id}: "
              "ids are unique only per CPO")


@blueprint.errorhandler(OcpiError)
def _ocpi_error(error: OcpiError):
    return ocpi_error(error.status_code, error.message, error.http_status)


def _base_url() -> str:
    return request.url_root.rstrip("/")


def _publication() -> Publication:
    return Publication(db_session(), current_audience(), datetime.now(timezone.utc),
                       settings().removed_evse_visible_hours)


def _conditional(snapshot: Snapshot, version: str, extra_headers: dict | None = None):
    """(validators, 304 response or None) for a snapshot in a version."""
    snapshot.fingerprint.add("version", version)
    validators = Validators(snapshot.fingerprint.etag(), snapshot.last_modified)
    private = not current_audience().anonymous
    if validators.client_is_current():
        return validators, not_modified(validators, private, settings().api_cache_max_age_seconds, extra_headers)
    return validators, None


def _finish(response: Response, validators: Validators, headers: dict | None = None) -> Response:
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return validators.apply(response, not current_audience().anonymous, settings().api_cache_max_age_seconds)


# -- version information ---------------------------------------------------------------------


def versions():
    return ocpi_response([{"version": version, "url": f"{_base_url()}/ocpi/{version}"} for version in PUBLISHED])


def version_details(version: str):
    base = f"{_base_url()}/ocpi/{version}"
    return ocpi_response({
        "version": version,
        "endpoints": [
            {"identifier": "locations", "role": "SENDER", "url": f"{base}/locations"},
            {"identifier": "tariffs", "role": "SENDER", "url": f"{base}/tariffs"},
            # Where CPOs push (harvesters/receiver_api.py), with their feed's token.
            {"identifier": "locations", "role": "RECEIVER", "url": f"{base}/receiver/locations"},
            {"identifier": "tariffs", "role": "RECEIVER", "url": f"{base}/receiver/tariffs"},
        ],
    })


# -- lists -----------------------------------------------------------------------------------


def _list(source_class, kind: str, version: str):
    window = parse_window(request.args, settings().api_max_limit)
    source = source_class(db_session(), _publication())
    snapshot = source.page(window, with_documents=not Validators.may_be_current())
    headers = paging_headers(window, snapshot.total, len(snapshot.ids), request.base_url, request.args)
    validators, unchanged = _conditional(snapshot, version, headers)
    if unchanged is not None:
        return unchanged
    if kind == "location" and version == STORED:
        # Served as stored: the JSON text goes out without being decoded and encoded again.
        return _finish(ocpi_response_of_json(source.document_jsons(snapshot)), validators, headers)
    data = render_all(source.documents(snapshot), kind, version)
    return _finish(ocpi_response(data), validators, headers)


def list_locations(version: str):
    with paused_gc():  # see nap/runtime.py: about a third of a 1,000-location page's time
        return _list(LocationSource, "location", version)


def list_tariffs(version: str):
    with paused_gc():
        return _list(TariffSource, "tariff", version)


# -- single objects --------------------------------------------------------------------------


def _matching(objects: list[dict], key: str, wanted: str) -> dict | None:
    """The object whose `key` is `wanted` (ids are CiStrings: case does not count)."""
    return next((obj for obj in objects if same_id(str(obj.get(key, "")), wanted)), None)


def _storable(*ids: str | None) -> bool:
    """Whether ids could be stored at all: a NUL (which PostgreSQL refuses even as a query
    parameter) or a lone surrogate names nothing, so it is simply not found."""
    return all(value is None or unreadable_text(value) is None for value in ids)


def get_location(version: str, country_code: str, party_id: str, location_id: str,
                 evse_uid: str | None = None, connector_id: str | None = None):
    if not _storable(country_code, party_id, location_id, evse_uid, connector_id):
        raise OcpiError(2003, "unknown location: an id contains a NUL character or invalid Unicode", 404)
    source = LocationSource(db_session(), _publication())
    # A request that cannot be answered 304 reads the location's document with its row and
    # the EVSEs' documents with their marks: two round trips to the database fewer.
    snapshot = source.one(country_code, party_id, location_id, with_documents=not Validators.may_be_current())
    if snapshot is None:
        raise OcpiError(2003, f"unknown location {country_code}/{party_id}/{location_id}", 404)
    snapshot.fingerprint.add("evse", evse_uid, "connector", connector_id)  # one ETag per object
    validators, unchanged = _conditional(snapshot, version)
    if unchanged is not None:
        # Conditional requests only pass for objects that exist (a client holds an ETag
        # for them); an EVSE or connector that has gone will have changed the ETag.
        return unchanged
    documents = source.documents(snapshot)
    if not documents:
        raise OcpiError(2003, f"unknown location {country_code}/{party_id}/{location_id}", 404)
    location = documents[0]
    if evse_uid is None:
        obj, kind = location, "location"
    else:
        obj = _matching(location["evses"], "uid", evse_uid)
        if obj is None:
            raise OcpiError(2003, f"unknown EVSE {evse_uid} at location {country_code}/{party_id}/{location_id}", 404)
        kind = "evse"
        if connector_id is not None:
            obj = _matching(obj.get("connectors", []), "id", connector_id)
            if obj is None:
                raise OcpiError(2003, f"unknown connector {connector_id} on EVSE {evse_uid}", 404)
            kind = "connector"
    rendered = render(obj, kind, version)
    if rendered is None:
        raise OcpiError(2003, f"this {kind} cannot be expressed in OCPI {version} (its connector types are "
                              f"newer); read it through /ocpi/2.3.0", 404)
    return _finish(ocpi_response(rendered), validators)


def get_tariff(version: str, country_code: str, party_id: str, tariff_id: str):
    if not _storable(country_code, party_id, tariff_id):
        raise OcpiError(2000, "unknown tariff: an id contains a NUL character or invalid Unicode", 404)
    source = TariffSource(db_session(), _publication())
    snapshot = source.one(country_code, party_id, tariff_id)
    if snapshot is None:
        raise OcpiError(2000, f"unknown tariff {country_code}/{party_id}/{tariff_id}", 404)
    validators, unchanged = _conditional(snapshot, version)
    if unchanged is not None:
        return unchanged
    documents = source.documents(snapshot)
    if not documents:
        raise OcpiError(2000, f"unknown tariff {country_code}/{party_id}/{tariff_id}", 404)
    return _finish(ocpi_response(render(documents[0], "tariff", version)), validators)


def misaddressed(version: str, **_segments):
    raise OcpiError(2001, ADDRESSING, 404)


# -- routes ----------------------------------------------------------------------------------


def _route(path: str, endpoint: str, view, version: str | None = None) -> None:
    # strict_slashes off: the spec's own examples end list URLs with '/'.
    options = {"defaults": {"version": version}} if version else {}
    blueprint.add_url_rule(path, endpoint=endpoint, view_func=view, strict_slashes=False, **options)


_route("/ocpi/versions", "versions", versions)
for _version in PUBLISHED:
    _tag = _version.replace(".", "")
    _base = f"/ocpi/{_version}"
    _route(_base, f"details_{_tag}", version_details, _version)
    _route(f"{_base}/locations", f"locations_{_tag}", list_locations, _version)
    _route(f"{_base}/locations/<country_code>/<party_id>/<location_id>", f"location_{_tag}", get_location, _version)
    _route(f"{_base}/locations/<country_code>/<party_id>/<location_id>/<evse_uid>", f"evse_{_tag}",
           get_location, _version)
    _route(f"{_base}/locations/<country_code>/<party_id>/<location_id>/<evse_uid>/<connector_id>",
           f"connector_{_tag}", get_location, _version)
    _route(f"{_base}/tariffs", f"tariffs_{_tag}", list_tariffs, _version)
    _route(f"{_base}/tariffs/<country_code>/<party_id>/<tariff_id>", f"tariff_{_tag}", get_tariff, _version)
    # Plain OCPI paths (/locations/{id}) cannot tell CPOs apart: say how to address instead.
    _route(f"{_base}/locations/<first>", f"misaddressed_location_{_tag}", misaddressed, _version)
    _route(f"{_base}/locations/<first>/<second>", f"misaddressed_evse_{_tag}", misaddressed, _version)
    _route(f"{_base}/tariffs/<first>", f"misaddressed_tariff_{_tag}", misaddressed, _version)
    _route(f"{_base}/tariffs/<first>/<second>", f"misaddressed_tariff2_{_tag}", misaddressed, _version)
