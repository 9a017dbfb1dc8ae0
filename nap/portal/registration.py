"""A CPO registers a feed through the portal: the form, the new feed (status "pending"
until an admin approves it, so no worker harvests it before), its owner, and the
credentials handshake whose outcome the CPO sees on the feed page."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from nap.config import Settings
from nap.feeds import FeedError, add_feed, credentials_accepted
from nap.store.feed_events import record_event
from nap.portal.ownership import add_owner
from nap.store.states import ClaimSource, FeedStatus
from nap.store.tables import Feed, User

log = logging.getLogger(__name__)

AUTH_MODES = {
    "handshake": "Credentials handshake: NAP registers with your OCPI credentials module using TOKEN_A",
    "static": "Static token: NAP uses this token as it is (no handshake)",
}
_NAME = re.compile(r"^[\w .&()'-]{2,100}$")
_PARTY = re.compile(r"^[A-Za-z0-9]{3}$")


@dataclass
class FeedForm:
    name: str = ""
    versions_url: str = ""
    auth_mode: str = "handshake"
    token: str = ""
    country_code: str = ""
    party_id: str = ""
    licence: str = ""


def parse_feed_form(form) -> tuple[FeedForm, dict[str, str]]:
    """The submitted form, and an error message per field that is wrong."""
    data = FeedForm(**{key: (form.get(key) or "").strip() for key in FeedForm.__dataclass_fields__})
    data.country_code, data.party_id = data.country_code.upper(), data.party_id.upper()
    errors = {}
    if not _NAME.match(data.name):
        errors["name"] = "Give a name of 2 to 100 letters, digits, spaces or . & ( ) ' - (it is shown publicly)."
    if not re.match(r"^https?://[^\s/]+", data.versions_url) or len(data.versions_url) > 2000:
        errors["versions_url"] = "Give the http(s) URL of your OCPI versions endpoint."
    if data.auth_mode not in AUTH_MODES:
        errors["auth_mode"] = "Choose how NAP authenticates."
    if not data.token or len(data.token) > 512 or any(ch.isspace() for ch in data.token):
        errors["token"] = "Give the token (1 to 512 characters, no spaces)."
    if not re.match(r"^[A-Z]{2}$", data.country_code):
        errors["country_code"] = "Give your ISO 3166 alpha-2 country code, e.g. DE."
    if not _PARTY.match(data.party_id):
        errors["party_id"] = "Give your 3-character OCPI party id, e.g. ABC."
    if len(data.licence) > 200:
        errors["licence"] = "Keep the licence under 200 characters."
    return data, errors


def register_feed(session: Session, user: User, form: FeedForm, settings: Settings) -> Feed:
    """Create the feed, pending approval, with its claim on the pair the CPO named (an
    administrator verifies it). Raises FeedError (name taken, not a pair...)."""
    feed = add_feed(session, name=form.name, versions_url=form.versions_url, token=form.token,
                    interval_minutes=settings.default_harvest_interval_minutes, licence=form.licence or None,
                    country_code=form.country_code, party_id=form.party_id, claim_source=ClaimSource.FORM,
                    user_id=user.id)
    # Same transaction as the insert: no worker ever sees this feed active.
    feed.status = FeedStatus.PENDING
    add_owner(session, feed.id, user.id)
    record_event(session, feed.id, "registered",
                 f"registered by {user.email} ({'credentials handshake' if form.auth_mode == 'handshake' else 'static token'}); "
                 "waiting for approval by the access point's administrators", user_id=user.id)
    return feed


def run_handshake(sessions: sessionmaker[Session], settings: Settings, feed_id: int, user_id: int | None):
    """The OCPI credentials handshake with the feed's current token as TOKEN_A; its outcome
    becomes a feed event. Returns the HandshakeResult."""
    from harvesters.credentials import HandshakeResult, handshake

    with sessions() as session:
        name = session.get(Feed, feed_id).name
    try:
        result = handshake(sessions, settings, name)
    except Exception as error:  # the CPO must see an outcome, whatever went wrong
        log.exception("credentials handshake of feed %s crashed", name)
        result = HandshakeResult(False, f"internal error during the handshake: {type(error).__name__}")
    with sessions.begin() as session:
        record_event(session, feed_id, "handshake", result.message, ok=result.ok, user_id=user_id)
    return result


def replace_token(session: Session, feed: Feed, token: str, user: User, handshake: bool) -> None:
    """New credentials from the CPO. A feed stopped for refused credentials is harvested
    again (the worker only harvests active feeds); pending and suspended ones stay so."""
    if not token or len(token) > 512 or any(ch.isspace() for ch in token):
        raise FeedError("Give the token (1 to 512 characters, no spaces).")
    feed.token = token
    if handshake:
        # A TOKEN_A opens a new registration (POST); the PUT of a re-registration would
        # present it as the TOKEN_C it is not.
        feed.registered_at = None
    credentials_accepted(session, feed.id)
    record_event(session, feed.id, "credentials",
                 f"new {'TOKEN_A for a handshake' if handshake else 'static token'} given by {user.email}",
                 user_id=user.id)
