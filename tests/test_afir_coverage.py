"""Issue 23's done-criterion: every one of the 37 AFIR Annex items is in NAP's DATEX II output
exactly where docs/afir-coverage.md says, and nowhere where it says it is not. The table is
nap/afir_annex.py; the document is generated from it, the output is read over real HTTP
after a real harvest of the demo CPO."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from lxml import etree

from exporters.datex2.namespaces import AEGI, AFAC, COM, D2, LOC, LOCX
from nap.afir_annex import ANNEX, ANCHORS, NOT_PUBLISHABLE, PUBLISHED, SUPPLEMENT, markdown, xpath
from tests.harvest_helpers import register_and_harvest
from tests.xsd import validate

REPO = Path(__file__).resolve().parent.parent
BASE = "/datex2/v3.7/energy-infrastructure"
NS = {"d2": D2, "com": COM, "loc": LOC, "locx": LOCX, "afac": AFAC, "aegi": AEGI}


def test_the_annex_has_its_37_items_once_each():
    codes = [item.code for item in ANNEX]
    assert len(codes) == len(set(codes)) == 37
    assert [c for c in codes if c[0] == "A"] == [f"A{n}" for n in range(1, 25)]
    assert [c for c in codes if c[0] == "B"] == [f"B{n}" for n in range(1, 11)]
    assert [c for c in codes if c[0] == "F"] == ["F1", "F2", "F3"]
    for item in ANNEX:
        assert item.datex2.split("/", 1)[0] in ANCHORS, item.code
        assert item.state in (PUBLISHED, SUPPLEMENT, NOT_PUBLISHABLE), item.code
        if item.state != PUBLISHED:
            assert item.note, f"{item.code} says why it is not published from OCPI"
        if item.state == SUPPLEMENT:
            assert item.supplement and item.supplement_datex2, item.code


def test_the_committed_document_is_the_generated_one():
    assert (REPO / "docs" / "afir-coverage.md").read_text(encoding="utf-8") == markdown(), (
        "docs/afir-coverage.md differs from nap/afir_annex.py: run "
        "`.venv/bin/python -m nap.afir_annex > docs/afir-coverage.md`")


@pytest.fixture
def afir_output(demo_cpo, nap_server, sessions, settings) -> dict[str, etree._ElementTree]:
    cpo = demo_cpo(locations=40)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    documents = {}
    for kind in ("table", "status"):
        response = httpx.get(f"{nap_server.url}{BASE}/{kind}", params={"profile": "afir"}, timeout=60)
        assert response.status_code == 200 and validate(response.content) == []
        documents[kind] = etree.ElementTree(etree.fromstring(response.content))
    return documents


def test_each_annex_item_is_where_the_coverage_table_says(afir_output):
    missing, unexpected = [], []
    for item in ANNEX:
        found = afir_output[item.publication].xpath(xpath(item.datex2), namespaces=NS)
        if item.state == PUBLISHED and not found:
            missing.append(item.code)
        elif item.state != PUBLISHED and found:
            unexpected.append(f"{item.code} at {item.datex2}")
        if item.supplement_datex2:
            # A plain OCPI fleet has no supplement: nothing of it reaches the output.
            if afir_output["table"].xpath(xpath(item.supplement_datex2), namespaces=NS):
                unexpected.append(f"{item.code} (supplement) at {item.supplement_datex2}")
    assert missing == [], f"published items missing from the demo output: {missing}"
    assert unexpected == [], f"items the coverage table says are not published: {unexpected}"


def test_a_supplement_puts_every_item_it_gives_where_the_coverage_table_says(demo_cpo, nap_server, sessions,
                                                                             settings):
    from nap.feeds import get_feed
    from nap.supplements import set_supplement

    cpo = demo_cpo(locations=4)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    with sessions.begin() as session:  # what an operator imports for the party (nap supplements import)
        set_supplement(session, get_feed(session, "demo"), "DE", "ABC", SUPPLEMENT_VALUES, user=None)
    response = httpx.get(f"{nap_server.url}{BASE}/table", params={"profile": "afir"}, timeout=60)
    assert response.status_code == 200 and validate(response.content) == []
    table = etree.ElementTree(etree.fromstring(response.content))
    absent = [f"{item.code} at {item.supplement_datex2}" for item in ANNEX if item.supplement_datex2
              and not table.xpath(xpath(item.supplement_datex2), namespaces=NS)]
    assert absent == [], f"supplement items missing from the table: {absent}"


# A value for every field of the supplement (docs/supplement.md).
SUPPLEMENT_VALUES = {
    "legal_name": "ABC Ladenetz GmbH", "brand_name": "ABC Laden", "service_type": "unattended", "toilets": True,
    "rest_area": True, "nuts1": "DE3", "payment_means": ["emv", "nfc"], "other_payment_means": ["Pay by SMS"],
    "payment_brands": ["visa"], "other_payment_brands": ["ABC Pay"],
    "grid_power_kw": 300,
}
