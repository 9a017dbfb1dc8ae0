"""states are checked by the database

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 07:15:00.000000

Each state column (feeds.status, harvest_runs.status, feed_parties.state and .source,
findings.object_type, users.role) admits only its enum's values (nap/store/states.py): a
CHECK constraint on PostgreSQL, and on SQLite two triggers per column that abort a write of
any other value (nap/store/state_checks.py says why no table is rebuilt).

A stored value outside the set stops the upgrade with a message naming the values and
their row counts, before anything changes: NAP never writes such a value, so one is a hand
edit, and which state it meant is for the operator to say, not for the migration to guess.
"""
from nap.store.state_checks import add_check, drop_check, refuse_unknown_values
from nap.store.states import ClaimSource, ClaimState, FeedStatus, ObjectKind, RunStatus, UserRole

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# Named here, not taken from states.CHECKED_COLUMNS: a column checked later belongs to the
# migration that checks it (its table may not exist yet at this revision).
_COLUMNS = (
    ('feeds', 'status', FeedStatus),
    ('harvest_runs', 'status', RunStatus),
    ('feed_parties', 'state', ClaimState),
    ('feed_parties', 'source', ClaimSource),
    ('findings', 'object_type', ObjectKind),
    ('users', 'role', UserRole),
)


def upgrade() -> None:
    for table, column, values in _COLUMNS:
        refuse_unknown_values(table, column, values)
    for table, column, values in _COLUMNS:
        add_check(table, column, values)


def downgrade() -> None:
    for table, column, _ in reversed(_COLUMNS):
        drop_check(table, column)
