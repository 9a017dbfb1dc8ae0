"""The portal end to end in headless Chromium (Debian's chromium, driven by Playwright):
a new user signs up as a CPO and registers the demo CPO, an admin approves it, the CPO
watches the first harvest arrive and finds a finding planted with --broken-objects, the
admin suspends the feed, and the public map shows the locations.

Every page is checked for what we promise (labels, one h1, contrast, no horizontal
scrolling on a phone, nothing loaded from another site) and photographed into
tests/artifacts/ on every run (tests/artifacts/portal-<database>-<page>.png), on SQLite and PostgreSQL.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from nap.store.tables import Location
from tests.portal_fixtures import PASSWORD, add_user, link_in, outbox_mails, worker_tick
from tests.waiting import wait_until

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # fail, not skip: a browser test that silently does not run proves nothing
    expect = sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# How a run that completed shows in the harvest history.
COMPLETED = re.compile(r"^(success|degraded)$")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# WCAG 2.1 contrast of every visible text element against its effective background.
CONTRAST_JS = """() => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(parseFloat); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const channel = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const luminance = c => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const background = el => { for (; el; el = el.parentElement) { const c = parse(getComputedStyle(el).backgroundColor);
    if (c && c.a > 0.5) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const failures = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('#map') || !Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || !el.getClientRects().length) continue;
    const l1 = luminance(parse(style.color)), l2 = luminance(background(el));
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    if (ratio < ((size >= 24 || (size >= 18.66 && bold)) ? 3 : 4.5))
      failures.push(`${el.tagName} "${el.textContent.trim().slice(0, 40)}" ${ratio.toFixed(2)}`);
  }
  return failures;
}"""

# Form controls without a label, buttons and links without a name, images without alt.
UNLABELLED_JS = """() => {
  const missing = [];
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea'))
    if (!el.labels.length && !el.getAttribute('aria-label')) missing.push(el.outerHTML.slice(0, 80));
  for (const el of document.querySelectorAll('button, a[href]'))
    if (!el.textContent.trim() && !el.getAttribute('aria-label') && !el.querySelector('img[alt]'))
      if (!el.closest('#map')) missing.push(el.outerHTML.slice(0, 80));
  for (const el of document.querySelectorAll('img:not([alt])'))
    if (!el.closest('#map')) missing.push(el.outerHTML.slice(0, 80));
  return missing;
}"""


@pytest.fixture(scope="module")
def browser():
    if sync_playwright is None:
        pytest.fail("Playwright for Python is missing: pip install -e '.[test]'")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Pages:
    """Browser contexts that refuse and record every request leaving NAP's own host, and
    that check and photograph each page they are asked to."""

    def __init__(self, browser, base_url: str, prefix: str):
        self.browser = browser
        self.host = urlsplit(base_url).netloc
        self.prefix = prefix
        self.outside: list[str] = []
        self.contexts = []
        ARTIFACTS.mkdir(exist_ok=True)

    def context(self, viewport=DESKTOP, **options):
        context = self.browser.new_context(viewport=viewport, **options)
        context.set_default_timeout(10_000)

        def guard(route):
            if urlsplit(route.request.url).netloc == self.host or route.request.url.startswith("data:"):
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        self.contexts.append(context)
        return context

    def check(self, page, name: str) -> None:
        assert page.evaluate("document.documentElement.lang") == "en", name
        assert page.locator("h1").count() == 1, f"{name}: one h1 per page"
        assert page.evaluate(UNLABELLED_JS) == [], name
        assert page.evaluate(CONTRAST_JS) == [], name
        width = page.viewport_size["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways"
        page.screenshot(path=str(ARTIFACTS / f"{self.prefix}{name}.png"), full_page=True)

    def check_on_phone(self, page, name: str) -> None:
        size = page.viewport_size
        page.set_viewport_size(PHONE)
        try:
            self.check(page, f"{name}-phone")
        finally:
            page.set_viewport_size(size)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def reload_until(page, locator, timeout: float = 30.0) -> None:
    def shown() -> bool:
        if locator.count():
            return True
        page.reload()
        return False
    wait_until(shown, timeout=timeout, what=f"{page.url} to show {locator}", interval=0.3)


def test_a_cpo_registers_an_admin_approves_and_suspends_the_public_sees_the_map(
        request, browser, demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=20, broken_objects=3)
    add_user(sessions, "admin@example.com", role="admin")
    database = request.node.callspec.params["database_url"]
    pages = Pages(browser, nap_server.url, prefix=f"portal-{database}-")
    url = nap_server.url
    try:
        # -- a new CPO signs up and registers the demo CPO --------------------------------
        me = pages.context().new_page()
        me.goto(url + "/")
        pages.check(me, "overview-empty")
        me.get_by_role("link", name="Register as a CPO").click()
        me.get_by_label("E-mail address").fill("cpo@example.com")
        me.get_by_label("Password", exact=True).fill(PASSWORD)
        me.get_by_label("Repeat the password").fill(PASSWORD)
        pages.check(me, "signup")
        me.get_by_role("button", name="Create account").click()
        expect(me.get_by_role("heading", name="My feeds")).to_be_visible()
        pages.check(me, "my-feeds-empty")

        # -- the register page explains and refuses until the address is confirmed; the link
        # of the mail (the outbox: no mail server configured) leads back to it ------------
        me.get_by_role("link", name="Register a feed").first.click()
        expect(me.get_by_role("heading", name="Confirm your e-mail address first")).to_be_visible()
        pages.check(me, "verify-needed")
        [mail] = outbox_mails(settings.mail_outbox_dir, to="cpo@example.com")
        me.goto(url + link_in(mail, "/verify"))
        expect(me.get_by_role("status").first).to_contain_text("Your address cpo@example.com is confirmed")
        expect(me.get_by_role("heading", name="Register a feed")).to_be_visible()
        me.get_by_label("Operator or feed name").fill("Demo Laden")
        me.get_by_label("OCPI versions URL").fill(cpo.versions_url)
        me.get_by_role("radio", name=re.compile(r"^Static token")).check()
        me.get_by_label("Token (TOKEN_A, or the static token)").fill(cpo.token)
        me.get_by_label("Country code").fill("DE")
        me.get_by_label("Party id").fill("ABC")
        me.get_by_label("Licence of your data (optional)").fill("CC0-1.0")
        pages.check(me, "register-feed")
        me.get_by_role("button", name="Register the feed").click()
        expect(me.get_by_role("heading", name="Demo Laden")).to_be_visible()
        expect(me.get_by_test_id("status-text")).to_contain_text("Waiting for approval")
        expect(me.get_by_test_id("no-runs")).to_be_visible()
        pages.check(me, "feed-pending")

        # -- an admin approves it: the first harvest is requested --------------------------
        admin = pages.context().new_page()
        admin.goto(url + "/login")
        pages.check(admin, "login")
        admin.get_by_label("E-mail address").fill("admin@example.com")
        admin.get_by_label("Password").fill(PASSWORD)
        admin.get_by_role("button", name="Sign in").click()
        expect(admin.get_by_role("heading", name="All feeds")).to_be_visible()
        expect(admin.locator('tr[data-feed="Demo Laden"]')).to_contain_text("cpo@example.com")
        pages.check(admin, "admin-pending")
        # The CPO's claim on DE/ABC first: only under a verified party is anything published.
        admin.get_by_role("button", name="Verify DE/ABC for Demo Laden").click()
        expect(admin.get_by_role("status").first).to_contain_text("DE/ABC verified for Demo Laden")
        admin.get_by_role("button", name="Approve Demo Laden").click()
        expect(admin.get_by_role("status").first).to_contain_text("approved; harvest requested")
        me.reload()
        expect(me.get_by_test_id("harvest-requested")).to_be_visible()
        pages.check(me, "feed-harvest-requested")

        # -- the worker's tick harvests it; the CPO sees the run, and the planted finding --
        assert worker_tick(nap_server) == ["Demo Laden"]
        # Completed; degraded when the broken objects cost more than 1 % of the EVSEs.
        reload_until(me, me.get_by_test_id("runs").get_by_text(COMPLETED))
        expect(me.get_by_test_id("static-freshness")).to_contain_text("met")
        broken = cpo.app.config["BROKEN_IDS"][0]
        pages.check(me, "feed-harvested")
        pages.check_on_phone(me, "feed-harvested")

        me.get_by_role("link", name="Data-quality report").click()
        expect(me.get_by_test_id("coverage")).to_contain_text("Opening hours")
        pages.check(me, "quality")
        me.get_by_label("Object id contains").fill(broken)
        me.get_by_role("button", name="Filter").click()
        row = me.get_by_test_id("harvest-findings").locator("tr", has_text=broken).first
        expect(row).to_contain_text("error")
        pages.check(me, "quality-filtered")
        pages.check_on_phone(me, "quality-filtered")

        me.get_by_role("link", name="Find a charger").click()
        me.get_by_label("Location id, EVSE uid or EVSE id").fill(broken)
        me.get_by_role("button", name="Look up").click()
        expect(me.get_by_test_id("state")).to_have_text("Skipped because of a finding")
        pages.check(me, "lookup")

        # -- the admin suspends the feed --------------------------------------------------
        admin.reload()
        expect(admin.locator('tr[data-feed="Demo Laden"]')).to_contain_text(re.compile("success|degraded"))
        admin.locator('tr[data-feed="Demo Laden"]').get_by_text("Suspend…").click()
        admin.get_by_label("Reason to suspend Demo Laden (the CPO sees it)").fill("Maintenance of the test")
        admin.get_by_role("button", name="Suspend Demo Laden").click()
        expect(admin.locator('tr[data-feed="Demo Laden"]')).to_contain_text("suspended")
        pages.check(admin, "admin-suspended")
        me.get_by_role("link", name="My feeds").click()
        me.get_by_role("link", name="Demo Laden").click()
        expect(me.get_by_test_id("status-text")).to_contain_text("Suspended by the administrators")
        expect(me.get_by_test_id("decision-reason")).to_have_text("Maintenance of the test")
        pages.check(me, "feed-suspended")

        # -- the public, on a phone: overview, the CPO's page, the map ----------------------
        with sessions() as session:
            published = session.scalar(select(func.count()).select_from(Location).where(
                Location.publish.is_(True), Location.removed_at.is_(None)))
        assert published == 19  # one of the three broken locations is skipped as a whole
        public = pages.context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        public.goto(url + "/")
        expect(public.get_by_test_id("locations")).to_have_text(str(published))
        expect(public.get_by_test_id("cpos")).to_have_text("1")
        pages.check(public, "overview")
        public.get_by_role("link", name="Demo Laden").click()
        expect(public.get_by_test_id("locations")).to_have_text(str(published))
        pages.check(public, "cpo-page")

        public.goto(url + "/map")
        expect(public.locator("#map")).to_have_attribute("data-loaded", str(published))
        expect(public.locator("#map-status")).to_have_text(f"{published} locations in view.")
        expect(public.locator("#map-list li")).to_have_count(published)
        pins = public.locator("path.leaflet-interactive")
        expect(pins).to_have_count(published)
        pins.first.click(force=True)
        expect(public.locator(".leaflet-popup-content")).to_contain_text("charging points available")
        pages.check(public, "map")
        desktop = pages.context().new_page()
        desktop.goto(url + "/map")
        expect(desktop.locator("path.leaflet-interactive")).to_have_count(published)
        pages.check(desktop, "map-desktop")

        assert public.get_by_role("link", name="Downloads").get_attribute("href") == "/downloads"
        public.get_by_role("link", name="API docs").click()
        expect(public.locator("h1")).to_be_visible()
        assert re.search(r"/docs$", public.url)
        public.screenshot(path=str(ARTIFACTS / f"{pages.prefix}api-docs.png"), full_page=True)
        response = public.goto(url + "/downloads")
        if response.status == 200:  # the downloads page is built apart; photograph it when it is there
            public.screenshot(path=str(ARTIFACTS / f"{pages.prefix}downloads.png"), full_page=True)

        assert pages.outside == [], "pages must load nothing from other sites"
    finally:
        pages.close()
