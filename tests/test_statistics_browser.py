"""The reliability statistics pages in headless Chromium (Debian's chromium, driven by
Playwright): the national page and an operator's page draw their charts as inline SVG with
the figures in them, from the history of tests/statistics_fixtures.py computed by the real
job, and no request leaves NAP's origin. Photographed to
tests/artifacts/statistics-<database>-<page>.png."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from nap.store.db import write_session
from nap.store.evse_statistics import compute_day
from tests.statistics_fixtures import build_history
from tests.test_portal_browser import Pages, browser  # noqa: F401 (browser: a fixture)


def _bars(page, chart: str) -> list[dict]:
    return page.eval_on_selector_all(
        f'svg[data-chart="{chart}"] rect',
        "rects => rects.map(r => ({...r.dataset, height: r.getBBox().height, width: r.getBBox().width}))")


def test_the_statistics_pages_draw_their_charts_from_nap_alone(request, browser, live_server, nap_server,
                                                                sessions, settings):
    history = build_history(sessions, settings, live_server)
    for day in (history.day, history.day + timedelta(days=1)):
        with write_session(sessions) as session:
            compute_day(session, day, timedelta(hours=settings.quality_status_silence_hours))
    span = f"from={history.day.isoformat()}&to={(history.day + timedelta(days=1)).isoformat()}"
    url = nap_server.url
    pages = Pages(browser, url, prefix=f"statistics-{request.node.callspec.params['database_url']}-")
    try:
        page = pages.context().new_page()
        page.goto(url + "/")
        page.get_by_role("link", name="Statistics").click()
        expect(page.get_by_role("heading", name="Reliability statistics")).to_be_visible()
        page.get_by_label("From", exact=True).fill(history.day.isoformat())
        page.get_by_label("To", exact=True).fill((history.day + timedelta(days=1)).isoformat())
        page.get_by_role("button", name="Show").click()
        expect(page.locator('svg[data-chart="availability"] rect').first).to_be_visible()
        bars = _bars(page, "availability")
        assert {bar["period"] for bar in bars} == {history.day.isoformat(),
                                                   (history.day + timedelta(days=1)).isoformat()}
        assert all(bar["height"] > 0 and bar["width"] > 0 for bar in bars)
        for day in {bar["period"] for bar in bars}:  # each day's bar is the whole of its in-service time
            assert abs(sum(float(b["share"]) for b in bars if b["period"] == day) - 1) < 1e-5
        spread = _bars(page, "distribution")
        assert len(spread) == 10 and sum(int(bar["evses"]) for bar in spread) == \
            sum(len(evses) for evses in history.evses.values()) - 1  # the PLANNED one is in no share
        pages.check(page, "national")

        page.get_by_role("link", name="DE/BBB").click()
        expect(page.get_by_role("heading", name="Reliability of DE/BBB")).to_be_visible()
        out_of_order = [bar for bar in _bars(page, "availability") if bar["state"] == "out_of_order"]
        assert [(bar["period"], float(bar["share"])) for bar in out_of_order] == \
            [(history.day.isoformat(), round(12 / (24 * len(history.evses["BBB"])), 6))]
        expect(page.get_by_test_id("worst-evses")).to_contain_text(history.evses["BBB"][0][2])
        pages.check(page, "operator")
        page.goto(f"{url}/statistics/operators/DE/AAA?{span}&period=week")
        assert len(_bars(page, "distribution")) == 10
        pages.check_on_phone(page, "operator-phone")
    finally:
        pages.close()
    assert pages.outside == []
