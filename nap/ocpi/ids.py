"""OCPI identifiers are CiStrings: case-insensitive (OCPI types, "CiString"), so `L1` and
`l1` name one Location. The store keeps each object's id as the CPO last spelled it and
finds it by `id_key`, the id folded here; every lookup by id (push, harvest, public API)
goes through this one fold.

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
