"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 21:57:32.414057
"""
from alembic import op
import sqlalchemy as sa
import nap.store.types
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('versions_url', sa.Text(), nullable=False),
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('inbound_token_hash', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('interval_minutes', sa.Integer(), nullable=False),
    sa.Column('licence', sa.String(length=200), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.Column('party_id', sa.String(length=3), nullable=True),
    sa.Column('ocpi_version', sa.String(length=10), nullable=True),
    sa.Column('locations_url', sa.Text(), nullable=True),
    sa.Column('tariffs_url', sa.Text(), nullable=True),
    sa.Column('created_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('last_success_started_at', nap.store.types.UtcDateTime(), nullable=True),
    sa.Column('last_full_sync_at', nap.store.types.UtcDateTime(), nullable=True),
    sa.Column('registered_at', nap.store.types.UtcDateTime(), nullable=True),
    sa.Column('credentials_url', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('inbound_token_hash'),
    sa.UniqueConstraint('name')
    )
    op.create_table('leases',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('expires_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('feed_parties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('party_id', sa.String(length=3), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('country_code', 'party_id', name='uq_feed_party')
    )
    with op.batch_alter_table('feed_parties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_parties_feed_id'), ['feed_id'], unique=False)

    op.create_table('harvest_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('started_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('finished_at', nap.store.types.UtcDateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('full_sync', sa.Boolean(), nullable=False),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('ocpi_version', sa.String(length=10), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('objects_received', sa.Integer(), nullable=False),
    sa.Column('objects_new', sa.Integer(), nullable=False),
    sa.Column('objects_changed', sa.Integer(), nullable=False),
    sa.Column('objects_unchanged', sa.Integer(), nullable=False),
    sa.Column('objects_removed', sa.Integer(), nullable=False),
    sa.Column('objects_skipped', sa.Integer(), nullable=False),
    sa.Column('findings', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('harvest_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_harvest_runs_feed_id'), ['feed_id'], unique=False)

    op.create_table('locations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('party_id', sa.String(length=3), nullable=False),
    sa.Column('ocpi_id', sa.String(length=36), nullable=False),
    sa.Column('publish', sa.Boolean(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('last_updated', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seen_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('changed_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('removed_at', nap.store.types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('country_code', 'party_id', 'ocpi_id', name='uq_location_key')
    )
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_locations_feed_id'), ['feed_id'], unique=False)
        batch_op.create_index('ix_locations_last_updated', ['last_updated', 'id'], unique=False)
        batch_op.create_index('ix_locations_lat_lon', ['latitude', 'longitude'], unique=False)

    op.create_table('tariffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('party_id', sa.String(length=3), nullable=False),
    sa.Column('ocpi_id', sa.String(length=36), nullable=False),
    sa.Column('last_updated', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seen_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('changed_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('removed_at', nap.store.types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('country_code', 'party_id', 'ocpi_id', name='uq_tariff_key')
    )
    with op.batch_alter_table('tariffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tariffs_feed_id'), ['feed_id'], unique=False)
        batch_op.create_index('ix_tariffs_last_updated', ['last_updated', 'id'], unique=False)

    op.create_table('evse_status_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('location_pk', sa.Integer(), nullable=False),
    sa.Column('evse_uid', sa.String(length=36), nullable=False),
    sa.Column('old_status', sa.String(length=20), nullable=True),
    sa.Column('new_status', sa.String(length=20), nullable=False),
    sa.Column('cpo_time', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('received_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('via', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_pk'], ['locations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('evse_status_history', schema=None) as batch_op:
        batch_op.create_index('ix_status_history_evse', ['location_pk', 'evse_uid', 'received_at'], unique=False)
        batch_op.create_index('ix_status_history_received', ['received_at'], unique=False)

    op.create_table('evses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_pk', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('evse_id', sa.String(length=48), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_changed_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('last_updated', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['location_pk'], ['locations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('location_pk', 'uid', name='uq_evse_uid')
    )
    with op.batch_alter_table('evses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evses_evse_id'), ['evse_id'], unique=False)

    op.create_table('findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('object_type', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.String(length=200), nullable=True),
    sa.Column('field', sa.String(length=200), nullable=True),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['harvest_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_findings_feed_id'), ['feed_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_run_id'), ['run_id'], unique=False)

    op.create_table('connectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evse_pk', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('ocpi_id', sa.String(length=36), nullable=False),
    sa.Column('standard', sa.String(length=40), nullable=False),
    sa.Column('power_type', sa.String(length=20), nullable=False),
    sa.Column('max_electric_power', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['evse_pk'], ['evses.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('evse_pk', 'ocpi_id', name='uq_connector_id')
    )


def downgrade() -> None:
    op.drop_table('connectors')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_findings_run_id'))
        batch_op.drop_index(batch_op.f('ix_findings_feed_id'))

    op.drop_table('findings')
    with op.batch_alter_table('evses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evses_evse_id'))

    op.drop_table('evses')
    with op.batch_alter_table('evse_status_history', schema=None) as batch_op:
        batch_op.drop_index('ix_status_history_received')
        batch_op.drop_index('ix_status_history_evse')

    op.drop_table('evse_status_history')
    with op.batch_alter_table('tariffs', schema=None) as batch_op:
        batch_op.drop_index('ix_tariffs_last_updated')
        batch_op.drop_index(batch_op.f('ix_tariffs_feed_id'))

    op.drop_table('tariffs')
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_index('ix_locations_lat_lon')
        batch_op.drop_index('ix_locations_last_updated')
        batch_op.drop_index(batch_op.f('ix_locations_feed_id'))

    op.drop_table('locations')
    with op.batch_alter_table('harvest_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_harvest_runs_feed_id'))

    op.drop_table('harvest_runs')
    with op.batch_alter_table('feed_parties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_parties_feed_id'))

    op.drop_table('feed_parties')
    op.drop_table('leases')
    op.drop_table('feeds')
