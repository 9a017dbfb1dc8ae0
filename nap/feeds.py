"""Registering and listing feeds: the one place both the CLI and the portal go through."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlparse

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nap.parties import PartyError, claim, claims, verify
from nap.store.states import ClaimSource, FeedKind, FeedStatus
from nap.store.tables import Feed, HarvestRun
from nap.tokens import new_token, token_hash


class FeedError(ValueError):
    pass


def add_feed(session: Session, *, name: str, versions_url: str, token: str,
             interval_minutes: int = 15, licence: str | None = None,
             country_code: str | None = None, party_id: str | None = None,
             parties: tuple[tuple[str, str], ...] = (), claim_source: str = ClaimSource.ADMIN,
             user_id: int | None = None, kind: str = FeedKind.CPO) -> Feed:
    """Register a feed with its party claims: the feed's own identity plus `parties`.
    Pairs an administrator names (`claim_source` "admin": the CLI) are verified at once;
    pairs a CPO names ("form": the portal) wait for an administrator (nap/parties.py).
    `kind`: a CPO's own back end, a hub or an aggregator (FeedKind; nap/merge)."""
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
        name=name, versions_url=versions_url, token=token, status=FeedStatus.ACTIVE,
        interval_minutes=interval_minutes, licence=licence,
        country_code=country_code.upper() if country_code else None,
        party_id=party_id.upper() if party_id else None,
        created_at=datetime.now(timezone.utc), kind=FeedKind(kind),
    )
    session.add(feed)
    session.flush()
    pairs = list(parties) + ([(country_code, party_id)] if country_code and party_id else [])
    try:
        for pair_country, pair_party in dict.fromkeys((c.upper(), p.upper()) for c, p in pairs):
            claim(session, feed, pair_country, pair_party, source=claim_source, user_id=user_id)
            if claim_source == ClaimSource.ADMIN:
                verify(session, feed, pair_country, pair_party, user_id=user_id)
    except PartyError as error:
        raise FeedError(str(error)) from error
    return feed


def party_labels(session: Session, feed_id: int) -> list[str]:
    """The feed's live claims as text, e.g. ["DE/ABC (verified)", "NL/XYZ (claimed)"]."""
    return [f"{c.country_code}/{c.party_id} ({c.state})" for c in claims(session, feed_id)]


def issue_push_token(session: Session, feed: Feed) -> str:
    """A new token the CPO presents when it pushes to NAP; the previous one stops working.
    Only its hash is kept: the caller shows the token once."""
    token = new_token()
    feed.inbound_token_hash = token_hash(token)
    session.flush()
    return token


def credentials_accepted(session: Session, feed_id: int) -> None:
    """New credentials (given by the CPO, or proven by a handshake or a completed harvest)
    put a feed stopped for refused ones back on the schedule. Any other status stays: a suspension
    or a decision an administrator made meanwhile is not the credentials' to undo. The
    condition is the database's, so a decision committed since the feed was read holds."""
    session.execute(update(Feed).where(Feed.id == feed_id, Feed.status == FeedStatus.NEEDS_CREDENTIALS)
                    .values(status=FeedStatus.ACTIVE))


def get_feed(session: Session, name: str) -> Feed:
    feed = session.scalars(select(Feed).where(Feed.name == name)).one_or_none()
    if feed is None:
        raise FeedError(f"no feed named {name!r}")
    return feed


def recent_runs(session: Session, feed_id: int, limit: int = 20) -> list[HarvestRun]:
    return list(session.scalars(
        select(HarvestRun).where(HarvestRun.feed_id == feed_id).order_by(HarvestRun.id.desc()).limit(limit)
    ))


# -- Harvests asked for: the portal (and whoever else) asks, the worker's next tick runs. ----

def request_harvest(session: Session, feed: Feed) -> datetime:
    """Ask the worker to harvest the feed at its next tick, whatever its interval and however
    recent its last run; returns the time of the request. Asking again while a request waits
    moves it to now: what was asked for (a party just verified, say) must be in the run that
    answers it, so that run must start after the latest request."""
    if feed.status != FeedStatus.ACTIVE:
        raise FeedError(f"{feed.name} is {feed.status}; only active feeds are harvested.")
    feed.harvest_requested_at = datetime.now(timezone.utc)
    session.flush()
    return feed.harvest_requested_at


def request_waits(requested_at: datetime | None, last_started_at: datetime | None) -> bool:
    """A request waits until a run starts at or after it. The rule is on the runs rather than
    on a flag the worker clears, so a worker that dies mid-run neither loses the request
    (no run started: it still waits) nor has it answered twice (its run started)."""
    return requested_at is not None and (last_started_at is None or last_started_at < requested_at)


def waiting_harvest_request(session: Session, feed: Feed) -> datetime | None:
    """When the harvest the worker is yet to run was asked for; None when none waits."""
    if feed.status != FeedStatus.ACTIVE or feed.harvest_requested_at is None:
        return None
    started = session.scalar(select(func.max(HarvestRun.started_at)).where(HarvestRun.feed_id == feed.id))
    return feed.harvest_requested_at if request_waits(feed.harvest_requested_at, started) else None


def close_harvest_request(session: Session, feed_id: int, run_started_at: datetime) -> None:
    """Clear the request a run answered; a request made after the run started stays."""
    session.execute(update(Feed).where(Feed.id == feed_id, Feed.harvest_requested_at <= run_started_at)
                    .values(harvest_requested_at=None))
