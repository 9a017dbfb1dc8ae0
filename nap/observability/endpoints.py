"""/health (the process is alive), /ready (it can serve: database reachable, schema
current) and /metrics (Prometheus)."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from nap.observability.metrics import render_metrics
from nap.store.migrate import is_current
from nap.web import settings

log = logging.getLogger("nap.observability")

blueprint = Blueprint("observability", __name__)


@blueprint.get("/health")
def health():
    return jsonify(status="ok")


@blueprint.get("/ready")
def ready():
    try:
        with current_app.extensions["nap.sessions"]() as session:
            session.execute(text("SELECT 1"))
        current = is_current(settings().database_url)
    except SQLAlchemyError as error:
        # The answer is public: the driver's message (host, port, user) goes to the log only.
        log.warning("/ready: database unavailable: %s",
                    str(error.orig if hasattr(error, "orig") else error).splitlines()[0])
        return jsonify(status="unavailable", database="unavailable"), 503
    if not current:
        return jsonify(status="unavailable", database="reachable",
                       migrations="behind: run `nap db upgrade`"), 503
    return jsonify(status="ready", database="reachable", migrations="current")


@blueprint.get("/metrics")
def metrics():
    body, content_type = render_metrics(current_app.extensions["nap.sessions"])
    return Response(body, content_type=content_type)
