"""OCPI and eMI3 identifiers. OCPI ids are CiStrings: case-insensitive (OCPI types,
"CiString"), so `L1` and `l1` name one Location. The store keeps each object's id as
the CPO last spelled it and finds it by `id_key`, the id folded here; every lookup by id
(push, harvest, public API) goes through this one fold.

Only ASCII letters fold: a CiString is printable ASCII, and folding only those gives the
same answer in Python, in SQLite's lower() and in the migration's translate() on
PostgreSQL, whose lower() would also fold non-ASCII letters by the server's locale."""
from __future__ import annotations

_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def id_key(value: str) -> str:
    """The form two spellings of one CiString share."""
    return value.translate(_ASCII_FOLD)


def same_id(a: object, b: object) -> bool:
    return isinstance(a, str) and isinstance(b, str) and id_key(a) == id_key(b)


def normalized_evse_id(evse_id: str) -> str:
    """eMI3 EVSE ids are the same id with or without their '*' separators, in any case."""
    return evse_id.replace("*", "").upper()


def evse_operator(evse_id: str) -> str | None:
    """The eMI3 operator id an EVSE id begins with ("DE*ABC" of "DE*ABC*E123"), or None
    for an id too short to hold one."""
    compact = normalized_evse_id(evse_id).replace("-", "")
    return f"{compact[:2]}*{compact[2:5]}" if len(compact) >= 5 else None
