"""The Flask application factory: the public API, exports and (later) the portal."""
from __future__ import annotations

from flask import Flask, jsonify

from nap.config import Settings, load_settings
from nap.store.db import session_factory
from nap.web import close_db_session


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    app.extensions["nap.settings"] = settings
    app.extensions["nap.sessions"] = session_factory(settings.database_url)
    app.teardown_appcontext(close_db_session)

    from exporters.datex2_api import blueprint as datex2_blueprint
    from exporters.ocpi_api import blueprint as ocpi_blueprint

    app.register_blueprint(ocpi_blueprint)
    app.register_blueprint(datex2_blueprint)

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    return app
