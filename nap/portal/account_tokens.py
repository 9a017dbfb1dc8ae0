"""The random tokens in the links the portal mails: verify an address, reset a password,
accept an invitation. Without Flask, so the command line can make them too.

A token is 256 random bits (token_urlsafe(32)); the table keeps only its SHA-256, so a copy
of the table (a backup, a replica) opens no account. Each is used once: consuming it is an
UPDATE that only one request can win, so two clicks racing each other cannot both succeed.
Links expire: verification and invitations after 24 hours, password resets after 1 hour.
Tokens are never logged.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from nap.portal.session_store import password_fingerprint
from nap.store.tables import AccountToken, User

VERIFY, RESET, INVITE = "verify", "reset", "invite"
LIFETIMES = {VERIFY: timedelta(hours=24), INVITE: timedelta(hours=24), RESET: timedelta(hours=1)}
# token_urlsafe(32) gives 43 characters; a much longer one in a link is not ours.
_MAX_TOKEN_LENGTH = 100


def _now() -> datetime:
    return datetime.now(timezone.utc)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _well_formed(token: object) -> bool:
    return isinstance(token, str) and 0 < len(token) <= _MAX_TOKEN_LENGTH


def issue(session: Session, purpose: str, email: str, *, user: User | None = None,
          organisation_id: int | None = None, invited_by: int | None = None,
          now: datetime | None = None) -> str:
    """A new token; returns it for the link (it is stored hashed only). The caller commits."""
    now = now or _now()
    # Issuing is rare: a good moment to drop links that can no longer be used.
    session.execute(delete(AccountToken).where(AccountToken.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(AccountToken(
        id_hash=token_hash(token), purpose=purpose, email=email, user_id=user.id if user else None,
        organisation_id=organisation_id, invited_by=invited_by,
        password_fingerprint=password_fingerprint(user) if purpose == RESET and user else None,
        created_at=now, expires_at=now + LIFETIMES[purpose]))
    session.flush()
    return token


def recently_issued(session: Session, purpose: str, email: str, within: timedelta,
                    now: datetime | None = None) -> bool:
    """Whether a link of this kind went to this address lately: repeated requests must not
    let anyone flood a mailbox through the portal."""
    latest = session.scalar(select(func.max(AccountToken.created_at))
                            .where(AccountToken.purpose == purpose, AccountToken.email == email))
    return latest is not None and latest > (now or _now()) - within


def peek(session: Session, purpose: str, token: object, now: datetime | None = None) -> AccountToken | None:
    """The live token (unused, unexpired, still matching its user), without using it: for
    the page that asks for the new password before the token is spent."""
    if not _well_formed(token):
        return None
    row = session.scalar(select(AccountToken).where(
        AccountToken.id_hash == token_hash(token), AccountToken.purpose == purpose,
        AccountToken.used_at.is_(None), AccountToken.expires_at > (now or _now())))
    if row is None:
        return None
    if row.user_id is not None:
        user = session.get(User, row.user_id)
        # A link is for the address it was mailed to and, for a reset, for the password the
        # user had then: once either changed, the link opens nothing.
        if user is None or user.email != row.email:
            return None
        if row.password_fingerprint is not None and row.password_fingerprint != password_fingerprint(user):
            return None
    return row


def consume(session: Session, purpose: str, token: object, now: datetime | None = None) -> AccountToken | None:
    """Use the token once: the live row, now marked used, or None (unknown, used, expired,
    or taken by a concurrent request). The caller commits along with what the token allows."""
    now = now or _now()
    row = peek(session, purpose, token, now)
    if row is None:
        return None
    won = session.execute(update(AccountToken)
                          .where(AccountToken.id_hash == row.id_hash, AccountToken.used_at.is_(None))
                          .values(used_at=now)
                          .execution_options(synchronize_session=False)).rowcount
    if won != 1:
        return None
    session.refresh(row)
    return row


def spend_all(session: Session, purpose: str, user_id: int, now: datetime | None = None) -> None:
    """Mark every live token of this kind of the user used (a reset done: the other reset
    mails he asked for open nothing any more)."""
    session.execute(update(AccountToken)
                    .where(AccountToken.purpose == purpose, AccountToken.user_id == user_id,
                           AccountToken.used_at.is_(None))
                    .values(used_at=now or _now())
                    .execution_options(synchronize_session=False))
