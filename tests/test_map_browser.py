"""The public map in headless Chromium (Debian's chromium, driven by Playwright), over the
shared harvested demo fleet (tests/test_ocpi_api_fixtures.py), on SQLite and PostgreSQL:
the country borders shipped with NAP are drawn, the national view shows clusters and
zooming in (by keyboard and by click) shows the locations, a filter narrows the clusters
and travels in the address, a pin's pop-up and side panel show the operator, connectors
and the ad hoc price, and no request leaves NAP. Photographed at 1280 and 390 px into
tests/artifacts/map-<database>-*.png; nothing may scroll sideways.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from tests.test_ocpi_api_fixtures import PARTY
from tests.test_portal_browser import DESKTOP, PHONE, Pages, browser, expect  # noqa: F401 - browser: fixture

pytest_plugins = ["tests.test_ocpi_api_fixtures"]


def public_locations(published, keep=lambda evse: True) -> int:
    """Locations with a shown EVSE that `keep` keeps, counted from the stored documents."""
    return sum(1 for document in published.locations.values() if document["publish"] and any(
        evse["status"] != "REMOVED" and keep(evse) for evse in document["evses"]))


def redrawn(page, action) -> None:
    """Do `action` and wait until the map has drawn the API's next answer."""
    before = page.locator("#map").get_attribute("data-shown")
    action()
    expect(page.locator("#map")).not_to_have_attribute("data-shown", before)


def test_the_map_draws_borders_clusters_filters_pins_and_details_without_leaving_nap(published, browser):
    nap = published.nap_with(map_cluster_min_locations=0)  # the fleet's 40 locations are clustered too
    pages = Pages(browser, nap.url, f"map-{urlsplit(published.database_url).scheme.split('+')[0]}-")
    everything = public_locations(published)
    with_chademo = public_locations(published, lambda evse: any(
        c["standard"] == "CHADEMO" for c in evse["connectors"]))
    assert 0 < with_chademo < everything
    try:
        page = pages.context(viewport=DESKTOP).new_page()
        page.goto(nap.url + "/map")
        map_ = page.locator("#map")
        expect(map_).to_have_attribute("data-basemap", "drawn")
        assert page.locator("#map svg path.map-country").count() > 200  # Natural Earth 1:50m countries
        expect(map_).to_have_attribute("data-mode", "clusters")
        expect(map_).to_have_attribute("data-loaded", str(everything))
        clusters = page.locator(".map-cluster")
        national = clusters.count()
        assert national > 1
        assert sum(int(text) for text in clusters.all_inner_texts()) == everything
        expect(page.locator("#map-list li")).to_have_count(national)
        expect(page.locator("#map-status")).to_contain_text(f"{everything} locations in view in {national} groups")
        pages.check(page, "national")

        # A filter: fewer locations in the clusters, and the address carries it.
        redrawn(page, lambda: page.get_by_label("Connector").select_option("CHADEMO"))
        expect(map_).to_have_attribute("data-loaded", str(with_chademo))
        assert sum(int(text) for text in clusters.all_inner_texts()) == with_chademo
        assert parse_qs(urlsplit(page.url).fragment)["connector"] == ["CHADEMO"]
        shared = pages.context(viewport=DESKTOP).new_page()
        shared.goto(page.url)
        expect(shared.locator("#map")).to_have_attribute("data-loaded", str(with_chademo))
        expect(shared.get_by_label("Connector")).to_have_value("CHADEMO")
        shared.close()
        redrawn(page, lambda: page.get_by_role("button", name="Clear filters").click())
        expect(map_).to_have_attribute("data-loaded", str(everything))
        assert "connector" not in parse_qs(urlsplit(page.url).fragment)

        # Zooming in, group by group, the first time by keyboard on the map, then from the
        # text list: locations, one pin each.
        for step in range(10):
            if map_.get_attribute("data-mode") == "points":
                break
            if step == 0:
                page.locator(".map-cluster").first.focus()
                redrawn(page, lambda: page.keyboard.press("Enter"))
            else:
                redrawn(page, lambda: page.locator("#map-list button").first.click())
        expect(map_).to_have_attribute("data-mode", "points")
        pins = page.locator("path.map-pin")
        assert pins.count() == int(map_.get_attribute("data-loaded")) >= 1
        expect(page.locator("#map-list li")).to_have_count(pins.count())

        # A pin by keyboard: its pop-up names the operator, the connectors and the price.
        pins.first.focus()
        page.keyboard.press("Enter")
        popup = page.locator(".leaflet-popup-content")
        expect(popup.locator(".map-operator")).to_have_text(f"Operator: {PARTY} Ladenetz GmbH")
        expect(popup.locator(".map-connectors").first).to_contain_text(" kW")
        expect(popup.locator(".map-price").first).to_contain_text("€/kWh")
        expect(popup.get_by_role("button", name="All details")).to_be_visible()
        # The side panel, from the text list of what is in view (the popup's button opens the
        # same panel, but a redraw after the popup's auto-pan can close the popup under the
        # click on a busy machine).
        page.keyboard.press("Escape")
        page.locator("#map-list li button").first.click()
        panel = page.locator("#map-panel")
        expect(panel).to_be_visible()
        expect(panel.get_by_role("link", name="Where did my charger go?")).to_have_attribute(
            "href", re.compile(re.escape(nap.url) + r"/lookup\?q=LOC\d{6}$"))
        expect(panel.get_by_role("link", name="Where did my charger go?")).to_be_visible()
        expect(panel.get_by_role("link", name="OCPI object")).to_be_visible()
        expect(panel.locator(".map-evse-status").first).to_contain_text(" since ")
        expect(panel.locator(".map-price").first).to_contain_text("€/kWh")
        pages.check(page, "zoomed-in")

        # The same view on a phone: nothing wider than the screen.
        phone = pages.context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        phone.goto(nap.url + "/map")
        expect(phone.locator("#map")).to_have_attribute("data-basemap", "drawn")
        expect(phone.locator("#map")).to_have_attribute("data-mode", "clusters")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        pages.check(phone, "phone")

        assert pages.outside == [], "the map must load nothing from other sites when no tile server is set"
    finally:
        pages.close()
