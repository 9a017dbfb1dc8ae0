"""Settings for one test: `replace(settings, field=value, ...)` copies Settings with some
fields changed, as dataclasses.replace copies a dataclass (Settings is a pydantic model).
The copy is validated like Settings(...) is, so a test cannot run with settings NAP
would refuse."""
from __future__ import annotations

from typing import Any

from nap.config import Settings


def replace(settings: Settings, /, **changes: Any) -> Settings:
    return Settings(**{**settings.model_dump(), **changes})
