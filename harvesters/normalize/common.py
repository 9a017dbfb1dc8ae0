"""Helpers shared by the per-version upgrade rules."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeedIdentity:
    """What the feed tells us about its CPO, for objects that do not say it themselves."""

    country_code: str | None = None
    party_id: str | None = None


def copy_without(raw: dict, *fields: str) -> dict:
    return {key: value for key, value in raw.items() if key not in fields}


def warn(warnings: list[str], message: str) -> None:
    warnings.append(message)
