"""Schema migrations over data stored by the release before them, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alembic import command
from sqlalchemy import select

from nap.store.db import get_engine
from nap.store.migrate import alembic_config, upgrade
from nap.store.tables import Evse, EvseStatusChange, Feed, Finding, Location, Tariff
from tests.harvest_helpers import count_rows, register_and_harvest


def test_migration_0008_resolves_case_twins_stored_before_it(database_url):
    engine = get_engine(database_url)
    command.downgrade(alembic_config(database_url), "0007")
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    with engine.begin() as connection:
        feed_id = connection.execute(Feed.__table__.insert().values(
            name="old", versions_url="https://cpo.example/versions", token="x", status="active",
            interval_minutes=15, created_at=now).returning(Feed.__table__.c.id)).scalar_one()

        def location(ocpi_id: str, changed_at: datetime, removed_at: datetime | None = None) -> dict:
            return {"feed_id": feed_id, "country_code": "DE", "party_id": "OLD", "ocpi_id": ocpi_id,
                    "publish": True, "latitude": 50.0, "longitude": 8.0, "last_updated": changed_at,
                    "data": {"id": ocpi_id}, "raw": {"id": ocpi_id}, "content_hash": ocpi_id,
                    "first_seen_at": now, "changed_at": changed_at, "removed_at": removed_at}
        connection.execute(Location.__table__.insert(), [
            location("Site-1", now),  # the latest published copy keeps the key
            location("SITE-1", now - timedelta(hours=1)),
            location("site-1", now + timedelta(hours=1), removed_at=now + timedelta(hours=1)),
            location("Other", now),
        ])
        connection.execute(Tariff.__table__.insert(), [
            {"feed_id": feed_id, "country_code": "DE", "party_id": "OLD", "ocpi_id": ocpi_id, "last_updated": now,
             "data": {"id": ocpi_id}, "raw": {"id": ocpi_id}, "content_hash": ocpi_id, "first_seen_at": now,
             "changed_at": changed_at, "removed_at": None}
            for ocpi_id, changed_at in (("t1", now), ("T1", now + timedelta(minutes=1)))])

    upgrade(database_url)
    with engine.connect() as connection:
        rows = {r.ocpi_id: r for r in connection.execute(select(
            Location.ocpi_id, Location.id_key, Location.removed_at, Location.changed_at).order_by(Location.id))}
        tariffs = dict(connection.execute(select(Tariff.ocpi_id, Tariff.id_key)).all())
    assert (rows["Site-1"].id_key, rows["Site-1"].removed_at, rows["Site-1"].changed_at) == ("site-1", None, now)
    assert rows["Other"].id_key == "other"
    # The others are history: removed (the one removed already keeps its dates), with a key no id folds to.
    assert rows["SITE-1"].removed_at is not None and rows["SITE-1"].changed_at > now
    assert rows["site-1"].removed_at == now + timedelta(hours=1)
    assert rows["site-1"].changed_at == now + timedelta(hours=1)
    for twin in ("SITE-1", "site-1"):
        assert rows[twin].id_key.startswith("TWIN") and rows[twin].id_key.endswith(":site-1")
    assert tariffs["T1"] == "t1" and tariffs["t1"].startswith("TWIN")

    command.downgrade(alembic_config(database_url), "0007")  # and back: the ids never collided
    upgrade(database_url)


def test_migrations_0008_and_0010_keep_every_evse_and_finding_both_ways(demo_cpo, sessions, settings):
    """On SQLite with foreign keys on, rebuilding `locations` or `harvest_runs` (Alembic's
    batch mode) would delete every EVSE, status change and finding under them."""
    cpo = demo_cpo(locations=5, broken_objects=1)
    register_and_harvest(sessions, settings, cpo)

    def counts() -> tuple[int, ...]:
        return tuple(count_rows(sessions, table) for table in (Location, Evse, EvseStatusChange, Finding))
    before = counts()
    assert all(before), before
    command.downgrade(alembic_config(settings.database_url), "0007")
    assert counts() == before
    upgrade(settings.database_url)
    assert counts() == before
