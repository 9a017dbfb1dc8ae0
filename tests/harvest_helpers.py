"""Helpers for tests that harvest into NAP: register a feed, run it, read the store."""
from __future__ import annotations

from sqlalchemy import func, select

from harvesters.harvest import Harvester
from nap.feeds import add_feed
from nap.store.documents import assemble_locations
from nap.store.tables import Feed, Finding, Location, Tariff


def register(sessions, cpo, name="demo", **feed_options):
    with sessions.begin() as session:
        add_feed(session, name=name, versions_url=cpo.versions_url, token=cpo.token, **feed_options)


def harvest(sessions, settings, name="demo"):
    return Harvester(sessions, settings).harvest(name)


def register_and_harvest(sessions, settings, cpo, name="demo", **feed_options):
    register(sessions, cpo, name, **feed_options)
    return harvest(sessions, settings, name)


def stored_locations(sessions, include_removed=False) -> dict[str, dict]:
    with sessions() as session:
        query = select(Location).order_by(Location.id)
        if not include_removed:
            query = query.where(Location.removed_at.is_(None))
        return {doc["id"]: doc for doc in assemble_locations(session, session.scalars(query).all())}


def stored_tariffs(sessions) -> dict[str, dict]:
    with sessions() as session:
        return {row.ocpi_id: row.data for row in session.scalars(select(Tariff).where(Tariff.removed_at.is_(None)))}


def count_rows(sessions, table, *conditions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(table).where(*conditions))


def findings(sessions, severity=None) -> list[Finding]:
    with sessions() as session:
        query = select(Finding)
        if severity:
            query = query.where(Finding.severity == severity)
        return list(session.scalars(query))


def delete_feed(sessions, name):
    with sessions.begin() as session:
        session.delete(session.scalars(select(Feed).where(Feed.name == name)).one())
