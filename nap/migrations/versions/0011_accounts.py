"""accounts: organisations of users, e-mail verification, mailed account links

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 05:30:00.000000

Users may now belong to an organisation (colleagues invited by e-mail share its feeds), and
must verify their address before registering a feed. Users who exist already were trusted
before verification existed: they count as verified since they were created.
account_tokens keeps the SHA-256 of the links mailed for verification, invitations and
password resets.
"""
from alembic import op
import sqlalchemy as sa
import nap.store.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', nap.store.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_users_organisation_id', 'organisations', ['organisation_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_users_organisation_id'), ['organisation_id'], unique=False)
    op.execute("UPDATE users SET email_verified_at = created_at")
    op.create_table('account_tokens',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('invited_by', sa.Integer(), nullable=True),
    sa.Column('password_fingerprint', sa.String(length=32), nullable=True),
    sa.Column('created_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('expires_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('used_at', nap.store.types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by'], ['users.id'], name='fk_account_tokens_invited_by', ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_tokens_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_tokens_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    # Colleagues lose each other's feeds (each keeps those it registered itself), and
    # unverified users become ordinary ones, as every user was before.
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_tokens_expires_at'))
        batch_op.drop_index(batch_op.f('ix_account_tokens_user_id'))
    op.drop_table('account_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_organisation_id'))
        batch_op.drop_constraint('fk_users_organisation_id', type_='foreignkey')
        batch_op.drop_column('organisation_id')
        batch_op.drop_column('email_verified_at')
    op.drop_table('organisations')
