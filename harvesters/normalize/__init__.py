"""Normalization in one place: any supported OCPI version in, an OCPI 2.3.0 object out.

For each object: camelCase keys are read as snake_case, the version's upgrade rules
(v211, v221; 2.3.0 needs none) bring it to the 2.3.0 shape, the repairs fill in what real
feeds leave out (each with a warning), and the 2.3.0 schemas validate. A Location is
validated apart from its EVSEs, and each EVSE on its own: a broken EVSE is dropped with an
error finding, and the rest of its location is still published.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from harvesters.findings import ObjectFinding, UnitCounts
from harvesters.normalize import v211, v221
from harvesters.normalize.common import FeedIdentity
from harvesters.normalize.repairs import repair, snake_case_keys
from nap.jsonutil import dumps_bytes
from nap.ocpi.schemas import Evse, Location, Tariff, validation_problems

SUPPORTED_VERSIONS = ("2.3.0", "2.2.1", "2.2", "2.1.1")

_Upgrade = Callable[[dict, FeedIdentity], dict]


def _as_is(obj: dict, feed: FeedIdentity) -> dict:
    return obj


_UPGRADES: dict[tuple[str, str], _Upgrade] = {
    ("location", "2.3.0"): _as_is,
    ("tariff", "2.3.0"): _as_is,
    ("location", "2.2.1"): v221.upgrade_location,
    ("tariff", "2.2.1"): v221.upgrade_tariff,
    # 2.2 differs from 2.2.1 only in details that do not touch these objects.
    ("location", "2.2"): v221.upgrade_location,
    ("tariff", "2.2"): v221.upgrade_tariff,
    ("location", "2.1.1"): v211.upgrade_location,
    ("tariff", "2.1.1"): v211.upgrade_tariff,
}


@dataclass
class NormalizedObject:
    kind: str
    data: dict | None  # the 2.3.0 object, or None when it could not be understood
    raw: Any
    object_id: str | None
    findings: list[ObjectFinding] = field(default_factory=list)
    # `raw` serialized (orjson), as the store writes it; None when orjson refuses it.
    raw_json: bytes | None = None
    # With as_json: the 2.3.0 object as JSON, serialized by the schemas themselves, instead
    # of `data` (which stays None then).
    data_json: bytes | None = None
    # What became of the location, its EVSEs and connectors (a tariff counts as nothing).
    counts: UnitCounts = field(default_factory=UnitCounts)

    @property
    def ok(self) -> bool:
        return self.data is not None or self.data_json is not None


def _field_path(prefix: str, location: tuple) -> str:
    path = prefix
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _object_id(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)[:200]
    return None


def _errors(error: ValidationError, kind: str, object_id: str | None, prefix: str = "") -> list[ObjectFinding]:
    return [
        ObjectFinding(kind, object_id, _field_path(prefix, problem["loc"]), problem["msg"])
        for problem in validation_problems(error)
    ]


class _LocationAndEvses(BaseModel):
    """A location and its EVSEs validated in one call: the common case, all valid, costs one
    validator call and one dump instead of one per EVSE. Fields validate in this order, so
    warnings come in the same order as validating the location, then each EVSE in turn."""

    location: Location
    evses: list[Evse]


_EVSES = TypeAdapter(list[Evse])


def _repeated_ids(evses: list[Evse]) -> bool:
    """Whether a uid repeats in the location, or a connector id in an EVSE."""
    if len({evse.uid for evse in evses}) != len(evses):
        return True
    return any(len({c.id for c in evse.connectors}) != len(evse.connectors) for evse in evses)


def _location_json(both: _LocationAndEvses) -> bytes:
    """The location with its EVSEs as the JSON text of its 2.3.0 object, straight from the
    schemas: as model_dump(mode="json", exclude_none=True) with "evses" put last, then
    serialized."""
    location = both.location.__pydantic_serializer__.to_json(both.location, exclude_none=True)
    evses = _EVSES.dump_json(both.evses, exclude_none=True)
    return location[:-1] + b',"evses":' + evses + b"}"


def _validate_evses(evses: Any, location_id: str | None, context: dict,
                    validated: list[dict] | None = None) -> tuple[list[dict], list[ObjectFinding]]:
    """Each EVSE validated on its own (a broken one is dropped with its findings), then
    repeated uids and connector ids dropped. `validated`: the EVSEs already validated, all
    valid (the fast path of normalize_object)."""
    kept, findings, seen_uids = [], [], set()
    for index, evse in enumerate(evses if isinstance(evses, list) else []):
        uid = evse.get("uid") if isinstance(evse, dict) else None
        evse_ref = f"{location_id}/{uid}"
        if validated is not None:
            document = validated[index]
        else:
            try:
                document = Evse.model_validate(evse, context=context).to_json()
            except ValidationError as error:
                findings += _errors(error, "evse", evse_ref, f"evses[{index}]")
                continue
        if document["uid"] in seen_uids:
            findings.append(ObjectFinding("evse", evse_ref, f"evses[{index}].uid",
                                          "the same uid appears twice in this location; the later EVSE is skipped"))
            continue
        seen_uids.add(document["uid"])
        connector_ids, connectors = set(), []
        for position, connector in enumerate(document["connectors"]):
            if connector["id"] in connector_ids:
                findings.append(ObjectFinding("evse", evse_ref, f"evses[{index}].connectors[{position}].id",
                                              "the same connector id appears twice in this EVSE; the later one is skipped"))
                continue
            connector_ids.add(connector["id"])
            connectors.append(connector)
        document["connectors"] = connectors
        kept.append(document)
    if evses is not None and not isinstance(evses, list):
        findings.append(ObjectFinding("location", location_id, "evses", "must be a list of EVSE objects"))
    return kept, findings


def normalize_object(kind: str, raw: Any, version: str, feed: FeedIdentity, *,
                     hand_over: bool = False, as_json: bool = False) -> NormalizedObject:
    """`hand_over`: the caller needs `raw` no more, and the object as received only as
    `raw_json` (when that could be made): the normalization may then change `raw` in place
    instead of working on a copy (a harvest drops each page once normalized). `raw` must be
    as parsed from JSON, with no object referenced twice, as a copy would be.
    `as_json`: the caller wants the 2.3.0 object as JSON (`data_json`); a valid location is
    then serialized straight from the schemas, without building it as Python values. Not for
    an object orjson cannot serialize (integers beyond 64 bits: orjson would read them back
    as floats): that one comes as `data`, as without as_json."""
    object_id = _object_id(raw)
    result = NormalizedObject(kind=kind, data=None, raw=raw, object_id=object_id)
    if not isinstance(raw, dict):
        result.findings.append(
            ObjectFinding(kind, object_id, None, f"expected a JSON object, got {type(raw).__name__}")
        )
        return result
    # The raw object is stored as received: work on a copy, unless the caller hands the
    # object over. Serializing it once gives the copy, the text the camelCase scan reads and
    # the text the store writes.
    try:
        result.raw_json = orjson.dumps(raw)
        obj = raw if hand_over else orjson.loads(result.raw_json)
    except (TypeError, orjson.JSONEncodeError):  # integers beyond 64 bits, for one
        obj = copy.deepcopy(raw)
    warnings = snake_case_keys(obj, feed, result.raw_json)
    obj = _UPGRADES[(kind, version)](obj, feed)
    warnings += repair(kind, obj, feed)
    context: dict[str, list[str]] = {"warnings": warnings}
    evses = obj.pop("evses", None) if kind == "location" else None
    data = None
    if kind == "location" and isinstance(evses, list):
        # Fast path: the location and its EVSEs in one validation. On any error the slow
        # path below redoes it object by object, so findings and warnings stay the same.
        fast_warnings: list[str] = []
        try:
            both = _LocationAndEvses.model_validate({"location": obj, "evses": evses},
                                                    context={"warnings": fast_warnings})
        except ValidationError:
            pass
        else:
            warnings += fast_warnings
            if as_json and result.raw_json is not None and not _repeated_ids(both.evses):
                result.data_json = _location_json(both)
            else:
                dumped = both.model_dump(mode="json", exclude_none=True)
                data = dumped["location"]
                data["evses"], evse_findings = _validate_evses(evses, object_id, context, dumped["evses"])
                result.findings += evse_findings
    if data is None and result.data_json is None:
        try:
            model = (Location if kind == "location" else Tariff).model_validate(obj, context=context)
        except ValidationError as error:
            result.findings += _errors(error, kind, object_id)
            return result
        data = model.to_json()
        if kind == "location":
            data["evses"], evse_findings = _validate_evses(evses, object_id, context)
            result.findings += evse_findings
    result.data = data
    if as_json and result.data_json is None and result.raw_json is not None:
        result.data_json = dumps_bytes(data)
        result.data = None
    for message in warnings:
        field_name, _, reason = message.partition(": ")
        result.findings.append(ObjectFinding(kind, object_id, field_name, reason, "warning"))
    return result
