"""last_updated everywhere: missing or unusable ones derived, future ones set to the receipt.

A location's last_updated is the newest of its EVSEs' and connectors' (OCPI: a child's
change updates its parent); an EVSE's the newest of its connectors', else its location's;
a connector's its EVSE's, else its location's. With nothing to derive from, the time NAP
received the object stands in. A date in the future (beyond a few minutes of clock drift)
would make every later update look older, pushed or pulled, and freeze the object: the
receipt time replaces it.
"""
from __future__ import annotations

from harvesters.normalize.common import list_of
from harvesters.normalize.repairs import walk
from harvesters.normalize.repairs.log import RepairLog
from nap.ocpi.values import format_datetime, is_future, normalize_datetime


def _usable(value: object) -> str | None:
    try:
        text = normalize_datetime(value)
    except ValueError:
        return None
    return None if is_future(text) else text


def _fix(container: dict, path: str, derived: str | None, source: str, log: RepairLog) -> str:
    value = container.get("last_updated")
    usable = _usable(value)
    if usable is not None:
        return usable
    received = format_datetime(log.received_at)
    if value is None or value == "":
        replacement, reason = (derived, f"missing; taken from {source}") if derived else (
            received, "missing; the time NAP received it")
    else:
        try:
            future = is_future(normalize_datetime(value))
        except ValueError:
            future = False
        if future:
            replacement, reason = received, f"{value!r} lies in the future; the time NAP received it instead"
        elif derived:
            replacement, reason = derived, f"{value!r} is not a usable date-time; taken from {source}"
        else:
            replacement, reason = received, f"{value!r} is not a usable date-time; the time NAP received it"
    container["last_updated"] = replacement
    log.note(f"{path}.last_updated" if path else "last_updated", reason,
             discarded=not (value is None or value == ""))
    return replacement


def location_timestamps(location: dict, log: RepairLog) -> None:
    location_own = _usable(location.get("last_updated"))
    newest_child = None
    for path, evse in walk.evses(location):
        evse_own = _usable(evse.get("last_updated"))
        parent = evse_own or location_own
        newest_connector = None
        for index, connector in enumerate(list_of(evse.get("connectors"))):
            if isinstance(connector, dict):
                stamp = _fix(connector, f"{path}.connectors[{index}]", parent,
                             "its EVSE" if evse_own else "its location", log)
                newest_connector = max(newest_connector or stamp, stamp)
        stamp = _fix(evse, path, newest_connector or location_own,
                     "its newest connector" if newest_connector else "its location", log)
        newest_child = max(newest_child or stamp, stamp)
    _fix(location, "", newest_child, "its newest EVSE or connector", log)


def tariff_timestamp(tariff: dict, log: RepairLog) -> None:
    _fix(tariff, "", None, "", log)
