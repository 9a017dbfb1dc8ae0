"""The EVSEs and connectors of a location as the repairs visit them: by position as served,
skipping whatever is not an object."""
from __future__ import annotations

from typing import Iterator

from harvesters.normalize.common import list_of


def evses(location: dict) -> Iterator[tuple[str, dict]]:
    for index, evse in enumerate(list_of(location.get("evses"))):
        if isinstance(evse, dict):
            yield f"evses[{index}]", evse


def connectors(location: dict) -> Iterator[tuple[str, dict, dict]]:
    """(path, evse, connector)."""
    for evse_path, evse in evses(location):
        for index, connector in enumerate(list_of(evse.get("connectors"))):
            if isinstance(connector, dict):
                yield f"{evse_path}.connectors[{index}]", evse, connector
