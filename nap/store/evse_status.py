"""EVSE status writes: the fast path of the most common push, a PATCH of one EVSE's fields
(its status, above all).

It validates only the patched fields against the OCPI 2.3.0 EVSE field types, and updates
one EVSE row, its location's timestamps and the status history, instead of reassembling,
validating and rewriting the whole location. It authenticates the push itself (the feed's
token hash, its status, the country_code/party_id pair verified for the feed) and runs as
its own transaction. It only ever answers "stored" or "ignored" (an update older than the
stored one); everything else (a refusal, an unknown object, an invalid field) changes
nothing and is left to the general path (harvesters/receiver.py), which validates the
whole location, explains refusals and records findings.

    fields = validated_fields(body) if fast_patchable(body) else None
    outcome = patch_evse_status(sessions, token_hashes, pair, location_id, evse_uid, fields, now)

One write in two forms, chosen by the database:
- PostgreSQL: authentication, the row locks, both UPDATEs and the history row in ONE
  statement with data-modifying CTEs, in autocommit: one round trip where the steps one by
  one take seven (BEGIN, token, lock, two UPDATEs, history, COMMIT).
- Elsewhere (SQLite, which has no data-modifying CTEs): the same steps as a few
  statements, built once, in one write transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Boolean, Engine, bindparam, case, exists, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from nap import jsonutil
from nap.ocpi.ids import id_key
from nap.ocpi.schemas import Evse
from nap.ocpi.values import parse_datetime
from nap.store.db import unpinged_engine, write_session
from nap.store.states import PUSH_REFUSED_FEED_STATUSES, ClaimState
from nap.store.status_history import StatusChange, record_status_changes
from nap.store.tables import Evse as EvseRow
from nap.store.tables import Feed, FeedParty, Location, LocationSource

# Fields the fast path does not handle: ids, and the nested connectors.
NOT_FAST = {"uid", "connectors"}
# A patch of these alone leaves the location's static_changed_at (nap/store/tables.py):
# nothing a DATEX II table holds changed. Any other field is static content.
STATUS_FIELDS = frozenset({"status", "status_schedule", "last_updated"})


def _static(fields: dict) -> bool:
    return not fields.keys() <= STATUS_FIELDS


@lru_cache(maxsize=None)
def _field_adapter(name: str) -> TypeAdapter:
    # With its Annotated metadata (validators, bounds), which `.annotation` leaves out.
    return TypeAdapter(Evse.model_fields[name].rebuild_annotation())


def fast_patchable(body: Any) -> bool:
    """A PATCH body of EVSE fields the fast path handles, last_updated among them."""
    return (isinstance(body, dict) and "last_updated" in body
            and all(key in Evse.model_fields and key not in NOT_FAST for key in body))


def validated_fields(body: dict) -> dict | None:
    """The patched fields in their normalized JSON form, or None if any is invalid (then
    the general path produces the findings)."""
    validated = {}
    for name, value in body.items():
        try:
            adapter = _field_adapter(name)
            validated[name] = adapter.dump_python(adapter.validate_python(value), mode="json", exclude_none=True)
        except ValidationError:
            return None
    return validated


@dataclass(frozen=True)
class StatusPatch:
    outcome: str  # "stored" or "ignored"
    feed_name: str
    stored_at: datetime  # the EVSE's last_updated before this push


def patch_evse_status(sessions: sessionmaker[Session], token_hashes: list[str], pair: tuple[str, str],
                      location_id: str, evse_uid: str, fields: dict, now: datetime) -> StatusPatch | None:
    """Authenticate, authorize and apply a validated EVSE PATCH (`fields` from
    validated_fields, with last_updated) as one transaction. None when it wrote nothing and
    the general path must answer (refusals, unknown objects); the general path then checks
    everything again in its own transaction. Database errors (a collision with a
    concurrent push, an outage) propagate: the caller retries or answers 503."""
    pushed_at = parse_datetime(fields["last_updated"])
    engine = sessions.kw.get("bind")
    if engine is not None and engine.dialect.name == "postgresql":
        return _in_one_statement(engine, token_hashes, pair, location_id, evse_uid, fields, pushed_at, now)
    return _in_a_transaction(sessions, token_hashes, pair, location_id, evse_uid, fields, pushed_at, now)


def _naive_utc(moment: datetime) -> datetime:
    # Timestamps are stored as naive UTC (nap.store.types.UtcDateTime); the raw-SQL form
    # below binds them without that type, so it converts them the same way.
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


# -- statement by statement, in one write transaction (SQLite) ---------------------------------

# Built once: composing SQLAlchemy statements per push costs more CPU than running them.
_FEED = (
    select(Feed.id, Feed.name, Feed.status,
           exists().where(FeedParty.feed_id == Feed.id, FeedParty.country_code == bindparam("country_code"),
                          FeedParty.party_id == bindparam("party_id"),
                          FeedParty.state == ClaimState.VERIFIED.value).label("allowed"))
    .where(Feed.inbound_token_hash.in_(bindparam("token_hashes", expanding=True)))
    .order_by(Feed.id).limit(1)
)
_FIND = (
    select(EvseRow.id, EvseRow.status, EvseRow.status_changed_at, EvseRow.last_updated, EvseRow.data,
           Location.id, Location.last_updated, Location.data)
    .join(Location, Location.id == EvseRow.location_pk)
    .where(Location.country_code == bindparam("country_code"), Location.party_id == bindparam("party_id"),
           Location.id_key == bindparam("location_key"), Location.feed_id == bindparam("feed_id"),
           Location.removed_at.is_(None), EvseRow.uid == bindparam("evse_uid"),
           # A location several sources describe is merged again from the pushing source's
           # copy: the general path (harvesters/receiver.py) does that.
           ~exists().where(LocationSource.location_pk == Location.id))
    .with_for_update()
)
_UPDATE_EVSE = (
    update(EvseRow).where(EvseRow.id == bindparam("evse_pk"))
    .values(data=bindparam("data"), status=bindparam("status"), evse_id=bindparam("evse_id"),
            last_updated=bindparam("last_updated"), status_changed_at=bindparam("status_changed_at"))
    .execution_options(synchronize_session=False)
)
_STATIC_CHANGED_AT = case((bindparam("static", type_=Boolean), bindparam("changed_at")),
                          else_=Location.static_changed_at)
_UPDATE_LOCATION = (
    update(Location).where(Location.id == bindparam("location_pk"))
    .values(changed_at=bindparam("changed_at"), static_changed_at=_STATIC_CHANGED_AT, content_hash="pushed")
    .execution_options(synchronize_session=False)
)
_UPDATE_LOCATION_TIME = (
    update(Location).where(Location.id == bindparam("location_pk"))
    .values(changed_at=bindparam("changed_at"), static_changed_at=_STATIC_CHANGED_AT, content_hash="pushed",
            last_updated=bindparam("last_updated"), data=bindparam("data"))
    .execution_options(synchronize_session=False)
)


def _in_a_transaction(sessions: sessionmaker[Session], token_hashes: list[str], pair: tuple[str, str],
                      location_id: str, evse_uid: str, fields: dict, pushed_at: datetime,
                      now: datetime) -> StatusPatch | None:
    with write_session(sessions) as session:
        # Stamped once the write lock is held (SQLite: a harvest may hold it for minutes):
        # a status delta asks for what was received after a time, and a change dated when
        # the request came but committed after the harvest would be in none.
        now = max(now, datetime.now(timezone.utc))
        connection = session.connection()
        feed = connection.execute(_FEED, {"token_hashes": token_hashes, "country_code": pair[0],
                                          "party_id": pair[1]}).one_or_none()
        if feed is None or not feed.allowed or feed.status in PUSH_REFUSED_FEED_STATUSES:
            return None
        found = connection.execute(_FIND, {"country_code": pair[0], "party_id": pair[1],
                                           "location_key": id_key(location_id),
                                           "feed_id": feed.id, "evse_uid": evse_uid}).one_or_none()
        if found is None:
            return None
        (evse_pk, old_status, status_changed_at, stored_at, evse_data,
         location_pk, location_updated, location_data) = found
        if stored_at > pushed_at:
            return StatusPatch("ignored", feed.name, stored_at)
        data = {**evse_data, **{k: v for k, v in fields.items() if v is not None}}
        status = data["status"]
        connection.execute(_UPDATE_EVSE, {
            "evse_pk": evse_pk, "data": data, "status": status, "evse_id": data.get("evse_id"),
            "last_updated": pushed_at, "status_changed_at": now if status != old_status else status_changed_at})
        if pushed_at > location_updated:
            # OCPI: pushing an EVSE sets the parent Location's last_updated too.
            connection.execute(_UPDATE_LOCATION_TIME, {
                "location_pk": location_pk, "changed_at": now, "static": _static(fields), "last_updated": pushed_at,
                "data": {**location_data, "last_updated": fields["last_updated"]}})
        else:
            connection.execute(_UPDATE_LOCATION, {"location_pk": location_pk, "changed_at": now,
                                                  "static": _static(fields)})
        if status != old_status:
            record_status_changes(session, feed.id,
                                  [StatusChange(location_pk, evse_uid, old_status, status, pushed_at)], now, "push")
        return StatusPatch("stored", feed.name, stored_at)


# -- PostgreSQL: one statement, its own transaction ----------------------------------------------

# Every step is conditional on the ones before: no feed with that token hash, a feed that may
# not push (PUSH_REFUSED_FEED_STATUSES), a pair not verified for the feed, an unknown
# location or EVSE: `target` is empty, nothing is written and no row comes back (the general
# path then finds out why and answers). An older update (stored last_updated later than the pushed one) is locked and
# read but not written.
# All sub-statements share one snapshot; the rows `target` locks FOR UPDATE are the latest
# committed versions (READ COMMITTED re-reads a row a concurrent push changed), and the
# UPDATEs apply to those same versions, so concurrent pushes to one EVSE take turns and
# each sees the one before it, as with SELECT ... FOR UPDATE in a transaction.
_ONE_STATEMENT_SQL = """
WITH feed AS (
    SELECT f.id, f.name, f.status,
           EXISTS (SELECT 1 FROM feed_parties p WHERE p.feed_id = f.id
                   AND p.country_code = %(country_code)s AND p.party_id = %(party_id)s
                   AND p.state = '{verified}') AS allowed
    FROM feeds f WHERE f.inbound_token_hash = ANY(%(token_hashes)s)
    ORDER BY f.id LIMIT 1
), target AS (
    SELECT e.id AS evse_pk, e.status AS old_status, e.last_updated AS stored_at,
           (e.data::jsonb || %(fields)s::jsonb)::json AS data,
           l.id AS location_pk, l.last_updated AS location_updated
    FROM feed
    JOIN locations l ON l.feed_id = feed.id
    JOIN evses e ON e.location_pk = l.id
    WHERE feed.allowed AND feed.status NOT IN ({push_refused})
      AND l.country_code = %(country_code)s AND l.party_id = %(party_id)s AND l.id_key = %(location_key)s
      AND l.removed_at IS NULL AND e.uid = %(evse_uid)s
      AND NOT EXISTS (SELECT 1 FROM location_sources s WHERE s.location_pk = l.id)
    FOR UPDATE OF e, l
), fresh AS (
    SELECT * FROM target WHERE stored_at <= %(pushed_at)s
), evse_update AS (
    UPDATE evses e SET data = fresh.data, status = fresh.data ->> 'status', evse_id = fresh.data ->> 'evse_id',
        last_updated = %(pushed_at)s,
        status_changed_at = CASE WHEN fresh.data ->> 'status' IS DISTINCT FROM fresh.old_status
                                 THEN %(now)s ELSE e.status_changed_at END
    FROM fresh WHERE e.id = fresh.evse_pk
), location_update AS (
    UPDATE locations l SET changed_at = %(now)s, content_hash = 'pushed',
        static_changed_at = CASE WHEN %(static)s THEN %(now)s ELSE l.static_changed_at END,
        last_updated = CASE WHEN %(pushed_at)s > fresh.location_updated THEN %(pushed_at)s ELSE l.last_updated END,
        -- OCPI: pushing an EVSE sets the parent Location's last_updated too.
        data = CASE WHEN %(pushed_at)s > fresh.location_updated
                    THEN (l.data::jsonb || jsonb_build_object('last_updated', %(pushed_text)s::text))::json
                    ELSE l.data END
    FROM fresh WHERE l.id = fresh.location_pk
), history AS (
    -- The same row nap.store.status_history.record_status_changes writes.
    INSERT INTO evse_status_history (feed_id, location_pk, evse_uid, old_status, new_status, cpo_time,
                                     received_at, via)
    SELECT feed.id, fresh.location_pk, %(evse_uid)s, fresh.old_status, fresh.data ->> 'status', %(pushed_at)s,
           %(now)s, 'push'
    FROM fresh, feed WHERE fresh.data ->> 'status' IS DISTINCT FROM fresh.old_status
)
SELECT feed.name, target.stored_at FROM feed JOIN target ON true
""".format(verified=ClaimState.VERIFIED.value,
           push_refused=", ".join(f"'{status.value}'" for status in sorted(PUSH_REFUSED_FEED_STATUSES)))


def _in_one_statement(engine: Engine, token_hashes: list[str], pair: tuple[str, str], location_id: str,
                      evse_uid: str, fields: dict, pushed_at: datetime, now: datetime) -> StatusPatch | None:
    params: dict[str, Any] = {
        "token_hashes": token_hashes, "country_code": pair[0], "party_id": pair[1],
        "location_key": id_key(location_id),
        "evse_uid": evse_uid, "fields": jsonutil.dumps_text({k: v for k, v in fields.items() if v is not None}),
        "pushed_at": _naive_utc(pushed_at), "pushed_text": fields["last_updated"], "now": _naive_utc(now),
        "static": _static(fields)}
    row = _execute_autocommit(unpinged_engine(engine), _ONE_STATEMENT_SQL, params)
    if row is None:
        return None
    feed_name, stored_at = row
    stored_at = stored_at.replace(tzinfo=timezone.utc)
    return StatusPatch("ignored" if stored_at > pushed_at else "stored", feed_name, stored_at)


def _execute_autocommit(engine: Engine, sql: str, params: dict) -> tuple | None:
    """Run one statement on a pooled connection in autocommit and return its first row.

    A single statement in autocommit is one transaction, committed (durably, as any other)
    when it completes: no BEGIN and COMMIT round trips. The driver's cursor is used
    directly: SQLAlchemy's Connection, execution context and result objects cost more CPU
    than this one statement needs (psycopg still prepares it after a few executions on a
    connection). Driver errors come out as SQLAlchemy's (OperationalError, ...). The pool
    pings no connection before use (nap.store.db.unpinged_engine): the caller retries, and
    a connection found broken drops the pool's idle ones with it, which the database's
    restart broke as well, so that the retry connects afresh."""
    try:
        pooled = engine.raw_connection()
    except engine.dialect.loaded_dbapi.Error as error:
        # The pool hands on the driver's own error when it cannot connect (the database is
        # down): wrapped like the rest, so that the caller sees an outage, not a crash.
        raise DBAPIError.instance(sql, params, error, engine.dialect.loaded_dbapi.Error,
                                  connection_invalidated=True, dialect=engine.dialect) from error
    try:
        driver = pooled.driver_connection
        try:
            driver.autocommit = True
            try:
                with driver.cursor() as cursor:
                    cursor.execute(sql, params)
                    return cursor.fetchone()
            finally:
                if not driver.closed and not driver.broken:
                    driver.autocommit = False
        except engine.dialect.loaded_dbapi.Error as error:
            disconnected = engine.dialect.is_disconnect(error, driver, None)
            if disconnected:
                pooled.invalidate(error)
                engine.dispose()
            raise DBAPIError.instance(sql, params, error, engine.dialect.loaded_dbapi.Error,
                                      connection_invalidated=disconnected, dialect=engine.dialect) from error
    finally:
        pooled.close()
