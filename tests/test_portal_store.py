"""The portal's tables and command, on SQLite and PostgreSQL: migrations 0003 and 0009
match the models and can be undone, `nap users add` creates users, and server-side
sessions end on revocation, password change, expiry and with their user."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner
from sqlalchemy import delete, func, inspect, select
from werkzeug.security import check_password_hash

from nap.cli import main
from nap.store.db import get_engine
from nap.store.migrate import alembic_config, upgrade
from nap.portal.session_store import delete_expired, open_session, revoke_session, session_user
from nap.portal.users import change_password, create_user
from nap.store.tables import Base, PortalSession, User

PORTAL_TABLES = {"users", "feed_owners", "feed_events", "app_secrets", "portal_sessions", "organisations",
                 "account_tokens"}


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


def test_sessions_end_on_revocation_password_change_expiry_and_with_their_user(sessions):
    hours = timedelta(hours=12)
    start = datetime(2026, 12, 5, 8, 0, tzinfo=timezone.utc)
    with sessions.begin() as session:
        alice = create_user(session, "alice@example.com", "a long password for alice")
        bob = create_user(session, "bob@example.com", "a long password for bob")
        first, second = open_session(session, alice, hours, start), open_session(session, alice, hours, start)
        bobs = open_session(session, bob, hours, start)
    with sessions.begin() as session:
        assert session_user(session, first, start).email == "alice@example.com"
        assert session_user(session, first, start + hours) is None  # expired, revoked or not
        for wrong in (None, "", 42, "x" * 1000, first + "x"):
            assert session_user(session, wrong, start) is None
        revoke_session(session, first, start)
        assert session_user(session, first, start) is None
        assert session_user(session, second, start) is not None

        change_password(session, session.get(User, alice.id), "another long password")
        assert session_user(session, second, start) is None
        assert session_user(session, bobs, start).email == "bob@example.com"
        # A hash replaced without revoking (a plain UPDATE) still ends the sessions before it.
        third = open_session(session, session.get(User, alice.id), hours, start)
        session.get(User, alice.id).password_hash = "replaced by hand"
        assert session_user(session, third, start) is None

    with sessions.begin() as session:
        # Revoked rows stay until they expire; then any sign-in deletes them.
        assert delete_expired(session, start + hours - timedelta(seconds=1)) == 0
        assert delete_expired(session, start + hours) == 4
        open_session(session, bob, hours, start + hours)
        session.execute(delete(User).where(User.id == bob.id))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(PortalSession)) == 0  # gone with bob
