"""Security headers on every answer NAP gives, not only the portal's pages: the API
documentation (/docs), the downloads page, JSON and files. The portal's blueprints set
their own, wider policy first (nap/portal/pages.py); this fills in what is missing.

Outside the portal NAP serves no scripts, no forms and no images of its own: the policy
allows nothing but the one inline stylesheet of /docs, by its hash."""
from __future__ import annotations

import base64
import hashlib

from flask import Flask, Response

from exporters.api_docs import STYLE


def _style_hash(style: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode() + "'"


POLICY = (f"default-src 'none'; style-src {_style_hash(STYLE)}; frame-ancestors 'none'; "
          "form-action 'none'; base-uri 'none'")


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def install_security_headers(app: Flask) -> None:
    app.after_request(_security_headers)
