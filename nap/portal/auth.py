"""Who is signed in: the session holds the user id and a fingerprint of the password hash,
so that changing a password (or deleting the user) ends every session made with the old
one. Roles: "cpo" sees its own feeds, "admin" sees and manages all of them."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, session, url_for

from nap.portal.csrf import rotate_csrf_token
from nap.store.tables import User
from nap.web import db_session


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def sign_in(user: User) -> None:
    # A fresh session: nothing an attacker planted before sign-in (session fixation) survives.
    session.clear()
    session["uid"] = user.id
    session["pw"] = _fingerprint(user)
    session.permanent = True
    rotate_csrf_token()
    user.last_login_at = datetime.now(timezone.utc)


def sign_out() -> None:
    session.clear()


def current_user() -> User | None:
    if "portal_user" not in g:
        user = None
        uid = session.get("uid")
        if isinstance(uid, int):
            user = db_session().get(User, uid)
            if user is not None and session.get("pw") != _fingerprint(user):
                user = None
        g.portal_user = user
    return g.portal_user


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: a `next` parameter must not send people to another site."""
    # Browsers read "/\\host" as "//host", another site: backslashes are refused as well.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not urlsplit(target).netloc:
        return target
    return default


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("portal_auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = current_user()
        if user is None:
            return redirect(url_for("portal_auth.login", next=request.full_path.rstrip("?")))
        if user.role != "admin":
            abort(403, description="This page is for the access point's administrators.")
        return view(*args, **kwargs)
    return wrapper
