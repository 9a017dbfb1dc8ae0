"""A finding: what was wrong with one object a CPO served, in words the CPO can act on."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectFinding:
    object_type: str  # "location", "tariff", "page"
    object_id: str | None
    field: str | None
    reason: str
    severity: str = "error"  # "error": object skipped; "warning": object kept
