"""Where other sources of a feed's chargers say otherwise than the feed (nap/merge): the
counts and sentences of a CPO's (or a hub's) quality report. Read from what the last merge
of each location recorded (location_sources.conflicts), so they agree with the publication."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.merge.rules import conflict_sentence
from nap.store.tables import LocationSource


@dataclass(frozen=True)
class SourceConflict:
    location_id: str
    evse: str | None  # the EVSE id (or uid) the conflict is about; None for the location's fields
    field: str
    rule: str
    sentence: str


@dataclass
class ConflictSummary:
    locations: int = 0  # the feed's locations where some source disagrees
    evses: int = 0  # its EVSEs where some source disagrees
    rows: list[SourceConflict] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows)


def source_conflicts(session: Session, feed_id: int) -> ConflictSummary:
    summary = ConflictSummary()
    evses: set[tuple[str, str]] = set()
    rows = session.execute(select(LocationSource.ocpi_id, LocationSource.conflicts).where(
        LocationSource.feed_id == feed_id, LocationSource.conflicts.is_not(None)).order_by(LocationSource.ocpi_id))
    for location_id, conflicts in rows:
        if not conflicts:
            continue
        summary.locations += 1
        for conflict in conflicts:
            evse = conflict.get("evse_id") or conflict.get("evse_uid")
            if evse:
                evses.add((location_id, evse))
            summary.rows.append(SourceConflict(location_id, evse, conflict["field"], conflict["rule"],
                                               conflict_sentence(conflict, feed_id)))
    summary.evses = len(evses)
    return summary
