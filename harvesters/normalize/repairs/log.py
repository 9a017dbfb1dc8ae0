"""What the repairs changed, as warnings a CPO can act on, and which EVSEs and connectors
they touched (for the run's repaired counts)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from harvesters.normalize.common import FeedIdentity

_UNIT = re.compile(r"^evses\[(\d+)\](?:\.connectors\[(\d+)\])?")
_INDEX = re.compile(r"\[\d+\]")


def unit_of(path: str) -> tuple[int, ...]:
    """() for the object itself, (evse,) or (evse, connector) by position as served."""
    match = _UNIT.match(path)
    if not match:
        return ()
    return (int(match[1]),) if match[2] is None else (int(match[1]), int(match[2]))


@dataclass
class RepairLog:
    feed: FeedIdentity
    received_at: datetime
    # (field pattern without indices, reason) -> the fields it was noted for, in order.
    notes: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    units: set[tuple[int, ...]] = field(default_factory=set)
    # Values the CPO gave that could not be read and were replaced or left out, as
    # (field, reason): a harvest publishes the rest with a warning; a push is refused, so
    # that the CPO, who is waiting for the answer, sends it again right.
    discarded: list[tuple[str, str]] = field(default_factory=list)

    def note(self, path: str, reason: str, discarded: bool = False) -> None:
        """A repair of the field at `path` (e.g. evses[0].connectors[1].format), and why.
        `discarded`: a value the CPO gave was not understood, and replaced or left out."""
        self.notes.setdefault((_INDEX.sub("[]", path), reason), []).append(path)
        self.units.add(unit_of(path))
        if discarded:
            self.discarded.append((path, reason))

    def warnings(self) -> list[str]:
        """One warning per kind of repair: the first field it touched, and how many more.
        A CPO whose every connector lacks a value gets one line per location, not one per
        connector."""
        lines = []
        for (_pattern, reason), paths in self.notes.items():
            more = f" (and {len(paths) - 1} more like it)" if len(paths) > 1 else ""
            lines.append(f"{paths[0]}: {reason}{more}")
        return lines
