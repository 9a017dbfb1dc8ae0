"""The OCPI response envelope and status codes, for every OCPI endpoint NAP serves.

Bodies are serialized here rather than with Flask's jsonify: jsonify sorts keys (so a
location would not keep the field order its CPO gave it) and is slower for the large pages
the list endpoints return.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Iterator

from flask import Response

from nap.compression import chunked_response
from nap.jsonutil import dumps_bytes
from nap.ocpi.values import format_datetime

STATUS_MESSAGES = {
    1000: "Success",
    2000: "Generic client error",
    2001: "Invalid or missing parameters",
    2003: "Unknown Location",
    2004: "Unknown Token",
    3000: "Generic server error",
}


class OcpiError(Exception):
    """A request the OCPI layer refuses: becomes an envelope with `status_code` and no data."""

    def __init__(self, status_code: int, message: str, http_status: int):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.http_status = http_status


def json_response(body, http_status: int = 200) -> Response:
    return Response(dumps_bytes(body), status=http_status, mimetype="application/json")


def envelope(data, status_code: int = 1000, message: str | None = None) -> dict:
    body = {"status_code": status_code, "status_message": message or STATUS_MESSAGES.get(status_code, ""),
            "timestamp": format_datetime(datetime.now(timezone.utc))}
    if data is not None:
        body["data"] = data
    return body


def ocpi_response(data, status_code: int = 1000, http_status: int = 200, message: str | None = None) -> Response:
    return json_response(envelope(data, status_code, message), http_status)


def ocpi_response_of_json(items: Iterable[str], chunk_size: int = 256 * 1024) -> Response:
    """A success envelope whose data is the array of the already encoded JSON `items`
    (exporters.ocpi.sources: documents served as stored, never decoded). The body is handed
    on in chunks as the items come, so that it is compressed while it is produced."""
    head = dumps_bytes(envelope([]))  # ... ,"data":[]}
    assert head.endswith(b"[]}")

    def chunks() -> Iterator[bytes]:
        yield head[:-2]
        batch: list[str] = []
        size = 0
        separator = ""
        for item in items:
            batch.append(item)
            size += len(item)
            if size >= chunk_size:
                yield (separator + ",".join(batch)).encode()
                batch, size, separator = [], 0, ","
        if batch:
            yield (separator + ",".join(batch)).encode()
        yield b"]}"

    return chunked_response(chunks())


def ocpi_error(status_code: int, message: str, http_status: int) -> Response:
    # The spec's error example carries no data field; we follow it.
    return ocpi_response(None, status_code, http_status, message)
