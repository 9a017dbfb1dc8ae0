"""locations.static_changed_at: the last change but a patch of EVSE status fields alone

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 14:10:00.000000

The DATEX II tables hold no status; with this column their versions re-read only the
locations whose content may have changed, not every location a status push touched
(nap/store/tables.py). Filled from changed_at: until now nothing told the two apart.
Added as a plain nullable column (SQLite cannot add a NOT NULL one without rebuilding the
table, and rebuilding `locations` would cascade to its EVSEs).
"""
from alembic import op
import sqlalchemy as sa

import nap.store.types

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('locations', sa.Column('static_changed_at', nap.store.types.UtcDateTime(), nullable=True))
    op.execute("UPDATE locations SET static_changed_at = changed_at")
    op.create_index('ix_locations_static_changed_at', 'locations', ['static_changed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_locations_static_changed_at', table_name='locations')
    op.drop_column('locations', 'static_changed_at')
