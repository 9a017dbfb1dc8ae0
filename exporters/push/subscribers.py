"""Push subscribers as an administrator registers them (`nap subscribers`, the portal's
admin page): every check happens here, so both refuse the same things with the same words."""
from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from exporters.push.documents import PROFILES
from exporters.push.kinds import SubscriptionKind
from exporters.push.transport import Endpoint, check_url, tls_context
from nap.config import Settings
from nap.store.tables import PushDelivery, PushSubscriber
from nap.url_guard import UrlRefused

# An HTTP header name (RFC 9110 token).
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
PARTY = re.compile(r"([A-Za-z]{2})\*([A-Za-z0-9]{3})")
# Headers NAP sets itself: a subscriber's auth header may not replace them.
RESERVED_HEADERS = {"content-type", "content-encoding", "content-length", "host", "transfer-encoding",
                    "connection", "user-agent"}


class SubscriberError(ValueError):
    """A registration NAP refuses; the message says why and names no secret."""


@dataclass(frozen=True)
class NewSubscriber:
    name: str
    url: str
    kind: str
    profile: str = "de-afir/01-00-00"
    auth_header_name: str | None = None
    auth_header_value: str | None = None
    client_cert_pem: str | None = None
    client_key_pem: str | None = None
    ca_bundle_pem: str | None = None
    parties: tuple[str, ...] = ()


def parse_parties(texts) -> list[str]:
    """["DE*ABC", ...] from CPO ids as written (CC*PID, any case, comma- or space-separated)."""
    parties = []
    for text in texts:
        for item in re.split(r"[\s,]+", text or ""):
            if not item:
                continue
            match = PARTY.fullmatch(item)
            if not match:
                raise SubscriberError(f"{item[:20]!r} is not a CPO id: write COUNTRY*PARTY, e.g. DE*ABC")
            parties.append(f"{match[1].upper()}*{match[2].upper()}")
    return sorted(set(parties))


def party_pairs(subscriber: PushSubscriber) -> list[tuple[str, str]] | None:
    """The (country_code, party_id) pairs the documents are limited to; None: every CPO."""
    if not subscriber.parties:
        return None
    return [tuple(party.split("*", 1)) for party in subscriber.parties]


def endpoint_of(subscriber: PushSubscriber | NewSubscriber) -> Endpoint:
    return Endpoint(subscriber.url, subscriber.auth_header_name, subscriber.auth_header_value,
                    subscriber.client_cert_pem, subscriber.client_key_pem, subscriber.ca_bundle_pem)


def _blank_to_none(text: str | None) -> str | None:
    return text.strip() or None if text else None


def validated(new: NewSubscriber, settings: Settings) -> NewSubscriber:
    name = new.name.strip()
    if not name or len(name) > 100:
        raise SubscriberError("a subscriber needs a name of at most 100 characters")
    if new.kind not in set(SubscriptionKind):
        raise SubscriberError(f"kind must be one of {', '.join(SubscriptionKind)}")
    if new.profile not in PROFILES:
        raise SubscriberError(f"unknown profile {new.profile!r}; known: {', '.join(PROFILES)}")
    try:
        check_url(settings, new.url.strip())
    except (UrlRefused, ValueError) as error:  # httpx.InvalidURL is a ValueError
        raise SubscriberError(str(error) or "not a URL") from None
    except Exception as error:  # the name does not resolve (httpx.ConnectError)
        raise SubscriberError(f"cannot check {new.url.strip()}: {error}") from None
    header_name, header_value = _blank_to_none(new.auth_header_name), _blank_to_none(new.auth_header_value)
    if bool(header_name) != bool(header_value):
        raise SubscriberError("an auth header needs both its name and its value")
    if header_name and (not HEADER_NAME.fullmatch(header_name) or header_name.lower() in RESERVED_HEADERS):
        raise SubscriberError(f"{header_name[:40]!r} cannot be the auth header's name")
    if header_value and any(ch in header_value for ch in "\r\n\0"):
        raise SubscriberError("the auth header's value must be one line")
    cert, key, ca = (_blank_to_none(new.client_cert_pem), _blank_to_none(new.client_key_pem),
                     _blank_to_none(new.ca_bundle_pem))
    if bool(cert) != bool(key):
        raise SubscriberError("a client certificate needs its key, and a key its certificate (both PEM)")
    cleaned = NewSubscriber(name, new.url.strip(), new.kind, new.profile, header_name, header_value, cert, key, ca,
                            tuple(parse_parties(new.parties)))
    try:
        tls_context(endpoint_of(cleaned))
    except (ssl.SSLError, ValueError, OSError):
        # Not the library's message: it may quote the PEM it could not read.
        raise SubscriberError("the client certificate, its key or the CA bundle is not valid PEM, or the key "
                              "does not match the certificate") from None
    return cleaned


def add_subscriber(session: Session, settings: Settings, new: NewSubscriber, now: datetime) -> PushSubscriber:
    new = validated(new, settings)
    if session.scalar(select(PushSubscriber.id).where(PushSubscriber.name == new.name)) is not None:
        raise SubscriberError(f"a subscriber named {new.name!r} exists already")
    subscriber = PushSubscriber(
        name=new.name, url=new.url, kind=new.kind, profile=new.profile, auth_header_name=new.auth_header_name,
        auth_header_value=new.auth_header_value, client_cert_pem=new.client_cert_pem,
        client_key_pem=new.client_key_pem, ca_bundle_pem=new.ca_bundle_pem, parties=list(new.parties) or None,
        enabled=True, created_at=now, needs_snapshot=True, deltas_since_snapshot=0, failures=0, window_seen=0)
    session.add(subscriber)
    session.flush()
    return subscriber


def get_subscriber(session: Session, name: str) -> PushSubscriber:
    subscriber = session.scalar(select(PushSubscriber).where(PushSubscriber.name == name))
    if subscriber is None:
        raise SubscriberError(f"no subscriber named {name!r}")
    return subscriber


def set_enabled(subscriber: PushSubscriber, enabled: bool) -> None:
    if enabled and not subscriber.enabled:
        # It missed what changed while disabled: its next delivery is whole.
        subscriber.needs_snapshot = True
        subscriber.failures, subscriber.next_attempt_at = 0, None
    subscriber.enabled = enabled


def remove_subscriber(session: Session, name: str) -> None:
    subscriber = get_subscriber(session, name)
    session.execute(delete(PushDelivery).where(PushDelivery.subscriber_id == subscriber.id))
    session.delete(subscriber)


def list_subscribers(session: Session) -> list[PushSubscriber]:
    return list(session.scalars(select(PushSubscriber).order_by(PushSubscriber.name)))


def recent_deliveries(session: Session, subscriber_ids: list[int] | None = None,
                      limit: int = 20) -> list[PushDelivery]:
    """The latest deliveries, newest first (of the given subscribers, else of all)."""
    query = select(PushDelivery).order_by(PushDelivery.id.desc()).limit(limit)
    if subscriber_ids is not None:
        query = query.where(PushDelivery.subscriber_id.in_(subscriber_ids))
    return list(session.scalars(query))


SECRET_COLUMNS = ("auth_header_value", "client_cert_pem", "client_key_pem")


def rotate_secrets(session: Session) -> int:
    """Re-encrypt every subscriber secret with the first key of NAP_TOKEN_KEYS (for `nap
    tokens rotate`, so that the old key can go). Returns the values re-encrypted."""
    from sqlalchemy import text

    from nap.store.secrets import rotate

    count = 0
    # The stored (encrypted) text itself, not the decrypted attribute.
    for row in session.execute(text(f"SELECT id, {', '.join(SECRET_COLUMNS)} FROM push_subscribers")).all():
        for column, stored in zip(SECRET_COLUMNS, row[1:]):
            if stored is not None:
                session.execute(text(f"UPDATE push_subscribers SET {column} = :value WHERE id = :id"),
                                {"value": rotate(stored), "id": row[0]})
                count += 1
    return count
