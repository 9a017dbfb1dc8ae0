"""locations and tariffs: one object per case-insensitive id (OCPI ids are CiStrings)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 04:30:00.000000

Adds `id_key`, the id with its ASCII letters lower-cased (nap.ocpi.ids.id_key), and makes
(country_code, party_id, id_key) the unique key in place of (country_code, party_id,
ocpi_id): a push of `l1` then updates the stored `L1` instead of creating a twin.

Twins stored before this migration are resolved, not deleted: per key the copy that is
still published and changed last keeps the key; the others are marked removed (they
leave the publication as any removed object does) and get a key no id folds to (it holds
capital letters), so their history stays readable.

No table is rebuilt, on SQLite either: with foreign keys on, dropping the old `locations`
would delete every EVSE and status change. So on SQLite the old unique constraint stays
(the new key implies it) and `id_key` stays nullable in the schema (NAP always writes it).
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_TABLES = (('locations', 'uq_location_key', 'uq_location_id_key'),
           ('tariffs', 'uq_tariff_key', 'uq_tariff_id_key'))


def _postgresql() -> bool:
    return op.get_bind().dialect.name == 'postgresql'


def _fold(column: str) -> str:
    # The same fold as nap.ocpi.ids.id_key: ASCII letters only. SQLite's lower() folds only
    # those; PostgreSQL's would fold other letters too, by the server's locale.
    if _postgresql():
        return f"translate({column}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    return f"lower({column})"


def _resolve_twins(table: str) -> None:
    connection = op.get_bind()
    now = datetime.now(timezone.utc).replace(tzinfo=None)  # stored as naive UTC
    groups = connection.execute(sa.text(
        f"SELECT country_code, party_id, id_key FROM {table}"
        f" GROUP BY country_code, party_id, id_key HAVING count(*) > 1")).all()
    for country_code, party_id, key in groups:
        rows = connection.execute(sa.text(
            f"SELECT id, removed_at FROM {table} WHERE country_code = :cc AND party_id = :pid AND id_key = :key"
            " ORDER BY (CASE WHEN removed_at IS NULL THEN 0 ELSE 1 END), changed_at DESC, id DESC"),
            {"cc": country_code, "pid": party_id, "key": key}).all()
        for pk, removed_at in rows[1:]:
            values = {"twin_key": f"TWIN{pk}:{key}", "pk": pk}
            if removed_at is None:
                # Typed, so that SQLite gets the text form every other stored time has.
                connection.execute(sa.text(
                    f"UPDATE {table} SET id_key = :twin_key, removed_at = :now, changed_at = :now WHERE id = :pk"
                ).bindparams(sa.bindparam("now", type_=sa.DateTime())), {**values, "now": now})
            else:
                connection.execute(sa.text(f"UPDATE {table} SET id_key = :twin_key WHERE id = :pk"), values)


def upgrade() -> None:
    for table, old_key, new_key in _TABLES:
        op.add_column(table, sa.Column('id_key', sa.String(length=80), nullable=True))
        op.execute(f"UPDATE {table} SET id_key = {_fold('ocpi_id')}")
        _resolve_twins(table)
        if _postgresql():
            op.alter_column(table, 'id_key', existing_type=sa.String(length=80), nullable=False)
            op.drop_constraint(old_key, table, type_='unique')
        op.create_index(new_key, table, ['country_code', 'party_id', 'id_key'], unique=True)


def downgrade() -> None:
    for table, old_key, new_key in _TABLES:
        op.drop_index(new_key, table_name=table)
        if _postgresql():
            op.create_unique_constraint(old_key, table, ['country_code', 'party_id', 'ocpi_id'])
        op.drop_column(table, 'id_key')
