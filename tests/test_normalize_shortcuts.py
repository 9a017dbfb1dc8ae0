"""The normalizer's shortcuts give the answers of the full computation they spare.

- normalize_datetime returns canonical text as it is, after checking it is a real date;
  the answer must be what parsing and formatting gives. (Mutation checked: dropping the
  `.000Z` exclusion or the fromisoformat check makes hypothesis find a counterexample.)
- The camelCase pre-scan of snake_case_keys may let too much through, never too little:
  any key the exact rule (`_CAMEL`) would rename is seen by it.
"""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harvesters.normalize.repairs.keys import _CAMEL, _CAMEL_KEY_REVERSED
from nap.ocpi.values import format_datetime, normalize_datetime, parse_datetime

_DIGITS = st.text("0123456789", min_size=1, max_size=4)
_TEXTS = st.builds(
    lambda y, mo, d, h, mi, s, ms, z: f"{y}-{mo}-{d}T{h}:{mi}:{s}{ms}{z}",
    st.sampled_from(["2024", "1999", "0999", "9999", "202", "20240"]),
    st.sampled_from(["01", "02", "12", "13", "00", "1"]), st.sampled_from(["01", "28", "29", "30", "31", "32"]),
    st.sampled_from(["00", "23", "24"]), st.sampled_from(["00", "59", "60"]), st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["", ".000", ".001", ".5", ".120", ".123456", ".0000"]), st.sampled_from(["Z", "z", "", "+01:00"]),
)


def _slow(value: str) -> str | None:
    try:
        return format_datetime(parse_datetime(value))
    except ValueError:
        return None


def _fast(value: str) -> str | None:
    try:
        return normalize_datetime(value)
    except ValueError:
        return None


@given(_TEXTS)
@example("2024-01-01T00:00:00.000Z")
@example("2024-02-30T10:00:00Z")
@example("0999-01-01T00:00:00Z")
def test_datetime_text_normalizes_as_parsing_and_formatting_does(value):
    assert _fast(value) == _slow(value)


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31),
                    timezones=st.just(timezone.utc)))
def test_every_canonical_datetime_comes_back_unchanged(moment):
    moment = moment - timedelta(microseconds=moment.microsecond % 1000)
    text = format_datetime(moment)
    assert normalize_datetime(text) == text


_KEYS = st.text("abcXYZ019_", min_size=1, max_size=12)


_OBJECTS = st.recursive(
    st.integers(-1000, 1000) | st.text("aB:\" ", max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_KEYS, children, min_size=1, max_size=4),
    max_leaves=12,
)


def _keys(value):
    if isinstance(value, dict):
        for key, child in value.items():
            yield key
            yield from _keys(child)
    elif isinstance(value, list):
        for child in value:
            yield from _keys(child)


@given(st.dictionaries(_KEYS, _OBJECTS, min_size=1, max_size=5))
def test_the_camel_case_prescan_sees_every_key_the_exact_rule_renames(obj):
    text = orjson.dumps(obj)
    if any(_CAMEL.search(key) for key in _keys(obj)):
        assert _CAMEL_KEY_REVERSED.search(text[::-1])


def _objects_to_normalize():
    import json

    from demo_cpo.fleet import generate_fleet
    from tests.conftest import OCPI_SPEC, REAL_FEEDS

    for kind in ("location", "tariff"):
        spec = sorted(OCPI_SPEC.glob(f"ocpi-*/examples/{kind}*.json"))
        real = sorted(REAL_FEEDS.glob("*.json")) if kind == "location" else []
        for path in spec + real:
            document = json.loads(path.read_bytes())
            data = document["data"] if isinstance(document, dict) and "data" in document else document
            for obj in data if isinstance(data, list) else [data]:
                yield kind, obj
    fleet = generate_fleet(locations=40, seed=5)
    yield from (("location", location) for location in fleet.locations)
    # Repeated ids, which the findings report and the document leaves out.
    twice = json.loads(json.dumps(fleet.locations[0]))
    twice["evses"].append(twice["evses"][0])
    yield "location", twice
    connector_twice = json.loads(json.dumps(fleet.locations[1]))
    connector_twice["evses"][0]["connectors"].append(connector_twice["evses"][0]["connectors"][0])
    yield "location", connector_twice
    yield from (("tariff", tariff) for tariff in fleet.tariffs)


def test_a_location_serialized_by_the_schemas_is_the_document_the_values_give():
    """A valid location is serialized straight from the schemas (_location_json), never
    built as Python values; parsed back, it must be the very document the values give (values
    and key order, "evses" last), for every spec example, real feed and demo object, in every
    version; and no uid or connector id repeats in what is stored. (Mutation checked: putting
    "evses" first in _location_json, or skipping the repeated-id check, fails it.)"""
    import json

    from harvesters.normalize import FeedIdentity as Identity, normalize_object
    from harvesters.normalize import _LocationAndEvses, _location_json
    from nap.ocpi.ids import id_key
    from nap.ocpi.values import future_limit

    compared = 0
    for kind, obj in _objects_to_normalize():
        if kind != "location":
            continue
        for version in ("2.3.0", "2.2.1", "2.1.1"):
            result = normalize_object(kind, json.loads(json.dumps(obj)), version, Identity("DE", "ABC"))
            if not result.ok:
                continue
            document = result.data
            uids = [id_key(evse["uid"]) for evse in document["evses"]]
            assert len(uids) == len(set(uids))
            for evse in document["evses"]:
                ids = [id_key(connector["id"]) for connector in evse["connectors"]]
                assert len(ids) == len(set(ids))
            try:
                both = _LocationAndEvses.model_validate(
                    {"location": {k: v for k, v in document.items() if k != "evses"}, "evses": document["evses"]},
                    context={"warnings": [], "not_after": future_limit()})
            except Exception:  # noqa: BLE001 - a repaired document may need the careful way
                continue
            dumped = both.model_dump(mode="json", exclude_none=True)
            by_values = {**dumped["location"], "evses": dumped["evses"]}
            assert orjson.dumps(orjson.loads(_location_json(both))) == orjson.dumps(by_values)
            assert orjson.dumps(document) == orjson.dumps(by_values)
            compared += 1
    assert compared > 100


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_evse_uid_names_nothing_and_is_taken_from_the_evse_id(blank):
    """An id without a visible character would be stored and then left out of every DATEX II
    publication, which cannot name it (found by tests/test_quirks.py)."""
    from demo_cpo.fleet import generate_fleet
    from harvesters.normalize import FeedIdentity, normalize_object

    location = copy.deepcopy(generate_fleet(1).locations[0])
    location["evses"][0]["uid"] = blank
    result = normalize_object("location", location, "2.3.0", FeedIdentity("DE", "ABC"))
    assert result.ok
    assert result.data["evses"][0]["uid"] == location["evses"][0]["evse_id"]
    assert any(finding.field == "evses[0].uid" for finding in result.findings)
