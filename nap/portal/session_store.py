"""Portal sessions kept on the server (table portal_sessions), so that one can be ended
for good: signing out, or changing the password, revokes the row, and a copy of the cookie
taken before is refused from then on. Without Flask, so that the command line can revoke
sessions too; nap.portal.auth puts the id into the signed cookie.

The cookie carries a random id of 256 bits; the table keeps only its SHA-256, so reading
the table (a backup, a replica) does not let anyone sign in. Checking a request costs one
query on primary keys: no write per request, which is why a session's expiry is fixed at
sign-in rather than moved by use.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nap.store.tables import PortalSession, User

# token_urlsafe(32) gives 43 characters; anything much longer in a cookie is not ours.
_MAX_ID_LENGTH = 100


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def open_session(db: Session, user: User, lifetime: timedelta, now: datetime | None = None) -> str:
    """A new session for `user`, valid for `lifetime`; returns the id for the cookie."""
    now = now or _now()
    # Sign-ins are rare and already write: a good moment to drop what can no longer be used,
    # so the table holds at most one lifetime's worth of sessions.
    delete_expired(db, now)
    session_id = secrets.token_urlsafe(32)
    db.add(PortalSession(id_hash=_id_hash(session_id), user_id=user.id, password_fingerprint=password_fingerprint(user),
                         created_at=now, expires_at=now + lifetime))
    return session_id


def session_user(db: Session, session_id: object, now: datetime | None = None) -> User | None:
    """The user of a live session (not revoked, not expired, password unchanged), else None."""
    if not isinstance(session_id, str) or not session_id or len(session_id) > _MAX_ID_LENGTH:
        return None
    row = db.execute(
        select(User, PortalSession.password_fingerprint)
        .join(PortalSession, PortalSession.user_id == User.id)
        .where(PortalSession.id_hash == _id_hash(session_id),
               PortalSession.revoked_at.is_(None),
               PortalSession.expires_at > (now or _now()))
    ).first()
    if row is None:
        return None
    user, fingerprint = row
    # Revocation covers the portal's own password change; the fingerprint also covers a hash
    # replaced by any other route (an operator's UPDATE, a future command that forgets to
    # revoke). It costs nothing: the user row is read anyway.
    return user if hmac.compare_digest(fingerprint, password_fingerprint(user)) else None


def revoke_session(db: Session, session_id: object, now: datetime | None = None) -> None:
    if not isinstance(session_id, str) or not session_id or len(session_id) > _MAX_ID_LENGTH:
        return
    db.execute(update(PortalSession)
               .where(PortalSession.id_hash == _id_hash(session_id), PortalSession.revoked_at.is_(None))
               .values(revoked_at=now or _now()))


def revoke_user_sessions(db: Session, user_id: int, now: datetime | None = None) -> int:
    """End every session of the user (e.g. after a password change); returns how many."""
    return db.execute(update(PortalSession)
                      .where(PortalSession.user_id == user_id, PortalSession.revoked_at.is_(None))
                      .values(revoked_at=now or _now())).rowcount


def delete_expired(db: Session, now: datetime | None = None) -> int:
    """Delete sessions past their expiry. Revoked ones stay until then: a short record of
    who signed out or was signed out when, and a revoked row refuses its cookie either way."""
    return db.execute(delete(PortalSession).where(PortalSession.expires_at <= (now or _now()))).rowcount
