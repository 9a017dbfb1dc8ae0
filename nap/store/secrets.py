"""Outbound tokens (what NAP presents to CPOs) are encrypted at rest with Fernet.

Keys come from NAP_TOKEN_KEYS: comma-separated Fernet keys, the first encrypts, all
decrypt, so a key is rotated by putting a new one first, running `nap tokens rotate`, and
then dropping the old one. Without NAP_TOKEN_KEYS a development key is created once in
var/token.key (mode 600); production sets the variable on every node.

The column type does the work, so code reading `feed.token` sees the clear token and
nothing else changes; the database, its backups and its logs never hold it.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

PREFIX = "fernet:"
DEV_KEY_FILE = Path("var") / "token.key"
_lock = threading.Lock()
_keyring: MultiFernet | None = None


class TokenKeyError(RuntimeError):
    pass


def _load_keys() -> list[bytes]:
    configured = [k.strip() for k in os.environ.get("NAP_TOKEN_KEYS", "").split(",") if k.strip()]
    if configured:
        return [k.encode() for k in configured]
    if not DEV_KEY_FILE.exists():
        DEV_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(DEV_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key())
    return [DEV_KEY_FILE.read_bytes().strip()]


def keyring() -> MultiFernet:
    global _keyring
    with _lock:
        if _keyring is None:
            try:
                _keyring = MultiFernet([Fernet(key) for key in _load_keys()])
            except ValueError as error:
                raise TokenKeyError(f"NAP_TOKEN_KEYS holds an invalid Fernet key: {error}") from None
        return _keyring


def reset_keyring() -> None:
    """Forget the loaded keys (after NAP_TOKEN_KEYS changed)."""
    global _keyring
    with _lock:
        _keyring = None


def encrypt(token: str) -> str:
    return PREFIX + keyring().encrypt(token.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption existed; re-encrypted by `nap tokens rotate`
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
