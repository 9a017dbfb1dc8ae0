"""feeds.plain_token: how the CPO took the token in the Authorization header

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 00:50:00.000000

OCPI 2.2 on wants the token Base64-encoded, and many servers take it plain whatever the
version; the harvester finds out by trying (harvesters/ocpi_client.py). Kept with the feed,
the next run starts with the form that worked, rather than meet a 401 on every run.
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ALTER TABLE, not batch mode, on SQLite too (as in 0023): rebuilding feeds would drop
    # the old table, and with foreign keys on that deletes what refers to it.
    op.add_column('feeds', sa.Column('plain_token', sa.Boolean(), nullable=True))


def downgrade() -> None:
    op.drop_column('feeds', 'plain_token')
