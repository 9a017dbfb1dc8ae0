"""statistics: each EVSE's day in seconds per state, for the reliability statistics

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 10:40:00.000000

Two new tables (nap/store/evse_statistics.py, docs/statistics.md), filled by the daily
job and `nap statistics compute`: each EVSE's day, and the day's sums per operator and
power class. No existing table is touched.
"""
from alembic import op
import sqlalchemy as sa

import nap.store.types

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'evse_daily_statistics',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('feed_id', sa.Integer(), nullable=False),
        sa.Column('location_pk', sa.Integer(), nullable=False),
        sa.Column('evse_uid', sa.String(length=36), nullable=False),
        sa.Column('evse_id', sa.String(length=48), nullable=True),
        sa.Column('country_code', sa.String(length=2), nullable=False),
        sa.Column('party_id', sa.String(length=3), nullable=False),
        sa.Column('power_class', sa.String(length=20), nullable=False),
        sa.Column('operational_seconds', sa.Integer(), nullable=False),
        sa.Column('occupied_seconds', sa.Integer(), nullable=False),
        sa.Column('out_of_order_seconds', sa.Integer(), nullable=False),
        sa.Column('unknown_seconds', sa.Integer(), nullable=False),
        sa.Column('not_in_service_seconds', sa.Integer(), nullable=False),
        sa.Column('status_changes', sa.Integer(), nullable=False),
        sa.Column('end_status', sa.String(length=20), nullable=True),
        sa.Column('last_news_at', nap.store.types.UtcDateTime(), nullable=True),
        sa.Column('computed_at', nap.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['location_pk'], ['locations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('day', 'location_pk', 'evse_uid', name='uq_evse_daily_statistics'),
    )
    op.create_index('ix_evse_daily_statistics_day', 'evse_daily_statistics', ['day'])
    op.create_index('ix_evse_daily_statistics_party', 'evse_daily_statistics', ['country_code', 'party_id', 'day'])
    op.create_table(
        'daily_statistics_groups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('country_code', sa.String(length=2), nullable=False),
        sa.Column('party_id', sa.String(length=3), nullable=False),
        sa.Column('power_class', sa.String(length=20), nullable=False),
        sa.Column('evse_days', sa.Integer(), nullable=False),
        sa.Column('operational_seconds', sa.BigInteger(), nullable=False),
        sa.Column('occupied_seconds', sa.BigInteger(), nullable=False),
        sa.Column('out_of_order_seconds', sa.BigInteger(), nullable=False),
        sa.Column('unknown_seconds', sa.BigInteger(), nullable=False),
        sa.Column('not_in_service_seconds', sa.BigInteger(), nullable=False),
        sa.Column('status_changes', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('day', 'country_code', 'party_id', 'power_class', name='uq_daily_statistics_group'),
    )


def downgrade() -> None:
    # The figures go; `nap statistics compute` makes them again from the status history it still holds.
    op.drop_table('daily_statistics_groups')
    op.drop_index('ix_evse_daily_statistics_party', table_name='evse_daily_statistics')
    op.drop_index('ix_evse_daily_statistics_day', table_name='evse_daily_statistics')
    op.drop_table('evse_daily_statistics')
