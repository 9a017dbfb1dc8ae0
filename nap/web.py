"""Per-request access to the settings and a database session, for every blueprint."""
from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from nap.config import Settings


def settings() -> Settings:
    return current_app.extensions["nap.settings"]


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["nap.sessions"]()
    return g.db_session


def close_db_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
