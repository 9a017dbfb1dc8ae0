"""Tariff XML written once per publication and spliced into every charging point that uses
it (exporters/datex2/scoped_xml.py, memo.py): the output must be exactly what building each
charging point's products in full gives, ids and escaping included."""
from __future__ import annotations

import copy

import pytest
from lxml import etree

from exporters.datex2 import scoped_xml, table
from exporters.datex2.memo import BoundedMemo
from exporters.datex2.table import write_table
from tests.test_datex2 import NS, PROFILES, assert_valid, render, synthetic_fleet, synthetic_tariffs, texts


def _lookup(tariffs):
    return lambda country, party, tariff_id: tariffs.get((country, party, tariff_id))


def _unspliced(monkeypatch):
    """Every template declines: each charging point builds its products in full, the way
    the writer did before templates (the reference the spliced output must equal)."""
    monkeypatch.setattr(scoped_xml.ScopedXml, "render", lambda self, scope: None)


def _awkward_fleet() -> list[dict]:
    """Ids that need escaping in attributes, so a scope spliced into bytes must be escaped."""
    fleet = synthetic_fleet(12)
    for n, location in enumerate(fleet):
        location["id"] = f'LOC&"<{n}>'
        for evse in location["evses"]:
            evse["uid"] = evse["uid"] + "&'"
    return fleet


@pytest.mark.parametrize("profile", PROFILES)
def test_spliced_tariffs_equal_tariffs_built_per_charging_point(profile, monkeypatch):
    fleet = _awkward_fleet()
    count, spliced = render(write_table, copy.deepcopy(fleet), profile, tariffs_by_key=_lookup(synthetic_tariffs()))
    root = assert_valid(spliced)
    rate_ids = texts(root, "//@id[contains(., '#tariff:')]")
    assert len(rate_ids) > count  # many charging points, several tariffs each: templates were reused
    assert any('LOC&"<3>' in rate_id for rate_id in rate_ids)
    with monkeypatch.context() as patched:
        _unspliced(patched)
        _, built = render(write_table, copy.deepcopy(fleet), profile, tariffs_by_key=_lookup(synthetic_tariffs()))
    assert spliced == built


@pytest.mark.parametrize("profile", PROFILES)
def test_cpo_text_holding_the_placeholder_is_written_as_sent(profile, monkeypatch):
    tariffs = synthetic_tariffs()
    sneaky = f"see {scoped_xml.PLACEHOLDER} for details"
    for tariff in tariffs.values():
        tariff["tariff_alt_url"] = f"https://cpo.example/{scoped_xml.PLACEHOLDER}"
        tariff["tariff_alt_text"] = [{"language": "en", "text": sneaky}]
    fleet = synthetic_fleet(6)
    _, document = render(write_table, copy.deepcopy(fleet), profile, tariffs_by_key=_lookup(tariffs))
    root = assert_valid(document)
    # The placeholder stayed text; no id got the placeholder or lost its charging point.
    assert scoped_xml.PLACEHOLDER.encode() in document
    for rate_id in texts(root, "//@id[contains(., '#tariff:')]"):
        assert scoped_xml.PLACEHOLDER not in rate_id and rate_id.startswith("DE*NAP*LOC-")
    with monkeypatch.context() as patched:
        _unspliced(patched)
        _, built = render(write_table, copy.deepcopy(fleet), profile, tariffs_by_key=_lookup(tariffs))
    assert document == built


def test_a_site_that_fails_half_way_leaves_no_tariff_xml_behind(monkeypatch):
    fleet = synthetic_fleet(8)
    build_site = table.build_site

    def failing_build(published, profile, **options):
        site = build_site(published, profile, **options)  # its tariffs are waiting to be spliced
        if published.location["id"] == "LOC-003":
            raise RuntimeError("broken after its charging points were built")
        return site

    monkeypatch.setattr(table, "build_site", failing_build)
    count, document = render(write_table, copy.deepcopy(fleet), "generic",
                             tariffs_by_key=_lookup(synthetic_tariffs()))
    monkeypatch.setattr(table, "build_site", build_site)
    without = [location for location in copy.deepcopy(fleet) if location["id"] != "LOC-003"]
    expected_count, expected = render(write_table, without, "generic", tariffs_by_key=_lookup(synthetic_tariffs()))
    assert (count, document) == (expected_count, expected)
    assert_valid(document)


def test_bounded_memo_forgets_the_oldest_beyond_its_capacity():
    memo = BoundedMemo(capacity=2)
    made = []
    for key in ("a", "b", "a", "c", "a"):
        memo.get(key, lambda key=key: made.append(key) or key.upper())
    assert made == ["a", "b", "c", "a"]  # "a" was made again after "c" pushed it out
    assert len(memo) == 2


def test_attribute_bytes_escape_like_lxml():
    for value in ('plain', 'a&b', '"quoted"', "<tag>", "tab\there", "Straße", "new\nline\r", "it's", "&amp;",
                  "\u00e9\u4e2d\U0001F50C"):
        element = etree.Element("x", id=value)
        assert etree.tostring(element, encoding="UTF-8") == b'<x id="' + scoped_xml.attribute_bytes(value) + b'"/>'
