"""feed parties become claims: claimed -> verified (by an admin) -> revoked

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 05:00:00.000000

Runs keep whom the objects they were served belong to (`served_parties`), the evidence
for a claim. A pair (country_code, party_id) could belong to one feed only, and whoever registered it
first held it. Now any number of feeds may claim a pair; only a verified claim lets a
feed publish under it, and at most one claim per pair is verified (a partial unique index).

Claims that exist already were accepted under the old rules: those of feeds that are
running are verified; those of pending or rejected feeds are claims awaiting a decision.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import nap.store.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feed_parties', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=10), nullable=False, server_default='verified'))
        batch_op.add_column(sa.Column('source', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', nap.store.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', nap.store.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('decided_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_feed_parties_decided_by', 'users', ['decided_by'], ['id'],
                                    ondelete='SET NULL')
        batch_op.drop_constraint('uq_feed_party', type_='unique')
        batch_op.create_unique_constraint('uq_feed_party_claim', ['feed_id', 'country_code', 'party_id'])
    op.execute("UPDATE feed_parties SET state = 'claimed' WHERE feed_id IN"
               " (SELECT id FROM feeds WHERE status IN ('pending', 'rejected'))")
    # ALTER TABLE, not batch mode, on SQLite too: rebuilding harvest_runs would drop the
    # old table, and with foreign keys on that deletes every run's findings. (feed_parties
    # is rebuilt on SQLite: nothing refers to it.)
    op.add_column('harvest_runs', sa.Column('served_parties', sa.JSON().with_variant(
        postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
    with op.batch_alter_table('feed_parties', schema=None) as batch_op:
        batch_op.create_index('uq_feed_party_verified', ['country_code', 'party_id'], unique=True,
                              sqlite_where=sa.text("state = 'verified'"),
                              postgresql_where=sa.text("state = 'verified'"))


def downgrade() -> None:
    # The old schema holds one feed per pair: other claims than the verified one (or, for
    # a pair nobody verified, the earliest) are dropped.
    op.execute("DELETE FROM feed_parties WHERE state = 'revoked'")
    op.execute("DELETE FROM feed_parties WHERE state <> 'verified' AND EXISTS (SELECT 1 FROM feed_parties v"
               " WHERE v.country_code = feed_parties.country_code AND v.party_id = feed_parties.party_id"
               " AND v.state = 'verified')")
    op.execute("DELETE FROM feed_parties WHERE id NOT IN (SELECT min(id) FROM feed_parties"
               " GROUP BY country_code, party_id)")
    op.drop_column('harvest_runs', 'served_parties')
    with op.batch_alter_table('feed_parties', schema=None) as batch_op:
        batch_op.drop_index('uq_feed_party_verified')
        batch_op.drop_constraint('uq_feed_party_claim', type_='unique')
        batch_op.create_unique_constraint('uq_feed_party', ['country_code', 'party_id'])
        batch_op.drop_constraint('fk_feed_parties_decided_by', type_='foreignkey')
        batch_op.drop_column('decided_by')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('source')
        batch_op.drop_column('state')
