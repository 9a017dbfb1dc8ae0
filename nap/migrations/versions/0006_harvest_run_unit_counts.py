"""harvest runs: what became of the locations, EVSEs and connectors a CPO served

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 12:00:00.000000

A nullable JSON column (jsonb on PostgreSQL, as the other small documents; text on
SQLite), added and dropped with ALTER TABLE on both: adding it rewrites nothing, and runs
from before it have none. The new run status "degraded" needs no schema change (status is
a String(20)); the downgrade turns it into "success".
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('harvest_runs', sa.Column(
        'unit_counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))


def downgrade() -> None:
    # The previous release knows no "degraded": such a run completed and its data was
    # stored, which it calls "success" (its freshness, findings and page-process choice
    # look at successful runs only).
    op.execute("UPDATE harvest_runs SET status = 'success' WHERE status = 'degraded'")
    # ALTER TABLE ... DROP COLUMN, on SQLite too (3.35+), not batch mode: rebuilding the
    # table would drop the old one, and with foreign keys on that deletes every run's findings.
    op.drop_column('harvest_runs', 'unit_counts')
