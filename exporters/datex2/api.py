"""DATEX II 3.7 Energy Infrastructure publications over HTTP.

  /datex2/v3.7/energy-infrastructure/table?profile=generic|afir
  /datex2/v3.7/energy-infrastructure/status?profile=generic|afir[&since=<RFC 3339>]

The document is written (gzip-compressed when the client accepts it) to a spooled
temporary file and streamed from there: the writer works in constant memory, and the
client gets a complete, valid document or an error, never half of one. ETag and
Last-Modified come from the store's change times, so a poll that finds nothing new costs
two small queries and answers 304. With nothing to publish the answer is 204. A large
store's table is the file the worker wrote ahead, its newest (table_files.py).
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Response, request
from sqlalchemy import func, select

from exporters.datex2.spooled_response import plain as _plain, served_ahead, spool_file, spooled as _spooled, stream
from exporters.datex2.status import write_status
from exporters.datex2.status_segments import Plan, mostly_repeats, plan_delta, write_joined
from exporters.datex2.table import write_table
from exporters.datex2.table_files import newest_table_file
from exporters.datex2.source import (ChangedStatuses, party_operators, published_locations, table_state,
                                     tariff_lookup)
from exporters.http_caching import Fingerprint, Validators, not_modified
from nap.ocpi.values import parse_datetime
from nap.store.documents import iter_location_documents
from nap.store.tables import EvseStatusChange
from nap.web import db_session, settings

blueprint = Blueprint("datex2_api", __name__)
PROFILES = ("generic", "afir")
MAX_AGE = 30  # seconds: dynamic data must reach consumers within a minute (AFIR)


def _profile() -> str | None:
    profile = request.args.get("profile", "generic")
    return profile if profile in PROFILES else None


def _stream(spool, gzipped: bool, validators: Validators) -> Response:
    return stream(spool, gzipped, validators, mimetype="application/xml", max_age=MAX_AGE)


@blueprint.get("/datex2/v3.7/energy-infrastructure/table")
def table():
    profile = _profile()
    if profile is None:
        return _plain(f"unknown profile; use one of {', '.join(PROFILES)}", 400)
    ahead = newest_table_file(settings(), profile)
    if ahead is not None:  # a large store's, as the worker wrote it last
        served = served_ahead(ahead, Fingerprint("table", profile, ahead.version).etag(), mimetype="application/xml",
                              max_age=MAX_AGE)
        if served is not None:
            return served
    session = db_session()
    now = datetime.now(timezone.utc)  # one moment: it decides the sites' UTC offsets and the version
    last_change, version = table_state(session, now)
    validators = Validators(Fingerprint("table", profile, version).etag(), last_change)
    if validators.client_is_current():
        return not_modified(validators, private=False, max_age=MAX_AGE)
    spool, written, gzipped = _spooled(lambda out: write_table(
        out, iter_location_documents(session, published_locations()), profile=profile,
        publication_time=now, table_version=version,
        country=settings().country_code.lower(), national_identifier=settings().party_id,
        tariffs_by_key=tariff_lookup(session), party_operators=party_operators(session)))
    if not written:
        spool.close()
        return _plain("no charging points are published yet", 204)
    return _stream(spool, gzipped, validators)


@blueprint.get("/datex2/v3.7/energy-infrastructure/status")
def status():
    profile = _profile()
    if profile is None:
        return _plain(f"unknown profile; use one of {', '.join(PROFILES)}", 400)
    since = None
    if request.args.get("since"):
        try:
            since = parse_datetime(request.args["since"])
        except ValueError as error:
            return _plain(f"since: {error}", 400)
    session = db_session()
    now = datetime.now(timezone.utc)
    last_change, version = table_state(session, now)
    last_status = session.scalar(select(func.max(EvseStatusChange.received_at)))
    moments = [m for m in (last_change, last_status) if m is not None]
    plan = plan_delta(session, profile, since) if since else None
    # Joined from segments, the same delta has other bytes (a refill point may be in it twice).
    validators = Validators(Fingerprint("status", profile, version, last_status, since,
                                        plan.segment_ids[-1] if plan else None).etag(),
                            max(moments) if moments else None)
    if validators.client_is_current():
        return not_modified(validators, private=False, max_age=MAX_AGE)
    if plan is not None and not mostly_repeats(session, plan):
        return _joined(session, plan, profile, now, version, validators)
    # AFIR: the ad hoc prices are dynamic data, so a delta also holds the EVSEs whose tariff
    # changed (the table version, and so the ETag, changes with any tariff).
    delta = ChangedStatuses(session, since, prices=profile == "afir") if since else None
    documents = delta if delta is not None else iter_location_documents(session, published_locations())
    spool, written, gzipped = _spooled(lambda out: write_status(
        out, documents, profile=profile, publication_time=now, table_version=version,
        country=settings().country_code.lower(), national_identifier=settings().party_id,
        party_operators=party_operators(session), tariffs_by_key=tariff_lookup(session),
        narrow=delta.narrow if delta is not None else None))
    if not written:
        spool.close()
        return _plain("no status or price changed since then" if since else "no charging points are published yet",
                      204)
    return _stream(spool, gzipped, validators)


def _joined(session, plan: Plan, profile: str, now: datetime, version: str, validators: Validators) -> Response:
    """The delta joined from the worker's segments (status_segments.py), compressed when
    they were written: no site status is built again but those after the newest segment."""
    spool, gzipped = spool_file(), request.accept_encodings["gzip"] > 0
    try:
        written = write_joined(spool, session, plan, gzipped=gzipped, profile=profile, publication_time=now,
                               table_version=version, country=settings().country_code.lower(),
                               national_identifier=settings().party_id)
    except BaseException:
        spool.close()
        raise
    if not written:
        spool.close()
        return _plain("no status or price changed since then", 204)
    spool.seek(0)
    return _stream(spool, gzipped, validators)
