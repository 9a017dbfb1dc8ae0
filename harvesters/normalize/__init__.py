"""Normalization in one place: any supported OCPI version in, an OCPI 2.3.0 object out.

Each version has its own upgrade rules module (v211, v221); 2.3.0 needs none. After the
upgrade, the 2.3.0 schemas validate and normalize. An object that cannot be understood
yields error findings and no data; repairs yield warnings beside the data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import ValidationError

from harvesters.findings import ObjectFinding
from harvesters.normalize import v211, v221
from harvesters.normalize.common import FeedIdentity
from nap.ocpi.schemas import Location, Tariff

SUPPORTED_VERSIONS = ("2.3.0", "2.2.1", "2.2", "2.1.1")

_Upgrade = Callable[[dict, FeedIdentity, list[str]], dict]


def _no_upgrade(raw: dict, feed: FeedIdentity, warnings: list[str]) -> dict:
    return raw


_UPGRADES: dict[tuple[str, str], _Upgrade] = {
    ("location", "2.3.0"): _no_upgrade,
    ("tariff", "2.3.0"): _no_upgrade,
    ("location", "2.2.1"): v221.upgrade_location,
    ("tariff", "2.2.1"): v221.upgrade_tariff,
    # 2.2 differs from 2.2.1 only in details that do not touch these objects.
    ("location", "2.2"): v221.upgrade_location,
    ("tariff", "2.2"): v221.upgrade_tariff,
    ("location", "2.1.1"): v211.upgrade_location,
    ("tariff", "2.1.1"): v211.upgrade_tariff,
}
_SCHEMAS = {"location": Location, "tariff": Tariff}


@dataclass
class NormalizedObject:
    kind: str
    data: dict | None  # the 2.3.0 object, or None when it could not be understood
    raw: Any
    object_id: str | None
    findings: list[ObjectFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.data is not None


def _field_path(location: tuple) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _object_id(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)[:200]
    return None


def normalize_object(kind: str, raw: Any, version: str, feed: FeedIdentity) -> NormalizedObject:
    object_id = _object_id(raw)
    result = NormalizedObject(kind=kind, data=None, raw=raw, object_id=object_id)
    if not isinstance(raw, dict):
        result.findings.append(
            ObjectFinding(kind, object_id, None, f"expected a JSON object, got {type(raw).__name__}")
        )
        return result
    warnings: list[str] = []
    upgraded = _UPGRADES[(kind, version)](raw, feed, warnings)
    context: dict[str, list[str]] = {"warnings": warnings}
    try:
        model = _SCHEMAS[kind].model_validate(upgraded, context=context)
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            result.findings.append(
                ObjectFinding(kind, object_id, _field_path(problem["loc"]), problem["msg"])
            )
        return result
    result.data = model.to_json()
    for message in warnings:
        field_name, _, reason = message.partition(": ")
        result.findings.append(ObjectFinding(kind, object_id, field_name, reason, "warning"))
    return result
