"""Reads inside one transaction see one snapshot, on both databases: a request assembling
a page from several queries never mixes rows from before and after another commit."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask
from sqlalchemy import func, select

from nap.app import create_app
from nap.feeds import add_feed
from nap.store.db import write_session
from nap.store.tables import Feed
from nap.web import db_session


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Feed))


def test_a_read_request_sees_one_snapshot(settings, sessions):
    """Fails without the protection: without BEGIN sent by NAP on SQLite (the driver's own
    handling) or REPEATABLE READ for read requests on PostgreSQL, the second count sees
    the other commit (checked on both)."""
    app: Flask = create_app(settings)
    with app.test_request_context("/ocpi/2.3.0/locations", method="GET"):
        session = db_session()
        before = _count(session)
        with write_session(sessions) as other:
            add_feed(other, name="meanwhile", versions_url="https://cpo.example/ocpi/versions", token="t")
        assert _count(session) == before
    with sessions() as fresh:
        assert _count(fresh) == before + 1
