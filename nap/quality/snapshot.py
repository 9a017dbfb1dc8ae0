"""One feed's stored data, loaded once for all quality rules: current (not removed)
locations with their EVSEs and connectors, the tariffs they may point to, the status
history counts and the EVSE ids other feeds publish.

Loaded with a handful of queries, in chunks, so that a large feed costs a few round trips
and not one per object. REMOVED EVSEs are left out: the CPO says they are gone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from nap.ocpi.ids import normalized_evse_id
from nap.store.tables import EVSE_KEY, Connector, Evse, EvseStatusChange, Feed, Location, Tariff

CHUNK = 2000


@dataclass
class EvseView:
    pk: int
    uid: str
    evse_id: str | None
    status: str
    data: dict
    connectors: list[dict] = field(default_factory=list)
    # Status changes recorded after the EVSE's first status (its first row has no old status).
    status_changes: int = 0
    first_seen_at: datetime | None = None


@dataclass
class LocationView:
    pk: int
    ocpi_id: str
    country_code: str
    party_id: str
    publish: bool
    latitude: float
    longitude: float
    last_updated: datetime
    first_seen_at: datetime
    data: dict
    evses: list[EvseView] = field(default_factory=list)


@dataclass
class FeedSnapshot:
    feed_id: int
    now: datetime
    stale_days: int
    status_silence_hours: int
    locations: list[LocationView] = field(default_factory=list)
    # (country_code, party_id, folded tariff id) -> the tariff's type (None: every type).
    tariffs: dict[tuple[str, str, str], str | None] = field(default_factory=dict)
    # Normalized EVSE id -> names of the other feeds that publish it too.
    evse_ids_elsewhere: dict[str, list[str]] = field(default_factory=dict)

    def evses(self) -> Iterator[tuple[LocationView, EvseView]]:
        for location in self.locations:
            for evse in location.evses:
                yield location, evse

    @property
    def evse_count(self) -> int:
        return sum(len(location.evses) for location in self.locations)


def _chunks(values: list) -> Iterator[list]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def load_snapshot(session: Session, feed_id: int, now: datetime, stale_days: int,
                  status_silence_hours: int) -> FeedSnapshot:
    snapshot = FeedSnapshot(feed_id, now, stale_days, status_silence_hours)
    rows = session.execute(
        select(Location.id, Location.ocpi_id, Location.country_code, Location.party_id, Location.publish,
               Location.latitude, Location.longitude, Location.last_updated, Location.first_seen_at,
               Location.data)
        .where(Location.feed_id == feed_id, Location.removed_at.is_(None))
        .order_by(Location.country_code, Location.party_id, Location.ocpi_id)
    ).all()
    by_pk = {row.id: LocationView(*row) for row in rows}
    snapshot.locations = list(by_pk.values())
    _load_evses(session, snapshot, by_pk)
    _load_status_history(session, feed_id, by_pk)
    # By folded id (nap.ocpi.ids): a connector's tariff_ids name tariffs case-insensitively.
    snapshot.tariffs = {
        (cc, pid, key): tariff_type
        for cc, pid, key, tariff_type in session.execute(
            select(Tariff.country_code, Tariff.party_id, Tariff.id_key, Tariff.data["type"].as_string())
            .where(Tariff.feed_id == feed_id, Tariff.removed_at.is_(None)))
    }
    snapshot.evse_ids_elsewhere = _evse_ids_elsewhere(session, snapshot)
    return snapshot


def _load_evses(session: Session, snapshot: FeedSnapshot, by_pk: dict[int, LocationView]) -> None:
    evses_by_pk: dict[int, EvseView] = {}
    for chunk in _chunks(list(by_pk)):
        for pk, location_pk, uid, evse_id, status, data in session.execute(
            select(Evse.id, Evse.location_pk, Evse.uid, Evse.evse_id, Evse.status, Evse.data)
            .where(Evse.location_pk.in_(chunk), Evse.status != "REMOVED")
            .order_by(Evse.location_pk, Evse.position)
        ):
            view = EvseView(pk, uid, evse_id, status, data, first_seen_at=by_pk[location_pk].first_seen_at)
            by_pk[location_pk].evses.append(view)
            evses_by_pk[pk] = view
    for chunk in _chunks(list(evses_by_pk)):
        for evse_pk, data in session.execute(
            select(Connector.evse_pk, Connector.data)
            .where(Connector.evse_pk.in_(chunk)).order_by(Connector.evse_pk, Connector.position)
        ):
            evses_by_pk[evse_pk].connectors.append(data)


def _load_status_history(session: Session, feed_id: int, by_pk: dict[int, LocationView]) -> None:
    evses = {(location.pk, evse.uid): evse for location in by_pk.values() for evse in location.evses}
    for chunk in _chunks(list(by_pk)):
        for location_pk, uid, changes, first in session.execute(
            select(EvseStatusChange.location_pk, EvseStatusChange.evse_uid,
                   func.sum(case((EvseStatusChange.old_status.is_not(None), 1), else_=0)),
                   func.min(EvseStatusChange.received_at))
            .where(EvseStatusChange.feed_id == feed_id, EvseStatusChange.location_pk.in_(chunk))
            .group_by(EvseStatusChange.location_pk, EvseStatusChange.evse_uid)
        ):
            evse = evses.get((location_pk, uid))
            if evse is not None:
                evse.status_changes = int(changes or 0)
                evse.first_seen_at = first


def _evse_ids_elsewhere(session: Session, snapshot: FeedSnapshot) -> dict[str, list[str]]:
    ours = sorted({normalized_evse_id(e.evse_id) for _, e in snapshot.evses() if e.evse_id})
    normalized = EVSE_KEY
    found: dict[str, set[str]] = {}
    for chunk in _chunks(ours):
        for evse_id, feed_name in session.execute(
            select(normalized, Feed.name).select_from(Evse)
            .join(Location, Location.id == Evse.location_pk).join(Feed, Feed.id == Location.feed_id)
            .where(Location.feed_id != snapshot.feed_id, Location.removed_at.is_(None),
                   Evse.status != "REMOVED", normalized.in_(chunk))
        ):
            found.setdefault(evse_id, set()).add(feed_name)
    return {evse_id: sorted(names) for evse_id, names in found.items()}
