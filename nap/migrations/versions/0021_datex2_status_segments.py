"""datex2_status_segments: the DATEX II 3.7 status changes, a few seconds at a time

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 10:00:00.000000

exporters/datex2/status_segments.py: the worker writes each few seconds of status changes
once, compressed, and a status delta joins the segments it covers instead of building every
site status again at each request. A new table; without segments a delta is built whole,
as before.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import nap.store.types

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'datex2_status_segments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('profile', sa.String(length=20), nullable=False),
        sa.Column('previous_id', sa.Integer(), nullable=True),
        sa.Column('since', nap.store.types.UtcDateTime(), nullable=False),
        sa.Column('made_at', nap.store.types.UtcDateTime(), nullable=False),
        sa.Column('window_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=True),
        sa.Column('items', sa.Integer(), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.Column('crc', sa.BigInteger(), nullable=False),
        sa.Column('plain_size', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('previous_id', name='uq_datex2_status_segments_previous'),
    )
    op.create_index('ix_datex2_status_segments_profile_made', 'datex2_status_segments', ['profile', 'made_at'])


def downgrade() -> None:
    op.drop_index('ix_datex2_status_segments_profile_made', table_name='datex2_status_segments')
    op.drop_table('datex2_status_segments')
