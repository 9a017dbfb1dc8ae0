"""Outbound tokens (what NAP presents to CPOs) are encrypted at rest with Fernet.

Keys come from NAP_TOKEN_KEYS: comma-separated Fernet keys, the first encrypts, all
decrypt, so a key is rotated by putting a new one first, running `nap tokens rotate`, and
then dropping the old one. Without NAP_TOKEN_KEYS, on SQLite, a development key is created
once in token.key next to the database file (mode 600; var/token.key for the default
var/nap.sqlite3), so every command finds it wherever it runs from; on PostgreSQL there is
no such place and NAP refuses to store or read a token: production sets the variable on
every node.

The column type does the work, so code reading `feed.token` sees the clear token and
nothing else changes; the database, its backups and its logs never hold it.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


if TYPE_CHECKING:  # imported where a token is read or written: most processes never do (about 6 MB each)
    from cryptography.fernet import MultiFernet

PREFIX = "fernet:"
DEV_KEY_NAME = "token.key"
_lock = threading.Lock()
_keyring: MultiFernet | None = None


class TokenKeyError(RuntimeError):
    pass


def _load_keys() -> list[bytes]:
    # Imported here: a process that never decrypts (an export's child) need not load
    # pydantic-settings, 24 MB.
    from nap.config import load_settings

    configured = load_settings().token_keys
    if configured:
        return [k.encode() for k in configured]
    key_file = development_key_file()
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it just now
        else:
            from cryptography.fernet import Fernet

            with os.fdopen(descriptor, "wb") as handle:
                handle.write(Fernet.generate_key())
    return [key_file.read_bytes().strip()]


def development_key_file() -> Path:
    """Where the development key lives without NAP_TOKEN_KEYS: next to the SQLite database
    file of NAP_DATABASE_URL (not in the current directory, which changes from one command
    to the next). Anything else (PostgreSQL, an in-memory database) has no such place."""
    from sqlalchemy.engine import make_url

    from nap.config import load_settings

    url = make_url(load_settings().database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        return Path(url.database).parent / DEV_KEY_NAME
    raise TokenKeyError(
        "NAP_TOKEN_KEYS is not set: CPO tokens are stored encrypted and, with this database, "
        "NAP has no place to keep a development key. Generate a key with `python -c \"from "
        "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\"` and set "
        "NAP_TOKEN_KEYS to it on every node (deploy/nap.env.example, docs/runbook.md)")


def keyring() -> MultiFernet:
    global _keyring
    with _lock:
        if _keyring is None:
            from cryptography.fernet import Fernet, MultiFernet

            try:
                _keyring = MultiFernet([Fernet(key) for key in _load_keys()])
            except ValueError as error:
                raise TokenKeyError(f"NAP_TOKEN_KEYS holds an invalid Fernet key: {error}") from None
        return _keyring


def encrypt(token: str) -> str:
    return PREFIX + keyring().encrypt(token.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption existed; re-encrypted by `nap tokens rotate`
    from cryptography.fernet import InvalidToken

    try:
        return keyring().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise TokenKeyError("a stored CPO token cannot be decrypted with NAP_TOKEN_KEYS: "
                            "is the key that encrypted it missing?") from None


def rotate(stored: str) -> str:
    """Re-encrypt with the current (first) key."""
    return PREFIX + keyring().rotate(stored[len(PREFIX):].encode()).decode() if stored.startswith(PREFIX) \
        else encrypt(stored)


class EncryptedText(TypeDecorator):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect):
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect):
        return None if value is None else decrypt(value)
