"""several sources of one charger: feed kinds, carried claims, location_sources

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 01:00:00.000000

- feeds.kind (cpo, hub, aggregator; nap/store/states.py FeedKind): existing feeds are the
  parties' own back ends, as NAP treated them so far.
- feed_parties.carried: a hub's or an aggregator's claim to carry a party's data. The
  partial unique index that allows one verified claim per pair now counts own claims
  only, so that hubs the party authorised may be verified beside it.
- location_sources (nap/store/tables.py LocationSource): what each source said of a
  location that several sources describe, and where they disagree (nap/merge).
- ix_evses_evse_key: EVSEs by their eMI3 id as nap.ocpi.ids.normalized_evse_id folds it,
  for finding another source's copy of a charger; it replaces ix_evses_evse_id, on the id
  as written, which no query could use (they all compare the folded form).
"""
from alembic import op
import sqlalchemy as sa

import nap.store.types
from nap.store.state_checks import add_check, drop_check
from nap.store.states import FeedKind, MatchKind, check_name, check_sql

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('feeds', sa.Column('kind', sa.String(length=20), nullable=True))
    op.execute("UPDATE feeds SET kind = 'cpo'")
    add_check('feeds', 'kind', FeedKind)
    op.add_column('feed_parties', sa.Column('carried', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.drop_index('uq_feed_party_verified', table_name='feed_parties')
    op.create_index('uq_feed_party_verified', 'feed_parties', ['country_code', 'party_id'], unique=True,
                    sqlite_where=sa.text("state = 'verified' AND NOT carried"),
                    postgresql_where=sa.text("state = 'verified' AND NOT carried"))
    op.create_table(
        'location_sources',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('location_pk', sa.Integer(), nullable=False),
        sa.Column('feed_id', sa.Integer(), nullable=False),
        sa.Column('country_code', sa.String(length=2), nullable=False),
        sa.Column('party_id', sa.String(length=3), nullable=False),
        sa.Column('ocpi_id', sa.String(length=36), nullable=False),
        sa.Column('id_key', sa.String(length=80), nullable=False),
        sa.Column('match', sa.String(length=20), nullable=False),
        sa.Column('match_note', sa.Text(), nullable=True),
        sa.Column('confirmed', sa.Boolean(), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('last_updated', nap.store.types.UtcDateTime(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('seen_at', nap.store.types.UtcDateTime(), nullable=False),
        sa.Column('conflicts', nap.store.types.JsonDocument, nullable=True),
        sa.CheckConstraint(check_sql('match', MatchKind), name=check_name('location_sources', 'match')),
        sa.ForeignKeyConstraint(['feed_id'], ['feeds.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['location_pk'], ['locations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('uq_location_source', 'location_sources', ['feed_id', 'country_code', 'party_id', 'id_key'],
                    unique=True)
    op.create_index('ix_location_sources_location', 'location_sources', ['location_pk'])
    op.create_index(op.f('ix_location_sources_feed_id'), 'location_sources', ['feed_id'])
    # Every lookup by EVSE id compares this form; the plain index served none of them.
    op.create_index('ix_evses_evse_key', 'evses', [sa.text("upper(replace(evse_id, '*', ''))")])
    op.drop_index('ix_evses_evse_id', table_name='evses')


def downgrade() -> None:
    op.create_index('ix_evses_evse_id', 'evses', ['evse_id'])
    op.drop_index('ix_evses_evse_key', table_name='evses')
    op.drop_table('location_sources')
    op.drop_index('uq_feed_party_verified', table_name='feed_parties')
    # Carried claims verified beside an own one cannot stay verified under the old index.
    op.execute("UPDATE feed_parties SET state = 'revoked' WHERE carried AND state = 'verified'")
    op.create_index('uq_feed_party_verified', 'feed_parties', ['country_code', 'party_id'], unique=True,
                    sqlite_where=sa.text("state = 'verified'"), postgresql_where=sa.text("state = 'verified'"))
    # Plain ALTER TABLE, not batch mode: on SQLite batch mode rebuilds the table, and with
    # foreign keys on the rebuild of `feeds` deletes every row under it.
    op.drop_column('feed_parties', 'carried')
    drop_check('feeds', 'kind')
    op.drop_column('feeds', 'kind')
