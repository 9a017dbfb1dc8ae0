"""Issue #23 (build item 3) in headless Chromium, on SQLite and PostgreSQL: a CPO opens the
AFIR supplement of its verified party from the feed page, fills it in, sees the version it
made, and the next AFIR table carries the values (XSD-valid); the OCPI publication does not.
Pages are photographed to tests/artifacts/portal-supplement-<database>-<page>.png."""
from __future__ import annotations

import re

import httpx
from lxml import etree
from playwright.sync_api import expect

from nap.feeds import add_feed
from nap.store.tables import FeedOwner
from tests.portal_fixtures import add_user, worker_tick
from tests.test_portal_browser import Pages, browser  # noqa: F401 (browser: a fixture)
from tests.test_portal_browser_claims import sign_in
from tests.xsd import validate

TABLE = "/datex2/v3.7/energy-infrastructure/table"
# Annex items only the supplement gives (docs/afir-coverage.md).
SUPPLEMENT_ONLY = ("A4", "A10", "A22", "A23", "B5")


def _afir_values(content: bytes, site_id: str) -> dict[str, list[str]]:
    [site] = etree.fromstring(content).xpath(f"//*[local-name()='energyInfrastructureSite'][@id='{site_id}']")

    def texts(path: str) -> list[str]:
        steps = "/".join(f"*[local-name()='{step}']" for step in path.split("/"))
        return [t.strip() for t in site.xpath(f"{steps}//text()") if t.strip()]
    return {path: texts(path) for path in (
        "operator/legalName", "brand", "serviceType/serviceType", "energyInfrastructureStation/totalMaximumPower",
        "rates/payment/paymentMeans", "rates/payment/brandsAccepted",
        "locationReference/_locationExtension/afirFacilityLocation/nutsArea/nutsCode")}


def test_a_cpo_fills_in_the_supplement_and_the_next_afir_table_carries_it(
        request, browser, demo_cpo, nap_server, sessions):
    cpo = demo_cpo(locations=3)
    user_id = add_user(sessions, "cpo@example.com")
    with sessions.begin() as session:  # registered and verified by an administrator
        feed = add_feed(session, name="Demo Laden", versions_url=cpo.versions_url, token=cpo.token,
                        country_code="DE", party_id="ABC")
        session.add(FeedOwner(user_id=user_id, feed_id=feed.id))
        quality = f"/portal/feeds/{feed.id}/quality"
    assert worker_tick(nap_server) == ["Demo Laden"]
    url = nap_server.url
    site_id = f"DE*ABC*{cpo.app.config['FLEET'].locations[0]['id']}"
    before = httpx.get(url + TABLE, params={"profile": "afir"})
    assert before.status_code == 200
    assert _afir_values(before.content, site_id)["brand"] == []
    ocpi_before = httpx.get(f"{url}/ocpi/2.3.0/locations").json()["data"]

    pages = Pages(browser, url, prefix=f"portal-supplement-{request.node.callspec.params['database_url']}-")
    try:
        me = sign_in(pages, url, "cpo@example.com")
        me.goto(url + quality)  # the quality report's coverage of what only the supplement gives
        for item in SUPPLEMENT_ONLY:
            expect(me.get_by_test_id(f"coverage-{item}")).to_contain_text(re.compile(r"\b0 / [1-9]"))
        me.goto(url + "/portal/")
        me.get_by_role("link", name="Demo Laden").first.click()
        me.get_by_test_id("supplement-link").click()
        expect(me.get_by_role("heading", name="Supplement for DE/ABC")).to_be_visible()
        expect(me.get_by_test_id("annex-items")).to_contain_text("none yet")
        pages.check(me, "supplement-empty")
        me.get_by_label("Legal name of the operator").fill("ABC Ladenetz GmbH")
        me.get_by_label("Brand (commercial) name").fill("ABC Laden")
        me.get_by_label("On-site service").select_option("unattended")
        me.get_by_label("Toilets").select_option("yes")
        me.get_by_label("NUTS-1 region").fill("DE3")
        me.get_by_label("emv").check()
        me.get_by_label("visa").check()
        me.get_by_label("Grid-connection power (kW)").fill("300")
        me.get_by_role("button", name="Save the supplement").click()
        expect(me.get_by_role("status").first).to_contain_text("Supplement for DE/ABC saved")
        history = me.get_by_test_id("supplement-history")
        expect(history).to_contain_text("cpo@example.com")
        expect(history).to_contain_text("Brand (commercial) name: ABC Laden")
        expect(me.get_by_test_id("annex-items")).to_contain_text("A1")
        pages.check(me, "supplement-saved")
        pages.check_on_phone(me, "supplement-saved")

        # A value DATEX II cannot hold is refused, with the field named; nothing is stored.
        me.get_by_label("NUTS-1 region").fill("Berlin")
        me.get_by_role("button", name="Save the supplement").click()
        expect(me.get_by_test_id("supplement-errors")).to_contain_text("nuts1")
        expect(me.get_by_test_id("supplement-history").locator("tbody tr")).to_have_count(1)

        me.get_by_role("link", name="Back to Demo Laden").click()
        expect(me.get_by_test_id("supplement-items")).to_contain_text("A1, A2, A4, A6, A10, A22, A23, B5")
        me.goto(url + quality)  # the party-wide values count for every charging point
        for item in SUPPLEMENT_ONLY:
            expect(me.get_by_test_id(f"coverage-{item}")).to_contain_text(re.compile(r"\b([1-9][0-9]*) / \1\b"))
        pages.check(me, "quality-with-supplement")
        assert pages.outside == []
    finally:
        pages.close()

    after = httpx.get(url + TABLE, params={"profile": "afir"}, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and validate(after.content) == []
    assert _afir_values(after.content, site_id) == {
        "operator/legalName": ["ABC Ladenetz GmbH"], "brand": ["ABC Laden"], "serviceType/serviceType": ["unattended"],
        "energyInfrastructureStation/totalMaximumPower": ["300000"], "rates/payment/paymentMeans": ["emv"],
        "rates/payment/brandsAccepted": ["visa"],
        "locationReference/_locationExtension/afirFacilityLocation/nutsArea/nutsCode": ["DE3"]}
    assert httpx.get(f"{url}/ocpi/2.3.0/locations").json()["data"] == ocpi_before
