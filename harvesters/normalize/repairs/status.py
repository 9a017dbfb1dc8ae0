"""EVSE status: required, and what NAP republishes every minute."""
from __future__ import annotations

from harvesters.normalize.repairs import walk
from harvesters.normalize.repairs.log import RepairLog
from nap.ocpi.spellings import spec_value


def status_unknown(location: dict, log: RepairLog) -> None:
    """An EVSE whose status is missing or not understood is published as UNKNOWN, OCPI's
    value for "no status information": the EVSE itself is still there."""
    for path, evse in walk.evses(location):
        status = evse.get("status")
        if isinstance(status, str) and spec_value("Status", status):
            continue
        evse["status"] = "UNKNOWN"
        reason = "missing" if status is None or status == "" else f"{status!r} is not a Status"
        log.note(f"{path}.status", f"{reason}; published as UNKNOWN", discarded=reason != "missing")
