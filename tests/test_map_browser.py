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

import pytest

from tests.test_ocpi_api_fixtures import PARTY
from tests.test_portal_browser import DESKTOP, PHONE, Pages, browser, expect  # noqa: F401 - browser: fixture
from tests.waiting import wait_until

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


@pytest.fixture(scope="module")
def nap(published):
    """The NAP the module's walks share; the fleet's 40 locations are clustered too."""
    return published.nap_with(map_cluster_min_locations=0)


def test_the_map_draws_borders_clusters_filters_pins_and_details_without_leaving_nap(published, nap, browser):
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
        # The side panel, from the text list of what is in view (the pop-up's "All details"
        # opens the same panel: the next test).
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


def test_a_pin_s_pop_up_that_pans_the_map_keeps_its_all_details_button(published, nap, browser):
    """Issue #20: a pop-up opened near the edge makes Leaflet pan the map to fit it; the redraw
    that pan brings must leave the pop-up open, so that its "All details" opens the side panel."""
    document = next(d for d in published.locations.values()
                    if d["publish"] and any(evse["status"] != "REMOVED" for evse in d["evses"]))
    latitude, longitude = (float(document["coordinates"][axis]) for axis in ("latitude", "longitude"))
    pages = Pages(browser, nap.url, "map-pop-up-")  # photographs nothing
    try:
        context = pages.context(viewport=DESKTOP)
        # Where to centre the map (zoom 16: pins) so that the pin sits 40 px under its top edge:
        # the pop-up opens above the pin, so Leaflet has to pan the map down to show it.
        probe = context.new_page()
        probe.goto(f"{nap.url}/map#map=16/{latitude}/{longitude}")
        view = probe.evaluate("""([lat, lng]) => {
            const crs = L.CRS.EPSG3857, pin = crs.latLngToPoint(L.latLng(lat, lng), 16);
            const centre = crs.pointToLatLng(pin.add([0, document.getElementById("map").clientHeight / 2 - 40]), 16);
            return "16/" + centre.lat.toFixed(6) + "/" + centre.lng.toFixed(6);
        }""", [latitude, longitude])
        probe.close()

        page = context.new_page()
        api_requests, in_flight = [], set()

        def sent(request) -> None:
            if "/api/v1/locations?" in request.url:
                api_requests.append(request)
                in_flight.add(request)

        def ended(request) -> None:
            in_flight.discard(request)
        page.on("request", sent)
        page.on("requestfinished", ended)
        page.on("requestfailed", ended)
        page.goto(f"{nap.url}/map#map={view}")
        map_ = page.locator("#map")
        expect(map_).to_have_attribute("data-mode", "points")
        expect(map_).to_have_attribute("data-shown", "1")
        before = parse_qs(urlsplit(page.url).fragment)["map"]

        pin = page.get_by_role("button", name=re.compile("^" + re.escape(document["name"] + ", ")))
        pin.first.click()
        popup = page.locator(".leaflet-popup-content")
        operator = f"Operator: {document['operator']['name']}"
        expect(popup.locator(".map-operator")).to_have_text(operator)  # the pop-up at its full size
        # The auto-pan moved the map (the address follows), the map asked for the new view and
        # drew its answer, and no answer is still on its way.
        expect(map_).not_to_have_attribute("data-shown", "1")
        assert parse_qs(urlsplit(page.url).fragment)["map"] != before, "the pop-up should have panned the map"

        def settled() -> bool:
            shown = map_.get_attribute("data-shown")  # also lets Playwright deliver the request events
            return not in_flight and shown == str(len(api_requests))
        wait_until(settled, timeout=10, what="the map to draw its last answer", interval=0.1)

        # Still open, and not fading out: a closed pop-up stays in the page for its 0.2 s fade,
        # and a click on its button then still works, but no user is that fast.
        expect(page.locator(".leaflet-popup")).to_have_css("opacity", "1")
        page.locator(".leaflet-popup").get_by_role("button", name="All details").click()
        panel = page.locator("#map-panel")
        expect(panel).to_be_visible()
        expect(panel.locator("#map-panel-title")).to_have_text(document["name"])
        expect(panel.locator(".map-operator")).to_have_text(operator)
        assert pages.outside == []
    finally:
        pages.close()
