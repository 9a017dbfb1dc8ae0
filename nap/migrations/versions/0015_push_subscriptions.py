"""push subscriptions: DATEX II documents pushed to subscribers, and every delivery

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 10:25:00.000000

Two new tables (exporters/push/): the subscribers an administrator registers, each with
its delivery state (the watermark of what it has, whether it needs a snapshot, when to try
again), and one row per delivery attempt. No existing table is touched. The kind columns
are new tables' own CHECK constraints, so SQLite needs no triggers for them.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import nap.store.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'push_subscribers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('profile', sa.String(length=30), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('auth_header_name', sa.String(length=100), nullable=True),
        sa.Column('auth_header_value', sa.Text(), nullable=True),
        sa.Column('client_cert_pem', sa.Text(), nullable=True),
        sa.Column('client_key_pem', sa.Text(), nullable=True),
        sa.Column('ca_bundle_pem', sa.Text(), nullable=True),
        sa.Column('parties', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', nap.store.types.UtcDateTime(), nullable=False),
        sa.Column('watermark', nap.store.types.UtcDateTime(), nullable=True),
        sa.Column('needs_snapshot', sa.Boolean(), nullable=False),
        sa.Column('window_seen', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('last_snapshot_at', nap.store.types.UtcDateTime(), nullable=True),
        sa.Column('deltas_since_snapshot', sa.Integer(), nullable=False),
        sa.Column('table_version', sa.String(length=100), nullable=True),
        sa.Column('last_success_at', nap.store.types.UtcDateTime(), nullable=True),
        sa.Column('last_attempt_at', nap.store.types.UtcDateTime(), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', nap.store.types.UtcDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('table', 'status')", name='ck_push_subscribers_kind'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name', name='uq_push_subscribers_name'),
    )
    op.create_table(
        'push_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=False),
        sa.Column('at', nap.store.types.UtcDateTime(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('items', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('http_status', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('lag_seconds', sa.Float(), nullable=True),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('snapshot', 'delta', 'table')", name='ck_push_deliveries_kind'),
        sa.ForeignKeyConstraint(['subscriber_id'], ['push_subscribers.id'], name='fk_push_deliveries_subscriber',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_push_deliveries_subscriber_at', 'push_deliveries', ['subscriber_id', 'at'])


def downgrade() -> None:
    # The subscribers and their delivery record go: nothing is pushed any more.
    op.drop_index('ix_push_deliveries_subscriber_at', table_name='push_deliveries')
    op.drop_table('push_deliveries')
    op.drop_table('push_subscribers')
