"""portal sessions: signed-in sessions kept on the server, so that they can be revoked

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 04:30:00.000000

Before this, the signed cookie alone was the session, and signing out only cleared the
browser's copy. Cookies made before this migration carry no session id: they are read as
signed out (nap.portal.auth), so everybody signs in once more after the upgrade.
"""
from alembic import op
import sqlalchemy as sa
import nap.store.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('portal_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('password_fingerprint', sa.String(length=32), nullable=False),
    sa.Column('created_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('expires_at', nap.store.types.UtcDateTime(), nullable=False),
    sa.Column('revoked_at', nap.store.types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash')
    )
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_sessions_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_sessions_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_sessions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_portal_sessions_user_id'))

    op.drop_table('portal_sessions')
