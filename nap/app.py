"""The Flask application factory: the public API, the exports, the OCPI receiver and the portal."""
from __future__ import annotations

from flask import Flask

from nap.config import Settings, load_settings
from nap.store.db import session_factory
from nap.web import close_db_session


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    # Every request body (pushes, portal forms) is refused beyond this (413; OCPI paths
    # answer with an envelope, harvesters/receiver_api.py). 0: no limit.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes or None
    app.extensions["nap.settings"] = settings
    app.extensions["nap.sessions"] = session_factory(settings.database_url)
    app.teardown_appcontext(close_db_session)

    from exporters.api_errors import register_api_errors
    from exporters.catalogue import blueprint as catalogue_blueprint
    from exporters.datex2.api import blueprint as datex2_blueprint
    from exporters.datex2.de_afir_api import blueprint as datex2_de_afir_blueprint
    from exporters.downloads_api import blueprint as downloads_blueprint
    from exporters.map_api import blueprint as map_blueprint
    from exporters.ocpi.api import blueprint as ocpi_blueprint
    from exporters.openapi import blueprint as openapi_blueprint
    from exporters.provenance_api import blueprint as provenance_blueprint
    from exporters.statistics_api import blueprint as statistics_api_blueprint
    from harvesters.receiver_api import blueprint as receiver_blueprint
    from nap.compression import gzip_response
    from nap.portal.views_statistics import blueprint as statistics_pages_blueprint

    app.register_blueprint(ocpi_blueprint)
    app.register_blueprint(map_blueprint)
    app.register_blueprint(openapi_blueprint)
    app.register_blueprint(datex2_blueprint)
    app.register_blueprint(datex2_de_afir_blueprint)  # Germany's AFIR profile (JSON)
    app.register_blueprint(receiver_blueprint)
    app.register_blueprint(downloads_blueprint)
    app.register_blueprint(statistics_api_blueprint)
    app.register_blueprint(provenance_blueprint)  # which source gave which value (docs/merge-rules.md)
    app.register_blueprint(statistics_pages_blueprint)  # reliability pages (docs/statistics.md)
    app.register_blueprint(catalogue_blueprint)  # DCAT-AP description of every dataset
    # The portal's pages; sets the session key (NAP_SECRET_KEY, else one kept in the database).
    from nap.portal import register_portal

    register_portal(app)
    register_api_errors(app)
    app.after_request(gzip_response)
    from nap.security_headers import install_security_headers

    install_security_headers(app)

    from nap.observability.endpoints import blueprint as observability_blueprint
    from nap.observability.outages import register_outage_handler
    from nap.observability.requests import install_request_tracking

    app.register_blueprint(observability_blueprint)
    install_request_tracking(app)
    register_outage_handler(app)

    return app
