"""The portal: server-rendered pages for the public (national overview, map, one page per
CPO), for CPOs (sign-up, feed registration, harvest history, freshness, data-quality
report, "where did my charger go?") and for the access point's administrators.

Everything it shows comes from the store; it adds users, feed owners and feed events
(nap.store.tables) and never talks to CPOs itself except through the harvester's
credentials handshake. Front-end assets are shipped in nap/portal/static and served by
NAP: no page loads anything from another site.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask

from nap.portal.secret import PortalSessionInterface


def register_portal(app: Flask) -> None:
    """Blueprints, session cookies and their signing key."""
    from nap.portal.views_accounts import blueprint as accounts_blueprint
    from nap.portal.views_admin import blueprint as admin_blueprint
    from nap.portal.views_auth import blueprint as auth_blueprint
    from nap.portal.views_cpo import blueprint as cpo_blueprint
    from nap.portal.views_public import blueprint as public_blueprint
    from nap.portal.views_supplement import blueprint as supplement_blueprint

    settings = app.extensions["nap.settings"]
    # None: generated once and kept in the database (nap.portal.secret), shared by all workers.
    app.secret_key = settings.secret_key or None
    app.session_interface = PortalSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="nap_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    for blueprint in (public_blueprint, auth_blueprint, accounts_blueprint, cpo_blueprint, admin_blueprint,
                      supplement_blueprint):
        app.register_blueprint(blueprint)
    from nap.portal.throttle import install_login_throttle

    install_login_throttle(app)
