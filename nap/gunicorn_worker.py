"""gunicorn's threaded worker, answering a request line or header block beyond gunicorn's
limits with an OCPI envelope instead of gunicorn's HTML page.

gunicorn refuses such a request before any of it reaches NAP: a request line longer than
`limit_request_line` (HTTP 414), a header longer than `limit_request_field_size` or more
headers than `limit_request_fields` (HTTP 431). Most clients of NAP are OCPI clients (CPOs
pushing, navigation providers reading), which read the JSON envelope's status_code and
message, not an HTML page. The request was not read, so its path is unknown: every path
gets the envelope (a browser shows it as text). Behind nginx, nginx's own limits come first
(deploy/nginx/ocpi-limits.conf answers alike); this covers gunicorn served directly
(`nap serve`) and what nginx lets through.

This module imports no part of NAP: gunicorn's master process loads the worker class, and
the app must be imported in the workers only (deploy/gunicorn.conf.py, preload_app).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.util import write_nonblock
from gunicorn.workers.gthread import ThreadWorker

# OCPI status 2000, "Generic client error" (status_codes.asciidoc), with the HTTP status
# gunicorn gives the same refusal.
_REFUSALS = {
    LimitRequestLine: (414, "URI Too Long", "the request line is longer than this server reads"),
    LimitRequestHeaders: (431, "Request Header Fields Too Large",
                          "a request header is longer than this server reads, or there are too many"),
}


def envelope_response(http_status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 response carrying an OCPI error envelope; the connection closes."""
    body = json.dumps({"status_code": 2000, "status_message": message,
                       "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}).encode()
    head = (f"HTTP/1.1 {http_status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class OcpiThreadWorker(ThreadWorker):
    def handle_error(self, req, client, addr, exc):
        refusal = next((value for kind, value in _REFUSALS.items() if isinstance(exc, kind)), None)
        if refusal is None:
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            write_nonblock(client, envelope_response(*refusal))
        except Exception:  # the client may be gone; gunicorn ignores this too
            self.log.debug("Failed to send error message.")
