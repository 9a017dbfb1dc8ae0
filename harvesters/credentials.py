"""The OCPI credentials handshake, from NAP's side (credentials.asciidoc).

The CPO hands NAP a TOKEN_A and its versions URL out of band. NAP reads the versions with
TOKEN_A, picks the version, and POSTs its own credentials: a fresh TOKEN_B (what the CPO
will present when it pushes to NAP) and NAP's versions URL, with role NAP. The CPO
answers with its credentials: TOKEN_C, which NAP uses from then on, and its roles, whose
country_code/party_id pairs become the parties the feed may publish. PUT re-registers
(new TOKEN_B, new TOKEN_C); DELETE unregisters.

Feeds registered with a static token (issued once, no handshake) never come here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy.orm import Session, sessionmaker

from harvesters.ocpi_client import ClientLimits, HarvestError, OcpiClient
from nap.store.db import write_session
from nap.config import Settings
from nap.feeds import FeedError, credentials_accepted, get_feed
from nap.parties import PartyError, claim, set_kind
from nap.store.states import ClaimSource, FeedKind, FeedStatus
from nap.tokens import new_token, token_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandshakeResult:
    ok: bool
    message: str
    version: str | None = None


def nap_credentials(settings: Settings, token_b: str, version: str) -> dict:
    business = {"name": settings.operator_name, "website": settings.public_base_url}
    url = f"{settings.public_base_url}/ocpi/versions"
    if version == "2.1.1":
        return {"token": token_b, "url": url, "business_details": business,
                "party_id": settings.party_id, "country_code": settings.country_code}
    return {"token": token_b, "url": url, "roles": [
        {"role": "NAP", "business_details": business, "party_id": settings.party_id,
         "country_code": settings.country_code}]}


def cpo_roles(credentials: dict, version: str) -> list[tuple[str, str, dict | None]]:
    """The country_code/party_id pairs the CPO's credentials declare, each with the
    BusinessDetails given for it (2.1.1: the credentials' own)."""
    if version == "2.1.1":
        entries = [credentials]
    else:
        entries = [r for r in credentials.get("roles") or [] if isinstance(r, dict) and r.get("role") == "CPO"]
    roles = []
    for entry in entries:
        country, party = entry.get("country_code"), entry.get("party_id")
        if isinstance(country, str) and isinstance(party, str) and len(country) == 2 and 1 <= len(party) <= 3:
            details = entry.get("business_details")
            roles.append((country.upper(), party.upper(), details if isinstance(details, dict) else None))
    return roles


def _limits(settings: Settings) -> ClientLimits:
    return ClientLimits.from_settings(settings)


def handshake(sessions: sessionmaker[Session], settings: Settings, feed_name: str) -> HandshakeResult:
    """Register with the CPO (POST), or re-register (PUT) when the feed already is."""
    with sessions() as session:
        feed = get_feed(session, feed_name)
        token, versions_url, registered = feed.token, feed.versions_url, feed.registered_at is not None
        plain_token = feed.plain_token
    token_b = new_token()
    try:
        with OcpiClient(token, _limits(settings)) as client:
            client.plain_token = plain_token  # the form the CPO took last time (harvesters/ocpi_client.py)
            endpoints = client.discover(versions_url)
            if not endpoints.credentials_url:
                return HandshakeResult(False, f"the CPO's OCPI {endpoints.version} lists no credentials endpoint")
            data, *_ = client.get_payload(endpoints.credentials_url, method="PUT" if registered else "POST",
                                          body=nap_credentials(settings, token_b, endpoints.version))
    except HarvestError as error:
        log.warning("credentials handshake with %s failed: %s", feed_name, error)
        return HandshakeResult(False, f"handshake failed: {error}")
    if not isinstance(data, dict) or not isinstance(data.get("token"), str) or not data["token"]:
        return HandshakeResult(False, "the CPO's answer holds no credentials token", endpoints.version)
    roles = cpo_roles(data, endpoints.version)
    parties = [(country, party) for country, party, _ in roles]
    try:
        with write_session(sessions) as session:
            feed = get_feed(session, feed_name)
            feed.token = data["token"]  # TOKEN_C: from now on the only token that works
            # The CPO's server takes its tokens as it took TOKEN_A.
            feed.plain_token = client.plain_token
            feed.inbound_token_hash = token_hash(token_b)
            feed.registered_at = datetime.now(timezone.utc)
            feed.credentials_url = endpoints.credentials_url
            feed.ocpi_version = endpoints.version
            credentials_accepted(session, feed.id)
            hub = data.get("hub_party_id")
            if isinstance(hub, str) and hub.strip() and feed.feed_kind == FeedKind.CPO:
                # OCPI 2.3.0: a platform with hub functionality names its hub party here, and its
                # roles are the parties it carries. Its claims are carried ones, for the
                # parties' own feeds to keep their authority (nap/merge).
                set_kind(session, feed, FeedKind.HUB)
            for country, party, details in roles:
                # A claim, no more: an administrator verifies it (nap/parties.py).
                claim(session, feed, country, party, source=ClaimSource.CREDENTIALS, business_details=details)
            if parties and not feed.country_code:
                # 2.1.1 objects carry no country_code/party_id: the CPO's own come from here.
                feed.country_code, feed.party_id = parties[0]
    except (FeedError, PartyError) as error:
        return HandshakeResult(False, f"registered, but {error}", endpoints.version)
    return HandshakeResult(True, f"registered with OCPI {endpoints.version}"
                           f"{' as ' + ', '.join('/'.join(p) for p in parties) if parties else ''}",
                           endpoints.version)


def unregister(sessions: sessionmaker[Session], settings: Settings, feed_name: str) -> HandshakeResult:
    with sessions() as session:
        feed = get_feed(session, feed_name)
        token, url, version, plain_token = feed.token, feed.credentials_url, feed.ocpi_version, feed.plain_token
    if not url:
        return HandshakeResult(False, "the feed never completed a handshake")
    try:
        with OcpiClient(token, _limits(settings)) as client:
            client.version, client.plain_token = version, plain_token
            client.get_payload(url, method="DELETE")
    except HarvestError as error:
        return HandshakeResult(False, f"unregistering failed: {error}", version)
    with write_session(sessions) as session:
        feed = get_feed(session, feed_name)
        feed.registered_at = None
        feed.inbound_token_hash = None  # the CPO's TOKEN_B no longer opens anything
        feed.status = FeedStatus.NEEDS_CREDENTIALS
    return HandshakeResult(True, "unregistered", version)
