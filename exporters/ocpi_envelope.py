"""The OCPI response envelope and status codes, for every OCPI endpoint NAP serves."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import jsonify

from nap.ocpi.values import format_datetime

STATUS_MESSAGES = {
    1000: "Success",
    2000: "Generic client error",
    2001: "Invalid or missing parameters",
    2003: "Unknown Location",
    2004: "Unknown Token",
    3000: "Generic server error",
}


def ocpi_response(data, status_code: int = 1000, http_status: int = 200, message: str | None = None):
    body = {"status_code": status_code, "status_message": message or STATUS_MESSAGES.get(status_code, ""),
            "timestamp": format_datetime(datetime.now(timezone.utc))}
    if data is not None:
        body["data"] = data
    response = jsonify(body)
    response.status_code = http_status
    return response


def ocpi_error(status_code: int, message: str, http_status: int):
    return ocpi_response(None, status_code, http_status, message)
