"""The database's guard on a state column (nap/store/states.py), for migrations.

PostgreSQL gets a CHECK constraint. On SQLite a CHECK can only be added by rebuilding the
table, and NAP runs SQLite with foreign keys on: dropping the old `feeds` or `findings`
would delete every row under it through ON DELETE CASCADE. So SQLite gets two triggers
instead, which abort an INSERT or an UPDATE that writes a value outside the set, with the
same IntegrityError a CHECK raises. Both admit NULL, as a CHECK does. A table rebuilt on
SQLite (Alembic's batch mode) loses its triggers: the migration that rebuilds it adds them
again with `add_check`.

A new value is one edit in states.py plus a migration that calls `drop_check` and
`add_check` for its column.
"""
from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from alembic import op

from nap.store.states import check_name, check_sql


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def unknown_values(table: str, column: str, values: type[StrEnum]) -> list[tuple[str, int]]:
    """The values stored in the column that the enum does not know, with their row counts."""
    return [tuple(row) for row in op.get_bind().execute(sa.text(
        f"SELECT {column}, count(*) FROM {table} WHERE NOT ({check_sql(column, values)})"
        f" GROUP BY {column} ORDER BY {column}"))]


def refuse_unknown_values(table: str, column: str, values: type[StrEnum]) -> None:
    """Stop the migration, saying what to do, when the column holds a value outside the set.
    NAP never writes one; a row edited by hand is its operator's to map, not ours to guess."""
    unknown = unknown_values(table, column, values)
    if unknown:
        found = ", ".join(f"{value!r} ({count} rows)" for value, count in unknown)
        allowed = ", ".join(values)
        raise RuntimeError(
            f"{table}.{column} holds values NAP does not know: {found}. Set them to one of {allowed}"
            f" (UPDATE {table} SET {column} = ... WHERE {column} = ...), then upgrade again.")


def add_check(table: str, column: str, values: type[StrEnum]) -> None:
    name, condition = check_name(table, column), check_sql(column, values)
    if not _sqlite():
        op.create_check_constraint(name, table, condition)
        return
    message = f"CHECK constraint failed: {name}"
    for event, trigger in (("INSERT", f"{name}_insert"), (f"UPDATE OF {column}", f"{name}_update")):
        op.execute(f"CREATE TRIGGER {trigger} BEFORE {event} ON {table} FOR EACH ROW"
                   f" WHEN NOT ({check_sql('NEW.' + column, values)}) BEGIN SELECT RAISE(ABORT, '{message}'); END")


def drop_check(table: str, column: str) -> None:
    name = check_name(table, column)
    if not _sqlite():
        op.drop_constraint(name, table, type_="check")
        return
    for trigger in (f"{name}_insert", f"{name}_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
