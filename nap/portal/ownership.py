"""Which feeds a user may see: its own (feed_owners) or, for an admin, every feed. Feeds a
user may not see are answered as if they did not exist, so ids cannot be probed."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.store.tables import Feed, FeedOwner, User


def add_owner(session: Session, feed_id: int, user_id: int) -> None:
    if session.get(FeedOwner, (user_id, feed_id)) is None:
        session.add(FeedOwner(user_id=user_id, feed_id=feed_id))
        session.flush()


def visible_feeds(session: Session, user: User) -> list[Feed]:
    query = select(Feed).order_by(Feed.name)
    if user.role != "admin":
        query = query.join(FeedOwner, FeedOwner.feed_id == Feed.id).where(FeedOwner.user_id == user.id)
    return list(session.scalars(query))


def visible_feed(session: Session, user: User, feed_id: int) -> Feed | None:
    feed = session.get(Feed, feed_id)
    if feed is None or user.role == "admin":
        return feed
    return feed if session.get(FeedOwner, (user.id, feed_id)) is not None else None


def owner_emails(session: Session, feed_ids: list[int]) -> dict[int, list[str]]:
    owners: dict[int, list[str]] = {feed_id: [] for feed_id in feed_ids}
    if feed_ids:
        for feed_id, email in session.execute(
            select(FeedOwner.feed_id, User.email).join(User, User.id == FeedOwner.user_id)
            .where(FeedOwner.feed_id.in_(feed_ids)).order_by(User.email)
        ):
            owners[feed_id].append(email)
    return owners
