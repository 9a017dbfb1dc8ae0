"""Low-confidence matches: an aggregator's location that names no EVSE id, taken for another
source's charger because it lies close and has the same address or EVSE count
(nap/merge/matching.py). It is merged at once, as the least authoritative source, and
waits for an administrator: confirm keeps it, split publishes it as a location of its own."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nap.jsonutil import dumps_bytes
from nap.store.feed_events import record_event
from nap.store.rows import prepare_location
from nap.store.tables import Feed, Location, LocationSource
from nap.store.writer import FeedWriter


class MatchError(ValueError):
    pass


@dataclass(frozen=True)
class PendingMatch:
    candidate_id: int
    feed_name: str
    source_key: str  # CC/PID/id as the aggregator gave it
    source_name: str | None
    source_address: str
    location_key: str  # the published location it was merged into
    location_name: str | None
    location_address: str
    note: str | None


def _address(document: dict) -> str:
    return ", ".join(str(part) for part in (document.get("address"), document.get("postal_code"),
                                            document.get("city")) if part)


def pending_matches(session: Session, limit: int = 500) -> list[PendingMatch]:
    rows = session.execute(
        select(LocationSource, Feed.name, Location.country_code, Location.party_id, Location.ocpi_id, Location.data)
        .join(Feed, Feed.id == LocationSource.feed_id).join(Location, Location.id == LocationSource.location_pk)
        .where(LocationSource.confirmed.is_(False)).order_by(LocationSource.id).limit(limit)).all()
    return [PendingMatch(c.id, feed_name, f"{c.country_code}/{c.party_id}/{c.ocpi_id}", c.document.get("name"),
                         _address(c.document), f"{cc}/{pid}/{ocpi_id}", (data or {}).get("name"), _address(data or {}),
                         c.match_note)
            for c, feed_name, cc, pid, ocpi_id, data in rows]


def _pending(session: Session, candidate_id: int) -> LocationSource:
    candidate = session.get(LocationSource, candidate_id, with_for_update=True)
    if candidate is None or candidate.confirmed:
        raise MatchError("no such match waits for a decision (decided meanwhile?): reload")
    return candidate


def confirm_match(session: Session, candidate_id: int, *, user_id: int | None = None) -> str:
    candidate = _pending(session, candidate_id)
    candidate.confirmed = True
    message = (f"match of {candidate.country_code}/{candidate.party_id}/{candidate.ocpi_id} with published location"
               f" {_location_key(session, candidate.location_pk)} confirmed")
    record_event(session, candidate.feed_id, "match_decided", message, ok=True, user_id=user_id)
    return message


def split_match(session: Session, candidate_id: int, now: datetime, *, user_id: int | None = None) -> str:
    """The aggregator's location is another site: it leaves the merge and is published
    under its own key, and is never matched by place again (it has a row of its own)."""
    candidate = _pending(session, candidate_id)
    location_key = _location_key(session, candidate.location_pk)
    feed_id, location_pk, document = candidate.feed_id, candidate.location_pk, candidate.document
    pair = (candidate.country_code, candidate.party_id)
    session.execute(delete(LocationSource).where(LocationSource.id == candidate.id))
    writer = FeedWriter(session, feed_id, now, parties=[pair])
    writer.merger.remerge([location_pk])
    writer.merger.match_by_place = False
    text = dumps_bytes(document)
    writer.write_locations([prepare_location(text, text)])
    message = (f"{pair[0]}/{pair[1]}/{document.get('id')} split from published location {location_key}:"
               " published as a location of its own")
    record_event(session, feed_id, "match_decided", message, ok=True, user_id=user_id)
    return message


def _location_key(session: Session, location_pk: int) -> str:
    row = session.execute(select(Location.country_code, Location.party_id, Location.ocpi_id)
                          .where(Location.id == location_pk)).one()
    return "/".join(row)
