"""Leases in the database: the one mechanism that keeps jobs from running twice when many
worker processes share a database. Works the same on SQLite and PostgreSQL because it
rests on two atomic statements: an INSERT guarded by the primary key, and an UPDATE
guarded by its WHERE clause."""
from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from nap.store.tables import Lease


def process_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leases:
    def __init__(self, sessions: sessionmaker[Session], holder: str | None = None):
        self.sessions = sessions
        self.holder = holder or process_identity()

    def acquire(self, name: str, ttl: timedelta) -> bool:
        now = datetime.now(timezone.utc)
        try:
            with self.sessions.begin() as session:
                session.execute(insert(Lease).values(name=name, holder=self.holder, expires_at=now + ttl))
            return True
        except IntegrityError:
            pass
        except OperationalError:
            return False  # SQLite: another process holds the write lock, so it is busy anyway
        try:
            with self.sessions.begin() as session:
                result = session.execute(
                    update(Lease)
                    .where(Lease.name == name, (Lease.expires_at < now) | (Lease.holder == self.holder))
                    .values(holder=self.holder, expires_at=now + ttl)
                )
                return result.rowcount == 1
        except OperationalError:
            return False

    def release(self, name: str) -> None:
        with self.sessions.begin() as session:
            session.execute(delete(Lease).where(Lease.name == name, Lease.holder == self.holder))
