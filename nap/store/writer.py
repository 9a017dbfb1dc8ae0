"""Writes normalized OCPI objects of one feed into the store, inside the caller's
transaction, and counts what was new, changed or unchanged."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from harvesters.findings import ObjectFinding
from nap.ocpi.values import parse_datetime
from nap.store.documents import content_hash, split_location
from nap.store.status_history import StatusChange, record_status_changes
from nap.store.tables import Connector, Evse, Location, Tariff


@dataclass
class WriteCounts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0

    def add(self, other: "WriteCounts") -> None:
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.removed += other.removed


def object_key(document: dict) -> tuple[str, str, str]:
    return (document["country_code"], document["party_id"], document["id"])


class FeedWriter:
    def __init__(self, session: Session, feed_id: int, now: datetime, via: str = "pull"):
        self.session = session
        self.feed_id = feed_id
        self.now = now
        self.via = via  # "pull" or "push", for the status history
        self.findings: list[ObjectFinding] = []
        self.stale = 0  # objects older than what the store holds (a newer push won)

    # -- shared --------------------------------------------------------------------------

    def _existing(self, table, keys: list[tuple[str, str, str]]) -> dict[tuple, object]:
        if not keys:
            return {}
        rows = self.session.execute(
            select(table.id, table.feed_id, table.country_code, table.party_id, table.ocpi_id,
                   table.content_hash, table.removed_at, table.last_updated)
            .where(tuple_(table.country_code, table.party_id, table.ocpi_id).in_(keys))
        ).all()
        return {(r.country_code, r.party_id, r.ocpi_id): r for r in rows}

    def _plan(self, kind: str, table, documents: Sequence[tuple[dict, object]]):
        """Sort a page's objects into new, changed and unchanged; refuse objects that
        another feed already publishes (two CPOs cannot both own one id)."""
        latest: dict[tuple, tuple[dict, object]] = {}
        for document, raw in documents:
            latest[object_key(document)] = (document, raw)  # last one wins within a page
        existing = self._existing(table, list(latest))
        new, changed, counts = [], [], WriteCounts()
        for key, (document, raw) in latest.items():
            digest = content_hash(document)
            row = existing.get(key)
            if row is None:
                new.append((document, raw, digest))
                counts.new += 1
            elif row.feed_id != self.feed_id:
                self.findings.append(ObjectFinding(
                    kind, key[2], "id",
                    f"{'/'.join(key)} is already published by another feed; object skipped",
                ))
            elif row.content_hash == digest and row.removed_at is None:
                counts.unchanged += 1
            elif row.removed_at is None and row.last_updated > parse_datetime(document["last_updated"]):
                # Pushes and pulls converge by last_updated: an older copy never overwrites
                # a newer one (a pull that started before a push arrived, for example).
                self.stale += 1
                counts.unchanged += 1
            else:
                changed.append((row.id, document, raw, digest))
                counts.changed += 1
        return new, changed, counts

    # -- locations -----------------------------------------------------------------------

    def _location_columns(self, document: dict, raw: object, digest: str) -> dict:
        split = split_location(document)
        return {
            "feed_id": self.feed_id,
            "country_code": document["country_code"],
            "party_id": document["party_id"],
            "ocpi_id": document["id"],
            "publish": document["publish"],
            "latitude": float(document["coordinates"]["latitude"]),
            "longitude": float(document["coordinates"]["longitude"]),
            "last_updated": parse_datetime(document["last_updated"]),
            "data": split.location,
            "raw": raw,
            "content_hash": digest,
            "changed_at": self.now,
            "removed_at": None,
        }

    def _previous_statuses(self, location_pks: list[int]) -> dict[tuple[int, str], tuple[str, datetime]]:
        rows = self.session.execute(
            select(Evse.location_pk, Evse.uid, Evse.status, Evse.status_changed_at)
            .where(Evse.location_pk.in_(location_pks))
        ).all()
        return {(r.location_pk, r.uid): (r.status, r.status_changed_at) for r in rows}

    def _insert_children(self, location_pks: list[int], documents: list[dict],
                         previous: dict[tuple[int, str], tuple[str, datetime]] | None = None) -> None:
        previous = previous or {}
        evse_rows, connector_groups, changes = [], [], []
        for location_pk, document in zip(location_pks, documents):
            for position, (evse, connectors) in enumerate(split_location(document).evses):
                old_status, old_changed_at = previous.get((location_pk, evse["uid"]), (None, None))
                last_updated = parse_datetime(evse["last_updated"])
                if old_status != evse["status"]:
                    changes.append(StatusChange(location_pk, evse["uid"], old_status, evse["status"], last_updated))
                evse_rows.append({
                    "location_pk": location_pk,
                    "position": position,
                    "uid": evse["uid"],
                    "evse_id": evse.get("evse_id"),
                    "status": evse["status"],
                    "status_changed_at": self.now if old_status != evse["status"] else old_changed_at,
                    "last_updated": last_updated,
                    "data": evse,
                })
                connector_groups.append(connectors)
        record_status_changes(self.session, self.feed_id, changes, self.now, self.via)
        if not evse_rows:
            return
        evse_pks = self.session.execute(
            insert(Evse).returning(Evse.id, sort_by_parameter_order=True), evse_rows
        ).scalars().all()
        connector_rows = [
            {
                "evse_pk": evse_pk,
                "position": position,
                "ocpi_id": connector["id"],
                "standard": connector["standard"],
                "power_type": connector["power_type"],
                "max_electric_power": connector.get("max_electric_power"),
                "data": connector,
            }
            for evse_pk, connectors in zip(evse_pks, connector_groups)
            for position, connector in enumerate(connectors)
        ]
        if connector_rows:
            self.session.execute(insert(Connector), connector_rows)

    def write_locations(self, documents: Sequence[tuple[dict, object]]) -> WriteCounts:
        new, changed, counts = self._plan("location", Location, documents)
        if new:
            rows = [
                {**self._location_columns(d, raw, digest), "first_seen_at": self.now}
                for d, raw, digest in new
            ]
            pks = self.session.execute(
                insert(Location).returning(Location.id, sort_by_parameter_order=True), rows
            ).scalars().all()
            self._insert_children(list(pks), [d for d, _, _ in new])
        if changed:
            pks = [pk for pk, *_ in changed]
            previous = self._previous_statuses(pks)
            self.session.execute(
                update(Location),
                [{"id": pk, **self._location_columns(d, raw, digest)} for pk, d, raw, digest in changed],
            )
            # EVSEs are replaced wholesale: the CPO's document is the truth for this location.
            self.session.execute(delete(Evse).where(Evse.location_pk.in_(pks)))
            self._insert_children(pks, [d for _, d, _, _ in changed], previous)
        return counts

    # -- tariffs -------------------------------------------------------------------------

    def write_tariffs(self, documents: Sequence[tuple[dict, object]]) -> WriteCounts:
        new, changed, counts = self._plan("tariff", Tariff, documents)

        def columns(document: dict, raw: object, digest: str) -> dict:
            return {
                "feed_id": self.feed_id,
                "country_code": document["country_code"],
                "party_id": document["party_id"],
                "ocpi_id": document["id"],
                "last_updated": parse_datetime(document["last_updated"]),
                "data": document,
                "raw": raw,
                "content_hash": digest,
                "changed_at": self.now,
                "removed_at": None,
            }

        if new:
            self.session.execute(
                insert(Tariff), [{**columns(d, raw, h), "first_seen_at": self.now} for d, raw, h in new]
            )
        if changed:
            self.session.execute(
                update(Tariff), [{"id": pk, **columns(d, raw, h)} for pk, d, raw, h in changed]
            )
        return counts

    def restamp_changes(self, commit_time: datetime) -> None:
        """Give this run's changes the time they become visible (just before commit), not
        the run's start: otherwise a long run committing after a shorter, later one would
        publish changes dated before what clients already saw (Last-Modified would lag)."""
        for table in (Location, Tariff):
            self.session.execute(update(table).where(table.feed_id == self.feed_id, table.changed_at == self.now)
                                 .values(changed_at=commit_time))

    # -- removals ------------------------------------------------------------------------

    def mark_unseen_removed(self, table, seen_ids: set[str], changed_before: datetime) -> int:
        """After a full sync: what the CPO no longer serves is marked removed (kept for
        history, hidden from publication later). Objects served but invalid count as seen,
        so a broken update never deletes the last good version. Ids are compared without
        country_code/party_id because a broken object may lack them. Objects that changed
        after the run started (pushed meanwhile) are not the run's to judge."""
        removed = 0
        rows = self.session.execute(
            select(table.id, table.ocpi_id)
            .where(table.feed_id == self.feed_id, table.removed_at.is_(None), table.changed_at < changed_before)
        ).all()
        gone = [r.id for r in rows if r.ocpi_id not in seen_ids]
        for start in range(0, len(gone), 1000):
            chunk = gone[start : start + 1000]
            self.session.execute(
                update(table).where(table.id.in_(chunk)).values(removed_at=self.now, changed_at=self.now)
            )
            removed += len(chunk)
        return removed
