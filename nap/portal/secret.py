"""The key that signs session cookies.

NAP_SECRET_KEY wins. Without it (development, `make run`), a key is generated once and
kept in the database: every gunicorn worker and every host of a deployment then signs and
checks cookies with the same key, and a restart does not sign everybody out.

The key is resolved lazily, at the first request that opens a session, because the app
is created before anyone knows whether the database is reachable and migrated; until it
can be resolved the portal's sessions are unavailable, while the public API keeps working.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timezone

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from nap.store.tables import AppSecret

log = logging.getLogger(__name__)
SESSION_KEY_NAME = "portal-session-signing-key"


def stored_secret(sessions: sessionmaker[Session], name: str) -> str:
    """The secret called `name`, created on first use. Two processes creating it at once
    both end up with the one that was committed first."""
    with sessions() as session:
        value = session.scalar(select(AppSecret.value).where(AppSecret.name == name))
    if value:
        return value
    try:
        with sessions.begin() as session:
            session.add(AppSecret(name=name, value=secrets.token_urlsafe(48), created_at=datetime.now(timezone.utc)))
    except IntegrityError:
        pass  # another process won the race; its key is the one
    with sessions() as session:
        return session.scalar(select(AppSecret.value).where(AppSecret.name == name))


class PortalSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the key fetched from the database when the
    deployment did not configure one."""

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            try:
                app.secret_key = stored_secret(app.extensions["nap.sessions"], SESSION_KEY_NAME)
            except SQLAlchemyError as error:
                log.warning("no session key yet (set NAP_SECRET_KEY or migrate the database): %s", error)
                return None
        return super().get_signing_serializer(app)
