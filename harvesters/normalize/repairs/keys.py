"""Field names: camelCase for snake_case, OCPI 2.1.1 names inside newer feeds."""
from __future__ import annotations

import re

from harvesters.normalize.common import rename_211_fields
from harvesters.normalize.repairs.log import RepairLog
from nap.jsonutil import dumps_bytes

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _snake(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower()


def _walk_dicts(value, visit) -> None:
    if isinstance(value, dict):
        visit(value)
        for child in value.values():
            _walk_dicts(child, visit)
    elif isinstance(value, list):
        for child in value:
            _walk_dicts(child, visit)


# Possibly a camelCase key, in serialized JSON: a key with a capital letter followed only by
# lower-case letters, digits or '_' up to its end (every key of letters, digits and '_' with
# a lower-case letter or digit followed by a capital is one). Searched for in the reversed
# text, where a key starts with ':' (one per key) rather than '"' (four per key and value),
# and the possessive run cannot backtrack: a quarter of the time of matching keys exactly.
# What it lets through in excess (keys like "URL") only costs the walk, which renames exactly.
_CAMEL_KEY_REVERSED = re.compile(rb':\s*"[a-z0-9_]*+[A-Z]')


def snake_case_keys(document: dict, serialized: bytes | None = None) -> list[str]:
    """Renames camelCase keys in place; returns the warnings. `serialized`: the object as
    orjson serializes it, when the caller has it already. Runs before the version upgrade,
    which looks for snake_case names."""
    # Nearly every feed is snake_case already: one C-speed scan spares the walk.
    text = serialized if serialized is not None else dumps_bytes(document)
    if not _CAMEL_KEY_REVERSED.search(text[::-1]):
        return []
    renamed: set[str] = set()

    def visit(obj: dict) -> None:
        for key in [k for k in obj if isinstance(k, str) and _CAMEL.search(k)]:
            target = _snake(key)
            if target not in obj:
                obj[target] = obj.pop(key)
                renamed.add(key)

    _walk_dicts(document, visit)
    if renamed:
        return [f"{', '.join(sorted(renamed)[:5])}: camelCase field names read as OCPI snake_case"]
    return []


def older_field_names(location: dict, log: RepairLog) -> None:
    """OCPI 2.1.1 names (voltage, amperage, tariff_id, type) inside newer feeds."""
    used = rename_211_fields(location)
    if used:
        log.note(", ".join(sorted(used)), "OCPI 2.1.1 field names, read as their 2.2+ successors")
