"""Credentials are secrets: outbound CPO tokens are encrypted at rest, inbound tokens are
stored as hashes, and no token reaches a log line."""
from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from nap.feeds import add_feed, get_feed, issue_push_token
from nap.store import secrets
from tests.harvest_helpers import harvest
from tests.settings_helpers import replace


def stored_token(sessions) -> str:
    with sessions() as session:
        return session.execute(text("SELECT token FROM feeds")).scalar_one()


def test_cpo_tokens_are_encrypted_at_rest_and_push_tokens_hashed(demo_cpo, sessions, settings):
    """Fails without the protection: with feeds.token a plain Text column the stored
    value is the token itself (checked by swapping the column type)."""
    cpo = demo_cpo(locations=2, token="s3cret-cpo-token")
    with sessions.begin() as session:
        feed = add_feed(session, name="demo", versions_url=cpo.versions_url, token="s3cret-cpo-token",
                        country_code="DE", party_id="ABC")
        push_token = issue_push_token(session, feed)
    raw = stored_token(sessions)
    assert raw.startswith("fernet:") and "s3cret" not in raw
    with sessions() as session:
        assert get_feed(session, "demo").token == "s3cret-cpo-token"
        inbound = session.execute(text("SELECT inbound_token_hash FROM feeds")).scalar_one()
    assert push_token not in inbound and len(inbound) == 64
    assert harvest(sessions, settings).status == "success"  # the clear token reaches the CPO


def test_no_token_in_any_log_line(demo_cpo, sessions, settings, caplog):
    cpo = demo_cpo(locations=2, token="s3cret-cpo-token")
    with sessions.begin() as session:
        add_feed(session, name="demo", versions_url=cpo.versions_url, token="s3cret-cpo-token")
    caplog.set_level(logging.DEBUG)
    cpo.app.config["OPTIONS"].fail_rate = 1.0  # retries and failures log the most
    run = harvest(sessions, replace(settings, retry_backoff_seconds=0.01))
    assert run.status == "failed"
    encoded = base64.b64encode(b"s3cret-cpo-token").decode()
    logged = caplog.text + (run.error or "")
    assert "s3cret-cpo-token" not in logged and encoded not in logged


def test_key_rotation_and_a_missing_key(sessions, database_url, monkeypatch):
    with sessions.begin() as session:
        add_feed(session, name="demo", versions_url="https://cpo.example/ocpi/versions", token="rotate-me")
    old_key = os.environ["NAP_TOKEN_KEYS"]
    new_key = Fernet.generate_key().decode()
    env = {**os.environ, "NAP_DATABASE_URL": database_url, "NAP_TOKEN_KEYS": f"{new_key},{old_key}"}
    done = subprocess.run([sys.executable, "-m", "nap.cli", "tokens", "rotate"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # The process loads its keys once; forgetting them makes it read NAP_TOKEN_KEYS again.
    # At the end monkeypatch puts the session's key and keyring back.
    monkeypatch.setenv("NAP_TOKEN_KEYS", new_key)  # the old key is gone now
    monkeypatch.setattr(secrets, "_keyring", None)
    with sessions() as session:
        assert get_feed(session, "demo").token == "rotate-me"
    monkeypatch.setenv("NAP_TOKEN_KEYS", Fernet.generate_key().decode())
    monkeypatch.setattr(secrets, "_keyring", None)
    with sessions() as session, pytest.raises(secrets.TokenKeyError, match="cannot be decrypted"):
        get_feed(session, "demo").token


def _nap(args, cwd, env, stdin=None):
    return subprocess.run([sys.executable, "-m", "nap.cli", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_without_token_keys_the_development_key_lives_with_the_database(sessions, database_url, tmp_path):
    """Without NAP_TOKEN_KEYS the development key was var/token.key in the current
    directory: a command run from elsewhere made a second key and crashed with a
    TokenKeyError traceback. On SQLite the key is kept next to the database file; on
    PostgreSQL (no file to keep it with) the command refuses and says what to set."""
    env = {key: value for key, value in os.environ.items() if key != "NAP_TOKEN_KEYS"}
    env["NAP_DATABASE_URL"] = database_url
    env["PYTHONPATH"] = os.getcwd()
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    added = _nap(["feeds", "add", "--name", "elsewhere", "--versions-url", "https://cpo.example/ocpi/versions",
                  "--token", "kept-safe"], first, env)
    if database_url.startswith("postgresql"):
        assert added.returncode == 1 and "Traceback" not in added.stderr
        assert "NAP_TOKEN_KEYS" in added.stderr
        with sessions() as session:
            assert session.execute(text("SELECT count(*) FROM feeds")).scalar_one() == 0
        return
    assert added.returncode == 0, added.stderr
    shown = _nap(["feeds", "show", "elsewhere"], second, env)
    assert shown.returncode == 0, shown.stderr
    rotated = _nap(["tokens", "rotate"], second, env)
    assert rotated.returncode == 0 and "Traceback" not in rotated.stderr, rotated.stderr
    database_file = database_url.split("sqlite:///", 1)[1]
    assert (Path(database_file).parent / "token.key").exists()
    assert not (first / "var").exists() and not (second / "var").exists()
