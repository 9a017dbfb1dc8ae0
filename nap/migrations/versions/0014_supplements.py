"""supplements: what a CPO supplies that OCPI cannot carry, versioned

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 08:30:00.000000

A new table, one row per version of a party's (or one of its locations') supplement
(nap/supplements.py). No existing table is touched.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import nap.store.types

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'supplements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('country_code', sa.String(length=2), nullable=False),
        sa.Column('party_id', sa.String(length=3), nullable=False),
        sa.Column('location_key', sa.String(length=80), nullable=False),
        sa.Column('location_id', sa.String(length=36), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('values', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.Column('created_at', nap.store.types.UtcDateTime(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], name='fk_supplements_created_by',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('country_code', 'party_id', 'location_key', 'version', name='uq_supplement_version'),
    )


def downgrade() -> None:
    # The supplements go with the table: their values leave the DATEX II publication.
    op.drop_table('supplements')
