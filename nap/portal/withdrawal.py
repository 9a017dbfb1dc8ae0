"""A CPO withdraws its feed: NAP stops harvesting it and refuses its pushes (status
"withdrawn"; the worker harvests active feeds only), its claims are revoked, and all it
published leaves the publication now. Nothing is deleted: the objects stay in the
history, marked removed, as anything a full harvest no longer receives."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nap.parties import claims, revoke
from nap.portal.lifecycle import REASON_MARK, clean_reason
from nap.store.feed_events import record_event
from nap.store.states import FeedStatus, RunStatus
from nap.store.tables import Feed, HarvestRun, Location, Tariff, User
from nap.store.writer import drop_feed_sources

WITHDRAWN = FeedStatus.WITHDRAWN
# A rejected registration never published; a withdrawn feed is withdrawn already.
WITHDRAWABLE = frozenset({FeedStatus.PENDING, FeedStatus.ACTIVE, FeedStatus.NEEDS_CREDENTIALS, FeedStatus.SUSPENDED})


class WithdrawError(ValueError):
    pass


def withdraw(session: Session, feed: Feed, user: User, reason: str = "", *,
             running_since: datetime | None = None) -> int:
    """Withdraw the feed; returns how many published objects left the publication.
    Refused while a harvest of it started after `running_since` is running: it read the
    feed's parties when it started, and would store under them after the withdrawal."""
    if feed.status not in WITHDRAWABLE:
        raise WithdrawError(f"{feed.name} is {feed.status}: there is nothing to withdraw.")
    if running_since is not None and session.scalar(select(HarvestRun.id).where(
            HarvestRun.feed_id == feed.id, HarvestRun.status == RunStatus.RUNNING,
            HarvestRun.started_at >= running_since).limit(1)) is not None:
        raise WithdrawError(f"{feed.name} is being harvested right now: withdraw it once the run is over.")
    old, feed.status = feed.status, WITHDRAWN
    session.flush()
    # All of it first, whatever pair it lies under: revoking a claim would only take out
    # its own pair's objects (data stored before claims existed may lie under none).
    unpublished = _unpublish_feed(session, feed.id)
    for row in claims(session, feed.id):
        revoke(session, feed, row.country_code, row.party_id, user_id=user.id, reason="feed withdrawn")
    reason = clean_reason(reason)
    record_event(session, feed.id, "withdrawn",
                 f"withdrawn by {user.email} (was {old}); {unpublished} published objects left the publication"
                 f"{REASON_MARK + reason if reason else ''}", ok=False, user_id=user.id)
    return unpublished


def _unpublish_feed(session: Session, feed_id: int) -> int:
    """Mark every current location and tariff of the feed removed, now. Locations other
    sources describe too lose the feed's copy and stay published from the others."""
    now = datetime.now(timezone.utc)
    count = drop_feed_sources(session, feed_id, now)
    for table in (Location, Tariff):
        count += session.execute(update(table).where(table.feed_id == feed_id, table.removed_at.is_(None))
                                 .values(removed_at=now, **table.change_stamps(now))).rowcount
    return count
