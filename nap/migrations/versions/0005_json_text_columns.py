"""raw objects and connectors as json, not jsonb, on PostgreSQL: stored as written, cheaper

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 03:20:00.000000

The `raw` column holds a CPO's object as it was received. jsonb re-orders its keys and
folds repeated ones; json keeps the text. And jsonb's conversion was a third of what
PostgreSQL spent on a harvest's COPY of the locations. Nothing queries into raw (only a
text search in the portal's lookup, which works on both). Connectors are read whole or a
field at a time with ->, which json has too; nothing updates them with jsonb operators.
SQLite stores JSON as text either way: nothing to do there.

On PostgreSQL the ALTERs rewrite the tables under an exclusive lock: a few seconds per
100,000 EVSEs, during which the API waits. The downgrade fails on a raw object holding a
\u0000 escape, which json keeps and jsonb refuses.
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_COLUMNS = (('locations', 'raw'), ('tariffs', 'raw'), ('connectors', 'data'))


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in _COLUMNS:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE json USING {column}::json')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in _COLUMNS:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb')
