"""Registering and listing feeds: the one place both the CLI and the portal go through."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.store.tables import Feed, HarvestRun


class FeedError(ValueError):
    pass


def add_feed(session: Session, *, name: str, versions_url: str, token: str,
             interval_minutes: int = 15, licence: str | None = None,
             country_code: str | None = None, party_id: str | None = None) -> Feed:
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
    return feed


def get_feed(session: Session, name: str) -> Feed:
    feed = session.scalars(select(Feed).where(Feed.name == name)).one_or_none()
    if feed is None:
        raise FeedError(f"no feed named {name!r}")
    return feed


def recent_runs(session: Session, feed_id: int, limit: int = 20) -> list[HarvestRun]:
    return list(session.scalars(
        select(HarvestRun).where(HarvestRun.feed_id == feed_id).order_by(HarvestRun.id.desc()).limit(limit)
    ))
