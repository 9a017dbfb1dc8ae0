"""harvest_runs.slowest_answer_seconds, answer_retries: how long the CPO kept the run
waiting for one answer, and how many retries its requests took

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 18:30:00.000000

The worker starts a feed whose last run waited NAP_HARVEST_SLOW_ANSWER_SECONDS for one
answer, retried or failed beside its harvest threads (nap/worker.py). Kept with the run,
every worker knows it, and a restarted one too. Runs from before have neither: the worker
goes by the last run that has them.
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ALTER TABLE, not batch mode, on SQLite too: rebuilding harvest_runs would drop the old
    # table, and with foreign keys on that deletes every run's findings (as in 0010).
    op.add_column('harvest_runs', sa.Column('slowest_answer_seconds', sa.Float(), nullable=True))
    op.add_column('harvest_runs', sa.Column('answer_retries', sa.Integer(), nullable=True))
    op.create_index('ix_harvest_runs_feed_answered', 'harvest_runs', ['feed_id', 'id'],
                    sqlite_where=sa.text('slowest_answer_seconds IS NOT NULL'),
                    postgresql_where=sa.text('slowest_answer_seconds IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_harvest_runs_feed_answered', table_name='harvest_runs')
    op.drop_column('harvest_runs', 'answer_retries')
    op.drop_column('harvest_runs', 'slowest_answer_seconds')
