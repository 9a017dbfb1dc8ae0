"""The ids of the listed locations kept per process (exporters/ocpi/listed_ids.py): pages
and X-Total-Count follow every way a location enters or leaves the list, from the kept ids
(no count over the table), on SQLite and PostgreSQL."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine

from exporters.ocpi import listed_ids
from nap.app import create_app
from nap.store.tables import Location
from tests.harvest_helpers import delete_feed, register_and_harvest


@pytest.fixture
def statements():
    """The SQL text of every statement run in this process while the test runs."""
    seen: list[str] = []
    engine = Engine  # the class: the app's engine and the test's alike

    def remember(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    yield seen
    event.remove(engine, "before_cursor_execute", remember)


def _served(client, limit: int = 4) -> tuple[list[str], set[str]]:
    """Every location id of the list, page by page at `limit`, and the X-Total-Counts seen."""
    ids, totals, offset = [], set(), 0
    while True:
        response = client.get(f"/ocpi/2.3.0/locations?offset={offset}&limit={limit}")
        assert response.status_code == 200
        totals.add(response.headers["X-Total-Count"])
        page = [location["id"] for location in response.get_json()["data"]]
        ids += page
        offset += limit
        if offset >= int(response.headers["X-Total-Count"]):
            return ids, totals


def _stored(sessions) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Location.ocpi_id).where(
            Location.removed_at.is_(None), Location.publish.is_(True)).order_by(Location.id)))


def _change(sessions, ocpi_id: str, stamped: datetime, **values) -> None:
    """Change a location as NAP's writers do: with the stamps of nap/store/tables.py."""
    with sessions.begin() as session:
        session.execute(update(Location).where(Location.ocpi_id == ocpi_id)
                        .values(**values, **Location.change_stamps(stamped)))


def _full_reads(seen: list[str]) -> int:
    """Statements reading every listed id (the first read, or one after too many changes)."""
    return sum(1 for text in seen if text.lstrip().startswith("SELECT locations.id") and "ORDER BY locations.id"
               in text and "LIMIT" not in text)


def test_pages_follow_removed_unpublished_late_and_deleted_locations(settings, sessions, demo_cpo, statements):
    listed_ids.forget()
    register_and_harvest(sessions, settings, demo_cpo(locations=15))
    client = create_app(settings).test_client()
    stored = _stored(sessions)
    statements.clear()
    assert _served(client) == (stored, {"15"})
    assert _full_reads(statements) == 1
    assert not [text for text in statements if "count(CASE" in text]  # the list counted in SQL

    now = datetime.now(timezone.utc)
    _change(sessions, stored[0], now, removed_at=now)
    _change(sessions, stored[7], now, publish=False)
    assert _served(client) == ([i for i in stored if i not in (stored[0], stored[7])], {"13"})

    # Published again by a write stamped 40 s before it committed (a long harvest): seen.
    _change(sessions, stored[7], now - timedelta(seconds=40), publish=True)
    assert _served(client) == (stored[1:], {"14"})
    assert _full_reads(statements) == 1  # every change was applied to the kept ids

    # Deleting the feed deletes its locations without a stamp: the list starts again.
    delete_feed(sessions, "demo")
    assert _served(client) == ([], {"0"})
    assert _full_reads(statements) == 2


def test_after_too_many_changes_the_ids_are_read_whole_at_most_every_interval(settings, sessions, demo_cpo,
                                                                              statements, monkeypatch):
    """A write that stamps more than MAX_CHANGES locations (a large harvest) leaves them
    within OVERLAP for a minute. Reads then take every id again, but not at every page: at
    most every FULL_READ_INTERVAL, and a change in between shows after it."""
    listed_ids.forget()
    monkeypatch.setattr(listed_ids, "MAX_CHANGES", 2)
    monkeypatch.setattr(listed_ids, "FULL_READ_INTERVAL", timedelta(seconds=1))
    register_and_harvest(sessions, settings, demo_cpo(locations=6))
    client = create_app(settings).test_client()
    stored = _stored(sessions)
    assert _served(client, limit=6) == (stored, {"6"})  # the ids are kept
    now = datetime.now(timezone.utc)
    for ocpi_id in stored[:3]:  # more than MAX_CHANGES, within OVERLAP
        _change(sessions, ocpi_id, now)
    statements.clear()
    assert _served(client, limit=2) == (stored, {"6"})  # three pages
    assert _full_reads(statements) == 1  # the first page's; the two after it kept its ids

    _change(sessions, stored[4], now, publish=False)
    shown = [i for i in stored if i != stored[4]]
    # Within the interval the page's rows are still read as they are now, so the location
    # withdrawn is not served; the kept ids, and the count, follow at the next full read.
    assert _served(client, limit=6) == (shown, {"6"})
    assert _full_reads(statements) == 1
    time.sleep(1.1)
    assert _served(client, limit=6) == (shown, {"5"})
    assert _full_reads(statements) == 2
