"""The OCPI 2.3.0 sender interface for Locations and Tariffs, for all CPOs at once.

Ids are unique only per CPO, so single objects are addressed as
`/locations/{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]` and
`/tariffs/{country_code}/{party_id}/{tariff_id}`. Read-only and anonymous.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, request
from sqlalchemy import func, select

from exporters.ocpi_envelope import ocpi_error, ocpi_response
from nap.ocpi.values import parse_datetime
from nap.store.documents import assemble_locations
from nap.store.tables import Location, Tariff
from nap.web import db_session, settings

VERSION = "2.3.0"
blueprint = Blueprint("ocpi_api", __name__)


class BadParameter(ValueError):
    pass


def _base_url() -> str:
    return request.url_root.rstrip("/")


@blueprint.get("/ocpi/versions")
def versions():
    return ocpi_response([{"version": VERSION, "url": f"{_base_url()}/ocpi/{VERSION}"}])


@blueprint.get(f"/ocpi/{VERSION}")
def version_details():
    base = f"{_base_url()}/ocpi/{VERSION}"
    return ocpi_response({
        "version": VERSION,
        "endpoints": [
            {"identifier": "locations", "role": "SENDER", "url": f"{base}/locations"},
            {"identifier": "tariffs", "role": "SENDER", "url": f"{base}/tariffs"},
        ],
    })


def _list_window():
    """offset/limit/date_from/date_to from the query string, validated."""
    args = request.args
    try:
        offset = int(args.get("offset", 0))
        max_limit = settings().api_max_limit
        limit = min(int(args.get("limit", max_limit)), max_limit)
        date_from = parse_datetime(args["date_from"]) if args.get("date_from") else None
        date_to = parse_datetime(args["date_to"]) if args.get("date_to") else None
    except (ValueError, KeyError) as error:
        raise BadParameter(str(error)) from None
    if offset < 0 or limit < 1:
        raise BadParameter("offset must be >= 0 and limit >= 1")
    return offset, limit, date_from, date_to


def _paginated(table, assemble):
    try:
        offset, limit, date_from, date_to = _list_window()
    except BadParameter as error:
        return ocpi_error(2001, f"invalid parameter: {error}", 400)
    conditions = [table.removed_at.is_(None)]
    if table is Location:
        # publish=false locations are only for the holders of publish_allowed_to tokens.
        conditions.append(Location.publish.is_(True))
    if date_from:
        conditions.append(table.last_updated >= date_from)
    if date_to:
        conditions.append(table.last_updated < date_to)
    session = db_session()
    total = session.scalar(select(func.count()).select_from(table).where(*conditions))
    rows = session.scalars(select(table).where(*conditions).order_by(table.id).offset(offset).limit(limit)).all()
    response = ocpi_response(assemble(session, rows))
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Limit"] = str(limit)
    if offset + len(rows) < total:
        query = {k: v for k, v in request.args.items() if k not in ("offset", "limit")}
        query.update(offset=offset + len(rows), limit=limit)
        response.headers["Link"] = f'<{request.base_url}?{urlencode(query)}>; rel="next"'
    return response


@blueprint.get(f"/ocpi/{VERSION}/locations")
def list_locations():
    return _paginated(Location, assemble_locations)


@blueprint.get(f"/ocpi/{VERSION}/tariffs")
def list_tariffs():
    return _paginated(Tariff, lambda session, rows: [row.data for row in rows])


def _published_location(country_code: str, party_id: str, location_id: str) -> Location | None:
    return db_session().scalars(select(Location).where(
        Location.country_code == country_code.upper(), Location.party_id == party_id.upper(),
        Location.ocpi_id == location_id, Location.removed_at.is_(None), Location.publish.is_(True),
    )).one_or_none()


@blueprint.get(f"/ocpi/{VERSION}/locations/<country_code>/<party_id>/<location_id>")
@blueprint.get(f"/ocpi/{VERSION}/locations/<country_code>/<party_id>/<location_id>/<evse_uid>")
@blueprint.get(f"/ocpi/{VERSION}/locations/<country_code>/<party_id>/<location_id>/<evse_uid>/<connector_id>")
def get_location(country_code, party_id, location_id, evse_uid=None, connector_id=None):
    row = _published_location(country_code, party_id, location_id)
    if row is None:
        return ocpi_error(2003, f"unknown location {country_code}/{party_id}/{location_id}", 404)
    document = assemble_locations(db_session(), [row])[0]
    if evse_uid is None:
        return ocpi_response(document)
    evse = next((e for e in document["evses"] if e["uid"] == evse_uid), None)
    if evse is None:
        return ocpi_error(2003, f"unknown EVSE {evse_uid} at location {location_id}", 404)
    if connector_id is None:
        return ocpi_response(evse)
    connector = next((c for c in evse["connectors"] if c["id"] == connector_id), None)
    if connector is None:
        return ocpi_error(2003, f"unknown connector {connector_id} on EVSE {evse_uid}", 404)
    return ocpi_response(connector)


@blueprint.get(f"/ocpi/{VERSION}/tariffs/<country_code>/<party_id>/<tariff_id>")
def get_tariff(country_code, party_id, tariff_id):
    row = db_session().scalars(select(Tariff).where(
        Tariff.country_code == country_code.upper(), Tariff.party_id == party_id.upper(),
        Tariff.ocpi_id == tariff_id, Tariff.removed_at.is_(None),
    )).one_or_none()
    if row is None:
        return ocpi_error(2000, f"unknown tariff {country_code}/{party_id}/{tariff_id}", 404)
    return ocpi_response(row.data)
