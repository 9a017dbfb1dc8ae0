"""publication index: the OCPI lists' count pass and page ids from the index alone

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 01:30:00.000000
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.create_index('ix_locations_publication',
                              ['id', 'publish', 'removed_at', 'changed_at', 'last_updated'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_index('ix_locations_publication')
