"""Column types that behave the same on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

# JSONB on PostgreSQL (indexable, compact); plain JSON text on SQLite.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")
# json, not jsonb, on PostgreSQL: the text as written, without jsonb's conversion, which
# would be a third of PostgreSQL's work in a harvest's COPY. For the documents
# a harvest writes by the thousand (locations, EVSEs, connectors, raw objects: jsonb would
# also re-order a CPO's keys). They are read whole or a field at a time with -> and ->>,
# which json has too; the one statement that merges into them (nap/store/evse_status.py)
# casts to jsonb and back.
TextJsonDocument = JSON()
# JsonDocument where Python's None is SQL NULL (not the JSON value null), for a column whose
# absence a query tests with IS NULL.
NullableJsonDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out.

    SQLite has no time zone support, so we store naive UTC everywhere and re-attach UTC on
    the way out; comparing an aware value to a naive one would otherwise raise at run time.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)
