"""The database refuses a state outside its enum (nap/store/states.py), on SQLite
(triggers) and PostgreSQL (CHECK constraints), and migration 0012 loses no row."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import Table, func, select, update
from sqlalchemy.exc import IntegrityError

from nap.store.db import get_engine
from nap.store.migrate import alembic_config, upgrade
from nap.store.states import CHECKED_COLUMNS
from nap.store.tables import (
    Base,
    Evse,
    EvseStatusChange,
    Feed,
    FeedParty,
    Finding,
    HarvestRun,
    Location,
    User,
)
from tests.harvest_helpers import count_rows, register_and_harvest

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
COLUMN_IDS = [f"{table}.{column}" for table, column, _ in CHECKED_COLUMNS]


def _insert_feed(connection, name: str, status: str = "active") -> int:
    return connection.execute(Feed.__table__.insert().values(
        name=name, versions_url="https://cpo.example/versions", token="x", status=status,
        interval_minutes=15, created_at=NOW).returning(Feed.__table__.c.id)).scalar_one()


def _row(connection, table: str, column: str, value: str, n: int) -> dict:
    """A row of `table` that is valid but for `column`, which holds `value`; n tells rows apart."""
    if table == "feeds":
        return {"name": f"feed-{n}", "versions_url": "https://cpo.example/versions", "token": "x",
                "interval_minutes": 15, "created_at": NOW, column: value}
    if table == "users":
        return {"email": f"user{n}@example.com", "password_hash": "x", "created_at": NOW, column: value}
    feed_id = _insert_feed(connection, f"parent-{n}")
    if table == "harvest_runs":
        return {"feed_id": feed_id, "started_at": NOW, column: value}
    if table == "feed_parties":
        return {"feed_id": feed_id, "country_code": "DE", "party_id": f"P{n:02d}", column: value}
    if table == "findings":
        return {"feed_id": feed_id, "severity": "error", "reason": "x", "created_at": NOW, column: value}
    if table == "location_sources":
        location_pk = connection.execute(Location.__table__.insert().values(
            feed_id=feed_id, country_code="DE", party_id="ABC", ocpi_id=f"L{n}", id_key=f"l{n}", publish=True,
            latitude=50.0, longitude=8.0, last_updated=NOW, data={}, raw={}, content_hash="x", first_seen_at=NOW,
            changed_at=NOW).returning(Location.__table__.c.id)).scalar_one()
        return {"location_pk": location_pk, "feed_id": feed_id, "country_code": "DE", "party_id": "ABC",
                "ocpi_id": f"L{n}", "id_key": f"l{n}", "confirmed": True, "document": {}, "last_updated": NOW,
                "content_hash": "x", "seen_at": NOW, column: value}
    raise AssertionError(f"no row recipe for {table}")


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def test_every_checked_column_is_declared_in_the_models():
    for table, column, values in CHECKED_COLUMNS:
        names = {constraint.name for constraint in _table(table).constraints}
        assert f"ck_{table}_{column}" in names
        assert len(set(values)) == len(values) and all(value == value.lower() for value in values)


@pytest.mark.parametrize(("table", "column", "values"), CHECKED_COLUMNS, ids=COLUMN_IDS)
def test_every_enum_value_is_accepted_on_insert_and_update(database_url, table, column, values):
    engine = get_engine(database_url)
    with engine.begin() as connection:
        pks = [connection.execute(_table(table).insert().values(_row(connection, table, column, value, n)))
               .inserted_primary_key[0] for n, value in enumerate(values)]
        # Every row walks through every value (one at a time: at most one verified claim per pair).
        for pk, first in zip(pks, values):
            for value in [*values, first]:
                connection.execute(update(_table(table)).where(_table(table).c.id == pk).values({column: value}))
        stored = connection.execute(select(_table(table).c[column]).where(_table(table).c.id.in_(pks))).scalars()
        assert sorted(stored) == sorted(values)


@pytest.mark.parametrize(("table", "column", "values"), CHECKED_COLUMNS, ids=COLUMN_IDS)
def test_the_database_refuses_an_unknown_state(database_url, table, column, values):
    engine, first = get_engine(database_url), next(iter(values))
    with pytest.raises(IntegrityError, match=f"ck_{table}_{column}"):
        with engine.begin() as connection:
            connection.execute(_table(table).insert().values(_row(connection, table, column, "bogus", 1)))
    with engine.begin() as connection:
        pk = connection.execute(_table(table).insert().values(_row(connection, table, column, first, 2))
                                ).inserted_primary_key[0]
    for wrong in ("bogus", first.upper(), ""):
        with pytest.raises(IntegrityError, match=f"ck_{table}_{column}"):
            with engine.begin() as connection:
                connection.execute(update(_table(table)).where(_table(table).c.id == pk).values({column: wrong}))
    with engine.connect() as connection:
        assert connection.execute(select(_table(table).c[column]).where(_table(table).c.id == pk)).scalar_one() \
            == first


def test_migration_0012_stops_on_a_stored_state_it_does_not_know(database_url):
    engine = get_engine(database_url)
    command.downgrade(alembic_config(database_url), "0011")
    with engine.begin() as connection:
        _insert_feed(connection, "paused-by-hand", status="paused")
        _insert_feed(connection, "fine")
    with pytest.raises(RuntimeError, match=r"feeds\.status holds values NAP does not know: 'paused' \(1 rows\)"):
        upgrade(database_url)
    with engine.begin() as connection:  # nothing changed: the operator maps it and upgrades again
        assert connection.execute(select(func.count()).select_from(Feed)).scalar_one() == 2
        connection.execute(update(Feed).where(Feed.status == "paused").values(status="suspended"))
    upgrade(database_url)
    with engine.connect() as connection:
        assert sorted(connection.execute(select(Feed.status)).scalars()) == ["active", "suspended"]


def test_migration_0012_keeps_every_row_both_ways(demo_cpo, sessions, settings):
    """No table is rebuilt: on SQLite with foreign keys on, rebuilding `feeds` would delete
    every location, EVSE, status change, run and finding under it."""
    cpo = demo_cpo(locations=5, broken_objects=1)
    register_and_harvest(sessions, settings, cpo)
    with sessions.begin() as session:
        session.add(User(email="admin@example.com", password_hash="x", role="admin", created_at=NOW))

    tables = (Feed, FeedParty, HarvestRun, Location, Evse, EvseStatusChange, Finding, User)

    def counts() -> tuple[int, ...]:
        return tuple(count_rows(sessions, table) for table in tables)
    before = counts()
    assert all(before), dict(zip([t.__tablename__ for t in tables], before))
    command.downgrade(alembic_config(settings.database_url), "0012")
    assert counts() == before
    command.downgrade(alembic_config(settings.database_url), "0011")
    assert counts() == before
    with sessions.begin() as session:  # no check left behind
        session.execute(update(Feed).values(status="anything"))
        session.execute(update(Feed).values(status="active"))
    upgrade(settings.database_url)
    assert counts() == before
