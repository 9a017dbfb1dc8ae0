"""Errors answered as JSON on the API paths: OCPI clients always get an OCPI envelope, map
clients a JSON object, whatever went wrong (unknown path, wrong method, a crash).

Routing errors happen before any blueprint is chosen, so they need an app-wide handler;
it leaves paths outside the API to Flask's defaults. Crashes are caught per blueprint, so
other parts of the app (DATEX II) keep their own behaviour.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException, InternalServerError

from nap.ocpi.envelope import json_response, ocpi_error
from nap.observability.outages import is_database_outage, outage_response

log = logging.getLogger(__name__)


def json_error(message: str, http_status: int) -> Response:
    return json_response({"error": message, "status": http_status}, http_status)


def _render(error: HTTPException):
    path = request.path
    message = f"no such endpoint: {path}; see /docs" if error.code == 404 else error.description
    if path == "/ocpi" or path.startswith("/ocpi/"):
        response = ocpi_error(3000 if error.code >= 500 else 2000, message, error.code)
    elif path.startswith("/api/"):
        response = json_error(message, error.code)
    else:
        return error
    # The error's own headers (a 405's Allow, a 401's WWW-Authenticate) go with the JSON.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def register_api_errors(app: Flask) -> None:
    app.register_error_handler(HTTPException, _render)


def catch_crashes(blueprint: Blueprint) -> None:
    def _handle(error: Exception):
        if isinstance(error, HTTPException):
            return _render(error)
        if is_database_outage(error):
            return outage_response(error)  # 503 and Retry-After, not a crash
        log.exception("unhandled error on %s", request.path)
        return _render(InternalServerError("internal server error"))

    blueprint.register_error_handler(Exception, _handle)
