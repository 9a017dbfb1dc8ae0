"""Writes normalized OCPI objects of one feed into the store, inside the caller's
transaction, and counts what was new, changed or unchanged."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Collection, Sequence

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from nap.ocpi.findings import ObjectFinding
from nap.jsonutil import JsonText, dumps_text
from nap.ocpi.ids import evse_operator, id_key
from nap.store.rows import Prepared, PreparedLocation, PreparedTariff
from nap.store.sources import CANDIDATE_COLUMNS, SourceMerger
from nap.store.status_history import STATUS_CHANGE_COLUMNS, StatusChange, status_change_values
from nap.store.tables import Connector, Evse, EvseStatusChange, Location, LocationSource, Tariff
from nap.store.types import UtcDateTime


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


# Batches smaller than this go as one executemany INSERT; larger ones as COPY (PostgreSQL).
_COPY_FROM_ROWS = 50
# Locations merged at a time (nap/store/sources.py): each holds every source's document
# decoded, its merge and its rows at once; a whole page of them raised a harvest's peak
# RSS by 70 MB, a fifth of one by 10 (bench/merge.py, 30,000 EVSEs).
_MERGE_BATCH = 200


class _BulkInsert:
    """Plain multi-row inserts for the rows a harvest writes by the thousand (locations,
    EVSEs, connectors, status history), on the session's own connection and transaction.

    The ORM's bulk INSERT ... RETURNING cost more than validating the objects: on SQLite it
    goes row by row (connectors need their EVSE's id), on PostgreSQL psycopg re-parses every
    large multi-row statement. Here ids are assigned before the insert: on PostgreSQL drawn
    from the table's own sequence (so concurrent writers never collide), on SQLite counted
    on from max(id), which is safe because SQLite has one writer at a time and a transaction
    that read before another's commit cannot write any more (SQLITE_BUSY_SNAPSHOT). Rows then
    go as one executemany (SQLite, small PostgreSQL batches) or COPY (larger PostgreSQL
    batches). Values are converted as the ORM would: datetimes by the column type's own bind
    processor, JSON through the engine's serializer (nap.jsonutil)."""

    def __init__(self, session: Session):
        session.flush()  # pending ORM objects first, as session.execute would
        connection = session.connection()
        self.dialect = connection.dialect
        self.postgres = self.dialect.name == "postgresql"
        self.dbapi = connection.connection.driver_connection
        self.time = UtcDateTime().dialect_impl(self.dialect).bind_processor(self.dialect) or (lambda value: value)
        self._next_id: dict[str, int] = {}
        self._sequences: dict[str, str] = {}
        transaction = id(session.get_transaction())
        if self.postgres and session.info.get("nap_lz4_transaction") != transaction:
            session.info["nap_lz4_transaction"] = transaction  # once per transaction
            self._prefer_lz4()

    def _prefer_lz4(self) -> None:
        """Large JSON values (a location's raw document with its EVSEs is ~5 kB) are
        compressed when stored; PostgreSQL's default pglz takes about half of the COPY time,
        lz4 half as much. For this transaction only (SET LOCAL) and only where the server
        was built with lz4; the values read back are the same either way."""
        cursor = self.dbapi.cursor()
        try:
            cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
            row = cursor.fetchone()
            if row and row[0]:
                cursor.execute("SET LOCAL default_toast_compression = 'lz4'")
        finally:
            cursor.close()

    def ids(self, table, count: int) -> list[int]:
        name = table.__tablename__
        if count == 0:
            return []
        cursor = self.dbapi.cursor()
        try:
            if self.postgres:
                sequence = self._sequences.get(name)
                if sequence is None:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (name,))
                    sequence = self._sequences[name] = cursor.fetchone()[0]
                cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (sequence, count))
                return sorted(row[0] for row in cursor.fetchall())
            start = self._next_id.get(name)
            if start is None:
                cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {name}")
                start = cursor.fetchone()[0]
            self._next_id[name] = start + count
            return list(range(start, start + count))
        finally:
            cursor.close()

    def insert(self, table, columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        name = table.__tablename__
        cursor = self.dbapi.cursor()
        try:
            if self.postgres and len(rows) >= _COPY_FROM_ROWS:
                with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marker = "%s" if self.postgres else "?"
                cursor.executemany(
                    f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})", rows)
        finally:
            cursor.close()


_LOCATION_COLUMNS = ("id", "feed_id", "country_code", "party_id", "ocpi_id", "id_key", "publish", "latitude", "longitude",
                     "last_updated", "data", "raw", "content_hash", "first_seen_at", "changed_at", "removed_at",
                     "static_changed_at")
_EVSE_COLUMNS = ("id", "location_pk", "position", "uid", "evse_id", "status", "status_changed_at", "last_updated",
                 "data")
_CONNECTOR_COLUMNS = ("evse_pk", "position", "ocpi_id", "standard", "power_type", "max_electric_power", "data")


def _folded(key: tuple[str, str, str]) -> tuple[str, str, str]:
    return key[0], key[1], id_key(key[2])


class FeedWriter:
    def __init__(self, session: Session, feed_id: int, now: datetime, parties: Collection[tuple[str, str]],
                 via: str = "pull"):
        """`parties`: the country_code/party_id pairs verified for the feed (nap.parties);
        an object under any other pair is refused with a finding."""
        self.session = session
        self.feed_id = feed_id
        self.now = now
        self.parties = frozenset(parties)
        self.via = via  # "pull" or "push", for the status history
        self.findings: list[ObjectFinding] = []
        self.stale = 0  # objects older than what the store holds (a newer push won)
        # The units of the locations refused because their party is not verified for the
        # feed (each with an error finding): the normalizer counted them stored, the run
        # counts them skipped.
        self.refused_units = {"locations": 0, "evses": 0, "connectors": 0}
        self.refused_objects = 0  # locations and tariffs
        # Status changes of EVSEs the store knew, stamped with the run's time until restamped.
        self.known_status_changes = 0
        # What the feed served, refused or not: evidence for an administrator deciding on
        # its party claims (nap.parties.evidence). Objects per pair, EVSEs per eMI3 operator.
        self.parties_served: Counter[str] = Counter()
        self.evse_operators: Counter[str] = Counter()
        # Locations that other sources describe too are merged (nap/store/sources.py).
        self.merger = SourceMerger(session, feed_id, now, self.parties, self._rewrite, self._insert_candidates)

    # -- shared --------------------------------------------------------------------------

    def _existing(self, table, keys: list[tuple[str, str, str]]) -> dict[tuple, object]:
        """The stored rows of these keys, whichever feed they belong to, in one query per
        country_code/party_id pair (a feed has one or a few), shaped so that each key is one
        lookup in the unique index. A row IN list of (country_code, party_id, id) tuples, or
        `ocpi_id = ANY(...)` or a join on PostgreSQL, read every row of the pair instead (the
        index on the first two columns with the id as a filter, or a scan for a hash join):
        each page cost more than the last, and a large harvest was quadratic."""
        if not keys:
            return {}
        by_party: dict[tuple[str, str], list[str]] = {}
        for country_code, party_id, key in keys:
            by_party.setdefault((country_code, party_id), []).append(key)
        columns = (table.id, table.feed_id, table.country_code, table.party_id, table.id_key,
                   table.content_hash, table.removed_at, table.last_updated)
        postgres = self.session.get_bind().dialect.name == "postgresql"
        found = {}
        for (country_code, party_id), ids in by_party.items():
            if postgres:
                # One index probe per id whatever the planner believes about a table that grows
                # inside this very transaction (its statistics say it is empty): LATERAL with
                # LIMIT 1 (the key is unique) cannot be flattened into a hash join, which
                # scanned every row of the party.
                query = text(
                    f"SELECT t.id, t.feed_id, t.country_code, t.party_id, t.id_key, t.content_hash, t.removed_at,"
                    f" t.last_updated FROM unnest(CAST(:ids AS text[])) AS k(id_key) CROSS JOIN LATERAL"
                    f" (SELECT * FROM {table.__tablename__} s WHERE s.country_code = :country_code"
                    f" AND s.party_id = :party_id AND s.id_key = k.id_key LIMIT 1) AS t"
                ).columns(*columns).bindparams(ids=ids, country_code=country_code, party_id=party_id)
            else:
                query = select(*columns).where(table.country_code == country_code, table.party_id == party_id,
                                               table.id_key.in_(ids))
            found.update({(r.country_code, r.party_id, r.id_key): r for r in self.session.execute(query)})
        return found

    def _plan(self, kind: str, table, items: Sequence[Prepared]):
        """Sort a page's objects into new, changed and unchanged; refuse objects under a
        party that is not verified for the feed. Ids match case-insensitively."""
        latest = {}
        for item in items:
            key = item.key
            self.parties_served[f"{key[0]}/{key[1]}"] += 1
            if isinstance(item, PreparedLocation):
                self._tally_operators(item)
            if key[:2] in self.parties:
                latest[_folded(key)] = item  # last one wins within a page
            else:
                self._refuse(kind, key, item)
        existing = self._existing(table, list(latest))
        new, changed, counts = [], [], WriteCounts()
        merging = {}
        if table is Location and self.merger.active():
            merging = self.merger.route(latest, existing)
        for folded, item in latest.items():
            if folded in merging:
                continue
            digest, last_updated = item.content_hash, item.last_updated
            row = existing.get(folded)
            if row is None:
                new.append(item)
                counts.new += 1
            elif row.feed_id != self.feed_id and row.removed_at is None and self._defers_to(row.feed_id, folded):
                # A tariff another verified source of the pair publishes, with as much
                # authority or more (the party's own feed, for a hub): its copy stands. (A
                # location it publishes was routed to a merge already.)
                counts.unchanged += 1
            elif row.feed_id != self.feed_id:
                # Stored by another feed before the pair was verified for this one (or moved
                # here), or by a less authoritative source: this copy replaces it.
                changed.append((row.id, item))
                counts.changed += 1
            elif row.content_hash == digest and row.removed_at is None:
                counts.unchanged += 1
            elif row.removed_at is None and row.last_updated > last_updated:
                # Pushes and pulls converge by last_updated: an older copy never overwrites
                # a newer one (a pull that started before a push arrived, for example).
                self.stale += 1
                counts.unchanged += 1
            else:
                changed.append((row.id, item))
                counts.changed += 1
        return new, changed, counts, [(latest[folded], target) for folded, target in merging.items()]

    def _defers_to(self, holder_feed_id: int, folded: tuple[str, str, str]) -> bool:
        if not self.merger.active() or holder_feed_id not in self.merger.other_sources().get(folded[:2], ()):
            return False
        return self.merger.authority_of(holder_feed_id) <= self.merger.authority_of(self.feed_id)

    def _refuse(self, kind: str, key: tuple[str, str, str], item: object) -> None:
        self.refused_objects += 1
        self.findings.append(ObjectFinding(
            kind, key[2], "party_id",
            f"{key[0]}/{key[1]} is not a verified party of this feed; object skipped (an administrator of the"
            " access point verifies the parties a feed claims)"))
        if isinstance(item, PreparedLocation):
            self.refused_units["locations"] += 1
            self.refused_units["evses"] += len(item.evses)
            self.refused_units["connectors"] += sum(len(evse.connectors) for evse in item.evses)

    def _tally_operators(self, location: PreparedLocation) -> None:
        for evse in location.evses:
            operator = evse.evse_id and evse_operator(evse.evse_id)
            if operator:
                self.evse_operators[operator] += 1

    # -- locations -----------------------------------------------------------------------

    def _key_columns(self, key: tuple[str, str, str]) -> dict:
        country_code, party_id, ocpi_id = key
        return {"feed_id": self.feed_id, "country_code": country_code, "party_id": party_id, "ocpi_id": ocpi_id,
                "id_key": id_key(ocpi_id)}

    def _location_columns(self, location: PreparedLocation, feed_id: int | None = None) -> dict:
        """A location row's values but for id, data, raw and first_seen_at."""
        return {
            **self._key_columns(location.key),
            **({"feed_id": feed_id} if feed_id is not None else {}),
            "publish": location.publish,
            "latitude": location.latitude,
            "longitude": location.longitude,
            "last_updated": location.last_updated,
            "content_hash": location.content_hash,
            **Location.change_stamps(self.now),
            "removed_at": None,
        }

    def _previous_statuses(self, location_pks: list[int]) -> dict[tuple[int, str], tuple[str, datetime]]:
        rows = self.session.execute(
            select(Evse.location_pk, Evse.uid, Evse.status, Evse.status_changed_at)
            .where(Evse.location_pk.in_(location_pks))
        ).all()
        return {(r.location_pk, r.uid): (r.status, r.status_changed_at) for r in rows}

    def _insert_children(self, bulk: _BulkInsert, location_pks: list[int], locations: Sequence[PreparedLocation],
                         previous: dict[tuple[int, str], tuple[str, datetime]] | None = None) -> None:
        previous = previous or {}
        time = bulk.time
        now = time(self.now)
        evses, changes = [], []
        for location_pk, location in zip(location_pks, locations):
            for position, evse in enumerate(location.evses):
                old_status, old_changed_at = previous.get((location_pk, evse.uid), (None, None))
                last_updated = time(evse.last_updated)
                if old_status != evse.status:
                    self.known_status_changes += old_status is not None
                    # Times in the driver's form: the bulk insert bypasses the column types.
                    changes.append(status_change_values(
                        self.feed_id, StatusChange(location_pk, evse.uid, old_status, evse.status, last_updated),
                        now, self.via))
                evses.append((location_pk, position, evse.uid, evse.evse_id, evse.status,
                              now if old_status != evse.status else time(old_changed_at), last_updated, evse.data,
                              evse.connectors))
        bulk.insert(EvseStatusChange, STATUS_CHANGE_COLUMNS, changes)
        if not evses:
            return
        evse_rows, connector_rows = [], []
        for evse_pk, (*evse_values, connectors) in zip(bulk.ids(Evse, len(evses)), evses):
            evse_rows.append((evse_pk, *evse_values))
            for index, connector in enumerate(connectors):
                connector_rows.append((evse_pk, index, *connector))
        bulk.insert(Evse, _EVSE_COLUMNS, evse_rows)
        bulk.insert(Connector, _CONNECTOR_COLUMNS, connector_rows)

    def write_locations(self, locations: Sequence[PreparedLocation]) -> WriteCounts:
        """Store locations prepared by nap.store.rows.prepare_location."""
        new, changed, counts, merging = self._plan("location", Location, locations)
        for start in range(0, len(merging), _MERGE_BATCH):
            merged_new, merged_changed, merged_unchanged, stale = self.merger.write(merging[start:start + _MERGE_BATCH])
            counts.add(WriteCounts(merged_new, merged_changed, merged_unchanged + stale))
            self.stale += stale
        if not new and not changed:
            return counts
        bulk = _BulkInsert(self.session)
        if new:
            time, now = bulk.time, bulk.time(self.now)  # the bulk insert takes the driver's form
            pks = bulk.ids(Location, len(new))
            rows = []
            for pk, location in zip(pks, new):
                values = {**self._location_columns(location), "id": pk, "data": location.data, "raw": location.raw,
                          "last_updated": time(location.last_updated), "first_seen_at": now,
                          **Location.change_stamps(now)}
                rows.append(tuple(values[c] for c in _LOCATION_COLUMNS))
            bulk.insert(Location, _LOCATION_COLUMNS, rows)
            self._insert_children(bulk, pks, new)
        if changed:
            self._rewrite([(pk, self.feed_id, location) for pk, location in changed], bulk)
        return counts

    def _insert_candidates(self, rows: list[dict]) -> None:
        """New candidates (nap/store/sources.py), by COPY on PostgreSQL: each holds a whole
        document, and an executemany of them was a sixth of a hub's harvest."""
        bulk = _BulkInsert(self.session)
        time = bulk.time
        bulk.insert(LocationSource, CANDIDATE_COLUMNS, [
            tuple(time(row[name]) if name in ("last_updated", "seen_at")
                  else dumps_text(row[name]) if name in ("document", "conflicts") and row[name] is not None
                  else row[name] for name in CANDIDATE_COLUMNS)
            for row in rows])

    def _rewrite(self, rows: list[tuple[int, int, PreparedLocation]], bulk: _BulkInsert | None = None) -> None:
        """Write new content into published rows (location pk, the feed it is published
        for, the location): the row, and its EVSEs and connectors replaced wholesale (the
        document is the truth for the location)."""
        bulk = bulk or _BulkInsert(self.session)
        pks = [pk for pk, _, _ in rows]
        previous = self._previous_statuses(pks)
        self.session.execute(
            update(Location),
            [{"id": pk, **self._location_columns(location, feed_id), "data": JsonText(location.data),
              "raw": JsonText(location.raw)} for pk, feed_id, location in rows],
        )
        self.session.execute(delete(Evse).where(Evse.location_pk.in_(pks)))
        self._insert_children(bulk, pks, [location for _, _, location in rows], previous)

    # -- tariffs -------------------------------------------------------------------------

    def write_tariffs(self, tariffs: Sequence[PreparedTariff]) -> WriteCounts:
        """Store tariffs prepared by nap.store.rows.prepare_tariff."""
        new, changed, counts, _ = self._plan("tariff", Tariff, tariffs)

        def columns(tariff: PreparedTariff) -> dict:
            return {
                **self._key_columns(tariff.key),
                "last_updated": tariff.last_updated,
                "data": JsonText(tariff.data),
                "raw": JsonText(tariff.raw),
                "content_hash": tariff.content_hash,
                "changed_at": self.now,
                "removed_at": None,
            }

        if new:
            self.session.execute(
                insert(Tariff), [{**columns(tariff), "first_seen_at": self.now} for tariff in new]
            )
        if changed:
            self.session.execute(
                update(Tariff), [{"id": pk, **columns(tariff)} for pk, tariff in changed]
            )
        return counts

    def restamp_changes(self, commit_time: datetime) -> None:
        """Give this run's location changes the time they become visible (just before
        commit), not the run's start: otherwise a long run committing after a shorter, later
        one would publish changes dated before what clients already saw (Last-Modified would
        lag). restamp_dynamic does the same for what status deltas read, last."""
        self.session.execute(update(Location).where(Location.feed_id == self.feed_id, Location.changed_at == self.now)
                             .values(Location.change_stamps(commit_time)))
        written = sorted(self.merger.written)  # merges published for another feed's row
        for start in range(0, len(written), 1000):
            self.session.execute(update(Location).where(Location.id.in_(written[start:start + 1000]),
                                                        Location.changed_at == self.now)
                                 .values(Location.change_stamps(commit_time)))

    def restamp_dynamic(self, commit_time: datetime) -> None:
        """The run's tariff changes and status changes of known EVSEs dated `commit_time`,
        to be the run's last statement: status deltas (and the DATEX II status segments,
        within their OVERLAP of a commit) ask for what changed after a time, and a change
        dated at the run's start, visible only at its end, would be in none. The first
        statuses of EVSEs new to the store keep the run's time (a first harvest's million
        rows): those EVSEs come with a new table, and their statuses with the next snapshot.
        A tariff new to the store is first seen when it is changed: so it is no ad hoc price
        change (exporters.datex2.source.changed_tariff_evses)."""
        self.session.execute(update(Tariff).where(Tariff.feed_id == self.feed_id, Tariff.changed_at == self.now,
                                                  Tariff.first_seen_at == self.now)
                             .values(first_seen_at=commit_time, **Tariff.change_stamps(commit_time)))
        self.session.execute(update(Tariff).where(Tariff.feed_id == self.feed_id, Tariff.changed_at == self.now)
                             .values(Tariff.change_stamps(commit_time)))
        if self.known_status_changes:
            self.session.execute(update(EvseStatusChange).where(
                EvseStatusChange.feed_id == self.feed_id, EvseStatusChange.received_at == self.now,
                EvseStatusChange.via == self.via, EvseStatusChange.old_status.is_not(None))
                .values(received_at=commit_time))

    # -- removals ------------------------------------------------------------------------

    def mark_unseen_removed(self, table, seen_ids: set[str], changed_before: datetime) -> int:
        """After a full sync: what the CPO no longer serves is marked removed (kept for
        history, hidden from publication later). Objects served but invalid count as seen,
        so a broken update never deletes the last good version. Ids are compared without
        country_code/party_id because a broken object may lack them. Objects that changed
        after the run started (pushed meanwhile) are not the run's to judge."""
        removed = 0
        rows = self.session.execute(
            select(table.id, table.id_key)
            .where(table.feed_id == self.feed_id, table.removed_at.is_(None), table.changed_at < changed_before)
        ).all()
        seen_keys = {id_key(object_id) for object_id in seen_ids}
        gone = [r.id for r in rows if r.id_key not in seen_keys]
        if table is Location:
            # A location other sources describe too loses this feed's copy, not its row.
            merged = self.merger.merged_pks(gone)
            gone = [pk for pk in gone if pk not in merged]
            removed += self.merger.drop_unseen(seen_keys, changed_before)
        for start in range(0, len(gone), 1000):
            chunk = gone[start : start + 1000]
            self.session.execute(
                update(table).where(table.id.in_(chunk)).values(removed_at=self.now, **table.change_stamps(self.now))
            )
            removed += len(chunk)
        return removed


def drop_feed_sources(session: Session, feed_id: int, now: datetime, pair: tuple[str, str] | None = None) -> int:
    """A feed leaves (withdrawn) or loses a pair (revoked): its copies leave the locations
    several sources describe, which stay published from the others (nap/store/sources.py).
    Returns how many locations it was one of the sources of."""
    query = select(LocationSource.id, LocationSource.location_pk).where(LocationSource.feed_id == feed_id)
    if pair is not None:
        query = query.where(LocationSource.country_code == pair[0], LocationSource.party_id == pair[1])
    rows = session.execute(query).all()
    if rows:
        writer = FeedWriter(session, feed_id, now, parties=())
        writer.merger.drop([row.id for row in rows], [row.location_pk for row in rows])
    return len({row.location_pk for row in rows})
