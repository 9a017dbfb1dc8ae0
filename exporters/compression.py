"""gzip for API responses, as an after_request hook of the whole app.

OCPI location pages are large and repetitive JSON (a full page shrinks about tenfold), so
compressing them saves consumers more time than it costs us. Streamed responses (the
DATEX II exports) are left alone: they are written chunk by chunk and never held in memory.
"""
from __future__ import annotations

import gzip

from flask import Response, request

COMPRESSIBLE = {"application/json", "application/geo+json", "text/html", "text/plain", "text/css",
                "application/javascript", "application/xml", "text/xml"}
MIN_SIZE = 1024  # below this the gzip header and CPU are not worth it
LEVEL = 5  # close to level 9's ratio on JSON at less than half its CPU time


def gzip_response(response: Response) -> Response:
    if (response.status_code < 200 or response.status_code in (204, 304) or response.is_streamed
            or response.direct_passthrough or "Content-Encoding" in response.headers
            or response.mimetype not in COMPRESSIBLE):
        return response
    # Whether we compress depends on the request's Accept-Encoding: caches must know.
    response.vary.add("Accept-Encoding")
    if request.method == "HEAD" or request.accept_encodings["gzip"] <= 0:
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    # A strong ETag promises identical bytes; the gzipped body is only equivalent.
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)
    return response
