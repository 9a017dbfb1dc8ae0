"""datex2_site_versions: the German table's site versions, kept across processes

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 14:50:00.000000

A new table (nap/store/tables.py SiteVersion, exporters/datex2/de_afir/versioning.py): a
process that starts reads the site versions instead of building every site again. No
existing table is touched.
"""
from alembic import op
import sqlalchemy as sa

import nap.store.types

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'datex2_site_versions',
        sa.Column('location_pk', sa.Integer(), nullable=False),
        sa.Column('static_changed_at', nap.store.types.UtcDateTime(), nullable=False),
        sa.Column('context', sa.String(length=16), nullable=False),
        sa.Column('time_zone', sa.Text(), nullable=True),
        sa.Column('utc_offset', sa.String(length=8), nullable=True),
        sa.Column('version', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['location_pk'], ['locations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('location_pk'),
    )


def downgrade() -> None:
    op.drop_table('datex2_site_versions')
