"""Per-request access to the settings and a database session, for every blueprint."""
from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy.orm import Session

from nap.config import Settings
from nap.store.db import repeatable_read


def settings() -> Settings:
    return current_app.extensions["nap.settings"]


def db_session() -> Session:
    if "db_session" not in g:
        session = current_app.extensions["nap.sessions"]()
        if request.method in ("GET", "HEAD") and session.get_bind().dialect.name == "postgresql":
            # One snapshot per read request: a page assembled from several queries never
            # mixes rows from before and after a harvest's commit. (Read-only transactions
            # cannot fail to serialize; SQLite's transactions are snapshots already.)
            repeatable_read(session)
        g.db_session = session
    return g.db_session


def close_db_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
