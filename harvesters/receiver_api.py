"""HTTP for the OCPI receiver interface: CPOs push Locations and Tariffs to NAP.

Endpoints (listed with role RECEIVER in NAP's version details):
  /ocpi/{version}/receiver/locations/{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]
      GET, PUT, PATCH
  /ocpi/{version}/receiver/tariffs/{country_code}/{party_id}/{tariff_id}   GET, PUT, DELETE
for version 2.3.0 and 2.2.1. Every request carries the feed's push token
(`Authorization: Token <base64(token)>`); each push is one transaction, retried when
concurrent pushes collide.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from flask import Blueprint, current_app, g, request
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from exporters.ocpi_envelope import ocpi_error, ocpi_response
from harvesters.receiver import PushRejected, Receiver
from nap.store.db import write_session
from nap.store.tables import Feed, FeedParty
from nap.tokens import token_hash, tokens_in_header

log = logging.getLogger(__name__)
blueprint = Blueprint("ocpi_receiver", __name__)
RECEIVER_VERSIONS = ("2.3.0", "2.2.1")
ATTEMPTS = 5


def _sessions():
    return current_app.extensions["nap.sessions"]


@blueprint.before_request
def check_version():
    version = (request.view_args or {}).get("version")
    if version not in RECEIVER_VERSIONS:
        return ocpi_error(2000, f"OCPI version {version} has no receiver interface here", 404)


class _Refused(Exception):
    def __init__(self, response):
        self.response = response


def _pushing_feed(session):
    """The feed whose push token the request carries, checked in the push's own
    transaction: one database connection and one query, however many pushes arrive."""
    hashes = [token_hash(t) for t in tokens_in_header(request.headers.get("Authorization"))]
    rows = session.execute(
        select(Feed, FeedParty.country_code, FeedParty.party_id)
        .outerjoin(FeedParty, FeedParty.feed_id == Feed.id)
        .where(Feed.inbound_token_hash.in_(hashes))
    ).all() if hashes else []
    feed = rows[0][0] if rows else None
    if feed is None:
        raise _Refused(ocpi_error(2000, "invalid or missing token", 401))
    if feed.status in ("suspended", "pending"):
        reason = "suspended" if feed.status == "suspended" else "awaiting approval by the access point"
        raise _Refused(ocpi_error(2000, f"your feed is {reason}; pushes are not accepted", 403))
    g.push_feed_id = feed.id
    # The feed's parties come with the token lookup: one round trip less per push.
    return feed, {(country, party) for _, country, party in rows if country}


def _in_transaction(action):
    """Run one push in its own transaction; concurrent pushes to one object may collide
    (a unique index, a lock timeout, SQLite's single writer): retry a few times."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with write_session(_sessions()) as session:
                feed, parties = _pushing_feed(session)
                receiver = Receiver(session, feed, request.view_args["version"], datetime.now(timezone.utc),
                                    parties=parties)
                return action(receiver)
        except _Refused as refused:
            return refused.response
        except PushRejected as rejected:
            if rejected.status_code == 2001:
                _record_rejection(rejected)
            return ocpi_error(rejected.status_code, rejected.message, rejected.http_status)
        except (IntegrityError, OperationalError, DBAPIError) as error:
            if attempt == ATTEMPTS:
                log.error("push failed after %s attempts: %s", ATTEMPTS, error)
                return ocpi_error(3000, "the push could not be stored, please retry", 503)
            time.sleep(0.01 * 2 ** attempt)


def _record_rejection(rejected: PushRejected) -> None:
    # The rejected push rolled back, findings included; keep the finding on its own.
    from nap.store.tables import Finding

    with write_session(_sessions()) as session:
        session.add(Finding(feed_id=g.push_feed_id, run_id=None, object_type="push",
                            object_id=request.path.rsplit("/receiver/", 1)[-1][:200], field=None,
                            severity="error", reason=f"{request.method} rejected: {rejected.message}"[:2000],
                            created_at=datetime.now(timezone.utc)))


def _body():
    body = request.get_json(silent=True)
    if body is None:
        raise PushRejected(2001, 400, "the body must be JSON")
    return body


LOCATION_PATHS = (
    "/ocpi/<version>/receiver/locations/<country_code>/<party_id>/<location_id>",
    "/ocpi/<version>/receiver/locations/<country_code>/<party_id>/<location_id>/<evse_uid>",
    "/ocpi/<version>/receiver/locations/<country_code>/<party_id>/<location_id>/<evse_uid>/<connector_id>",
)


def location_endpoint(version, country_code, party_id, location_id, evse_uid=None, connector_id=None):
    ids = (country_code, party_id, location_id, evse_uid, connector_id)
    if request.method == "GET":
        return _in_transaction(lambda r: ocpi_response(r.get_location(*ids)))

    def push(receiver: Receiver):
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
        return _in_transaction(lambda r: ocpi_response(r.get_tariff(*ids)))
    if request.method == "DELETE":
        return _in_transaction(lambda r: ocpi_response(None, message=r.delete_tariff(*ids).message))
    return _in_transaction(lambda r: ocpi_response(None, message=r.put_tariff(*ids, _body()).message))
