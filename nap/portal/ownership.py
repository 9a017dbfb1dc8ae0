"""Which feeds a user may see: those it or a colleague owns (feed_owners), or, for an admin,
every feed. Feeds a user may not see are answered as if they did not exist, so ids cannot
be probed.

Colleagues are the members of one organisation (users.organisation_id, made when a user
first invites someone, nap/portal/invitations.py). Access follows the organisation rather
than copies of feed_owners rows: a feed registered by any member later, or a member who
joins later, needs no bookkeeping, and feed_owners still says who registered what. A user
without an organisation sees only its own feeds."""
from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from nap.store.states import UserRole
from nap.store.tables import Feed, FeedOwner, User


def add_owner(session: Session, feed_id: int, user_id: int) -> None:
    if session.get(FeedOwner, (user_id, feed_id)) is None:
        session.add(FeedOwner(user_id=user_id, feed_id=feed_id))
        session.flush()


def _owned_by_the_users_organisation(user: User):
    """An SQL condition on Feed: some owner of it is the user, or a colleague of the user."""
    owners = select(FeedOwner.feed_id).where(FeedOwner.feed_id == Feed.id)
    if user.organisation_id is None:
        owners = owners.where(FeedOwner.user_id == user.id)
    else:
        owners = owners.join(User, User.id == FeedOwner.user_id).where(User.organisation_id == user.organisation_id)
    return exists(owners)


def visible_feeds(session: Session, user: User) -> list[Feed]:
    query = select(Feed).order_by(Feed.name)
    if user.role != UserRole.ADMIN:
        query = query.where(_owned_by_the_users_organisation(user))
    return list(session.scalars(query))


def visible_feed(session: Session, user: User, feed_id: int) -> Feed | None:
    feed = session.get(Feed, feed_id)
    if feed is None or user.role == UserRole.ADMIN:
        return feed
    return session.scalar(select(Feed).where(Feed.id == feed_id, _owned_by_the_users_organisation(user)))


def owner_emails(session: Session, feed_ids: list[int]) -> dict[int, list[str]]:
    owners: dict[int, list[str]] = {feed_id: [] for feed_id in feed_ids}
    if feed_ids:
        for feed_id, email in session.execute(
            select(FeedOwner.feed_id, User.email).join(User, User.id == FeedOwner.user_id)
            .where(FeedOwner.feed_id.in_(feed_ids)).order_by(User.email)
        ):
            owners[feed_id].append(email)
    return owners
