"""What admins do with feeds: approve a pending registration or reject it, suspend a
running feed (the worker stops harvesting it and its pushes are refused), resume it.
Each change is a feed event; a rejection or a suspension carries the admin's reason,
which the CPO reads on its feed page (`decision`)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.parties import claims, revoke
from nap.store.feed_events import record_event
from nap.store.states import FeedStatus
from nap.store.tables import Feed, FeedEvent, User

# Written between who decided and why, so the reason can be read back from the message.
REASON_MARK = ". Reason: "
REASON_MAX = 500


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    allowed_from: frozenset[FeedStatus]
    new_status: FeedStatus
    event: str
    # The CPO is told why: the admin must say it.
    needs_reason: bool = False


ACTIONS = {
    action.name: action for action in (
        Action("approve", "Approve", frozenset({FeedStatus.PENDING}), FeedStatus.ACTIVE, "approved"),
        Action("reject", "Reject", frozenset({FeedStatus.PENDING}), FeedStatus.REJECTED, "rejected",
               needs_reason=True),
        # Not for pending feeds: they are not harvested yet, and a registration that should
        # not run is rejected, with a reason.
        Action("suspend", "Suspend", frozenset({FeedStatus.ACTIVE, FeedStatus.NEEDS_CREDENTIALS}),
               FeedStatus.SUSPENDED, "suspended", needs_reason=True),
        Action("resume", "Resume", frozenset({FeedStatus.SUSPENDED}), FeedStatus.ACTIVE, "resumed"),
    )
}


class TransitionError(ValueError):
    pass


def available_actions(feed: Feed) -> list[Action]:
    return [action for action in ACTIONS.values() if feed.status in action.allowed_from]


def clean_reason(text: str | None) -> str:
    """One line of at most REASON_MAX characters, without control characters or lone
    surrogates (no database text column takes a NUL, no UTF-8 a surrogate)."""
    kept = "".join(ch for ch in (text or "") if ch.isprintable() or ch.isspace())
    kept = kept.encode("utf-8", "replace").decode("utf-8")
    return " ".join(kept.split())[:REASON_MAX]


def apply_action(session: Session, feed: Feed, action_name: str, admin: User, reason: str = "") -> Action:
    action = ACTIONS.get(action_name)
    if action is None:
        raise TransitionError(f"no such action: {action_name}")
    if feed.status not in action.allowed_from:
        raise TransitionError(f"a feed that is {feed.status.replace('_', ' ')} cannot be {action.event}")
    reason = clean_reason(reason)
    if action.needs_reason and not reason:
        raise TransitionError(f"Give a reason to {action.label.lower()} {feed.name}: the CPO sees it.")
    old = feed.status
    feed.status = action.new_status
    note = f"{REASON_MARK}{reason}" if reason else ""
    record_event(session, feed.id, action.event, f"{action.event} by {admin.email} (was {old}){note}",
                 ok=action.event in ("approved", "resumed"), user_id=admin.id)
    if action.name == "reject":
        # A rejected registration publishes nothing: its claims are decided too, and no
        # longer stand beside other feeds' claims on the same pairs.
        for row in claims(session, feed.id):
            revoke(session, feed, row.country_code, row.party_id, user_id=admin.id,
                   reason="registration rejected")
    return action


def reason_of(event: FeedEvent | None) -> str:
    """The reason an admin gave in a decision's event ("" when none)."""
    if event is None or REASON_MARK not in event.message:
        return ""
    return event.message.split(REASON_MARK, 1)[1]


# The event that explains each status a CPO did not choose.
_EXPLAINED_BY = {FeedStatus.REJECTED: "rejected", FeedStatus.SUSPENDED: "suspended",
                 FeedStatus.WITHDRAWN: "withdrawn"}


def decision(session: Session, feed: Feed) -> FeedEvent | None:
    """The event that put the feed in its current status, when that status needs
    explaining (rejected, suspended, withdrawn)."""
    kind = _EXPLAINED_BY.get(feed.status)
    if kind is None:
        return None
    return session.scalar(select(FeedEvent).where(FeedEvent.feed_id == feed.id, FeedEvent.kind == kind)
                          .order_by(FeedEvent.id.desc()).limit(1))
