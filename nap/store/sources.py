"""Several sources of one location in the store: which sources describe it, what each said,
and the merged row that is published (rules: nap/merge/rules.py, docs/merge-rules.md).

A location most feeds publish has one source, and its row is that source's document: no
candidate is kept and a harvest writes as before. When a second source describes the same
charger (the same key, the same eMI3 EVSE id, or for an aggregator the same place) every
source's copy is kept in `location_sources`, and the row becomes their merge. Any source's
change merges again; a source that stops serving the location (or leaves) is dropped from
its candidates, and the others stay published.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Callable, Iterable, Sequence

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from nap.jsonutil import JsonText, dumps_bytes, loads
from nap.merge.matching import Place, best_match, degrees_around
from nap.merge.rules import Merged, Source, merge
from nap.ocpi.ids import id_key, normalized_evse_id
from nap.store.documents import assemble_locations, location_jsons, splice_list
from nap.store.rows import PreparedLocation, content_hash, prepare_location, prepare_location_document
from nap.store.states import AUTHORITY_ORDER, ClaimState, FeedKind, MatchKind
from nap.store.tables import EVSE_KEY, Evse, Feed, FeedParty, Location, LocationSource


@dataclass(frozen=True)
class Target:
    """The published location a source's object belongs to, and how it was found."""

    location_pk: int
    match: str = MatchKind.KEY
    confirmed: bool = True
    note: str | None = None
    absorbs: int | None = None  # the source's own row, published apart so far
    published_hash: str | None = None  # the content hash of the row found by key, as read


#: Rewrites published rows: (location pk, feed id of the row, merged location).
Rewrite = Callable[[list[tuple[int, int, PreparedLocation]]], None]
#: Inserts new candidates (Candidate.values() of each) in bulk.
InsertCandidates = Callable[[list[dict]], None]


def document_text(item: PreparedLocation) -> str:
    """The same document in JSON text, spliced from the prepared texts without decoding."""
    return splice_list(item.data, "evses", [splice_list(evse.data, "connectors", [c.data for c in evse.connectors])
                                            for evse in item.evses])


def document_of(item: PreparedLocation) -> dict:
    """The full normalized document a prepared location was made of."""
    document = loads(item.data)
    document["evses"] = [{**loads(evse.data), "connectors": [loads(c.data) for c in evse.connectors]}
                         for evse in item.evses]
    return document


def authority(kind: str | None) -> int:
    return AUTHORITY_ORDER.index(FeedKind(kind or FeedKind.CPO))


def feed_names(session: Session, feed_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """feed id -> (name, kind)."""
    ids = sorted(set(feed_ids))
    if not ids:
        return {}
    return {row.id: (row.name, row.kind or FeedKind.CPO)
            for row in session.execute(select(Feed.id, Feed.name, Feed.kind).where(Feed.id.in_(ids)))}


@dataclass
class Candidate:
    """One source's copy of a location (a row of location_sources, or one to be written:
    id None). Plain values, not ORM objects: a hub's harvest handles tens of thousands."""

    location_pk: int
    feed_id: int
    country_code: str
    party_id: str
    ocpi_id: str
    id_key: str
    match: str
    confirmed: bool
    document: dict | None  # None only where `text` holds it (a copy kept undecoded)
    last_updated: datetime
    content_hash: str
    seen_at: datetime
    match_note: str | None = None
    conflicts: list | None = None
    id: int | None = None
    dirty: bool = False  # its content changed and is to be written
    text: str | None = None  # `document` in JSON text, when at hand: written as it is

    def values(self) -> dict:
        values = {name: getattr(self, name) for name in CANDIDATE_COLUMNS}
        if self.text is not None:
            values["document"] = JsonText(self.text)
        return values


CANDIDATE_COLUMNS = ("location_pk", "feed_id", "country_code", "party_id", "ocpi_id", "id_key", "match",
                     "confirmed", "document", "last_updated", "content_hash", "seen_at", "match_note", "conflicts")


def candidates_of(session: Session, location_pks: Sequence[int]) -> dict[int, list[Candidate]]:
    """location pk -> its candidates, oldest first."""
    found: dict[int, list[Candidate]] = {}
    columns = [getattr(LocationSource, name) for name in (*CANDIDATE_COLUMNS, "id")]
    for start in range(0, len(location_pks), 1000):
        chunk = list(location_pks[start:start + 1000])
        for row in session.execute(select(*columns).where(LocationSource.location_pk.in_(chunk))
                                   .order_by(LocationSource.id)):
            found.setdefault(row.location_pk, []).append(Candidate(**row._mapping))
    return found


def sources_for_merge(candidates: Sequence[Candidate], names: dict[int, tuple[str, str]]) -> list[Source]:
    return [Source(c.feed_id, names[c.feed_id][0], names[c.feed_id][1], authority(names[c.feed_id][1]),
                   c.document, c.match, c.confirmed) for c in candidates]


class SourceMerger:
    """The several-sources side of one feed's writes (nap/store/writer.py FeedWriter)."""

    def __init__(self, session: Session, feed_id: int, now: datetime, parties: frozenset[tuple[str, str]],
                 rewrite: Rewrite, insert_candidates: InsertCandidates):
        self.session = session
        self.feed_id = feed_id
        self.now = now
        self.parties = parties
        self.rewrite = rewrite
        self.insert_candidates = insert_candidates
        self._kind: FeedKind | None = None
        self._others: dict[tuple[str, str], set[int]] | None = None
        self._active: bool | None = None
        self.written: set[int] = set()  # location pks this run rewrote as merges
        # Off for a location an administrator split from the one it was matched with by place.
        self.match_by_place = True
        self._names: dict[int, tuple[str, str]] = {}

    def names(self, feed_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """feed id -> (name, kind), read once per feed and writer."""
        missing = set(feed_ids) - set(self._names)
        if missing:
            self._names.update(feed_names(self.session, missing))
        return self._names

    def authority_of(self, feed_id: int) -> int:
        return authority(self.names([feed_id])[feed_id][1])

    # -- when to look ------------------------------------------------------------------

    @property
    def kind(self) -> FeedKind:
        if self._kind is None:
            self._kind = FeedKind(self.session.scalar(select(Feed.kind).where(Feed.id == self.feed_id))
                                  or FeedKind.CPO)
        return self._kind

    def other_sources(self) -> dict[tuple[str, str], set[int]]:
        """For the feed's pairs: the other feeds verified on them (own or carried claims)."""
        if self._others is None:
            self._others = {}
            if self.parties:
                rows = self.session.execute(select(FeedParty.country_code, FeedParty.party_id, FeedParty.feed_id).where(
                    FeedParty.state == ClaimState.VERIFIED, FeedParty.feed_id != self.feed_id,
                    FeedParty.country_code.in_(sorted({p[0] for p in self.parties})),
                    FeedParty.party_id.in_(sorted({p[1] for p in self.parties}))))
                for country_code, party_id, feed_id in rows:
                    if (country_code, party_id) in self.parties:
                        self._others.setdefault((country_code, party_id), set()).add(feed_id)
        return self._others

    def active(self) -> bool:
        """Whether this feed's objects may meet another source's at all. A CPO alone on its
        parties, in a store that keeps no candidates, writes as if merging did not exist."""
        if self._active is None:
            self._active = (self.kind != FeedKind.CPO or bool(self.other_sources())
                            or self.session.scalar(select(LocationSource.id).limit(1)) is not None)
        return self._active

    # -- which published location an object belongs to ------------------------------------

    def route(self, latest: dict[tuple[str, str, str], PreparedLocation], existing: dict) -> dict[tuple, Target]:
        """The objects of a page that go to a merge, by their folded key."""
        targets: dict[tuple, Target] = {}
        merged = self._with_candidates([row.id for row in existing.values()])
        others = self.other_sources()
        unmatched = []
        for folded, item in latest.items():
            row = existing.get(folded)
            if row is not None and row.id in merged:
                targets[folded] = Target(row.id)
            elif row is not None and row.feed_id != self.feed_id and row.removed_at is None \
                    and row.feed_id in others.get(folded[:2], ()):
                # Another verified source published it: both are kept.
                targets[folded] = Target(row.id, published_hash=row.content_hash)
            elif self.kind != FeedKind.CPO and (row is None or row.feed_id == self.feed_id):
                unmatched.append((folded, item, row))
            elif row is None and folded[:2] in others:
                unmatched.append((folded, item, row))
        if unmatched:
            targets.update(self._match(unmatched))
        return targets

    def _with_candidates(self, location_pks: list[int]) -> set[int]:
        found: set[int] = set()
        for start in range(0, len(location_pks), 1000):
            chunk = location_pks[start:start + 1000]
            found.update(self.session.scalars(select(LocationSource.location_pk).where(
                LocationSource.location_pk.in_(chunk)).distinct()))
        return found

    def _match(self, unmatched: list[tuple[tuple, PreparedLocation, object]]) -> dict[tuple, Target]:
        targets: dict[tuple, Target] = {}
        # Objects this feed already gave as a source, under their own keys.
        keys = {}
        for folded, _, _ in unmatched:
            keys.setdefault(folded[:2], []).append(folded[2])
        for (country_code, party_id), key_list in keys.items():
            for start in range(0, len(key_list), 1000):
                for key, location_pk in self._own_candidates(country_code, party_id, key_list[start:start + 1000]):
                    targets[(country_code, party_id, key)] = Target(location_pk)
        rest = [entry for entry in unmatched if entry[0] not in targets]
        by_evse = self._by_evse_ids([item for _, item, _ in rest])
        for folded, item, row in rest:
            found = by_evse.get(id(item))
            absorbs = row.id if row is not None else None
            if found is not None and found != absorbs:
                targets[folded] = Target(found, MatchKind.EVSE_ID, absorbs=absorbs)
            elif self.kind == FeedKind.AGGREGATOR and row is None and self.match_by_place:
                nearby = self._nearby(item)
                if nearby is not None:
                    targets[folded] = Target(nearby[0], MatchKind.NEARBY, confirmed=False, note=nearby[1])
        return targets

    def _own_candidates(self, country_code: str, party_id: str, keys: list[str]) -> list[tuple[str, int]]:
        """(id_key, location pk) of this feed's candidates under these keys of the pair."""
        if self.session.get_bind().dialect.name == "postgresql":
            # One index probe per key, as FeedWriter._existing does: the table grows inside
            # this transaction, and with the statistics of before the planner scanned all of
            # it for each page (a hub's harvest of 100,000 EVSEs spent a tenth of its time so).
            query = text(
                "SELECT t.id_key, t.location_pk FROM unnest(CAST(:keys AS text[])) AS k(id_key) CROSS JOIN LATERAL"
                " (SELECT s.id_key, s.location_pk FROM location_sources s WHERE s.feed_id = :feed_id"
                " AND s.country_code = :country_code AND s.party_id = :party_id AND s.id_key = k.id_key LIMIT 1) AS t"
            ).bindparams(keys=keys, feed_id=self.feed_id, country_code=country_code, party_id=party_id)
        else:
            query = select(LocationSource.id_key, LocationSource.location_pk).where(
                LocationSource.feed_id == self.feed_id, LocationSource.country_code == country_code,
                LocationSource.party_id == party_id, LocationSource.id_key.in_(keys))
        return [tuple(row) for row in self.session.execute(query)]

    def _by_evse_ids(self, items: list[PreparedLocation]) -> dict[int, int]:
        """id(item) -> the pk of another feed's published location holding most of the
        item's EVSE ids (compared normalized: with or without '*', in any case)."""
        wanted: dict[str, set[int]] = {}
        for item in items:
            for evse in item.evses:
                if evse.evse_id:
                    wanted.setdefault(normalized_evse_id(evse.evse_id), set()).add(id(item))
        if not wanted:
            return {}
        keys = sorted(wanted)
        found: list[tuple[str, int]] = []
        for start in range(0, len(keys), 1000):
            # The EVSEs by their index alone, their locations after: a join here let the
            # planner scan every location for each page.
            found += self.session.execute(select(EVSE_KEY, Evse.location_pk).where(
                EVSE_KEY.in_(keys[start:start + 1000]))).all()
        others = self._published_by_others(sorted({location_pk for _, location_pk in found}))
        votes: dict[int, dict[int, int]] = {}
        for evse_key, location_pk in found:
            if location_pk not in others:
                continue
            for item_key in wanted.get(evse_key, ()):
                tally = votes.setdefault(item_key, {})
                tally[location_pk] = tally.get(location_pk, 0) + 1
        return {item_key: max(tally, key=lambda pk: (tally[pk], -pk)) for item_key, tally in votes.items()}

    def _published_by_others(self, location_pks: list[int]) -> set[int]:
        found: set[int] = set()
        for start in range(0, len(location_pks), 1000):
            found.update(self.session.scalars(select(Location.id).where(
                Location.id.in_(location_pks[start:start + 1000]), Location.feed_id != self.feed_id,
                Location.removed_at.is_(None))))
        return found

    def _nearby(self, item: PreparedLocation) -> tuple[int, str] | None:
        place = Place.of(document_of(item))
        if place is None:
            return None
        dlat, dlon = degrees_around(place.latitude)
        rows = self.session.execute(select(Location.id, Location.latitude, Location.longitude, Location.data).where(
            Location.latitude.between(place.latitude - dlat, place.latitude + dlat),
            Location.longitude.between(place.longitude - dlon, place.longitude + dlon),
            Location.removed_at.is_(None), Location.feed_id != self.feed_id)).all()
        if not rows:
            return None
        counts = dict(self.session.execute(select(Evse.location_pk, func.count()).where(
            Evse.location_pk.in_([r.id for r in rows])).group_by(Evse.location_pk)).all())
        candidates = []
        for row in rows:
            other = Place.of({**row.data, "coordinates": {"latitude": row.latitude, "longitude": row.longitude}})
            if other is not None:
                candidates.append((row.id, replace(other, evse_count=counts.get(row.id, 0))))
        return best_match(place, candidates)

    # -- writing -------------------------------------------------------------------------

    def write(self, routed: list[tuple[PreparedLocation, Target]]) -> tuple[int, int, int, int]:
        """Keep each object as its source's candidate and merge its location again.
        Returns (new, changed, unchanged, stale) counts of the objects."""
        pks = sorted({target.location_pk for _, target in routed})
        candidates = candidates_of(self.session, pks)
        alike = self._alike(routed, {pk for pk in pks if not candidates.get(pk)})
        if alike:
            self._adopt_alike(alike)
            routed = [(item, target) for item, target in routed if target.location_pk not in alike]
        starting = [pk for pk in pks if not candidates.get(pk) and pk not in alike]
        if starting:
            candidates.update(self._adopt(starting))
        new, changed, unchanged, stale = len(alike), 0, 0, 0
        touched: set[int] = set()
        absorbed = []
        for item, target in routed:
            country_code, party_id, ocpi_id = item.key
            key = (country_code, party_id, id_key(ocpi_id))
            own = candidates.setdefault(target.location_pk, [])
            mine = next((c for c in own if c.feed_id == self.feed_id
                         and (c.country_code, c.party_id, c.id_key) == key), None)
            if mine is None:
                own.append(Candidate(target.location_pk, self.feed_id, *key[:2], ocpi_id, key[2], target.match,
                                     target.confirmed, document_of(item), item.last_updated, item.content_hash,
                                     self.now, target.note, dirty=True, text=document_text(item)))
                new += 1
            elif mine.content_hash == item.content_hash:
                unchanged += 1
                continue
            elif mine.last_updated > item.last_updated:
                stale += 1  # pushes and pulls converge by last_updated, as for a published row
                continue
            else:
                mine.ocpi_id, mine.document, mine.last_updated = ocpi_id, document_of(item), item.last_updated
                mine.content_hash, mine.seen_at, mine.dirty = item.content_hash, self.now, True
                mine.text = document_text(item)
                changed += 1
            if target.absorbs is not None:
                absorbed.append(target.absorbs)
            touched.add(target.location_pk)
        if absorbed:
            # The source's own row published its copy apart; it is one of the sources now.
            self.session.execute(update(Location).where(Location.id.in_(absorbed)).values(
                removed_at=self.now, **Location.change_stamps(self.now)))
        self._publish({pk: candidates[pk] for pk in sorted(touched)})
        return new, changed, unchanged, stale

    @staticmethod
    def _alike(routed: list[tuple[PreparedLocation, Target]], starting: set[int]) -> dict[int, PreparedLocation]:
        """The objects that join a location with one source so far as a copy equal to it
        (a hub relaying the party's own data as it is): by location pk."""
        joining: dict[int, list[tuple[PreparedLocation, Target]]] = {}
        for item, target in routed:
            if target.location_pk in starting:
                joining.setdefault(target.location_pk, []).append((item, target))
        return {pk: pairs[0][0] for pk, pairs in joining.items()
                if len(pairs) == 1 and pairs[0][0].content_hash == pairs[0][1].published_hash}

    def _adopt_alike(self, alike: dict[int, PreparedLocation]) -> None:
        """Both copies are kept, in JSON text as stored and as served, none decoded: their
        merge is either of them, so the published row stays as it is and agrees with both."""
        pks = sorted(alike)
        rows = {row.id: row for row in self._published_rows(pks)}
        copies = []
        for stored in location_jsons(self.session, pks):
            row, item = rows[stored.location_pk], alike[stored.location_pk]
            country_code, party_id, ocpi_id = item.key
            copies.append(self._own_copy(row, None, text=splice_list(stored.location, "evses",
                                                                     [text for _, text in stored.evses])))
            copies.append(Candidate(row.id, self.feed_id, country_code, party_id, ocpi_id, id_key(ocpi_id),
                                    MatchKind.KEY, True, None, item.last_updated, item.content_hash, self.now,
                                    text=document_text(item)))
        self.insert_candidates([copy.values() for copy in copies])

    def _adopt(self, location_pks: list[int]) -> dict[int, list[Candidate]]:
        """A published row gets its first other source: its own document becomes the
        candidate of the feed that published it (written with the merge)."""
        rows = self._published_rows(location_pks, Location.data)
        return {row.id: [self._own_copy(row, document)]
                for row, document in zip(rows, assemble_locations(self.session, rows))}

    def _published_rows(self, location_pks: list[int], *more) -> list:
        return self.session.execute(select(
            Location.id, Location.feed_id, Location.country_code, Location.party_id, Location.ocpi_id,
            Location.id_key, Location.last_updated, Location.content_hash, Location.changed_at, *more)
            .where(Location.id.in_(location_pks))).all()

    @staticmethod
    def _own_copy(row, document: dict | None, text: str | None = None) -> Candidate:
        """The candidate of the feed a published row belongs to: the row's own document."""
        return Candidate(row.id, row.feed_id, row.country_code, row.party_id, row.ocpi_id, row.id_key,
                         MatchKind.KEY, True, document, row.last_updated, row.content_hash, row.changed_at,
                         dirty=True, text=text)

    def remerge(self, location_pks: Sequence[int]) -> None:
        """Publish each location again from its stored candidates (after some were dropped)."""
        if location_pks:
            candidates = candidates_of(self.session, list(location_pks))
            self._publish({pk: candidates.get(pk, []) for pk in location_pks})

    def _publish(self, locations: dict[int, list[Candidate]]) -> None:
        """Write each location's candidates and publish it again: with none left it is
        removed; with one left under the row's own key the row is that source's again (and
        the copy is no longer kept twice); else the row is their merge."""
        if not locations:
            return
        rows = {row.id: row for row in self.session.execute(select(
            Location.id, Location.feed_id, Location.country_code, Location.party_id, Location.ocpi_id,
            Location.content_hash, Location.removed_at).where(Location.id.in_(list(locations))))}
        names = self.names(c.feed_id for own in locations.values() for c in own)
        rewrites, gone, dropped, inserts, updates = [], [], [], [], []
        for pk, own in locations.items():
            row = rows.get(pk)
            if row is None:
                continue
            if not own:
                gone.append(pk)
                continue
            if len(own) == 1 and (own[0].country_code, own[0].party_id, own[0].id_key) == \
                    (row.country_code, row.party_id, id_key(row.ocpi_id)):
                single = own[0]
                if single.id is not None:
                    dropped.append(single.id)
                text = dumps_bytes(single.document)
                rewrites.append((pk, single.feed_id, prepare_location(text, text)))
                continue
            sources = sources_for_merge(own, names)
            result = merge(sources, identity={"country_code": row.country_code, "party_id": row.party_id,
                                              "id": row.ocpi_id}, explain=False)
            for candidate in own:
                conflicts = [c.as_dict() for c in result.conflicts_of(candidate.feed_id)] or None
                if candidate.id is None:
                    candidate.conflicts = conflicts
                    inserts.append(candidate.values())
                elif candidate.dirty or conflicts != candidate.conflicts:
                    candidate.conflicts = conflicts
                    updates.append({"id": candidate.id, **candidate.values()})
            head = result.head
            if row.removed_at is None and row.feed_id == head.feed_id \
                    and content_hash(result.document) == row.content_hash:
                continue  # published as it is already (a source's change the merge does not show)
            rewrites.append((pk, head.feed_id, prepare_location_document(result.document,
                                                                         dumps_bytes(result.document))))
        if dropped:
            self.session.execute(delete(LocationSource).where(LocationSource.id.in_(dropped)))
        if inserts:
            self.insert_candidates(inserts)
        if updates:
            self.session.execute(update(LocationSource), updates)
        if gone:
            self.session.execute(update(Location).where(Location.id.in_(gone), Location.removed_at.is_(None))
                                 .values(removed_at=self.now, **Location.change_stamps(self.now)))
        if rewrites:
            self.rewrite(rewrites)
            self.written.update(pk for pk, _, _ in rewrites)

    # -- removal -------------------------------------------------------------------------

    def merged_pks(self, location_pks: list[int]) -> set[int]:
        return self._with_candidates(location_pks) if self.active() else set()

    def drop_unseen(self, seen_keys: set[str], changed_before: datetime) -> int:
        """After a full sync: this feed's candidates it no longer serves leave their
        locations, which stay published from their other sources. Returns how many."""
        if not self.active():
            return 0
        rows = self.session.execute(select(LocationSource.id, LocationSource.location_pk, LocationSource.id_key)
                                    .where(LocationSource.feed_id == self.feed_id,
                                           LocationSource.seen_at < changed_before)).all()
        gone = [row for row in rows if row.id_key not in seen_keys]
        return self.drop([row.id for row in gone], [row.location_pk for row in gone])

    def drop(self, candidate_ids: list[int], location_pks: list[int]) -> int:
        for start in range(0, len(candidate_ids), 1000):
            self.session.execute(delete(LocationSource).where(
                LocationSource.id.in_(candidate_ids[start:start + 1000])))
        self.remerge(sorted(set(location_pks)))
        return len(candidate_ids)


def provenance(session: Session, row: Location) -> tuple[list[Candidate], Merged]:
    """A published location's candidates (none for a location with one source) and the
    merge that says which source gave each published value, by which rule."""
    candidates = candidates_of(session, [row.id]).get(row.id, [])
    identity = {"country_code": row.country_code, "party_id": row.party_id, "id": row.ocpi_id}
    if candidates:
        names = feed_names(session, (c.feed_id for c in candidates))
        return candidates, merge(sources_for_merge(candidates, names), identity=identity)
    name, kind = feed_names(session, [row.feed_id])[row.feed_id]
    document = assemble_locations(session, [row])[0]
    return [], merge([Source(row.feed_id, name, kind, authority(kind), document)], identity=identity)
