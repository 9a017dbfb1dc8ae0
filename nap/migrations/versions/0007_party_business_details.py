"""feed parties: the business details the CPO gave for each party in its credentials

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 14:00:00.000000

A nullable JSON column (jsonb on PostgreSQL, as the other small documents; text on
SQLite): adding it rewrites nothing; parties registered before it have none until the
next credentials handshake.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feed_parties', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_details',
                                      sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feed_parties', schema=None) as batch_op:
        batch_op.drop_column('business_details')
