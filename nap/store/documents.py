"""Splitting OCPI Location documents into rows and putting them back together.

A Location is stored as three layers (location, EVSEs, connectors) so that an EVSE status
update touches one small row. `position` keeps the CPO's order, so the document served is
the document received.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from nap.jsonutil import canonical_bytes
from nap.store.tables import Connector, Evse, Location


def content_hash(document: dict) -> str:
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


@dataclass
class SplitLocation:
    location: dict  # without "evses"
    evses: list[tuple[dict, list[dict]]]  # (EVSE without "connectors", its connectors)


def split_location(document: dict) -> SplitLocation:
    location = {key: value for key, value in document.items() if key != "evses"}
    evses = []
    for evse in document.get("evses") or []:
        evses.append(
            ({key: value for key, value in evse.items() if key != "connectors"}, list(evse.get("connectors") or []))
        )
    return SplitLocation(location, evses)


def assemble_locations(session: Session, rows: Sequence[Location]) -> list[dict]:
    """Full OCPI Location documents for the given rows, in their order, with 2 queries."""
    if not rows:
        return []
    location_pks = [row.id for row in rows]
    evses_by_location: dict[int, list[tuple[int, dict]]] = {pk: [] for pk in location_pks}
    evse_rows = session.execute(
        select(Evse.id, Evse.location_pk, Evse.data)
        .where(Evse.location_pk.in_(location_pks))
        .order_by(Evse.location_pk, Evse.position)
    ).all()
    for evse_pk, location_pk, data in evse_rows:
        evses_by_location[location_pk].append((evse_pk, data))
    connectors_by_evse: dict[int, list[dict]] = {}
    evse_pks = [row.id for row in evse_rows]
    for chunk_start in range(0, len(evse_pks), 5000):
        chunk = evse_pks[chunk_start : chunk_start + 5000]
        for evse_pk, data in session.execute(
            select(Connector.evse_pk, Connector.data)
            .where(Connector.evse_pk.in_(chunk))
            .order_by(Connector.evse_pk, Connector.position)
        ):
            connectors_by_evse.setdefault(evse_pk, []).append(data)
    documents = []
    for row in rows:
        document = dict(row.data)
        # Always a list: consumers get one shape, and OCPI treats an absent list as empty.
        document["evses"] = [
            {**data, "connectors": connectors_by_evse.get(evse_pk, [])}
            for evse_pk, data in evses_by_location[row.id]
        ]
        documents.append(document)
    return documents


def iter_location_rows(session: Session, query, batch_size: int = 100) -> Iterable[tuple[Location, dict]]:
    """Stream (row, full Location document) pairs for a query over Location rows, batch by
    batch (keyset pagination), so exports stay in constant memory whatever the number of
    EVSEs. 100 locations hold about 10 MB of documents (500 held 40 MB for no measurable
    gain in speed)."""
    last_id = 0
    while True:
        rows = session.scalars(query.where(Location.id > last_id).order_by(Location.id).limit(batch_size)).all()
        if not rows:
            return
        yield from zip(rows, assemble_locations(session, rows))
        last_id = rows[-1].id
        session.expunge_all()


def iter_location_documents(session: Session, query, batch_size: int = 100) -> Iterable[dict]:
    for _row, document in iter_location_rows(session, query, batch_size):
        yield document
