"""A finding: what was wrong with one object a CPO served, in words the CPO can act on."""
from __future__ import annotations

from dataclasses import dataclass


# Reasons quote the value the CPO sent, which can be megabytes (a date, a status): the
# finding names the problem, it does not keep the value (the raw object does).
MAX_REASON_LENGTH = 1000


@dataclass(frozen=True)
class ObjectFinding:
    object_type: str  # "location", "tariff", "page"
    object_id: str | None
    field: str | None
    reason: str
    severity: str = "error"  # "error": object skipped; "warning": object kept

    def __post_init__(self) -> None:
        if len(self.reason) > MAX_REASON_LENGTH:
            object.__setattr__(self, "reason", self.reason[:MAX_REASON_LENGTH - 1] + "…")


UNITS = ("locations", "evses", "connectors")


@dataclass
class UnitCounts:
    """What became of the units a CPO served, per level: stored (repaired ones included),
    repaired (stored with at least one repair warning), skipped (dropped with an error
    finding). served = stored + skipped."""

    locations_served: int = 0
    locations_stored: int = 0
    locations_repaired: int = 0
    locations_skipped: int = 0
    evses_served: int = 0
    evses_stored: int = 0
    evses_repaired: int = 0
    evses_skipped: int = 0
    connectors_served: int = 0
    connectors_stored: int = 0
    connectors_repaired: int = 0
    connectors_skipped: int = 0

    def add(self, other: "UnitCounts") -> "UnitCounts":
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)
        return self

    def as_dict(self) -> dict[str, dict[str, int]]:
        """{"locations": {"served": .., "stored": .., "repaired": .., "skipped": ..}, ...}"""
        return {unit: {what: getattr(self, f"{unit}_{what}") for what in ("served", "stored", "repaired", "skipped")}
                for unit in UNITS}

    @classmethod
    def from_dict(cls, counts: dict | None) -> "UnitCounts":
        result = cls()
        for unit, figures in (counts or {}).items():
            for what, value in (figures or {}).items():
                if hasattr(result, f"{unit}_{what}"):
                    setattr(result, f"{unit}_{what}", int(value))
        return result
