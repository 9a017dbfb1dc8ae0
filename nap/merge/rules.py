"""The merge of several sources' copies of one location into the one NAP publishes, by an
ordered list of rules, each of which names itself in every value it decides.

Pure computation on normalized OCPI 2.3.0 documents: the store (nap/store/sources.py)
keeps the candidates and writes the result; the provenance endpoint runs the same merge to
say which source gave which field. docs/merge-rules.md is the same list for people.

A source's `authority` is a number, lower is stronger: the party's own feed, then a hub,
then an aggregator (nap.store.states.AUTHORITY_ORDER gives the numbers).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

from nap.ocpi.ids import id_key, normalized_evse_id
from nap.ocpi.values import parse_datetime


@dataclass(frozen=True)
class Rule:
    name: str
    says: str


IDENTITY = Rule("identity", "The location keeps the country_code, party_id and id it was first published under, "
                            "and an EVSE the uid of its most authoritative source: consumers' references stay valid "
                            "whichever sources come and go.")
STATUS_FRESHEST = Rule("status-freshest", "An EVSE's status comes from the source that reported it last (the EVSE's "
                                          "last_updated). Within 60 seconds of that report, the more authoritative "
                                          "source's status stands: clocks of different back ends disagree by that "
                                          "much.")
STATIC_AUTHORITY = Rule("static-authority", "A static field comes from the most authoritative source: the party's "
                                            "own feed, then a hub it authorised, then an aggregator; between sources "
                                            "of one kind, the one updated last.")
FILL_MISSING = Rule("fill-missing", "A source that lacks a field does not erase it: the field comes from the next "
                                    "source, in the order of static-authority, that has it. An absent field, null, "
                                    "an empty text and an empty list all count as lacking.")
ONLY_SOURCE = Rule("only-source", "A location or an EVSE that only one source describes is published as that "
                                  "source describes it.")
UNNAMED_EXTRA = Rule("unnamed-extra", "An EVSE that only a less authoritative source lists, with no EVSE id and a "
                                      "uid no other source uses, is left out: it cannot be told apart from the "
                                      "chargers the more authoritative source lists under its own names.")
LATEST_UPDATE = Rule("latest-update", "last_updated is the latest of the sources' own, so that a change any source "
                                      "makes reaches consumers who ask for what changed since.")

#: In the order they apply; docs/merge-rules.md lists them so.
RULES = (IDENTITY, STATUS_FRESHEST, STATIC_AUTHORITY, FILL_MISSING, ONLY_SOURCE, UNNAMED_EXTRA, LATEST_UPDATE)

#: How much later another source's status report must be to win over a more authoritative one.
STATUS_SKEW = timedelta(seconds=60)

_IDENTITY_FIELDS = ("country_code", "party_id", "id")
_DYNAMIC_EVSE_FIELDS = ("status",)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Source:
    """One source's copy of the location: `document` with its EVSEs."""

    feed_id: int
    feed_name: str
    kind: str  # "cpo", "hub" or "aggregator"
    authority: int
    document: dict
    match: str = "key"
    confirmed: bool = True

    @property
    def updated(self) -> datetime:
        return _time(self.document.get("last_updated"))


@dataclass(frozen=True)
class Decision:
    """Who gave one published value, and by which rule. `evse` is the published EVSE's uid
    for its fields, None for the location's."""

    field: str
    source: Source
    rule: Rule
    evse: str | None = None


@dataclass(frozen=True)
class Conflict:
    """A source whose value differs from the published one."""

    field: str
    evse_uid: str | None
    evse_id: str | None
    published: Any
    published_by: Source
    other: Any
    other_source: Source
    rule: Rule

    def as_dict(self) -> dict:
        return {"field": self.field, "evse_uid": self.evse_uid, "evse_id": self.evse_id,
                "published": self.published, "published_by": self.published_by.feed_id,
                "published_by_name": self.published_by.feed_name, "published_by_kind": self.published_by.kind,
                "other": self.other, "other_source": self.other_source.feed_id,
                "other_source_name": self.other_source.feed_name, "other_source_kind": self.other_source.kind,
                "rule": self.rule.name}

    def sentence(self, reader_feed_id: int) -> str:
        return conflict_sentence(self.as_dict(), reader_feed_id)


_KIND_WORDS = {"cpo": "CPO feed", "hub": "hub", "aggregator": "aggregator"}


def conflict_sentence(conflict: dict, reader_feed_id: int) -> str:
    """What a CPO reads in its quality report, from a stored Conflict.as_dict(): "EVSE
    DE*ABC*E1, status: the hub X says OUTOFORDER, your feed says AVAILABLE; published: ..."."""
    evse = conflict.get("evse_id") or conflict.get("evse_uid")
    where = f"EVSE {evse}" if evse else "the location"

    def says(prefix: str) -> tuple[str, str]:
        kind = _KIND_WORDS.get(conflict[prefix + "_kind"], conflict[prefix + "_kind"])
        who = "your feed" if conflict[prefix] == reader_feed_id else f"the {kind} {conflict[prefix + '_name']}"
        return who, _short(conflict["published" if prefix == "published_by" else "other"])
    sides = [says("other_source"), says("published_by")]
    if conflict["other_source"] == reader_feed_id:
        sides.reverse()  # the other source first: what the reader did not know
    text = ", ".join(f"{who} says {value}" for who, value in sides)
    return (f"{where}, {conflict['field'].split('.')[-1]}: {text}; published: {_short(conflict['published'])}"
            f" ({conflict['rule']})")


@dataclass
class Merged:
    document: dict
    decisions: list[Decision] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    # EVSEs of less authoritative sources left out by unnamed-extra: (source, uid).
    left_out: list[tuple[Source, str]] = field(default_factory=list)
    # The most authoritative source, whose feed the published row is (static-authority's order).
    head: Source | None = None
    # Whether to record every decision (the provenance API); the store needs only the
    # document and the conflicts, and a hub's harvest merges tens of thousands.
    explain: bool = True

    def decide(self, name: str, source: Source, rule: Rule, evse: str | None = None) -> None:
        if self.explain:
            self.decisions.append(Decision(name, source, rule, evse))

    def conflicts_of(self, feed_id: int) -> list[Conflict]:
        return [c for c in self.conflicts if feed_id in (c.published_by.feed_id, c.other_source.feed_id)]


def _time(value: Any) -> datetime:
    return _parsed_time(value) if isinstance(value, str) else _EPOCH


@lru_cache(maxsize=4096)
def _parsed_time(text: str) -> datetime:
    # The sources of one location share most of their stamps: each is parsed once.
    try:
        return parse_datetime(text)
    except (TypeError, ValueError):
        return _EPOCH


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def lacks(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _comparable(value: Any) -> Any:
    """Two values that say the same: timestamps of nested objects aside, coordinates to
    about a metre (their text may differ in trailing digits)."""
    if isinstance(value, dict):
        if set(value) >= {"latitude", "longitude"}:
            try:
                value = {**value, "latitude": round(float(value["latitude"]), 5),
                         "longitude": round(float(value["longitude"]), 5)}
            except (TypeError, ValueError):
                pass
        return {k: _comparable(v) for k, v in value.items() if k != "last_updated"}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value


def _ordered(sources: Iterable[Source]) -> list[Source]:
    """Most authoritative first; among equals, the one updated last; then by feed for a
    stable order."""
    return sorted(sources, key=lambda s: (s.authority, -s.updated.timestamp(), s.feed_id))


def _decide_static(name: str, offers: list[tuple[Source, Any]], evse: str | None, evse_id: str | None,
                   merged: Merged, out: dict) -> None:
    """`offers` in the order of static-authority."""
    for index, (source, value) in enumerate(offers):
        if not lacks(value):
            break
    else:  # every source lacks it: keep the shape the sources give it
        out[name] = next((value for _, value in offers if value is not None), None)
        return
    rule = STATIC_AUTHORITY if index == 0 else FILL_MISSING
    out[name] = value
    if merged.explain:
        merged.decide(name, source, rule, evse)
    published = None
    for other, other_value in offers:
        if other is source or other_value == value or lacks(other_value):
            continue
        if published is None:
            published = _comparable(value)
        if _comparable(other_value) != published:
            merged.conflicts.append(Conflict(name if evse is None else f"evses.{name}", evse, evse_id, value, source,
                                             other_value, other, rule))


def _field_names(documents: Iterable[dict], skip: Iterable[str]) -> list[str]:
    names = dict.fromkeys(name for document in documents for name in document)
    for name in skip:
        names.pop(name, None)
    return list(names)


def _evse_groups(sources: list[Source]) -> list[list[tuple[Source, dict]]]:
    """The sources' EVSEs grouped by charger: the same normalized eMI3 EVSE id, or else
    the same uid. In the order of the most authoritative source's list, then the others'."""
    groups: list[list[tuple[Source, dict]]] = []
    by_evse_id: dict[str, int] = {}
    by_uid: dict[str, int] = {}
    for source in sources:
        for evse in source.document.get("evses") or []:
            evse_id = evse.get("evse_id")
            evse_key = normalized_evse_id(evse_id) if isinstance(evse_id, str) and evse_id else None
            uid_key = id_key(evse["uid"]) if isinstance(evse.get("uid"), str) else None
            index = by_evse_id.get(evse_key) if evse_key else None
            if index is None and uid_key is not None:
                index = by_uid.get(uid_key)
                # Two different EVSE ids under one uid are two chargers.
                if index is not None and evse_key and any(
                        e.get("evse_id") and normalized_evse_id(e["evse_id"]) != evse_key for _, e in groups[index]):
                    index = None
            if index is None or any(s is source for s, _ in groups[index]):
                index = len(groups)
                groups.append([])
            groups[index].append((source, evse))
            if evse_key:
                by_evse_id.setdefault(evse_key, index)
            if uid_key:
                by_uid.setdefault(uid_key, index)
    return groups


def _merge_evse(group: list[tuple[Source, dict]], merged: Merged) -> dict:
    ordered = [(s, e) for s in _ordered(s for s, _ in group) for s2, e in group if s2 is s]
    head_source, head = ordered[0]
    if not merged.explain and all(evse == head for _, evse in ordered[1:]):
        return dict(head)  # copies that agree throughout: nothing to weigh
    uid = head["uid"]
    evse_id = next((e.get("evse_id") for _, e in ordered if e.get("evse_id")), None)
    out: dict = {"uid": uid}
    merged.decide("uid", head_source, IDENTITY if len(ordered) > 1 else ONLY_SOURCE, uid)
    if len(ordered) == 1:
        for name, value in head.items():
            out[name] = value
            if name != "uid":
                merged.decide(name, head_source, ONLY_SOURCE, uid)
        return out
    for name in _field_names((e for _, e in ordered), skip=("uid", "last_updated", *_DYNAMIC_EVSE_FIELDS)):
        _decide_static(name, [(s, e.get(name)) for s, e in ordered], uid, evse_id, merged, out)
    _decide_status(ordered, uid, evse_id, merged, out)
    latest = max(ordered, key=lambda pair: _time(pair[1].get("last_updated")))
    out["last_updated"] = latest[1].get("last_updated")
    merged.decide("last_updated", latest[0], LATEST_UPDATE, uid)
    return {name: out[name] for name in _field_names([head, out], skip=()) if name in out}


def _decide_status(ordered: list[tuple[Source, dict]], uid: str, evse_id: str | None, merged: Merged,
                   out: dict) -> None:
    reports = [(s, e) for s, e in ordered if not lacks(e.get("status"))]
    if not reports:
        return
    freshest = max(reports, key=lambda pair: _time(pair[1].get("last_updated")))
    fresh_time = _time(freshest[1].get("last_updated"))
    # The most authoritative report within the skew of the freshest stands.
    source, evse = next(pair for pair in reports if _time(pair[1].get("last_updated")) >= fresh_time - STATUS_SKEW)
    out["status"] = evse["status"]
    merged.decide("status", source, STATUS_FRESHEST, uid)
    for other, other_evse in reports:
        if other is not source and other_evse["status"] != evse["status"]:
            merged.conflicts.append(Conflict("evses.status", uid, evse_id, evse["status"], source,
                                             other_evse["status"], other, STATUS_FRESHEST))


def merge(sources: Sequence[Source], identity: dict | None = None, explain: bool = True) -> Merged:
    """The published document from the sources' copies. `identity`: the country_code,
    party_id and id the location is published under (default: the most authoritative
    source's). `explain`: record each decision (Merged.decisions), else only the document
    and the conflicts."""
    if not sources:
        raise ValueError("nothing to merge")
    ordered = _ordered(sources)
    head = ordered[0]
    merged = Merged({}, explain=explain, head=head)
    if not explain and all(source.document == head.document for source in ordered[1:]):
        # Copies that agree throughout (a hub relaying the CPO's own, say): nothing to weigh.
        merged.document = {**head.document, **{name: (identity or head.document)[name] for name in _IDENTITY_FIELDS}}
        return merged
    document: dict = {}
    for name in _IDENTITY_FIELDS:
        document[name] = (identity or head.document)[name]
        merged.decide(name, head, IDENTITY)
    for name in _field_names((s.document for s in ordered), skip=(*_IDENTITY_FIELDS, "evses", "last_updated")):
        _decide_static(name, [(s, s.document.get(name)) for s in ordered], None, None, merged, document)
    document["evses"] = []
    for group in _evse_groups(ordered):
        if len(group) == 1 and group[0][0].authority > head.authority and not group[0][1].get("evse_id"):
            merged.left_out.append((group[0][0], group[0][1].get("uid")))
            continue
        document["evses"].append(_merge_evse(group, merged))
    latest = max(ordered, key=lambda s: s.updated)
    document["last_updated"] = latest.document.get("last_updated")
    merged.decide("last_updated", latest, LATEST_UPDATE)
    # The most authoritative source's field order, for documents that read as the CPO's.
    merged.document = {name: document[name] for name in _field_names([head.document, document], skip=())
                       if name in document}
    if len(ordered) == 1:  # nothing was weighed: every value is the one source's
        merged.decisions = [d if d.rule is IDENTITY else Decision(d.field, d.source, ONLY_SOURCE, d.evse)
                            for d in merged.decisions]
    return merged
