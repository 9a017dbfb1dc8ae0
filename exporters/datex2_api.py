"""DATEX II 3.7 Energy Infrastructure publications over HTTP.

The document is written to a spooled temporary file and streamed from there: the writer
works in constant memory, and the client gets a complete, valid document or an error,
never half of one.
"""
from __future__ import annotations

import tempfile
from datetime import datetime, timezone

from flask import Blueprint, Response, request
from sqlalchemy import select

from exporters.datex2.status import write_status
from exporters.datex2.table import write_table
from nap.store.documents import iter_location_documents
from nap.store.tables import Location, Tariff
from nap.web import db_session, settings

blueprint = Blueprint("datex2_api", __name__)
PROFILES = ("generic", "afir")
CHUNK = 64 * 1024


def _published_locations():
    return select(Location).where(Location.removed_at.is_(None), Location.publish.is_(True))


def _tariff_lookup(session):
    def lookup(country_code: str, party_id: str, tariff_id: str):
        return session.scalar(select(Tariff.data).where(
            Tariff.country_code == country_code, Tariff.party_id == party_id,
            Tariff.ocpi_id == tariff_id, Tariff.removed_at.is_(None)))
    return lookup


def _stream(spool) -> Response:
    spool.seek(0)

    def chunks():
        try:
            while block := spool.read(CHUNK):
                yield block
        finally:
            spool.close()

    return Response(chunks(), mimetype="application/xml")


def _profile():
    profile = request.args.get("profile", "generic")
    if profile not in PROFILES:
        return None
    return profile


def _bad_profile():
    return Response(f"unknown profile; use one of {', '.join(PROFILES)}\n", status=400, mimetype="text/plain")


@blueprint.get("/datex2/v3.7/energy-infrastructure/table")
def table():
    profile = _profile()
    if profile is None:
        return _bad_profile()
    session = db_session()
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    write_table(
        spool, iter_location_documents(session, _published_locations()), profile=profile,
        publication_time=datetime.now(timezone.utc), country=settings().country_code.lower(),
        national_identifier=settings().party_id, tariffs_by_key=_tariff_lookup(session),
    )
    return _stream(spool)


@blueprint.get("/datex2/v3.7/energy-infrastructure/status")
def status():
    profile = _profile()
    if profile is None:
        return _bad_profile()
    session = db_session()
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    write_status(
        spool, iter_location_documents(session, _published_locations()), profile=profile,
        publication_time=datetime.now(timezone.utc), country=settings().country_code.lower(),
        national_identifier=settings().party_id,
    )
    return _stream(spool)
