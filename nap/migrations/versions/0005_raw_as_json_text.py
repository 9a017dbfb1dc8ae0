"""raw objects as json, not jsonb, on PostgreSQL: kept as received, stored cheaper

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 03:20:00.000000

The `raw` column holds a CPO's object as it was received. jsonb re-orders its keys and
folds repeated ones; json keeps the text. And jsonb's conversion was a third of what
PostgreSQL spent on a harvest's COPY of the locations. Nothing queries into raw (only a
text search in the portal's lookup, which works on both). SQLite stores JSON as text
either way: nothing to do there.
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_TABLES = ('locations', 'tariffs')


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in _TABLES:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN raw TYPE json USING raw::json')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in _TABLES:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN raw TYPE jsonb USING raw::jsonb')
