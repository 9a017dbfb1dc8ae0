"""The CPO changes how NAP reaches its feed: the versions URL, the harvest interval and
the token. Each change is a feed event; a new TOKEN_A is followed by a new credentials
handshake (the caller runs it once this is committed)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from nap.feeds import FeedError
from nap.jsonutil import unreadable_text
from nap.portal.registration import AUTH_MODES, replace_token
from nap.store.feed_events import record_event
from nap.store.states import FeedStatus
from nap.store.tables import Feed, User

# A day at most: AFIR wants static data no older than 24 hours.
INTERVAL_RANGE = (1, 1440)
# Feeds the CPO has given up, or the admins turned down, are not changed any more.
EDITABLE = frozenset({FeedStatus.PENDING, FeedStatus.ACTIVE, FeedStatus.NEEDS_CREDENTIALS, FeedStatus.SUSPENDED})


@dataclass
class ConnectionForm:
    versions_url: str
    interval_minutes: str
    token: str
    auth_mode: str


@dataclass
class Edited:
    changes: list[str]
    handshake: bool  # a new TOKEN_A: run the handshake now


def parse_connection_form(form, feed: Feed) -> tuple[ConnectionForm, dict[str, str]]:
    """The submitted form (blank fields keep what the feed has), and an error per field."""
    data = ConnectionForm(
        versions_url=(form.get("versions_url") or "").strip() or feed.versions_url,
        interval_minutes=(form.get("interval_minutes") or "").strip() or str(feed.interval_minutes),
        token=(form.get("token") or "").strip(), auth_mode=(form.get("auth_mode") or "handshake").strip())
    errors = {}
    if not re.match(r"^https?://[^\s/]+", data.versions_url) or len(data.versions_url) > 2000 \
            or any(ch.isspace() for ch in data.versions_url) or unreadable_text(data.versions_url):
        errors["versions_url"] = "Give the http(s) URL of your OCPI versions endpoint."
    low, high = INTERVAL_RANGE
    # ASCII digits only: str.isdigit() takes "²", which int() refuses.
    if not re.fullmatch(r"[0-9]{1,5}", data.interval_minutes) or not low <= int(data.interval_minutes) <= high:
        errors["interval_minutes"] = f"Give a whole number of minutes from {low} to {high}."
    if data.token and (len(data.token) > 512 or any(ch.isspace() for ch in data.token)
                       or unreadable_text(data.token)):
        errors["token"] = "Give the token (1 to 512 characters, no spaces), or leave it empty to keep the current one."
    if data.auth_mode not in AUTH_MODES:
        errors["auth_mode"] = "Choose how NAP authenticates."
    return data, errors


def apply_connection(session: Session, feed: Feed, data: ConnectionForm, user: User) -> Edited:
    """Apply a form `parse_connection_form` found no error in."""
    if feed.status not in EDITABLE:
        raise FeedError(f"{feed.name} is {feed.status}: its connection can no longer be changed.")
    changes = []
    if data.versions_url != feed.versions_url:
        changes.append(f"versions URL {feed.versions_url} → {data.versions_url}")
        feed.versions_url = data.versions_url
        # Another endpoint may serve another set: the next harvest pulls everything, and
        # what it no longer finds leaves the publication.
        feed.last_full_sync_at = None
    interval = int(data.interval_minutes)
    if interval != feed.interval_minutes:
        changes.append(f"harvested every {feed.interval_minutes} → {interval} min")
        feed.interval_minutes = interval
    if changes:
        record_event(session, feed.id, "connection", f"{'; '.join(changes)} (by {user.email})", user_id=user.id)
    handshake = False
    if data.token:
        handshake = data.auth_mode == "handshake"
        replace_token(session, feed, data.token, user, handshake)
        changes.append("new token")
    session.flush()
    return Edited(changes, handshake)
