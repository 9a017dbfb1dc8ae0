"""JSON encoding for documents and responses: orjson (several times faster: about a
quarter of a 1,000-location API page's time), falling back to the standard library for
what orjson refuses, such as integers beyond 64 bits in an object as a CPO sent it."""
from __future__ import annotations

import json

import orjson


def dumps_bytes(value) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


class JsonText(str):
    """A value already serialized as JSON: dumps_text, the engines' JSON serializer, writes
    it as it is (the store writes documents it prepared as text this way, without parsing
    them back into values first)."""


def dumps_text(value) -> str:
    if isinstance(value, JsonText):
        return value
    return dumps_bytes(value).decode()


loads = orjson.loads


def parse_lenient(body: bytes):
    """Parse a CPO's JSON: orjson first (fast), then the standard library, which also takes
    a UTF-8 byte-order mark, NaN/Infinity literals and numbers beyond 64 bits as CPOs send
    them. Raises ValueError (or RecursionError) when neither understands it."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def canonical_bytes(value) -> bytes:
    """Sorted keys, compact: equal documents give equal bytes (content hashes)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        # surrogatepass: a lone surrogate a CPO escaped into a string must hash, not crash.
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=str).encode("utf-8", "surrogatepass")
