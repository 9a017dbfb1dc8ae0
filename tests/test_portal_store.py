"""The portal's tables and command, on SQLite and PostgreSQL: migration 0003 matches the
models and can be undone, and `nap users add` creates users."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, select
from werkzeug.security import check_password_hash

from nap.cli import main
from nap.store.db import get_engine
from nap.store.migrate import alembic_config, upgrade
from nap.store.tables import Base, User

PORTAL_TABLES = {"users", "feed_owners", "feed_events", "app_secrets"}


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        name = getattr(table, "name", None) or getattr(part, "name", None)
        if isinstance(name, str):
            return name
        if isinstance(part, str):
            return part
    return None


def test_migration_0003_matches_the_models_and_downgrades(database_url):
    engine = get_engine(database_url)
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if _table_of(d) in PORTAL_TABLES] == []
    assert PORTAL_TABLES <= set(inspect(engine).get_table_names())

    command.downgrade(alembic_config(database_url), "0002")
    assert not PORTAL_TABLES & set(inspect(engine).get_table_names())
    assert "feeds" in inspect(engine).get_table_names()
    upgrade(database_url)
    assert PORTAL_TABLES <= set(inspect(engine).get_table_names())


def test_nap_users_add_reads_the_password_from_stdin(database_url, sessions):
    runner = CliRunner()
    env = {"NAP_DATABASE_URL": database_url}
    added = runner.invoke(main, ["users", "add", "--email", "Root@Example.com", "--password-stdin", "--admin"],
                          input="a long admin password\n", env=env)
    assert added.exit_code == 0, added.output
    assert "root@example.com added (admin)" in added.output
    with sessions() as session:
        user = session.scalar(select(User).where(User.email == "root@example.com"))
        assert user.role == "admin" and check_password_hash(user.password_hash, "a long admin password")

    twice = runner.invoke(main, ["users", "add", "--email", "root@example.com", "--password-stdin"],
                          input="another long password\n", env=env)
    assert twice.exit_code == 1 and "exists already" in twice.output
    weak = runner.invoke(main, ["users", "add", "--email", "cpo@example.com", "--password-stdin"],
                         input="short\n", env=env)
    assert weak.exit_code == 1 and "at least 12 characters" in weak.output
    no_stdin = runner.invoke(main, ["users", "add", "--email", "cpo@example.com"], env=env)
    assert no_stdin.exit_code == 1 and "--password-stdin" in no_stdin.output
    with sessions() as session:
        assert session.scalars(select(User.email)).all() == ["root@example.com"]
