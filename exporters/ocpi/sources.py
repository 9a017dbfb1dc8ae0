"""What the OCPI sender endpoints serve, read from the store in two steps.

1. `page()` / `one()` read only index columns (ids, change times, EVSE statuses) and return
   a Snapshot: which rows the answer holds, their fingerprint (the ETag), Last-Modified and
   the REMOVED EVSEs that have left the publication. That is all a 304 needs.
2. `documents()` loads and assembles the OCPI objects of a snapshot, applying the
   publication rules. Only then are the (large) JSON documents read. For locations,
   `document_jsons()` gives the same as JSON text: the stored JSON is spliced together and
   served without being decoded and encoded again (most of a page's time otherwise); a
   document is decoded only where a publication rule changes it.

Queries stay index-friendly: a list of locations without dates takes its page's ids from
those kept in the process (exporters/ocpi/listed_ids.py) and reads a range of the primary
key; other lists walk the primary key with the publication filter, date_from/date_to use
(last_updated, id), single objects use the unique
(country_code, party_id, ocpi_id) key and EVSEs (location_pk, uid).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import DateTime, Text, and_, case, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from exporters.http_caching import Fingerprint
from exporters.ocpi.listed_ids import listed_page
from nap.ocpi.paging import Window
from exporters.publication import Publication
from nap.jsonutil import dumps_text, loads
from nap.ocpi.ids import id_key
from nap.store.documents import execute_keyed, location_jsons, splice_list
from nap.store.tables import Evse, Location, Tariff


@dataclass
class Snapshot:
    ids: list[int]
    total: int
    fingerprint: Fingerprint
    last_modified: datetime | None
    hidden_evses: set[tuple[int, str]] = field(default_factory=set)  # (location pk, EVSE uid)
    # The EVSE rows with their JSON text (nap.store.documents.location_jsons), when read
    # together with the index columns; None: documents() reads them.
    evse_jsons: list[tuple[int, int, str, str]] | None = None
    # The same for the rows' own documents: {pk: JSON text}, read with the row of one object.
    row_jsons: dict[int, str] | None = None


def _as_stored(column):
    """A UtcDateTime column read as the naive UTC value stored, for fingerprints: a page
    reads thousands of them, and attaching the time zone to each cost more than the query."""
    return type_coerce(column, DateTime)


def _latest(*moments: datetime | None) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return max(present) if present else None


class _Source:
    table = None
    keeps_list = False  # the whole list's ids are kept in the process (listed_ids)

    def __init__(self, session: Session, publication: Publication):
        self.session = session
        self.publication = publication

    def condition(self):
        raise NotImplementedError

    def page(self, window: Window, with_documents: bool = False) -> Snapshot:
        """The snapshot of a list page. `with_documents`: the documents will be served (the
        request cannot be answered 304), so what can be read with the index columns is."""
        if window.date_from is None and window.date_to is None and self.keeps_list:
            total, newest, rows = self._kept_list_page(window)
        else:
            total, newest, rows = self._counted_page(window)
        fingerprint = Fingerprint(self.table.__tablename__, window.offset, window.limit, window.date_from,
                                  window.date_to, total)
        fingerprint.add_rows(rows)
        snapshot = Snapshot([row.id for row in rows], total, fingerprint,
                            _latest(newest, self.publication.audience.since))
        self._add_children(snapshot, with_documents)
        return snapshot

    def _counted_page(self, window: Window):
        """(total, newest change, rows) of a page, counted in SQL."""
        table = self.table
        # Rows that can matter to this list: with date_from, only those updated since
        # (last_updated only moves forward), a range of the (last_updated, id) index.
        domain = [table.last_updated >= window.date_from] if window.date_from is not None else []
        before = [table.last_updated < window.date_to] if window.date_to is not None else []
        listed = and_(self.condition(), *domain, *before)
        # One pass gives X-Total-Count and the newest change in the whole domain, removed and
        # private rows included: a row leaving the list (removed, unpublished, updated past
        # date_to) shifts later pages, so it counts as a change of this list.
        total, newest = self.session.execute(
            select(func.count(case((listed, 1))), func.max(table.changed_at)).where(*domain)
        ).one()
        rows = self.session.execute(
            select(table.id, _as_stored(table.changed_at), _as_stored(table.last_updated))
            .where(listed).order_by(table.id).offset(window.offset).limit(window.limit)
        ).all()
        return total, newest, rows

    def _kept_list_page(self, window: Window):
        """(total, newest change, rows) of a page of the whole list, from the ids kept in
        this process (exporters/ocpi/listed_ids.py) and a range of the primary key."""
        table = self.table
        condition = self.condition()
        total, page, stamped = listed_page(self.session, condition,
                                           tuple(sorted(self.publication.private_location_ids())),
                                           window.offset, window.limit)
        rows = []
        if page:
            rows = self.session.execute(
                select(table.id, _as_stored(table.changed_at), _as_stored(table.last_updated))
                .where(condition, table.id.between(page[0], page[-1])).order_by(table.id).limit(window.limit)
            ).all()
        # The page changes when one of its rows does (their changed_at; the EVSEs' are added
        # by _add_children) or when a row enters or leaves the list before or on it, which
        # stamps static_changed_at.
        newest = _latest(stamped, *(row[1].replace(tzinfo=timezone.utc) for row in rows))
        return total, newest, rows

    def _find(self, country_code: str, party_id: str, object_id: str, with_document: bool = False):
        """The row of one object: ids are CiStrings, so one probe of the unique key with the
        folded id and upper-case country and party. `with_document`: its JSON text too."""
        table = self.table
        document = [cast(table.data, Text).label("document")] if with_document else []
        return self.session.execute(select(table.id, table.changed_at, table.last_updated, *document).where(
            self.condition(), table.country_code == country_code.upper(), table.party_id == party_id.upper(),
            table.id_key == id_key(object_id))).first()

    def one(self, country_code: str, party_id: str, object_id: str, with_documents: bool = False) -> Snapshot | None:
        """The snapshot of one object; `with_documents` as for page(): the object's own
        document is then read with its row, a round trip fewer."""
        row = self._find(country_code, party_id, object_id, with_documents)
        if row is None:
            return None
        fingerprint = Fingerprint(self.table.__tablename__, row.id, row.changed_at, row.last_updated)
        snapshot = Snapshot([row.id], 1, fingerprint, _latest(row.changed_at, self.publication.audience.since))
        if with_documents:
            snapshot.row_jsons = {row.id: row.document}
        self._add_children(snapshot, with_documents)
        return snapshot

    def _add_children(self, snapshot: Snapshot, with_documents: bool) -> None:
        """Hook for what hangs below the rows (EVSEs of locations)."""

    def _rows(self, ids: list[int]):
        if not ids:
            return []
        found = {row.id: row for row in self.session.execute(
            select(self.table.id, self.table.data).where(self.table.id.in_(ids)))}
        # In the snapshot's order; a row deleted since (its feed removed) is skipped.
        return [found[pk] for pk in ids if pk in found]


def _evse_marks(in_keys, *extra):
    return (select(Evse.id, Evse.location_pk, Evse.uid, Evse.status, _as_stored(Evse.status_changed_at),
                   _as_stored(Evse.last_updated), *extra)
            .where(in_keys(Evse.location_pk)).order_by(Evse.location_pk, Evse.position))


def _evse_marks_and_texts(in_keys):
    return _evse_marks(in_keys, cast(Evse.data, Text))


class LocationSource(_Source):
    table = Location
    keeps_list = True

    def condition(self):
        return self.publication.location_condition()

    def _add_children(self, snapshot: Snapshot, with_documents: bool) -> None:
        if not snapshot.ids:
            return
        publication = self.publication
        newest = snapshot.last_modified
        marks = []
        if with_documents:
            # One pass over the EVSE rows instead of two (an answer that may be a 304 reads
            # only the narrow columns).
            snapshot.evse_jsons = []
        for pk, location_pk, uid, status, status_changed_at, last_updated, *text in execute_keyed(
                self.session, _evse_marks_and_texts if with_documents else _evse_marks, snapshot.ids):
            if with_documents:
                snapshot.evse_jsons.append((pk, location_pk, uid, text[0]))
            status_changed_at = status_changed_at.replace(tzinfo=timezone.utc)
            hidden = publication.evse_hidden(status, status_changed_at)
            # EVSE rows may change without their location (pushed status updates): they are
            # part of the fingerprint, and so is whether they are still shown.
            marks.append((pk, status, status_changed_at, last_updated, hidden))
            if hidden:
                snapshot.hidden_evses.add((location_pk, uid))
                moment = publication.evse_left_at(status_changed_at)
            else:
                moment = status_changed_at
            if newest is None or moment > newest:
                newest = moment
        snapshot.fingerprint.add_rows(marks)
        snapshot.last_modified = newest

    def document_jsons(self, snapshot: Snapshot) -> Iterator[str]:
        """The snapshot's locations as this audience is served them, each as JSON text
        (one by one: the response compresses the first while the later ones are spliced)."""
        hidden = snapshot.hidden_evses
        for stored in location_jsons(self.session, snapshot.ids, snapshot.evse_jsons, snapshot.row_jsons):
            location = stored.location
            # Only publish_allowed_to is changed by apply_to_location; a document without
            # the text cannot have the field and is served as stored.
            if '"publish_allowed_to"' in location:
                location = dumps_text(self.publication.apply_to_location(loads(location)))
            evses = [text for uid, text in stored.evses if (stored.location_pk, uid) not in hidden]
            yield splice_list(location, "evses", evses)

    def documents(self, snapshot: Snapshot) -> list[dict]:
        return [loads(document) for document in self.document_jsons(snapshot)]


class TariffSource(_Source):
    table = Tariff

    def condition(self):
        return Tariff.removed_at.is_(None)

    def documents(self, snapshot: Snapshot) -> list[dict]:
        return [row.data for row in self._rows(snapshot.ids)]
