"""Sign-in throttling against password guessing (Flask-Limiter): failed sign-ins are
counted per account (the e-mail address given) and per client address (the one the API's
rate limits use, exporters/access.py, so NAP_API_TRUSTED_PROXIES applies); past either
limit, every sign-in attempt there, right password or not, is refused (429) until the
window has passed. Only failures count: a user who signs in is not slowed down.

Counts are kept in each process's memory (Flask-Limiter's memory storage): with N worker
processes an attacker gets at most N times the limit per window."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

LOGIN_VIEW = "portal_auth.login"


def _account() -> str:
    return "account:" + request.form.get("email", "").strip().lower()


def _address() -> str:
    from exporters.access import client_address

    return "address:" + client_address()


def _failed(response) -> bool:
    return response.status_code == 401


def install_login_throttle(app: Flask) -> None:
    settings = app.extensions["nap.settings"]
    window = max(1, settings.login_failure_window_seconds)
    limiter = Limiter(key_func=_address, app=app, storage_uri="memory://", default_limits=[],
                      headers_enabled=False, strategy="fixed-window")
    view = app.view_functions[LOGIN_VIEW]
    for key, count in ((_account, settings.login_max_failures_per_account),
                       (_address, settings.login_max_failures_per_address)):
        if count > 0:
            view = limiter.limit(f"{count} per {window} second", key_func=key, methods=["POST"],
                                 deduct_when=_failed, scope="login-" + key.__name__.strip("_"))(view)
    app.view_functions[LOGIN_VIEW] = view

    @app.errorhandler(RateLimitExceeded)
    def _too_many(error: RateLimitExceeded):
        message = (f"Too many failed sign-ins. Try again in {window // 60} minutes."
                   if window >= 120 else f"Too many failed sign-ins. Try again in {window} seconds.")
        response = render_template("portal/login.html", error=message, email=request.form.get("email", ""),
                                   next=request.values.get("next", "")), 429
        return response[0], 429, {"Retry-After": str(window)}
