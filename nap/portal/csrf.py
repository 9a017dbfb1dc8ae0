"""CSRF protection for the portal's forms.

A random token lives in the (signed) session; every form carries it in a hidden field and
every state-changing request of a protected blueprint must send it back. A cross-site
page can make the browser send the session cookie but cannot read the token. SameSite=Lax
cookies are a second line of defence, not the only one.
"""
from __future__ import annotations

import hmac
import secrets

from flask import Blueprint, abort, request, session

SESSION_KEY = "csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token() -> str:
    """The session's token, created on first use (templates call this for every form)."""
    token = session.get(SESSION_KEY)
    if not token:
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def rotate_csrf_token() -> None:
    """A new token, e.g. after signing in, so that a token seen before does not outlive it."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)


def check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD) or request.headers.get(HEADER)
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="The form was out of date or not sent from this site (CSRF check failed). "
                               "Reload the page and try again.")


def protect(blueprint: Blueprint) -> None:
    blueprint.before_request(check_csrf)
