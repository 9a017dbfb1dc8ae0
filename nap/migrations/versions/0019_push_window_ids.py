"""push_subscribers.window_ids: the status and tariff changes a subscriber's last delivery
carried in its overlap window

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 22:30:00.000000

exporters/push/engine.py: the next deltaPush leaves these out instead of sending the whole
overlap window again. A new nullable column; NULL means none known (the next delta repeats
the window, as before).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('push_subscribers') as batch:
        batch.add_column(sa.Column('window_ids', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('push_subscribers') as batch:
        batch.drop_column('window_ids')
