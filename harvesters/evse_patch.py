"""The fast path of the most common push: a PATCH of one EVSE's fields (its status, above
all). It validates only the patched fields against the OCPI 2.3.0 EVSE field types and
updates one EVSE row and its location's timestamps, instead of reassembling and rewriting
the whole location. Anything else (connectors in the body, an unknown EVSE, an invalid
field) goes the general way, which validates the whole location and explains refusals.

Two forms of the same change:
- `patch_evse_fast`: inside the push's transaction (SQLite, and the general receiver);
  a few SQL statements built once, with plain columns instead of ORM objects.
- `patch_evse_one_statement` (PostgreSQL): authentication (the feed's token hash, its
  status, the country_code/party_id pair), the row locks, both UPDATEs and the status
  history row in ONE statement with data-modifying CTEs, run as its own transaction:
  one round trip where the ORM took seven (BEGIN, token, lock, two UPDATEs, history,
  COMMIT). It only ever answers "stored" or "ignored"; everything else (a refusal, an
  unknown object) changes nothing and is left to the general path, which explains it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from nap import jsonutil
from nap.ocpi.ids import id_key
from nap.ocpi.schemas import Evse
from nap.ocpi.values import parse_datetime
from nap.store.tables import Evse as EvseRow
from nap.store.status_history import StatusChange, record_status_changes
from nap.store.tables import Location

# Fields the fast path does not handle: ids, and the nested connectors.
NOT_FAST = {"uid", "connectors"}


@lru_cache(maxsize=None)
def _field_adapter(name: str) -> TypeAdapter:
    # With its Annotated metadata (validators, bounds), which `.annotation` leaves out.
    return TypeAdapter(Evse.model_fields[name].rebuild_annotation())


def fast_patchable(body: dict) -> bool:
    return bool(body) and all(key in Evse.model_fields and key not in NOT_FAST for key in body)


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


def _naive_utc(moment: datetime) -> datetime:
    # Timestamps are stored as naive UTC (nap.store.types.UtcDateTime); the raw-SQL form
    # below binds them without that type, so it converts them the same way.
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


# -- in the push's transaction (SQLite; the general receiver) -----------------------------------

# Built once: composing SQLAlchemy statements per push cost more CPU than running them.
_FIND = (
    select(EvseRow.id, EvseRow.status, EvseRow.status_changed_at, EvseRow.last_updated, EvseRow.data,
           Location.id, Location.last_updated, Location.data)
    .join(Location, Location.id == EvseRow.location_pk)
    .where(Location.country_code == bindparam("country_code"), Location.party_id == bindparam("party_id"),
           Location.id_key == bindparam("location_key"), Location.feed_id == bindparam("feed_id"),
           Location.removed_at.is_(None), EvseRow.uid == bindparam("evse_uid"))
    .with_for_update()
)
_UPDATE_EVSE = (
    update(EvseRow).where(EvseRow.id == bindparam("evse_pk"))
    .values(data=bindparam("data"), status=bindparam("status"), evse_id=bindparam("evse_id"),
            last_updated=bindparam("last_updated"), status_changed_at=bindparam("status_changed_at"))
    .execution_options(synchronize_session=False)
)
_UPDATE_LOCATION = (
    update(Location).where(Location.id == bindparam("location_pk"))
    .values(changed_at=bindparam("changed_at"), content_hash="pushed")
    .execution_options(synchronize_session=False)
)
_UPDATE_LOCATION_TIME = (
    update(Location).where(Location.id == bindparam("location_pk"))
    .values(changed_at=bindparam("changed_at"), content_hash="pushed", last_updated=bindparam("last_updated"),
            data=bindparam("data"))
    .execution_options(synchronize_session=False)
)


def patch_evse_fast(session: Session, feed_id: int, pair: tuple[str, str], location_id: str, evse_uid: str,
                    body: dict, now: datetime) -> str | None:
    """Apply the PATCH and return "stored" or "ignored"; None when the general path must
    handle it."""
    fields = validated_fields(body)
    if fields is None or "last_updated" not in fields:
        return None
    connection = session.connection()
    found = connection.execute(_FIND, {"country_code": pair[0], "party_id": pair[1],
                                       "location_key": id_key(location_id),
                                       "feed_id": feed_id, "evse_uid": evse_uid}).one_or_none()
    if found is None:
        return None
    evse_pk, old_status, status_changed_at, stored_at, evse_data, location_pk, location_updated, location_data = found
    pushed_at = parse_datetime(fields["last_updated"])
    if stored_at > pushed_at:
        return "ignored"
    data = {**evse_data, **{k: v for k, v in fields.items() if v is not None}}
    status = data["status"]
    connection.execute(_UPDATE_EVSE, {
        "evse_pk": evse_pk, "data": data, "status": status, "evse_id": data.get("evse_id"),
        "last_updated": pushed_at, "status_changed_at": now if status != old_status else status_changed_at})
    if pushed_at > location_updated:
        # OCPI: pushing an EVSE sets the parent Location's last_updated too.
        connection.execute(_UPDATE_LOCATION_TIME, {
            "location_pk": location_pk, "changed_at": now, "last_updated": pushed_at,
            "data": {**location_data, "last_updated": fields["last_updated"]}})
    else:
        connection.execute(_UPDATE_LOCATION, {"location_pk": location_pk, "changed_at": now})
    if status != old_status:
        record_status_changes(session, feed_id, [StatusChange(location_pk, evse_uid, old_status, status, pushed_at)],
                              now, "push")
    return "stored"


# -- PostgreSQL: one statement, its own transaction ----------------------------------------------

# Every step is conditional on the ones before: no feed with that token hash, a feed that may
# not push (suspended, pending, rejected, withdrawn), a pair not verified for the feed, an
# unknown location or EVSE: `target` is
# empty, nothing is written and no row comes back (the general path then finds out why and
# answers). An older update (stored last_updated later than the pushed one) is locked and
# read but not written.
# All sub-statements share one snapshot; the rows `target` locks FOR UPDATE are the latest
# committed versions (READ COMMITTED re-reads a row a concurrent push changed), and the
# UPDATEs apply to those same versions, so concurrent pushes to one EVSE take turns and
# each sees the one before it, as with SELECT ... FOR UPDATE in a transaction.
ONE_STATEMENT_SQL = """
WITH feed AS (
    SELECT f.id, f.name, f.status,
           EXISTS (SELECT 1 FROM feed_parties p WHERE p.feed_id = f.id
                   AND p.country_code = %(country_code)s AND p.party_id = %(party_id)s
                   AND p.state = 'verified') AS allowed
    FROM feeds f WHERE f.inbound_token_hash = ANY(%(token_hashes)s)
    ORDER BY f.id LIMIT 1
), target AS (
    SELECT e.id AS evse_pk, e.status AS old_status, e.last_updated AS stored_at,
           (e.data::jsonb || %(fields)s::jsonb)::json AS data,
           l.id AS location_pk, l.last_updated AS location_updated
    FROM feed
    JOIN locations l ON l.feed_id = feed.id
    JOIN evses e ON e.location_pk = l.id
    WHERE feed.allowed AND feed.status NOT IN ('suspended', 'pending', 'rejected', 'withdrawn')
      AND l.country_code = %(country_code)s AND l.party_id = %(party_id)s AND l.id_key = %(location_key)s
      AND l.removed_at IS NULL AND e.uid = %(evse_uid)s
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
"""


@dataclass(frozen=True)
class OneStatementOutcome:
    outcome: str  # "stored" or "ignored"
    feed_name: str
    stored_at: datetime  # the EVSE's last_updated before this push


def patch_evse_one_statement(engine: Engine, token_hashes: list[str], pair: tuple[str, str], location_id: str,
                             evse_uid: str, fields: dict, now: datetime) -> OneStatementOutcome | None:
    """PostgreSQL only: authenticate, authorize and apply a validated EVSE PATCH (`fields`
    from validated_fields, with last_updated) in one statement and one transaction.
    None when it wrote nothing and the general path must answer (refusals, unknown
    objects); the general path then checks everything again in its own transaction."""
    pushed_at = parse_datetime(fields["last_updated"])
    params: dict[str, Any] = {
        "token_hashes": token_hashes, "country_code": pair[0], "party_id": pair[1],
        "location_key": id_key(location_id),
        "evse_uid": evse_uid, "fields": jsonutil.dumps_text({k: v for k, v in fields.items() if v is not None}),
        "pushed_at": _naive_utc(pushed_at), "pushed_text": fields["last_updated"], "now": _naive_utc(now)}
    row = _execute_autocommit(engine, ONE_STATEMENT_SQL, params)
    if row is None:
        return None
    feed_name, stored_at = row
    stored_at = stored_at.replace(tzinfo=timezone.utc)
    return OneStatementOutcome("ignored" if stored_at > pushed_at else "stored", feed_name, stored_at)


def _execute_autocommit(engine: Engine, sql: str, params: dict) -> tuple | None:
    """Run one statement on a pooled connection in autocommit and return its first row.

    A single statement in autocommit is one transaction, committed (durably, as any other)
    when it completes: no BEGIN and COMMIT round trips. The driver's cursor is used
    directly: SQLAlchemy's Connection, execution context and result objects cost more CPU
    than this one statement needs (psycopg still prepares it after a few executions on a
    connection). Driver errors come out as SQLAlchemy's (OperationalError, ...), and a
    connection that broke is dropped from the pool, as SQLAlchemy itself would do."""
    try:
        pooled = engine.raw_connection()  # pre-pinged by the pool, like every checkout
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
            raise DBAPIError.instance(sql, params, error, engine.dialect.loaded_dbapi.Error,
                                      connection_invalidated=disconnected, dialect=engine.dialect) from error
    finally:
        pooled.close()
