"""Portal users: creating them, checking and changing their passwords. Used by the sign-up,
sign-in and password pages and by `nap users add`.

Passwords are hashed with werkzeug.security (scrypt with a per-user salt); only the hash
is stored. Checking an unknown address costs as much as checking a known one, so response
times do not tell which addresses have accounts.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from nap.portal.session_store import revoke_user_sessions
from nap.store.states import UserRole
from nap.store.tables import User

ROLES = tuple(UserRole)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing megabytes of "password" would be a cheap denial of service
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    def __init__(self, message: str, field: str = "email"):
        super().__init__(message)
        self.field = field  # the form field the message belongs to


def normalize_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise UserError("Enter an e-mail address like name@example.com.")
    return email


def check_password_rules(password: str) -> None:
    """At least 12 characters, not all of them whitespace (sign-up, reset, change, invitation,
    `nap users add`): twelve spaces are as easy to guess as none."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.", "password")
    if not password.strip():
        raise UserError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters that are not all spaces.",
                        "password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"Choose a password of at most {MAX_PASSWORD_LENGTH} characters.", "password")


def create_user(session: Session, email: str, password: str, role: str = UserRole.CPO, *,
                verified: bool = True, organisation_id: int | None = None) -> User:
    """A new user. `verified`: whether the address counts as proven; sign-up passes False
    (the user follows a mailed link first), while `nap users add` (an operator vouches) and
    an accepted invitation (its link was mailed to the address) create verified users."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}", "role")
    email = normalize_email(email)
    check_password_rules(password)
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise UserError("An account with this e-mail address exists already. Sign in instead.")
    now = datetime.now(timezone.utc)
    user = User(email=email, password_hash=generate_password_hash(password), role=role, created_at=now,
                email_verified_at=now if verified else None, organisation_id=organisation_id)
    session.add(user)
    session.flush()
    return user


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return generate_password_hash("a password nobody has")


def verify_login(session: Session, email: str, password: str) -> User | None:
    """The user whose address and password these are, else None."""
    try:
        email = normalize_email(email)
    except UserError:
        email = ""
    user = session.scalar(select(User).where(User.email == email)) if email else None
    if user is None:
        check_password_hash(_decoy_hash(), password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def change_password(session: Session, user: User, new_password: str) -> int:
    """Give `user` a new password and end every session of theirs, wherever it was opened
    (a cookie copied by someone else among them); returns how many were ended. The caller
    commits, and signs the user in afresh if they should stay signed in where they are."""
    check_password_rules(new_password)
    user.password_hash = generate_password_hash(new_password)
    return revoke_user_sessions(session, user.id)
