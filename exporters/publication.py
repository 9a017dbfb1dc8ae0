"""The publication rules: which locations and EVSEs an audience may be served.

- A location with `publish: true` is public. One with `publish: false` is served only to a
  consumer holding a token that matches all the fields set in one entry of its
  `publish_allowed_to` (mod_locations, Location object), and to nobody else.
- A REMOVED EVSE stays in its location, with status REMOVED, for
  `removed_evse_visible_hours` after its status changed, so that consumers learn of the
  removal; after that it leaves the publication.
- Removed locations (no longer served by their CPO) are never published.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from exporters.consumers import Audience
from nap.store.tables import Location

# CiString fields compare case-insensitively (types.asciidoc); the others exactly.
_CASE_INSENSITIVE = ("uid", "group_id")
_IDENTIFYING = ("uid", "visual_number", "group_id")


def token_matches(allowed: dict, held: dict) -> bool:
    """True when the consumer's token `held` matches every field set in `allowed`.

    An entry that sets none of uid, visual_number, group_id identifies nobody (the spec
    forbids it); treating it as "matches everyone" would publish a private location."""
    if not isinstance(allowed, dict) or not any(allowed.get(key) for key in _IDENTIFYING):
        return False
    for key, value in allowed.items():
        if value is None:
            continue
        mine = held.get(key)
        if mine is None:
            return False
        if key in _CASE_INSENSITIVE:
            if str(mine).casefold() != str(value).casefold():
                return False
        elif mine != value:
            return False
    return True


def allowed_entries(publish_allowed_to, audience: Audience) -> list[dict]:
    """The entries of a publish_allowed_to list that the audience holds a token for."""
    if not isinstance(publish_allowed_to, list):
        return []
    return [entry for entry in publish_allowed_to
            if any(token_matches(entry, held) for held in audience.publish_tokens)]


class Publication:
    """The rules applied for one audience at one moment (one request)."""

    def __init__(self, session: Session, audience: Audience, now: datetime, removed_evse_visible_hours: int):
        self.session = session
        self.audience = audience
        self.now = now
        self.removed_evse_window = timedelta(hours=removed_evse_visible_hours)
        self._private_ids: list[int] | None = None

    # -- locations -------------------------------------------------------------------------

    def private_location_ids(self) -> list[int]:
        """Ids of the publish=false locations this audience may see.

        Matching happens in Python over the (few) publish=false locations rather than in
        SQL, because JSON operators differ between SQLite and PostgreSQL; anonymous readers
        never pay for it."""
        if self._private_ids is None:
            self._private_ids = []
            if self.audience.publish_tokens:
                rows = self.session.execute(
                    select(Location.id, Location.data["publish_allowed_to"])
                    .where(Location.publish.is_(False), Location.removed_at.is_(None))
                ).all()
                self._private_ids = [pk for pk, allowed in rows if allowed_entries(allowed, self.audience)]
        return self._private_ids

    def location_condition(self):
        """SQL condition for the locations this audience may be served."""
        private = self.private_location_ids()
        visible = Location.publish.is_(True)
        if private:
            visible = or_(visible, Location.id.in_(private))
        return and_(Location.removed_at.is_(None), visible)

    def apply_to_location(self, document: dict) -> dict:
        """The location as this audience is served it.

        `publish_allowed_to` only means something when publish is false (mod_locations); on
        a public location it is dropped. On a private one the audience gets only the
        entries it holds itself: the others are other people's token ids, which NAP, unlike
        a CPO talking to its own eMSPs, would be handing to every consumer."""
        if "publish_allowed_to" not in document:
            return document
        document = dict(document)
        if document.get("publish") is False:
            document["publish_allowed_to"] = allowed_entries(document["publish_allowed_to"], self.audience)
        else:
            del document["publish_allowed_to"]
        return document

    # -- EVSEs -----------------------------------------------------------------------------

    @property
    def removed_evse_cutoff(self) -> datetime:
        return self.now - self.removed_evse_window

    def evse_hidden(self, status: str, status_changed_at: datetime) -> bool:
        return status == "REMOVED" and status_changed_at < self.removed_evse_cutoff

    def evse_left_at(self, status_changed_at: datetime) -> datetime:
        """When a hidden REMOVED EVSE left the publication (a change of the location)."""
        return status_changed_at + self.removed_evse_window
