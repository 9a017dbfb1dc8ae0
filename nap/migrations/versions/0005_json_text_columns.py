"""harvested documents as json, not jsonb, on PostgreSQL: stored as written, cheaper

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 03:20:00.000000

A harvest writes locations, EVSEs, connectors and raw objects by the thousand, and jsonb's
conversion of each was a third of PostgreSQL's work in their COPY. json keeps the text as
written (for `raw`, the object as received: jsonb re-orders a CPO's keys and folds
repeated ones). They are read whole or a field at a time with -> and ->>, which json has
too; the push statement that merges into EVSEs and locations casts to jsonb and back, and
the portal's lookup searches raw's text. SQLite stores JSON as text either way.

On PostgreSQL the ALTERs rewrite the tables under an exclusive lock: a few seconds per
100,000 EVSEs, during which the API waits. The downgrade fails on a raw object holding a
\u0000 escape, which json keeps and jsonb refuses.
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_COLUMNS = (('locations', 'raw'), ('tariffs', 'raw'), ('locations', 'data'), ('evses', 'data'),
            ('connectors', 'data'))


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in _COLUMNS:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE json USING {column}::json')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in _COLUMNS:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb')
