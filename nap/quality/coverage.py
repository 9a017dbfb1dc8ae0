"""The coverage score per AFIR field: the share of a CPO's recharging points (EVSEs, not
REMOVED, at current locations) that carry the field. A CPO with many EVSEs per location
and one location lacking opening hours loses that location's EVSEs, which is what the
drivers at those EVSEs miss."""
from __future__ import annotations

from dataclasses import dataclass

from nap.quality.afir import AFIR_FIELDS
from nap.quality.snapshot import FeedSnapshot


@dataclass(frozen=True)
class FieldCoverage:
    key: str
    label: str
    ocpi_fields: str
    present: int
    total: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.present / self.total, 1) if self.total else None


@dataclass(frozen=True)
class Coverage:
    fields: list[FieldCoverage]
    complete: int  # EVSEs with every AFIR field
    total: int

    @property
    def complete_percent(self) -> float | None:
        return round(100 * self.complete / self.total, 1) if self.total else None


def afir_coverage(snapshot: FeedSnapshot) -> Coverage:
    present = {afir.key: 0 for afir in AFIR_FIELDS}
    complete = total = 0
    for location, evse in snapshot.evses():
        total += 1
        has_all = True
        for afir in AFIR_FIELDS:
            if afir.missing(location, evse, snapshot):
                has_all = False
            else:
                present[afir.key] += 1
        complete += has_all
    fields = [FieldCoverage(a.key, a.label, a.ocpi_fields, present[a.key], total) for a in AFIR_FIELDS]
    return Coverage(fields, complete, total)
