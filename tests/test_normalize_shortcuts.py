"""The normalizer's shortcuts give the answers of the full computation they spare.

- normalize_datetime returns canonical text as it is, after checking it is a real date;
  the answer must be what parsing and formatting gives. (Mutation checked: dropping the
  `.000Z` exclusion or the fromisoformat check makes hypothesis find a counterexample.)
- The camelCase pre-scan of snake_case_keys may let too much through, never too little:
  any key the exact rule (`_CAMEL`) would rename is seen by it.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from harvesters.normalize.repairs import _CAMEL, _CAMEL_KEY_REVERSED
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
