"""Registering and listing feeds: the one place both the CLI and the portal go through."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.store.tables import Feed, FeedParty, HarvestRun
from nap.tokens import new_token, token_hash


class FeedError(ValueError):
    pass


def add_feed(session: Session, *, name: str, versions_url: str, token: str,
             interval_minutes: int = 15, licence: str | None = None,
             country_code: str | None = None, party_id: str | None = None,
             parties: tuple[tuple[str, str], ...] = ()) -> Feed:
    """Register a feed. Its parties (the country_code/party_id pairs it may publish) are
    the feed's own identity plus `parties`."""
    name = name.strip()
    if not name:
        raise FeedError("a feed needs a name")
    if urlparse(versions_url).scheme not in ("http", "https"):
        raise FeedError(f"versions URL must be http(s): {versions_url!r}")
    if not token:
        raise FeedError("a feed needs a token")
    if interval_minutes < 1:
        raise FeedError("the harvest interval must be at least 1 minute")
    if session.scalars(select(Feed).where(Feed.name == name)).first():
        raise FeedError(f"a feed named {name!r} exists already")
    feed = Feed(
        name=name, versions_url=versions_url, token=token, status="active",
        interval_minutes=interval_minutes, licence=licence,
        country_code=country_code.upper() if country_code else None,
        party_id=party_id.upper() if party_id else None,
        created_at=datetime.now(timezone.utc),
    )
    session.add(feed)
    session.flush()
    pairs = list(parties) + ([(country_code, party_id)] if country_code and party_id else [])
    for pair_country, pair_party in dict.fromkeys((c.upper(), p.upper()) for c, p in pairs):
        add_party(session, feed, pair_country, pair_party)
    return feed


def add_party(session: Session, feed: Feed, country_code: str, party_id: str,
              business_details: dict | None = None) -> None:
    """Let the feed publish under country_code/party_id. `business_details`: the OCPI
    BusinessDetails the CPO's credentials give for the party (kept as sent, replacing what
    an earlier handshake gave); None leaves what is kept as it is."""
    if len(country_code) != 2 or not 1 <= len(party_id) <= 3:
        raise FeedError(f"not a country_code/party_id pair: {country_code}/{party_id}")
    owner = session.scalars(select(FeedParty).where(
        FeedParty.country_code == country_code, FeedParty.party_id == party_id)).first()
    if owner is not None and owner.feed_id != feed.id:
        raise FeedError(f"{country_code}/{party_id} belongs to another feed already")
    if owner is None:
        owner = FeedParty(feed_id=feed.id, country_code=country_code, party_id=party_id)
        session.add(owner)
    if isinstance(business_details, dict):
        owner.business_details = business_details
    session.flush()


def feed_parties(session: Session, feed_id: int) -> set[tuple[str, str]]:
    return {(p.country_code, p.party_id) for p in session.scalars(select(FeedParty).where(FeedParty.feed_id == feed_id))}


def issue_push_token(session: Session, feed: Feed) -> str:
    """A new token the CPO presents when it pushes to NAP; the previous one stops working.
    Only its hash is kept: the caller shows the token once."""
    token = new_token()
    feed.inbound_token_hash = token_hash(token)
    session.flush()
    return token


def get_feed(session: Session, name: str) -> Feed:
    feed = session.scalars(select(Feed).where(Feed.name == name)).one_or_none()
    if feed is None:
        raise FeedError(f"no feed named {name!r}")
    return feed


def recent_runs(session: Session, feed_id: int, limit: int = 20) -> list[HarvestRun]:
    return list(session.scalars(
        select(HarvestRun).where(HarvestRun.feed_id == feed_id).order_by(HarvestRun.id.desc()).limit(limit)
    ))
