"""ix_locations_changed_at: the latest change of the locations, read by every DATEX II
table and status request

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 10:40:00.000000

exporters/datex2/source.table_state: max(changed_at) found in ix_locations_publication took
a pass over it, 135 ms at 315,000 locations (a million EVSEs); with its own index, a step.
"""
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_locations_changed_at', 'locations', ['changed_at'])


def downgrade() -> None:
    op.drop_index('ix_locations_changed_at', table_name='locations')
