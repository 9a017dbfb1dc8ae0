"""Normalization in one place: any supported OCPI version in, an OCPI 2.3.0 object out.

For each object: camelCase keys are read as snake_case, the version's upgrade rules
(v211, v221; 2.3.0 needs none) bring it to the 2.3.0 shape, and the 2.3.0 schemas validate
it. The common case, a valid object, takes one validation call for a location and all its
EVSEs. An object that fails, or validates only with warnings, goes the careful way: the
repairs (harvesters/normalize/repairs) fill in what real feeds leave out or spell
otherwise, each with a warning; then each connector, each EVSE and the location are
validated apart, and only the smallest broken part is dropped (pruning.py): a bad optional
field or list item, a bad connector from its EVSE, an EVSE left without connectors from
its location. A location is refused only when it is unusable itself (no id, no usable
coordinates), and then its EVSEs' problems are still reported, so that the CPO can fix
everything in one round.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from nap.ocpi.findings import ObjectFinding, UnitCounts
from harvesters.normalize import v211, v221
from harvesters.normalize.common import FeedIdentity
from harvesters.normalize.pruning import field_path, validate_pruned
from harvesters.normalize.repairs import (ALWAYS, LOCATION_REPAIRS, TARIFF_ALWAYS, TARIFF_REPAIRS, RepairLog, run,
                                          snake_case_keys)
from nap.jsonutil import dumps_bytes, loads_exact, unreadable_text
from nap.ocpi.ids import id_key
from nap.ocpi.schemas import Connector, Evse, Location, Tariff
from nap.ocpi.values import future_limit

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
    """One object a CPO served, normalized: what nap.store.rows.prepare turns into rows.
    Both texts are JSON, as the store writes them: a harvest's page process sends them to
    the harvest process as they are, and nothing in between parses them again."""

    kind: str
    object_id: str | None
    # The object as the CPO served it; None only when it holds text no database can store
    # (a NUL, a lone surrogate), and then it is skipped with a finding.
    raw: bytes | None = None
    # The OCPI 2.3.0 object; None when it could not be understood.
    document: bytes | None = None
    findings: list[ObjectFinding] = field(default_factory=list)
    # What became of the location, its EVSEs and connectors (a tariff counts as nothing).
    counts: UnitCounts = field(default_factory=UnitCounts)
    # Values the CPO gave that were not understood and were replaced or left out, as
    # (field, reason); each is among the warnings too (see RepairLog.discarded).
    discarded: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.document is not None

    @property
    def data(self) -> dict | None:
        """The document as values, for callers that read its fields."""
        return None if self.document is None else loads_exact(self.document)


def _object_id(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)[:200]
    return None


class _LocationAndEvses(BaseModel):
    """A location and its EVSEs validated in one call: the common case, all valid, costs one
    validator call and one dump instead of one per EVSE."""

    location: Location
    evses: list[Evse]


_EVSES = TypeAdapter(list[Evse])


def _repeated_ids(evses: list[Evse]) -> bool:
    """Whether a uid repeats in the location, or a connector id in an EVSE (ids are
    CiStrings: `E1` and `e1` are one id)."""
    if len({id_key(evse.uid) for evse in evses}) != len(evses):
        return True
    return any(len({id_key(c.id) for c in evse.connectors}) != len(evse.connectors) for evse in evses)


def _location_json(both: _LocationAndEvses) -> bytes:
    """The location with its EVSEs as the JSON text of its 2.3.0 object, straight from the
    schemas: as model_dump(mode="json", exclude_none=True) with "evses" put last, then
    serialized."""
    location = both.location.__pydantic_serializer__.to_json(both.location, exclude_none=True)
    evses = _EVSES.dump_json(both.evses, exclude_none=True)
    return location[:-1] + b',"evses":' + evses + b"}"


def _served(raw: dict) -> UnitCounts:
    counts = UnitCounts(locations_served=1)
    evses = raw.get("evses")
    if isinstance(evses, list):
        counts.evses_served = len(evses)
        counts.connectors_served = sum(len(evse["connectors"]) for evse in evses
                                       if isinstance(evse, dict) and isinstance(evse.get("connectors"), list))
    return counts


def _note_all(repairs: RepairLog, warnings: list[str], prefix: str = "", dropped: list[str] = ()) -> None:
    for message in warnings:
        name, _, reason = message.partition(": ")
        if prefix and not name.startswith(prefix):
            name = f"{prefix}.{name}"
        repairs.note(name, reason, discarded=message in dropped)


def _skip(result: NormalizedObject) -> NormalizedObject:
    counts = result.counts
    counts.locations_skipped = counts.locations_served
    counts.evses_skipped, counts.connectors_skipped = counts.evses_served, counts.connectors_served
    return result


def normalize_object(kind: str, raw: Any, version: str, feed: FeedIdentity, *,
                     hand_over: bool = False, received_at: datetime | None = None) -> NormalizedObject:
    """`raw`: the object as parsed from the CPO's JSON. A valid location's document is
    serialized straight from the schemas, without building it as Python values.
    `hand_over`: the caller needs `raw` no more (it has the result's text of it): the
    normalization may then change `raw` in place instead of working on a copy (a harvest
    drops each page once normalized). `raw` must be as parsed from JSON, with no object
    referenced twice, as a copy would be.
    `received_at`: when NAP received the object (default: now), for the timestamps that have
    to stand in for a missing or impossible one."""
    object_id = _object_id(raw)
    result = NormalizedObject(kind=kind, object_id=object_id)
    if not isinstance(raw, dict):
        if kind == "location":
            result.counts = UnitCounts(locations_served=1, locations_skipped=1)
        result.findings.append(
            ObjectFinding(kind, object_id, None, f"expected a JSON object, got {type(raw).__name__}")
        )
        return result
    if kind == "location":
        result.counts = _served(raw)
    # The raw object is stored as received: work on a copy, unless the caller hands the
    # object over. Serializing it once gives the copy, the text the camelCase scan reads and
    # the text the store writes.
    try:
        raw_json = orjson.dumps(raw)
        obj = raw if hand_over else orjson.loads(raw_json)
    except (TypeError, orjson.JSONEncodeError):  # integers beyond 64 bits, lone surrogates
        raw_json, obj = None, None
    if obj is None or b"\\u0000" in raw_json:
        unreadable = unreadable_text(raw)
        if unreadable:
            result.findings.append(ObjectFinding(kind, object_id, *unreadable))
            return _skip(result)
        if raw_json is None:
            raw_json = dumps_bytes(raw)  # the standard library keeps integers beyond 64 bits
        obj = obj if obj is not None else copy.deepcopy(raw)
    result.raw = raw_json
    warnings = snake_case_keys(obj, raw_json)
    obj = _UPGRADES[(kind, version)](obj, feed)
    repairs = RepairLog(feed, received_at or datetime.now(timezone.utc))
    if kind == "location":
        run(ALWAYS, obj, repairs)
        document = _location(obj, object_id, repairs, result)
    else:
        run(TARIFF_ALWAYS, obj, repairs)
        document = _tariff(obj, object_id, repairs, result)
    if document is None:
        return result
    result.document = document
    result.discarded = repairs.discarded
    for message in warnings + repairs.warnings():
        field_name, _, reason = message.partition(": ")
        result.findings.append(ObjectFinding(kind, object_id, field_name, reason, "warning"))
    return result


def _tariff(obj: dict, object_id: str | None, repairs: RepairLog, result: NormalizedObject) -> bytes | None:
    warnings: list[str] = []
    try:
        model = Tariff.model_validate(obj, context={"warnings": warnings})
    except ValidationError:
        model = None
    if model is None or warnings:
        run(TARIFF_REPAIRS, obj, repairs)
        model, warnings, errors, dropped = validate_pruned(Tariff, obj)
        if model is None:
            result.findings += [ObjectFinding("tariff", object_id, name, reason) for name, reason in errors]
            return None
        _note_all(repairs, warnings, dropped=dropped)
        return dumps_bytes(model.to_json())
    _note_all(repairs, warnings)
    return dumps_bytes(model.to_json())


def _location(obj: dict, object_id: str | None, repairs: RepairLog, result: NormalizedObject) -> bytes | None:
    evses = obj.pop("evses", None)
    if isinstance(evses, list):
        # Fast path: the location and its EVSEs in one validation, when all is valid.
        fast_warnings: list[str] = []
        try:
            both = _LocationAndEvses.model_validate({"location": obj, "evses": evses},
                                                    context={"warnings": fast_warnings, "not_after": future_limit()})
        except ValidationError:
            both = None
        if both is not None and not fast_warnings:
            counts = result.counts
            counts.locations_stored = 1
            if not _repeated_ids(both.evses):
                counts.evses_stored, counts.connectors_stored = counts.evses_served, counts.connectors_served
                _count_repaired(counts, repairs, range(counts.evses_served), None)
                return _location_json(both)
            dumped = both.model_dump(mode="json", exclude_none=True)
            data = dumped["location"]
            documents = list(enumerate(dumped["evses"]))
            data["evses"], positions = _without_repeated_ids(documents, object_id, result.findings)
            _count_kept(counts, repairs, data["evses"], positions)
            return dumps_bytes(data)
    # The careful way: repair, then each part on its own.
    obj["evses"] = evses
    run(LOCATION_REPAIRS, obj, repairs)
    evses = obj.pop("evses", None)
    model, warnings, errors, dropped = validate_pruned(Location, obj, keep=frozenset({"evses"}))
    documents = []
    for index, evse in enumerate(evses if isinstance(evses, list) else []):
        document = _evse(evse, index, object_id, repairs, result.findings)
        if document is not None:
            documents.append((index, document))
    if evses is not None and not isinstance(evses, list):
        errors.append(("evses", "must be a list of EVSE objects"))
    if model is None:
        result.findings[:0] = [ObjectFinding("location", object_id, name, reason) for name, reason in errors]
        _skip(result)
        return None
    if errors:  # the location stands, without its EVSEs
        result.findings += [ObjectFinding("location", object_id, name, reason) for name, reason in errors]
    _note_all(repairs, warnings, dropped=dropped)
    data = model.to_json()
    data["evses"], positions = _without_repeated_ids(documents, object_id, result.findings)
    result.counts.locations_stored = 1
    _count_kept(result.counts, repairs, data["evses"], positions)
    return dumps_bytes(data)


def _evse(evse: Any, index: int, location_id: str | None, repairs: RepairLog,
          findings: list[ObjectFinding]) -> dict | None:
    path = f"evses[{index}]"
    uid = evse.get("uid") if isinstance(evse, dict) else None
    reference = f"{location_id}/{uid}"
    if not isinstance(evse, dict):
        findings.append(ObjectFinding("evse", reference, path, f"expected a JSON object, got {type(evse).__name__}"))
        return None
    connectors = evse.get("connectors")
    kept, connector_reasons = [], set()
    if isinstance(connectors, list):
        for position, connector in enumerate(connectors):
            connector_path = f"{path}.connectors[{position}]"
            connector_id = connector.get("id") if isinstance(connector, dict) else None
            if not isinstance(connector, dict):
                findings.append(ObjectFinding("connector", f"{reference}/{connector_id}", connector_path,
                                              f"expected a JSON object, got {type(connector).__name__}"))
                continue
            model, warnings, errors, dropped = validate_pruned(Connector, connector, connector_path)
            if model is None:
                findings += [ObjectFinding("connector", f"{reference}/{connector_id}", name, reason)
                             for name, reason in errors]
                continue
            _note_all(repairs, warnings, connector_path, dropped)
            connector_reasons.update(message.partition(": ")[2] for message in warnings)
            document = model.to_json()
            document["_position"] = position
            kept.append(document)
        if connectors and not kept:
            findings.append(ObjectFinding("evse", reference, f"{path}.connectors",
                                          "no valid connector left; the EVSE is skipped (OCPI requires one)"))
            return None
    candidate = dict(evse)
    if isinstance(connectors, list):
        candidate["connectors"] = [{k: v for k, v in c.items() if k != "_position"} for c in kept]
    model, warnings, errors, dropped = validate_pruned(Evse, candidate, path, keep=frozenset({"connectors"}))
    if model is None:
        findings += [ObjectFinding("evse", reference, name, reason) for name, reason in errors]
        return None
    _note_all(repairs, [w for w in warnings if w.partition(": ")[2] not in connector_reasons], path, dropped)
    document = model.to_json()
    for connector, original in zip(document["connectors"], kept):
        connector["_position"] = original["_position"]
    return document


def _without_repeated_ids(documents: list[tuple[int, dict]], location_id: str | None,
                          findings: list[ObjectFinding]) -> tuple[list[dict], list[tuple[int, list[int]]]]:
    """The EVSEs without a repeated uid, each without repeated connector ids, and for each
    kept EVSE its position as served with its kept connectors' positions."""
    kept, positions, seen_uids = [], [], set()
    for index, document in documents:
        reference = f"{location_id}/{document['uid']}"
        if id_key(document["uid"]) in seen_uids:
            findings.append(ObjectFinding("evse", reference, f"evses[{index}].uid",
                                          "the same uid appears twice in this location (ids are case-insensitive);"
                                          " the later EVSE is skipped"))
            continue
        seen_uids.add(id_key(document["uid"]))
        connector_ids, connectors, connector_positions = set(), [], []
        for number, connector in enumerate(document["connectors"]):
            position = connector.pop("_position", number)
            if id_key(connector["id"]) in connector_ids:
                findings.append(ObjectFinding("connector", f"{reference}/{connector['id']}",
                                              f"evses[{index}].connectors[{position}].id",
                                              "the same connector id appears twice in this EVSE (ids are"
                                              " case-insensitive); the later one is skipped"))
                continue
            connector_ids.add(id_key(connector["id"]))
            connectors.append(connector)
            connector_positions.append(position)
        document["connectors"] = connectors
        kept.append(document)
        positions.append((index, connector_positions))
    return kept, positions


def _count_kept(counts: UnitCounts, repairs: RepairLog, evses: list[dict],
                positions: list[tuple[int, list[int]]]) -> None:
    counts.evses_stored = len(evses)
    counts.connectors_stored = sum(len(connectors) for _index, connectors in positions)
    counts.evses_skipped = counts.evses_served - counts.evses_stored
    counts.connectors_skipped = counts.connectors_served - counts.connectors_stored
    _count_repaired(counts, repairs, [index for index, _c in positions], positions)


def _count_repaired(counts: UnitCounts, repairs: RepairLog, evse_positions, positions) -> None:
    if not repairs.notes:
        return
    counts.locations_repaired = 1
    units = repairs.units
    touched_evses = {unit[0] for unit in units if unit}
    counts.evses_repaired = sum(1 for index in evse_positions if index in touched_evses)
    if positions is None:
        counts.connectors_repaired = len({unit for unit in units if len(unit) == 2})
    else:
        counts.connectors_repaired = sum(1 for index, connectors in positions for position in connectors
                                         if (index, position) in units)
