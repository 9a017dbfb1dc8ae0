"""HTTP for the OCPI receiver interface: CPOs push Locations and Tariffs to NAP.

Endpoints (listed with role RECEIVER in NAP's version details):
  /ocpi/{version}/receiver/locations/{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]
      GET, PUT, PATCH
  /ocpi/{version}/receiver/tariffs/{country_code}/{party_id}/{tariff_id}   GET, PUT, DELETE
for version 2.3.0 and 2.2.1. Every request carries the feed's push token
(`Authorization: Token <base64(token)>`); each push is one transaction, retried when
concurrent pushes collide. An EVSE PATCH goes the fast way first
(nap/store/evse_status.py); whatever that does not store or ignore goes the general way
(harvesters/receiver.py).
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import Blueprint, current_app, g, request
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from werkzeug.exceptions import RequestEntityTooLarge

from nap.ocpi.envelope import ocpi_error, ocpi_response
from harvesters.json_limits import nesting_exceeds
from harvesters.receiver import PushingFeed, PushRejected, Receiver, ignored
from nap import jsonutil
from nap.ocpi.values import parse_datetime
from nap.retry import doubling, with_retries
from nap.store.db import write_session
from nap.store.evse_status import fast_patchable, patch_evse_status, validated_fields
from nap.parties import VERIFIED
from nap.store.states import PUSH_REFUSED_FEED_STATUSES, FeedStatus, ObjectKind
from nap.store.tables import Feed, FeedParty
from nap.ocpi.versions import RECEIVED
from nap.tokens import token_hash, tokens_in_header

log = logging.getLogger(__name__)
blueprint = Blueprint("ocpi_receiver", __name__)
ATTEMPTS = 5
# Concurrent pushes to one object may collide (a unique index, a lock timeout, SQLite's
# single writer): such a push is tried again, up to ATTEMPTS times.
_COLLISIONS = (IntegrityError, OperationalError, DBAPIError)


def _sessions():
    return current_app.extensions["nap.sessions"]


@blueprint.before_request
def check_version():
    version = (request.view_args or {}).get("version")
    if version not in RECEIVED:
        return ocpi_error(2000, f"OCPI version {version} has no receiver interface here", 404)


class _Refused(Exception):
    def __init__(self, response):
        self.response = response


def _token_hashes() -> list[str]:
    return [token_hash(t) for t in tokens_in_header(request.headers.get("Authorization"))]


# The columns a push needs, not the Feed entity (which would decrypt the feed's CPO token).
_FEED_BY_TOKEN = (
    select(Feed.id, Feed.name, Feed.status, FeedParty.country_code, FeedParty.party_id)
    # Only verified claims let a feed write (nap/parties.py).
    .outerjoin(FeedParty, (FeedParty.feed_id == Feed.id) & (FeedParty.state == VERIFIED))
    .where(Feed.inbound_token_hash.in_(bindparam("hashes", expanding=True)))
)


def _pushing_feed(session):
    """The feed whose push token the request carries, checked in the push's own
    transaction: one database connection and one query, however many pushes arrive."""
    hashes = _token_hashes()
    rows = session.execute(_FEED_BY_TOKEN, {"hashes": hashes}).all() if hashes else []
    feed = PushingFeed(*rows[0][:3]) if rows else None
    if feed is None:
        raise _Refused(ocpi_error(2000, "invalid or missing token", 401))
    if feed.status in PUSH_REFUSED_FEED_STATUSES:
        reason = "awaiting approval by the access point" if feed.status == FeedStatus.PENDING else feed.status
        raise _Refused(ocpi_error(2000, f"your feed is {reason}; pushes are not accepted", 403))
    g.push_feed_id = feed.id
    # The feed's parties come with the token lookup: one round trip less per push.
    return feed, {(country, party) for _, _, _, country, party in rows if country}


def _retried(action):
    """action(), tried again while it collides with a concurrent push (nap/retry.py)."""
    return with_retries(action, attempts=ATTEMPTS, retry_on=_COLLISIONS, backoff=doubling(0.02))


def _not_stored(error: Exception):
    log.error("push failed after %s attempts: %s", ATTEMPTS, error)
    return ocpi_error(3000, "the push could not be stored, please retry", 503)


def _in_transaction(action):
    """Run one push in its own transaction, retried when it collides."""
    def attempt():
        with write_session(_sessions()) as session:
            feed, parties = _pushing_feed(session)
            receiver = Receiver(session, feed, request.view_args["version"], datetime.now(timezone.utc),
                                parties=parties)
            return action(receiver)

    try:
        return _retried(attempt)
    except _Refused as refused:
        return refused.response
    except PushRejected as rejected:
        if rejected.status_code == 2001:
            _record_rejection(rejected)
        return ocpi_error(rejected.status_code, rejected.message, rejected.http_status)
    except _COLLISIONS as error:
        return _not_stored(error)


def _record_rejection(rejected: PushRejected) -> None:
    # The rejected push rolled back, findings included; keep the finding on its own.
    from nap.store.tables import Finding

    with write_session(_sessions()) as session:
        session.add(Finding(feed_id=g.push_feed_id, run_id=None, object_type=ObjectKind.PUSH,
                            object_id=_storable(request.path.rsplit("/receiver/", 1)[-1])[:200], field=None,
                            severity="error", reason=_storable(f"{request.method} rejected: {rejected.message}")[:2000],
                            created_at=datetime.now(timezone.utc)))


def _storable(text: str) -> str:
    """Text any database stores: a NUL or a lone surrogate (from a hostile URL) escaped."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def _body():
    """The pushed JSON, read only after the token was checked. Refused (2001) when it is
    no JSON, nested deeper than NAP_HARVEST_MAX_JSON_DEPTH (the harvester's limit), or
    holds text no database stores: NUL, lone surrogates."""
    if not request.is_json:
        raise PushRejected(2001, 400, "the body must be JSON")
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        raise PushRejected(2001, 413, f"the body is larger than {limit} bytes (NAP_MAX_REQUEST_BYTES)") from None
    max_depth = current_app.extensions["nap.settings"].harvest_max_json_depth
    if nesting_exceeds(raw, max_depth):
        raise PushRejected(2001, 400, f"the body is nested too deep (more than {max_depth} levels)")
    try:
        body = jsonutil.parse_lenient(raw)
    except (ValueError, RecursionError):
        raise PushRejected(2001, 400, "the body must be JSON") from None
    if body is None:
        raise PushRejected(2001, 400, "the body must be JSON")
    if jsonutil.unreadable_text(body) is not None:
        raise PushRejected(2001, 400, "the body contains a NUL character or invalid Unicode")
    return body


def _check_ids(ids) -> None:
    """Ids from the URL: NUL, and bytes that were no UTF-8 (decoded as U+FFFD), are refused."""
    if not all(jsonutil.unreadable_text(i) is None and "\ufffd" not in i for i in ids if i is not None):
        raise PushRejected(2001, 400, "an id in the URL contains a NUL character or invalid Unicode")


LOCATION_PATHS = (
    "/ocpi/<version>/receiver/locations/<country_code>/<party_id>/<location_id>",
    "/ocpi/<version>/receiver/locations/<country_code>/<party_id>/<location_id>/<evse_uid>",
    "/ocpi/<version>/receiver/locations/<country_code>/<party_id>/<location_id>/<evse_uid>/<connector_id>",
)


def _evse_status_patch(country_code, party_id, location_id, evse_uid):
    """The fast path of the commonest push, an EVSE status PATCH: nap/store/evse_status.py
    authenticates, authorizes and writes in one transaction (one statement on PostgreSQL).
    It answers only what it stored or ignored; None sends the request the general way,
    which refuses, explains or handles everything else (nothing was written)."""
    try:  # orjson: a few times faster than Flask's json; anything it refuses goes the general way
        body = jsonutil.loads(request.get_data(cache=True)) if request.is_json else None
    except (ValueError, RequestEntityTooLarge):
        return None
    if not fast_patchable(body):
        return None
    try:  # anything unusual (odd text, a date beyond reach) goes the general way, which explains it
        _check_ids((country_code, party_id, location_id, evse_uid))
        if jsonutil.unreadable_text(body) is not None:
            return None
        parse_datetime(body["last_updated"])
    except (PushRejected, ValueError):
        return None
    hashes = _token_hashes()
    fields = validated_fields(body) if hashes else None
    if fields is None or "last_updated" not in fields:
        return None
    pair = (country_code.upper(), party_id.upper())
    try:
        done = _retried(lambda: patch_evse_status(_sessions(), hashes, pair, location_id, evse_uid, fields,
                                                  datetime.now(timezone.utc)))
    except _COLLISIONS as error:
        return _not_stored(error)
    if done is None:
        return None
    if done.outcome == "ignored":
        return ocpi_response(None, message=ignored("evse", done.feed_name, location_id, body.get("last_updated"),
                                                   done.stored_at).message)
    return ocpi_response(None, message="stored")


def location_endpoint(version, country_code, party_id, location_id, evse_uid=None, connector_id=None):
    ids = (country_code, party_id, location_id, evse_uid, connector_id)
    if request.method == "PATCH" and evse_uid is not None and connector_id is None:
        answer = _evse_status_patch(country_code, party_id, location_id, evse_uid)
        if answer is not None:
            return answer
    if request.method == "GET":
        return _in_transaction(lambda r: (_check_ids(ids), ocpi_response(r.get_location(*ids)))[1])

    def push(receiver: Receiver):
        _check_ids(ids)
        body = _body()
        method = receiver.put_location if request.method == "PUT" else receiver.patch_location
        outcome = method(*ids, body)
        return ocpi_response(None, message=outcome.message)

    return _in_transaction(push)


for path in LOCATION_PATHS:
    blueprint.add_url_rule(path, view_func=location_endpoint, methods=["GET", "PUT", "PATCH"])


@blueprint.route("/ocpi/<version>/receiver/tariffs/<country_code>/<party_id>/<tariff_id>",
                 methods=["GET", "PUT", "DELETE"])
def tariff_endpoint(version, country_code, party_id, tariff_id):
    ids = (country_code, party_id, tariff_id)
    if request.method == "GET":
        return _in_transaction(lambda r: (_check_ids(ids), ocpi_response(r.get_tariff(*ids)))[1])
    if request.method == "DELETE":
        return _in_transaction(lambda r: (_check_ids(ids), ocpi_response(None, message=r.delete_tariff(*ids).message))[1])
    return _in_transaction(lambda r: (_check_ids(ids), ocpi_response(None, message=r.put_tariff(*ids, _body()).message))[1])
