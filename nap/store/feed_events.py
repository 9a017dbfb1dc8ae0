"""The feed's log of what happened outside harvest runs (registration, handshakes,
approval or rejection, suspension, new credentials or connection settings, withdrawal,
party claims): shown to the CPO, kept for the admins."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.store.tables import FeedEvent

KINDS = ("registered", "handshake", "approved", "suspended", "resumed", "credentials", "push_token",
         "harvest_requested", "party_claimed", "party_verified", "party_revoked", "party_moved",
         "rejected", "withdrawn", "connection", "feed_kind",
         "match_decided")


def record_event(session: Session, feed_id: int, kind: str, message: str, ok: bool | None = None,
                 user_id: int | None = None) -> FeedEvent:
    if kind not in KINDS:
        raise ValueError(f"unknown feed event kind {kind!r}")
    event = FeedEvent(feed_id=feed_id, user_id=user_id, at=datetime.now(timezone.utc), kind=kind, ok=ok,
                      message=message)
    session.add(event)
    session.flush()
    return event


def recent_events(session: Session, feed_id: int, limit: int = 20) -> list[FeedEvent]:
    return list(session.scalars(select(FeedEvent).where(FeedEvent.feed_id == feed_id)
                                .order_by(FeedEvent.id.desc()).limit(limit)))


def latest_event(session: Session, feed_id: int, kind: str) -> FeedEvent | None:
    return session.scalar(select(FeedEvent).where(FeedEvent.feed_id == feed_id, FeedEvent.kind == kind)
                          .order_by(FeedEvent.id.desc()).limit(1))
