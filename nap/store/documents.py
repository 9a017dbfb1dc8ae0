"""Putting stored Location rows back together into OCPI documents (nap/store/rows.py splits
them). `position` keeps the CPO's order, so the document served is the document received.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Iterable, Mapping, Sequence

from sqlalchemy import Integer, Text, and_, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from nap.jsonutil import dumps_text, loads
from nap.store.tables import Connector, Evse, Location


def assemble_locations(session: Session, rows: Sequence[Location],
                       only_evses: Mapping[int, Collection[str]] | None = None) -> list[dict]:
    """Full OCPI Location documents for the given rows, in their order, with 2 queries.
    `only_evses`: location pk -> the uids of the EVSEs to put in its document, for the rows
    that need no others (a status delta's); those rows' other EVSEs are not read."""
    if not rows:
        return []
    location_pks = [row.id for row in rows]
    evses_by_location: dict[int, list[tuple[int, dict]]] = {pk: [] for pk in location_pks}
    narrow = {pk: only_evses[pk] for pk in location_pks if only_evses is not None and pk in only_evses}
    whole = [pk for pk in location_pks if pk not in narrow]
    evse_rows = []
    if whole:
        evse_rows += session.execute(select(Evse.id, Evse.location_pk, Evse.data).where(
            Evse.location_pk.in_(whole)).order_by(Evse.location_pk, Evse.position)).all()
    if narrow:
        uids = sorted({uid for wanted in narrow.values() for uid in wanted})
        evse_rows += [row for row in session.execute(
            select(Evse.id, Evse.location_pk, Evse.uid, Evse.data)
            .where(Evse.location_pk.in_(sorted(narrow)), Evse.uid.in_(uids))
            .order_by(Evse.location_pk, Evse.position)) if row.uid in narrow[row.location_pk]]
    for evse_pk, location_pk, *_, data in evse_rows:
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


_FEW = 16
_INTEGER_ARRAY = ARRAY(Integer)


def _key_form(session: Session, pks: Sequence[int]) -> str:
    if len(pks) <= _FEW:
        return "list"  # a single object's few rows: an ordinary IN list is cheapest
    dialect = session.get_bind().dialect.name
    return dialect if dialect in ("postgresql", "sqlite") else "list"


def _in_keys(form: str):
    """`column IN :keys` for one form of binding the keys. Past a few keys, they are one
    bound parameter: an integer array on PostgreSQL, a JSON array read by json_each on
    SQLite. An expanded IN list of a page's thousand ids (or its thousands of EVSE ids)
    costs more Python time to render and bind than the query takes.

    On PostgreSQL the keys' range is given too: before a freshly written table has been
    analyzed, the planner takes `= ANY(array)` for most of the table and scans all of it
    (EXPLAIN ANALYZE: a sequential scan of 100k EVSEs, 24 ms, where the index takes 6-8 ms);
    a range it estimates as small, so the index is used with statistics or without."""
    def condition(column):
        if form == "postgresql":
            return and_(column == any_(bindparam("keys", type_=_INTEGER_ARRAY)),
                        column.between(bindparam("low", type_=Integer), bindparam("high", type_=Integer)))
        if form == "sqlite":
            return column.in_(select(func.json_each(bindparam("keys", type_=Text)).table_valued("value").c.value))
        return column.in_(bindparam("keys", expanding=True))
    return condition


_built: dict[tuple, object] = {}


def execute_keyed(session: Session, build, pks: Sequence[int]):
    """session.execute(build(in_keys)) for these keys, where `build` makes a statement from
    `in_keys(column)` (the condition column IN pks, bound as _in_keys says). Statements are built
    once per form and reused: building them anew would be a fifth of a single-location request."""
    form = _key_form(session, pks)
    statement = _built.get((build, form))
    if statement is None:
        statement = _built[(build, form)] = build(_in_keys(form))
    if form == "sqlite":
        parameters = {"keys": dumps_text(list(pks))}
    elif form == "postgresql":
        parameters = {"keys": list(pks), "low": min(pks), "high": max(pks)}
    else:
        parameters = {"keys": list(pks)}
    return session.execute(statement, parameters)


def splice_list(object_json: str, key: str, item_jsons: Sequence[str]) -> str:
    """The JSON object `object_json` with `key` set, as its last member, to the array of the
    already encoded `item_jsons`: text in, text out, nothing decoded.

    Gives what decoding, `obj[key] = [items]` and encoding again would (the form assemble_locations
    builds), also when `key` is already there (then that way, slowly: never a duplicate key)."""
    end = object_json.rstrip()
    if end.startswith("{") and end.endswith("}") and f'"{key}"' not in end:
        body = end[:-1].rstrip()
        separator = "" if body.endswith("{") else ","  # only an empty object ends in "{" here
        return f'{body}{separator}"{key}":[{",".join(item_jsons)}]}}'
    document = loads(object_json)
    document[key] = [loads(item) for item in item_jsons]
    return dumps_text(document)


@dataclass
class LocationJson:
    """A Location as stored, in JSON text: its own document (without "evses") and its EVSEs
    in the CPO's order as (uid, EVSE JSON text with its "connectors")."""

    location_pk: int
    location: str
    evses: list[tuple[str, str]]


def _location_texts(in_keys):
    return select(Location.id, cast(Location.data, Text)).where(in_keys(Location.id))


def _evse_texts(in_keys):
    return (select(Evse.id, Evse.location_pk, Evse.uid, cast(Evse.data, Text))
            .where(in_keys(Evse.location_pk)).order_by(Evse.location_pk, Evse.position))


def _connector_texts(in_keys):
    return (select(Connector.evse_pk, cast(Connector.data, Text))
            .where(in_keys(Connector.evse_pk)).order_by(Connector.evse_pk, Connector.position))


def location_jsons(session: Session, location_pks: Sequence[int],
                   evse_rows: Sequence[tuple[int, int, str, str]] | None = None,
                   location_texts: dict[int, str] | None = None) -> list[LocationJson]:
    """The stored Locations with these primary keys, in that order (missing ones skipped), as
    JSON text read from the database without decoding: at most 3 queries, whatever the number.
    `splice_list(location, "evses", [EVSE texts])` decoded is what assemble_locations returns
    for the row. `evse_rows`, when the caller has read them already in the same transaction:
    (EVSE pk, location pk, uid, CAST(data AS TEXT)) of these locations' EVSEs, ordered by
    location pk and position. `location_texts`, likewise: {location pk: CAST(data AS TEXT)}."""
    if not location_pks:
        return []
    texts = location_texts if location_texts is not None else dict(
        execute_keyed(session, _location_texts, location_pks).all())
    if evse_rows is None:
        evse_rows = execute_keyed(session, _evse_texts, location_pks).all()
    # By EVSE key, not joined to the EVSEs by location: PostgreSQL then chose a hash join
    # over all connectors (a sequential scan of the table for every page).
    connectors: dict[int, list[str]] = {}
    for evse_pk, text in execute_keyed(session, _connector_texts, [row[0] for row in evse_rows]):
        connectors.setdefault(evse_pk, []).append(text)
    evses: dict[int, list[tuple[str, str]]] = {pk: [] for pk in texts}
    for evse_pk, location_pk, uid, text in evse_rows:
        if location_pk in evses:
            # Always a list, as in assemble_locations.
            evses[location_pk].append((uid, splice_list(text, "connectors", connectors.get(evse_pk, ()))))
    return [LocationJson(pk, texts[pk], evses[pk]) for pk in location_pks if pk in texts]


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
