"""Leases in the database: the one mechanism that keeps jobs from running twice when many
worker processes share a database. Works the same on SQLite and PostgreSQL because it
rests on two atomic statements: an INSERT guarded by the primary key, and an UPDATE
guarded by its WHERE clause."""
from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from nap.store.tables import Lease


def process_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_is_dead_here(holder: str) -> bool:
    """A holder on this host whose process is gone (killed, crashed) cannot finish its job:
    its lease need not wait for expiry. Holders on other hosts are trusted until expiry."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Leases:
    def __init__(self, sessions: sessionmaker[Session], holder: str | None = None):
        self.sessions = sessions
        self.holder = holder or process_identity()

    def acquire(self, name: str, ttl: timedelta) -> bool:
        now = datetime.now(timezone.utc)
        if self._held_by_another(name, now):
            # Seen with a read, which waits for no lock: a write would wait for the job's
            # own transaction (SQLite's write lock; on PostgreSQL the lease row being
            # released) and then take the lease just released and run the job again.
            return False
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
                holder = session.scalar(select(Lease.holder).where(Lease.name == name))
                claimable = (Lease.expires_at < now) | (Lease.holder == self.holder)
                if holder and _holder_is_dead_here(holder):
                    claimable = claimable | (Lease.holder == holder)
                result = session.execute(
                    update(Lease).where(Lease.name == name, claimable)
                    .values(holder=self.holder, expires_at=now + ttl)
                )
                return result.rowcount == 1
        except OperationalError:
            return False

    def _held_by_another(self, name: str, now: datetime) -> bool:
        try:
            with self.sessions() as session:
                lease = session.execute(select(Lease.holder, Lease.expires_at).where(Lease.name == name)).first()
        except OperationalError:
            return False  # the write below decides
        if lease is None or lease.holder == self.holder or _holder_is_dead_here(lease.holder):
            return False
        expires_at = lease.expires_at
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=timezone.utc)
        return expires_at >= now

    def release(self, name: str) -> None:
        with self.sessions.begin() as session:
            session.execute(delete(Lease).where(Lease.name == name, Lease.holder == self.holder))
