"""harvests the portal asks for, which the worker runs

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 07:15:00.000000

The portal asks for a harvest rather than running one in the web process: it records when
the harvest was asked for, and the worker's next tick runs it (nap/worker.py).
"""
from alembic import op
import sqlalchemy as sa
import nap.store.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: on SQLite batch mode rebuilds `feeds`, and with
# foreign keys on the rebuild deletes every location, run and finding under it.
def upgrade() -> None:
    op.add_column('feeds', sa.Column('harvest_requested_at', nap.store.types.UtcDateTime(), nullable=True))


def downgrade() -> None:
    # A request still waiting is dropped: the feed is harvested at its interval.
    op.drop_column('feeds', 'harvest_requested_at')
