"""What every portal blueprint shares: templates, CSRF, security headers, error pages and
the template helpers (signed-in user, CSRF token, dates)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Response, render_template
from werkzeug.exceptions import HTTPException

from nap.portal.auth import current_user
from nap.portal.csrf import csrf_token, protect
from nap.web import settings

TEMPLATES = "templates"


def _security_headers(response: Response) -> Response:
    tiles = settings().map_tile_url
    tile_origin = ""
    if tiles.startswith(("https://", "http://")):
        tile_origin = " " + "/".join(tiles.split("/", 3)[:3]).replace("{s}.", "*.")
    # Only NAP's own scripts, styles and data; map tiles from the configured server if any.
    response.headers.setdefault("Content-Security-Policy", (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        f"img-src 'self' data:{tile_origin}; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        # Pages show private data (tokens, findings) to signed-in users: never cache them.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _error_page(error: HTTPException):
    return render_template("portal/error.html", error=error), error.code


def portal_blueprint(name: str, url_prefix: str | None = None, **options) -> Blueprint:
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix, template_folder=TEMPLATES, **options)
    protect(blueprint)
    blueprint.after_request(_security_headers)
    blueprint.register_error_handler(HTTPException, _error_page)
    return blueprint


def utc(moment: datetime | None) -> str:
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC" if moment else "–"


def install_template_helpers(blueprint: Blueprint) -> None:
    @blueprint.app_context_processor
    def _helpers():
        return {"current_user": current_user(), "operator_name": settings().operator_name}

    # A global, not a context variable: imported macros (forms) see globals only.
    blueprint.add_app_template_global(csrf_token, "csrf_token")
    blueprint.add_app_template_filter(utc, "utc")


def repeated_password(form) -> tuple[str, dict[str, str]]:
    """The new password of a form that asks for it twice, and the error when the two differ
    (sign-up, password change, reset, accepting an invitation)."""
    password = form.get("password", "")
    if password != form.get("password_repeat", ""):
        return password, {"password_repeat": "The two passwords differ."}
    return password, {}
