"""Property-based tests of the OCPI parser and normalizer: whatever a CPO sends, the
result is a valid 2.3.0 object or findings that say why — never an exception.

Fails without the protection: removing the ValidationError handling in normalize_object,
or the non-dict guard, makes hypothesis find a crashing input at once (checked)."""
from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvesters.json_limits import nesting_exceeds
from harvesters.normalize import FeedIdentity, normalize_object
from demo_cpo.fleet import generate_fleet
from nap.ocpi.schemas import Location, Tariff

FLEET = generate_fleet(locations=3)
IDENTITY = FeedIdentity("DE", "ABC")
VERSIONS = st.sampled_from(["2.3.0", "2.2.1", "2.2", "2.1.1"])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


def _replace_at(document, path, new_value):
    if not path:
        return new_value
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new_value
    return document


@st.composite
def damaged_objects(draw, kind):
    """A real object with one value anywhere replaced by arbitrary JSON, or a key dropped."""
    original = copy.deepcopy(draw(st.sampled_from(FLEET.locations if kind == "location" else FLEET.tariffs)))
    paths = list(_paths(original))
    path = draw(st.sampled_from(paths))
    if path and draw(st.booleans()):
        parent = original
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict):
            del parent[path[-1]]
            return original
    return _replace_at(original, path, draw(json_values))


def _check(kind, raw, version):
    result = normalize_object(kind, raw, version, IDENTITY)
    if result.ok:
        schema = Location if kind == "location" else Tariff
        schema.model_validate(result.data)  # what we store conforms to 2.3.0
        json.dumps(result.data)  # and serializes
    else:
        assert result.findings and all(f.severity == "error" and f.reason for f in result.findings
                                       if f.severity == "error")
        assert any(f.severity == "error" for f in result.findings)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=damaged_objects("location"), version=VERSIONS)
def test_damaged_locations_give_data_or_findings(raw, version):
    _check("location", raw, version)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=damaged_objects("tariff"), version=VERSIONS)
def test_damaged_tariffs_give_data_or_findings(raw, version):
    _check("tariff", raw, version)


@settings(max_examples=200, deadline=None)
@given(raw=json_values, kind=st.sampled_from(["location", "tariff"]), version=VERSIONS)
def test_arbitrary_json_gives_data_or_findings(raw, kind, version):
    _check(kind, raw, version)


@settings(max_examples=300, deadline=None)
@given(value=json_values, depth=st.integers(min_value=1, max_value=12))
def test_the_nesting_check_agrees_with_the_real_depth(value, depth):
    def real_depth(v):
        if isinstance(v, dict):
            return 1 + max((real_depth(c) for c in v.values()), default=0)
        if isinstance(v, list):
            return 1 + max((real_depth(c) for c in v), default=0)
        return 0

    body = json.dumps(value).encode()
    assert nesting_exceeds(body, depth) == (real_depth(value) > depth)
