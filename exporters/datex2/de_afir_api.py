"""Germany's AFIR DATEX II profile 01-00-00 (JSON) over HTTP, for pulling consumers such as
the Mobilithek:

  /datex2/de-afir/01-00-00/table                       payload (static data)
  /datex2/de-afir/01-00-00/status[?since=<RFC 3339>]   messageContainer: snapshotPush, or
                                                       deltaPush of what changed after `since`
  either with ?party=CC*PID (repeatable): only those CPO parties' locations

As the 3.7 endpoints (api.py): the document is written, gzipped when accepted, to a spooled
file and streamed from there; ETag and Last-Modified come from the store's change times, so a
poll that finds nothing new answers 304 after two small queries; 204 when there is nothing to
publish. A large store's whole table is the file the worker wrote ahead (table_files.py).
What is written where: docs/datex2-de-afir-mapping.md.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from flask import Blueprint, request
from sqlalchemy import func, select

from exporters.datex2 import de_afir
from exporters.datex2.spooled_response import plain, served_ahead, spooled, stream
from exporters.datex2.table_files import newest_table_file
from exporters.http_caching import Fingerprint, Validators, not_modified
from nap.ocpi.values import parse_datetime
from nap.store.tables import EvseStatusChange
from nap.web import db_session, settings

blueprint = Blueprint("datex2_de_afir_api", __name__)
BASE = f"/datex2/{de_afir.PROFILE}"
MAX_AGE = 30  # seconds: dynamic data must reach consumers within a minute (AFIR)
MIMETYPE = "application/json"
# OCPI: country_code CiString(2), party_id CiString(3); written as in the eMI3 operator id.
_PARTY = re.compile(r"([A-Za-z]{2})\*([A-Za-z0-9]{3})")
# Each party is a condition of the query: a bound keeps a request from building a huge one.
MAX_PARTIES = 50


class BadRequest(ValueError):
    pass


def _parties() -> list[tuple[str, str]] | None:
    """The ?party= filter, upper-cased and sorted (one spelling, one ETag); None: all."""
    values = request.args.getlist("party")
    if not values:
        return None
    if len(values) > MAX_PARTIES:
        raise BadRequest(f"party: at most {MAX_PARTIES} parties per request")
    parties = set()
    for value in values:
        match = _PARTY.fullmatch(value.strip())
        if match is None:
            raise BadRequest(f"party: {value!r} is no CPO party; use COUNTRY*PARTY, e.g. DE*ABC")
        parties.add((match.group(1).upper(), match.group(2).upper()))
    return sorted(parties)


def _since() -> datetime | None:
    text = request.args.get("since")
    if not text:
        return None
    try:
        return parse_datetime(text)
    except ValueError as error:
        raise BadRequest(f"since: {error} (an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z; "
                         f"write a '+' offset as %2B)") from None


@blueprint.errorhandler(BadRequest)
def _bad_request(error: BadRequest):
    return plain(str(error), 400)


@blueprint.get(f"{BASE}/table")
def table():
    parties = _parties()
    ahead = newest_table_file(settings(), "de-afir") if parties is None else None
    if ahead is not None:  # a large store's, as the worker wrote it last
        served = served_ahead(ahead, Fingerprint("de-afir table", ahead.version, parties).etag(), mimetype=MIMETYPE,
                              max_age=MAX_AGE)
        if served is not None:
            return served
    session = db_session()
    now = datetime.now(timezone.utc)  # one moment: it decides the sites' UTC offsets and the version
    last_change, version = de_afir.table_version(session, now)
    validators = Validators(Fingerprint("de-afir table", version, parties).etag(), last_change)
    if validators.client_is_current():
        return not_modified(validators, private=False, max_age=MAX_AGE)
    spool, written, gzipped = spooled(
        lambda out: de_afir.write_table(out, session, settings(), now=now, parties=parties))
    if not written:
        spool.close()
        return plain("no charging points are published yet", 204)
    return stream(spool, gzipped, validators, mimetype=MIMETYPE, max_age=MAX_AGE)


@blueprint.get(f"{BASE}/status")
def status():
    parties = _parties()
    since = _since()
    session = db_session()
    now = datetime.now(timezone.utc)
    last_change, version = de_afir.table_version(session, now)
    # The table version changes with any tariff, so the ETag follows the ad hoc prices too.
    last_status = session.scalar(select(func.max(EvseStatusChange.received_at)))
    moments = [moment for moment in (last_change, last_status) if moment is not None]
    validators = Validators(Fingerprint("de-afir status", version, last_status, since, parties).etag(),
                            max(moments) if moments else None)
    if validators.client_is_current():
        return not_modified(validators, private=False, max_age=MAX_AGE)
    spool, written, gzipped = spooled(
        lambda out: de_afir.write_status(out, session, settings(), now=now, since=since, parties=parties))
    if not written:
        spool.close()
        return plain("no status or price changed since then" if since else "no charging points are published yet",
                     204)
    return stream(spool, gzipped, validators, mimetype=MIMETYPE, max_age=MAX_AGE)
