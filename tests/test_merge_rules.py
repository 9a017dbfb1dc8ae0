"""The merge rules on their own (nap/merge/rules.py, nap/merge/matching.py): each rule
decides what docs/merge-rules.md says it does, and names itself."""
from __future__ import annotations

import copy

from demo_cpo.fleet import make_location
from nap.merge.matching import Place, best_match
from nap.merge.rules import RULES, Source, merge


def _sources(changes_cpo=None, changes_hub=None, hub_kind="hub"):
    cpo_doc, hub_doc = make_location(4), make_location(4)
    (changes_cpo or (lambda d: None))(cpo_doc)
    (changes_hub or (lambda d: None))(hub_doc)
    return (Source(1, "own", "cpo", 0, cpo_doc),
            Source(2, "relay", hub_kind, 1 if hub_kind == "hub" else 2, hub_doc))


def _decided(merged, field, evse=None):
    return next((d.source.feed_name, d.rule.name) for d in merged.decisions if d.field == field and d.evse == evse)


def test_static_fields_follow_authority_and_a_lacking_source_erases_nothing():
    def cpo(doc):
        doc["name"] = "Own name"
        doc["facilities"] = []  # says nothing
        doc.pop("parking_type", None)

    def hub(doc):
        doc["name"] = "Relayed name"
        doc["facilities"] = ["CAFE"]
        doc["parking_type"] = "ON_STREET"
    own, relay = _sources(cpo, hub)
    merged = merge([relay, own])  # the order sources come in does not matter
    assert merged.document["name"] == "Own name" and _decided(merged, "name") == ("own", "static-authority")
    assert merged.document["facilities"] == ["CAFE"] and _decided(merged, "facilities") == ("relay", "fill-missing")
    assert merged.document["parking_type"] == "ON_STREET"
    assert [c.field for c in merged.conflicts] == ["name"]
    assert list(merged.document)[:3] == ["country_code", "party_id", "id"]


def test_the_freshest_status_wins_unless_within_the_skew_of_a_more_authoritative_one():
    def at(seconds):
        def change(doc):
            evse = doc["evses"][0]
            evse["status"] = "OUTOFORDER" if seconds else "AVAILABLE"
            evse["last_updated"] = f"2026-12-01T12:{seconds // 60:02d}:{seconds % 60:02d}Z"
        return change
    own, relay = _sources(at(0), at(61))
    merged = merge([own, relay])
    uid = merged.document["evses"][0]["uid"]
    assert merged.document["evses"][0]["status"] == "OUTOFORDER"
    assert _decided(merged, "status", uid) == ("relay", "status-freshest")
    assert merged.document["evses"][0]["last_updated"] == "2026-12-01T12:01:01Z"
    own, relay = _sources(at(0), at(59))  # a minute is what clocks disagree by
    assert merge([own, relay]).document["evses"][0]["status"] == "AVAILABLE"


def test_evses_meet_by_evse_id_whatever_their_uids_and_unnamed_extras_are_left_out():
    def hub(doc):
        for evse in doc["evses"]:
            evse["uid"] = "relay-" + evse["uid"]
            evse["evse_id"] = evse["evse_id"].replace("*", "").lower()
        extra = copy.deepcopy(doc["evses"][0])
        extra.update(uid="relay-extra", evse_id=None)
        doc["evses"].append(extra)
    own, relay = _sources(changes_hub=hub)
    merged = merge([own, relay])
    assert [e["uid"] for e in merged.document["evses"]] == [e["uid"] for e in own.document["evses"]]
    assert [(source.feed_name, uid) for source, uid in merged.left_out] == [("relay", "relay-extra")]
    # An EVSE only the relay lists, with an EVSE id, is published as it lists it.
    def hub_with_one_more(doc):
        hub(doc)
        doc["evses"][-1]["evse_id"] = "DE*ABC*E999999*1"
    own, relay = _sources(changes_hub=hub_with_one_more)
    merged = merge([own, relay])
    assert merged.document["evses"][-1]["evse_id"] == "DE*ABC*E999999*1"
    assert _decided(merged, "evse_id", "relay-extra") == ("relay", "only-source")


def test_one_source_alone_is_published_as_it_is():
    own, _ = _sources()
    merged = merge([own])
    assert merged.document == own.document and merged.conflicts == []
    assert {d.rule.name for d in merged.decisions} == {"identity", "only-source"}
    assert len({rule.name for rule in RULES}) == len(RULES)


def test_a_place_matches_by_distance_and_address_or_evse_count():
    here = Place(52.5, 13.4, "hauptstr1", "10115", 4)
    near_same_address = Place(52.5003, 13.4, "hauptstr1", "10115", 2)  # 33 m
    near_same_count = Place(52.5, 13.4004, "markt5", "10115", 4)  # 27 m
    near_neither = Place(52.5001, 13.4, "markt5", "10115", 2)
    far = Place(52.51, 13.4, "hauptstr1", "10115", 4)  # 1.1 km
    assert best_match(here, [(1, near_neither), (2, far)]) is None
    assert best_match(here, [(1, near_same_address), (2, far)])[0] == 1
    key, reason = best_match(here, [(1, near_same_count)])
    assert key == 1 and reason == "27 m apart, 4 EVSEs each"
    assert Place.of({"coordinates": {"latitude": "52.5", "longitude": "13.4"}, "address": "Hauptstraße 1",
                     "postal_code": "10115"}).address == Place.of(
        {"coordinates": {"latitude": "52.5", "longitude": "13.4"}, "address": "HAUPTSTR. 1"}).address


def test_every_rule_is_documented_as_the_code_says_it():
    from pathlib import Path

    documentation = (Path(__file__).resolve().parent.parent / "docs" / "merge-rules.md").read_text()
    for rule in RULES:
        assert f"| `{rule.name}` | {rule.says} |" in documentation, f"{rule.name} is not in docs/merge-rules.md"
