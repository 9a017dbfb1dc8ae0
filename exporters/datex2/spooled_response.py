"""Serving a publication written by a streaming writer: into a spooled temporary file
(gzip-compressed when the client accepts it), then out in chunks.

The writer works in constant memory and the client gets a complete, valid document or an
error, never half of one: the body is only sent once the writer has finished. Shared by the
DATEX II 3.7 XML endpoints (api.py) and the German profile's JSON ones (de_afir_api.py).
"""
from __future__ import annotations

import gzip
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from flask import Response, request

from exporters.http_caching import Validators, not_modified

CHUNK = 64 * 1024
# In memory up to this size, then on disk: a national table is larger than a request should hold.
SPOOL_IN_MEMORY = 8 * 1024 * 1024


def plain(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def spool_file() -> BinaryIO:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)


def spooled(write: Callable[[BinaryIO], int]) -> tuple[BinaryIO, int, bool]:
    """Run write(out) into a spooled file, gzipped if the client accepts it: (the file at its
    start, what write returned, whether it is gzipped). The caller closes the file (stream()
    does)."""
    spool = spool_file()
    gzipped = request.accept_encodings["gzip"] > 0
    # mtime=0: the same document gives the same bytes, whenever it is compressed.
    out = gzip.GzipFile(fileobj=spool, mode="wb", compresslevel=5, mtime=0) if gzipped else spool
    try:
        written = write(out)
        if gzipped:
            out.close()
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, written, gzipped


def stream(spool: BinaryIO, gzipped: bool, validators: Validators, *, mimetype: str, max_age: int) -> Response:
    """The spooled document as a public, cacheable response carrying `validators`."""
    def chunks():
        try:
            while block := spool.read(CHUNK):
                yield block
        finally:
            spool.close()

    response = Response(chunks(), mimetype=mimetype)
    response.vary.add("Accept-Encoding")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    return validators.apply(response, private=False, max_age=max_age)


def served_ahead(ahead, fingerprint: str, *, mimetype: str, max_age: int) -> Response | None:
    """A table the worker wrote ahead (table_files.TableFile), with the validators (the ETag
    from `fingerprint`) a request building it would give: gzip as it is, or unpacked for a
    client that takes no gzip. None if the file has gone meanwhile: build it then."""
    validators = Validators(fingerprint, ahead.last_change)
    if validators.client_is_current():
        return not_modified(validators, private=False, max_age=max_age)
    if not ahead.charging_points:
        return plain("no charging points are published yet", 204)
    gzipped = request.accept_encodings["gzip"] > 0
    try:
        body = ahead.open(gzipped)
    except OSError:
        return None
    return stream(body, gzipped, validators, mimetype=mimetype, max_age=max_age)
