"""Who and which: the party of an object, its id and its EVSEs' and connectors' ids."""
from __future__ import annotations

from harvesters.normalize.common import fill_identity, list_of
from harvesters.normalize.repairs import walk
from harvesters.normalize.repairs.log import RepairLog
from harvesters.normalize.repairs.numbers import missing


def identity_from_feed(obj: dict, log: RepairLog) -> None:
    for name in fill_identity(obj, log.feed):
        log.note(name, "missing, taken from the feed's registration")


def publish_by_default(location: dict, log: RepairLog) -> None:
    if "publish" not in location:
        location["publish"] = True
        log.note("publish", "missing, taken as true (the CPO sends it to a public access point)")


def _as_text(container: dict, key: str, path: str, log: RepairLog) -> None:
    value = container.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        container[key] = str(value)
        log.note(path, f"the number {value} read as the text {str(value)!r}")


def ids_as_text(obj: dict, log: RepairLog) -> None:
    """Ids are strings in OCPI; some back ends serve their database's integers."""
    _as_text(obj, "id", "id", log)
    for path, evse in walk.evses(obj):
        _as_text(evse, "uid", f"{path}.uid", log)
    for path, _evse, connector in walk.connectors(obj):
        _as_text(connector, "id", f"{path}.id", log)
        tariff_ids = connector.get("tariff_ids")
        if isinstance(tariff_ids, list):
            for index, value in enumerate(tariff_ids):
                if isinstance(value, int) and not isinstance(value, bool):
                    tariff_ids[index] = str(value)
                    log.note(f"{path}.tariff_ids[{index}]", f"the number {value} read as the text {str(value)!r}")


def evse_uid_from_evse_id(location: dict, log: RepairLog) -> None:
    """An EVSE without uid but with an evse_id: the evse_id identifies it as well (and is
    what many back ends use as uid anyway)."""
    for path, evse in walk.evses(location):
        if missing(evse.get("uid")) and isinstance(evse.get("evse_id"), str) and evse["evse_id"].strip():
            evse["uid"] = evse["evse_id"].strip()
            log.note(f"{path}.uid", f"missing, taken from evse_id {evse['uid']!r}")


def connector_id_from_position(location: dict, log: RepairLog) -> None:
    """A connector without id is numbered by its position in the EVSE, as OCPI's own
    examples number them, unless another connector has that id already."""
    for path, evse in walk.evses(location):
        connectors = [c for c in list_of(evse.get("connectors")) if isinstance(c, dict)]
        taken = {str(c.get("id")) for c in connectors if not missing(c.get("id"))}
        for index, connector in enumerate(list_of(evse.get("connectors"))):
            if isinstance(connector, dict) and missing(connector.get("id")) and str(index + 1) not in taken:
                connector["id"] = str(index + 1)
                taken.add(connector["id"])
                log.note(f"{path}.connectors[{index}].id", f"missing, numbered {connector['id']} by its position")
