"""Who is signed in. The signed cookie holds only a random session id; the session itself
is a row in portal_sessions (nap.portal.session_store), so that signing out ends it on the
server too, and a copy of the cookie stops working at once. Changing the password ends every
session of the user. Roles: "cpo" sees its own feeds, "admin" sees and manages all of them."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for

from nap.portal.csrf import rotate_csrf_token
from nap.portal.session_store import open_session, revoke_session, session_user
from nap.store.states import UserRole
from nap.store.tables import User
from nap.web import db_session

# Cookies made before the sessions were kept on the server hold "uid" and "pw" instead:
# they have no id here, so they read as signed out (one more sign-in after the upgrade).
SESSION_ID = "sid"


def sign_in(user: User) -> None:
    """Start a session for `user` in this browser; the caller commits."""
    # A fresh session: nothing an attacker planted before sign-in (session fixation) survives.
    session.clear()
    # The row lives as long as the cookie may (PERMANENT_SESSION_LIFETIME), from sign-in on.
    session[SESSION_ID] = open_session(db_session(), user, current_app.permanent_session_lifetime)
    session.permanent = True
    rotate_csrf_token()
    user.last_login_at = datetime.now(timezone.utc)
    # Asked again, not assumed: if the caller's commit fails, nobody is signed in.
    g.pop("portal_user", None)


def sign_out() -> None:
    """End this browser's session on the server as well; the caller commits."""
    revoke_session(db_session(), session.get(SESSION_ID))
    session.clear()
    g.portal_user = None


def current_user() -> User | None:
    if "portal_user" not in g:
        session_id = session.get(SESSION_ID)
        g.portal_user = session_user(db_session(), session_id) if session_id else None
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
        if user.role != UserRole.ADMIN:
            abort(403, description="This page is for the access point's administrators.")
        return view(*args, **kwargs)
    return wrapper
