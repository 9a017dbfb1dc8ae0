"""Conditional GETs (ETag / If-None-Match, Last-Modified / If-Modified-Since) and
Cache-Control for the public API.

A response's validators are computed before its body: the views first read the few index
columns that decide what the answer contains (ids, change times, counts), fingerprint them,
and only when the client's copy is stale load, assemble and serialize the documents. A 304
thus costs a couple of narrow queries.

ETags are weak (W/"..."): the OCPI envelope carries a fresh `timestamp` in every response
and the body may be gzipped, so two responses with one ETag are equivalent, not
byte-identical (RFC 9110, 8.8.1).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, Sequence

from flask import Response, request

# Bump when the served format changes without the data changing (a new conversion rule,
# a new field), so that clients do not keep copies of the old format.
FORMAT_REVISION = "1"


class Fingerprint:
    """An incremental hash of everything a response depends on."""

    def __init__(self, *parts):
        self._hash = hashlib.sha256(FORMAT_REVISION.encode())
        self.add(*parts)

    def add(self, *parts) -> "Fingerprint":
        return self.add_rows((parts,))

    def add_rows(self, rows: Iterable[Sequence]) -> "Fingerprint":
        """`add(*row)` for every row, in one update of the hash: the same digest, without a
        call per value (a page fingerprints thousands of EVSE rows)."""
        # Each value's text is built inline: a call per value would be most of the time.
        self._hash.update("".join([
            "\x1f" + (part.isoformat() if isinstance(part, datetime) else "" if part is None else str(part))
            for row in rows for part in row]).encode())
        return self

    def etag(self) -> str:
        return self._hash.hexdigest()[:32]


@dataclass(frozen=True)
class Validators:
    etag: str  # unquoted; sent weak
    last_modified: datetime | None

    def _last_modified_seconds(self) -> datetime | None:
        """Last-Modified in whole seconds (HTTP dates have no fractions), rounded up: a
        change at 12:00:00.3 is dated 12:00:01, so that a second change at 12:00:00.9 is not
        hidden behind a date a client already holds."""
        if self.last_modified is None:
            return None
        moment = self.last_modified.astimezone(timezone.utc)
        whole = moment.replace(microsecond=0)
        return whole + timedelta(seconds=1) if moment != whole else whole

    @staticmethod
    def may_be_current() -> bool:
        """Whether client_is_current() can be true for this request at all: it names a copy."""
        return request.method in ("GET", "HEAD") and (
            "If-None-Match" in request.headers or "If-Modified-Since" in request.headers)

    def client_is_current(self) -> bool:
        """The client's copy (named in If-None-Match or dated by If-Modified-Since) is the
        current one. If-None-Match, when sent, decides alone (RFC 9110, 13.1.3)."""
        if request.method not in ("GET", "HEAD"):
            return False
        if "If-None-Match" in request.headers:
            return request.if_none_match.contains_weak(self.etag)
        since = request.if_modified_since
        modified = self._last_modified_seconds()
        return since is not None and modified is not None and modified <= since

    def apply(self, response: Response, private: bool, max_age: int) -> Response:
        response.set_etag(self.etag, weak=True)
        modified = self._last_modified_seconds()
        # A date still in the future (the current second) could be repeated by a change
        # later in this second; until it has passed, the ETag alone validates.
        if modified is not None and modified <= datetime.now(timezone.utc):
            response.last_modified = modified
        set_cache_headers(response, private, max_age)
        return response


def set_cache_headers(response: Response, private: bool, max_age: int) -> None:
    """Fresh for max_age seconds, then revalidate (cheap thanks to the validators).
    Answers that depend on a consumer token must stay out of shared caches."""
    if private:
        response.cache_control.private = True
    else:
        response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.vary.add("Authorization")


def not_modified(validators: Validators, private: bool, max_age: int, headers: dict | None = None) -> Response:
    response = Response(status=304)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return validators.apply(response, private, max_age)
