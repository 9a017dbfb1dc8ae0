"""Request ids and access logging: every request gets an id (the client's X-Request-ID
when it sends a sane one), echoed in the response and in every log line of the request.
The client's X-Correlation-ID (a new one when it sends none) is echoed too, and logged
with the access line: OCPI 2.2 and later want both on every response (transport_and_format,
"Unique message IDs"), so that a CPO pushing to NAP can match its pushes with NAP's log."""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request

from nap.observability.metrics import observe_request

log = logging.getLogger("nap.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def install_request_tracking(app: Flask) -> None:
    @app.before_request
    def _start():
        g.request_id = _sane_or_new(request.headers.get("X-Request-ID", ""))
        g.correlation_id = _sane_or_new(request.headers.get("X-Correlation-ID", ""))
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        started = g.get("request_started")
        duration = time.perf_counter() - started if started is not None else 0.0
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers["X-Correlation-ID"] = g.get("correlation_id", "")
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        observe_request(request.method, endpoint, response.status_code, duration)
        log.info("%s %s %s", request.method, request.path, response.status_code,
                 extra={"method": request.method, "path": request.path, "status": response.status_code,
                        "duration_ms": round(duration * 1000, 2), "correlation_id": g.get("correlation_id")})
        return response


def _sane_or_new(given: str) -> str:
    return given if _SANE_ID.match(given) else uuid.uuid4().hex
