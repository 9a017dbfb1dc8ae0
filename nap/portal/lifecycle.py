"""What admins do with feeds: approve a pending registration, suspend a feed (the worker
stops harvesting it and its pushes are refused), resume it. Each change is a feed event."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from nap.portal.events import record_event
from nap.store.tables import Feed, User


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    allowed_from: frozenset[str]
    new_status: str
    event: str


ACTIONS = {
    action.name: action for action in (
        Action("approve", "Approve", frozenset({"pending"}), "active", "approved"),
        Action("suspend", "Suspend", frozenset({"pending", "active", "needs_credentials"}), "suspended", "suspended"),
        Action("resume", "Resume", frozenset({"suspended"}), "active", "resumed"),
    )
}


class TransitionError(ValueError):
    pass


def available_actions(feed: Feed) -> list[Action]:
    return [action for action in ACTIONS.values() if feed.status in action.allowed_from]


def apply_action(session: Session, feed: Feed, action_name: str, admin: User, reason: str = "") -> Action:
    action = ACTIONS.get(action_name)
    if action is None:
        raise TransitionError(f"no such action: {action_name}")
    if feed.status not in action.allowed_from:
        raise TransitionError(f"a feed that is {feed.status} cannot be {action.event}")
    old = feed.status
    feed.status = action.new_status
    note = f": {reason}" if reason else ""
    record_event(session, feed.id, action.event, f"{action.event} by {admin.email} (was {old}){note}",
                 ok=True, user_id=admin.id)
    return action
