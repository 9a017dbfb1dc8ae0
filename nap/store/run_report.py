"""What a feed's latest finished harvest run did with what the CPO served: its unit counts
(locations, EVSEs and connectors served, stored, repaired, skipped) and the top reasons
of its findings, errors (what was skipped) and warnings (what was repaired) apart. One
place for `nap feeds show` and the portal's feed page.

Findings are grouped by their field with list indices removed (`evses[3].connectors[0]
.format` and `evses[7].connectors[1].format` are both `evses[].connectors[].format`) and
by their reason with quoted values replaced by '…': reasons quote the value the CPO sent
(`'FOO' is not a known ConnectorType value`, `latitude '52,1' is not a decimal number`),
and grouped by their exact text most groups would hold one finding. Each group keeps one
example: the smallest object id in it, and that finding's reason as written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nap.store.states import RunStatus
from nap.store.tables import Finding, HarvestRun

UNITS = ("locations", "evses", "connectors")
OUTCOMES = ("served", "stored", "repaired", "skipped")
TOP_REASONS = 10

_INDEX = re.compile(r"\[\d+\]")
# A value quoted as Python's repr quotes it: an apostrophe inside a word ("the feed's
# registration") neither opens nor closes one.
_QUOTED = re.compile(r"""(?<!\w)(?:'[^'\n]*'|"[^"\n]*")(?!\w)""")
# A list of quoted values ("'A' or 'B' or 'C'", "'A', 'B'") is one value once replaced.
_QUOTED_LIST = re.compile(r"'…'(?:(?:,| or| and|, or|, and) '…')+")


def field_pattern(path: str | None) -> str:
    """A finding's field with list indices removed: evses[2].uid -> evses[].uid."""
    return _INDEX.sub("[]", path or "")


def reason_pattern(reason: str) -> str:
    """A finding's reason with the values it quotes replaced by '…'."""
    return _QUOTED_LIST.sub("'…'", _QUOTED.sub("'…'", reason))


@dataclass(frozen=True)
class ReasonGroup:
    field: str  # without list indices; "" for a finding about a whole object
    reason: str  # with quoted values replaced by '…'
    count: int
    example_object_id: str | None
    example_reason: str  # the example's reason as written

    @property
    def shows_values(self) -> bool:
        """Whether the example's reason says more than the group's (it quotes a value)."""
        return self.example_reason != self.reason


def top_reasons(session: Session, run_id: int, severity: str, limit: int = TOP_REASONS) -> list[ReasonGroup]:
    """The run's findings of this severity grouped by field and reason, the largest groups
    first (then by field and reason), at most `limit`."""
    groups: dict[tuple[str, str], list] = {}  # key -> [count, example object id, example reason]
    # Grouped by their exact text in the database first: a run may have a finding per EVSE,
    # but far fewer distinct (field, reason) pairs.
    rows = session.execute(
        select(Finding.field, Finding.reason, func.count(), func.min(Finding.object_id))
        .where(Finding.run_id == run_id, Finding.severity == severity)
        .group_by(Finding.field, Finding.reason))
    for path, reason, count, object_id in rows:
        key = (field_pattern(path), reason_pattern(reason))
        group = groups.get(key)
        if group is None:
            groups[key] = [count, object_id, reason]
            continue
        group[0] += count
        if object_id is not None and (group[1] is None or object_id < group[1]):
            group[1], group[2] = object_id, reason
    ranked = sorted(groups.items(), key=lambda item: (-item[1][0], item[0]))
    return [ReasonGroup(path, reason, count, object_id, example)
            for (path, reason), (count, object_id, example) in ranked[:limit]]


def count_findings(session: Session, run_id: int, severity: str) -> int:
    return session.scalar(select(func.count()).select_from(Finding)
                          .where(Finding.run_id == run_id, Finding.severity == severity)) or 0


def latest_finished_run(session: Session, feed_id: int) -> HarvestRun | None:
    """The feed's latest run that is over: completed (success, degraded) or failed."""
    return session.scalar(select(HarvestRun).where(HarvestRun.feed_id == feed_id,
                                                   HarvestRun.status != RunStatus.RUNNING)
                          .order_by(HarvestRun.id.desc()).limit(1))


@dataclass(frozen=True)
class UnitRow:
    unit: str  # "locations", "evses", "connectors"
    served: int
    stored: int
    repaired: int
    skipped: int

    @property
    def skipped_share(self) -> float | None:
        return self.skipped / self.served if self.served else None


def unit_rows(unit_counts: dict | None) -> list[UnitRow]:
    """A run's unit_counts as one row per unit; empty for a run without counts (a failed
    run, or one from before they were kept)."""
    if not unit_counts:
        return []
    return [UnitRow(unit, *(int((unit_counts.get(unit) or {}).get(what) or 0) for what in OUTCOMES))
            for unit in UNITS]


@dataclass
class RunReport:
    run: HarvestRun
    units: list[UnitRow]
    errors: list[ReasonGroup] = field(default_factory=list)
    repairs: list[ReasonGroup] = field(default_factory=list)
    error_count: int = 0
    repair_count: int = 0

    @property
    def evses(self) -> UnitRow | None:
        return next((row for row in self.units if row.unit == "evses"), None)


def latest_run_report(session: Session, feed_id: int, limit: int = TOP_REASONS) -> RunReport | None:
    """The feed's latest finished run, its unit counts and the top reasons of its errors
    and of its repairs (warnings); None before any run finished."""
    run = latest_finished_run(session, feed_id)
    if run is None:
        return None
    return RunReport(
        run=run, units=unit_rows(run.unit_counts),
        errors=top_reasons(session, run.id, "error", limit), repairs=top_reasons(session, run.id, "warning", limit),
        error_count=count_findings(session, run.id, "error"), repair_count=count_findings(session, run.id, "warning"))
