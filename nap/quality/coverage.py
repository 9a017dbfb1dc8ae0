"""The coverage score per AFIR field: the share of a CPO's recharging points (EVSEs, not
REMOVED, at current locations) that carry the field. A CPO with many EVSEs per location
and one location lacking opening hours loses that location's EVSEs, which is what the
drivers at those EVSEs miss.

The same count runs per item of the AFIR Annex (nap/afir_annex.py: 37 items), so the report
shows every item: those OCPI carries by the quality field that checks them, those only the
supplement gives by the supplement's values, and those nobody can publish with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from nap.afir_annex import ANNEX, NOT_PUBLISHABLE, PUBLISHED, SUPPLEMENT, AnnexItem
from nap.quality.afir import AFIR_FIELDS, ANNEX_CHECKS
from nap.quality.snapshot import FeedSnapshot, LocationView

# The supplement's values of one feed: location id -> Annex code -> value; the location id
# "" holds the party-wide values, which count for every location without its own.
Supplement = Mapping[str, Mapping[str, object]]


class _Share:
    """`present` out of `total` charging points, as a percentage (None when there are none)."""

    present: int
    total: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.present / self.total, 1) if self.total else None


@dataclass(frozen=True)
class FieldCoverage(_Share):
    key: str
    label: str
    ocpi_fields: str
    present: int
    total: int


@dataclass(frozen=True)
class AnnexCoverage(_Share):
    code: str  # "A1" ... "F3"
    label: str
    state: str  # nap.afir_annex: published, published from the supplement, not publishable
    source: str  # the OCPI fields, or what the supplement asks for
    note: str  # the reason, when not publishable
    present: int
    total: int


@dataclass(frozen=True)
class Coverage:
    fields: list[FieldCoverage]
    complete: int  # EVSEs with every AFIR field of severity "error"
    total: int
    items: list[AnnexCoverage]

    @property
    def complete_percent(self) -> float | None:
        return round(100 * self.complete / self.total, 1) if self.total else None


def supplied(supplement: Supplement | None, location: LocationView, code: str) -> bool:
    """Whether the supplement gives Annex item `code` for the location, itself or party-wide."""
    if not supplement:
        return False
    for key in (location.ocpi_id, ""):
        value = (supplement.get(key) or {}).get(code)
        if value not in (None, "", [], {}):
            return True
    return False


def _item_present(item: AnnexItem, location, evse, snapshot: FeedSnapshot, supplement: Supplement | None) -> bool:
    if item.state == PUBLISHED and item.quality:
        # An item OCPI carries in part (A6 facilities without toilets) is there when either says it.
        return not ANNEX_CHECKS[item.quality](location, evse, snapshot) or (
            bool(item.supplement) and supplied(supplement, location, item.code))
    if item.state == SUPPLEMENT:
        return supplied(supplement, location, item.code)
    return False  # NOT_PUBLISHABLE: nobody can give it


def _item_source(item: AnnexItem) -> str:
    if item.state == SUPPLEMENT:
        return f"from the supplement: {item.supplement}"
    if item.state == NOT_PUBLISHABLE:
        return "not publishable"
    return item.ocpi


def afir_coverage(snapshot: FeedSnapshot, supplement: Supplement | None = None) -> Coverage:
    """The coverage of one feed; `supplement` is the feed's supplement values (none: the
    supplement items count as missing)."""
    present = {afir.key: 0 for afir in AFIR_FIELDS}
    items = {item.code: 0 for item in ANNEX}
    complete = total = 0
    for location, evse in snapshot.evses():
        total += 1
        has_all = True
        for afir in AFIR_FIELDS:
            if afir.missing(location, evse, snapshot):
                has_all = has_all and afir.severity != "error"
            else:
                present[afir.key] += 1
        for item in ANNEX:
            items[item.code] += _item_present(item, location, evse, snapshot, supplement)
        complete += has_all
    fields = [FieldCoverage(a.key, a.label, a.ocpi_fields, present[a.key], total) for a in AFIR_FIELDS]
    annex = [AnnexCoverage(i.code, i.item, i.state, _item_source(i), i.note if i.state != PUBLISHED else "",
                           items[i.code], total) for i in ANNEX]
    return Coverage(fields, complete, total, annex)
