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

# Nineteen digits in a row: possibly an integer beyond 64 bits (or a long fraction, or digits
# in a string, which the slower parse reads the same). Every digit is made a "0" and the
# run looked for: C-speed steps, a fifteenth of a regular expression's time.
_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * 19


def loads_exact(text: bytes):
    """Parse JSON text NAP wrote itself, keeping every value: orjson reads an integer beyond
    64 bits as a float without a word, so text that may hold one goes to the standard
    library."""
    if _LONG_DIGITS in text.translate(_DIGITS_AS_ZEROS):
        return json.loads(text)
    return orjson.loads(text)


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


def unreadable_text(value, path: str = "") -> tuple[str, str] | None:
    """(field, reason) of the first string in a parsed JSON value, key or value, that is not
    valid Unicode text: a lone surrogate (which no UTF-8 can carry) or a NUL (which no
    database text column takes); None when all of it is."""
    if isinstance(value, str):
        if "\x00" in value:
            return path or "(object)", "contains a NUL character, which is not text"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "(object)", "contains a lone UTF-16 surrogate, which is not valid Unicode"
        return None
    if isinstance(value, dict):
        for key, child in value.items():
            found = unreadable_text(key, f"{path}.{key!r}" if path else repr(key)) if isinstance(key, str) else None
            found = found or unreadable_text(child, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found = unreadable_text(child, f"{path}[{index}]")
            if found:
                return found
    return None
