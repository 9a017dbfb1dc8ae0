"""Inbound tokens (what CPOs and consumers present to NAP): generated here, stored only as
a SHA-256 hash, compared by hash. A random 256-bit token needs no slow hash: there is
nothing to brute-force."""
from __future__ import annotations

import base64
import binascii
import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_in_header(header: str | None) -> list[str]:
    """The token candidates in an `Authorization: Token ...` header: the Base64-decoded
    form (OCPI 2.2+) first, then the plain form (2.1.1, and 2.2 clients that never encoded)."""
    if not header or not header.startswith("Token "):
        return []
    raw = header[len("Token "):].strip()
    candidates = []
    try:
        decoded = base64.b64decode(raw, validate=True).decode("utf-8")
        if decoded:
            candidates.append(decoded)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    if raw:
        candidates.append(raw)
    return candidates
