"""Issue #16 in headless Chromium, on SQLite and PostgreSQL: an admin rejects a
registration with a reason the CPO then reads; an admin compares a claim's evidence and
verifies the party (the CPO signed up and confirmed its address from the outbox first),
the harvest publishes, the CPO changes the versions URL and withdraws
the feed, and its data is gone from the public OCPI API.

The admin page is checked at 1280 px: no sideways scrolling of the page nor of its feeds
table. Pages are photographed to tests/artifacts/portal-claims-<database>-<page>.png."""
from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.portal_fixtures import PASSWORD, add_user, link_in, outbox_mails, worker_tick
from tests.test_portal_browser import Pages, browser  # noqa: F401 (browser: a fixture)

# The feeds table fits its box: nothing to scroll sideways inside it either.
TABLE_FITS_JS = """() => Array.from(document.querySelectorAll('.table-wrap'))
  .filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.getAttribute('aria-label'))"""


def sign_in(pages: Pages, url: str, email: str):
    page = pages.context().new_page()
    page.goto(url + "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def sign_up_and_confirm(pages: Pages, url: str, email: str, outbox: str):
    """A new CPO signs up, and confirms its address with the link the mail (written to the
    outbox: no mail server configured) carries."""
    page = pages.context().new_page()
    page.goto(url + "/signup")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="My feeds")).to_be_visible()
    [mail] = outbox_mails(outbox, to=email)
    page.goto(url + link_in(mail, "/verify"))
    expect(page.get_by_role("status").first).to_contain_text(f"Your address {email} is confirmed")
    page.goto(url + "/portal/")
    return page


def register(page, cpo, name: str = "Demo Laden") -> None:
    page.get_by_role("link", name="Register a feed").first.click()
    page.get_by_label("Operator or feed name").fill(name)
    page.get_by_label("OCPI versions URL").fill(cpo.versions_url)
    page.get_by_role("radio", name="Static token: NAP uses this token as it is (no handshake)").check()
    page.get_by_label("Token (TOKEN_A, or the static token)").fill(cpo.token)
    page.get_by_label("Country code").fill("DE")
    page.get_by_label("Party id").fill("ABC")
    page.get_by_role("button", name="Register the feed").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def check_admin(pages: Pages, page, name: str) -> None:
    pages.check(page, name)
    assert page.evaluate(TABLE_FITS_JS) == [], f"{name}: a table scrolls sideways at 1280 px"


def published(url: str) -> set[str]:
    answer = httpx.get(f"{url}/ocpi/2.3.0/locations", params={"limit": 1000})
    return {location["id"] for location in answer.json()["data"]}


def test_the_admin_rejects_a_registration_and_the_cpo_reads_why(request, browser, demo_cpo, nap_server, sessions):
    cpo = demo_cpo(locations=3)
    add_user(sessions, "admin@example.com", role="admin")
    add_user(sessions, "cpo@example.com")
    pages = Pages(browser, nap_server.url, prefix=f"portal-claims-{request.node.callspec.params['database_url']}-")
    try:
        me = sign_in(pages, nap_server.url, "cpo@example.com")
        register(me, cpo)
        expect(me.get_by_test_id("parties")).to_contain_text("claimed")

        admin = sign_in(pages, nap_server.url, "admin@example.com")
        admin.get_by_role("link", name="pending (1)").click()
        row = admin.locator('tr[data-feed="Demo Laden"]')
        expect(row).to_contain_text(cpo.versions_url)
        expect(row).to_contain_text("cpo@example.com")
        expect(row.get_by_test_id("parties")).to_contain_text("DE/ABC claimed")
        expect(row.get_by_text("Suspend…")).to_have_count(0)  # pending: approve or reject
        row.get_by_text("Reject…").click()
        reason = "We could not reach your back end from our network; register your production URL."
        check_admin(pages, admin, "admin-reject")  # before filling in: see the edit below
        admin.get_by_label("Reason to reject Demo Laden (the CPO sees it)").fill(reason)
        admin.get_by_role("button", name="Reject Demo Laden").click()
        expect(admin.get_by_role("status").first).to_contain_text("Demo Laden: rejected.")
        assert admin.url.endswith("/admin/?status=pending")  # the filter is kept
        expect(admin.locator('tr[data-feed="Demo Laden"]')).to_have_count(0)
        admin.get_by_role("link", name="rejected (1)").click()
        expect(admin.locator('tr[data-feed="Demo Laden"]')).to_contain_text(reason)
        check_admin(pages, admin, "admin-rejected")

        me.reload()
        expect(me.get_by_test_id("status-text")).to_contain_text("Rejected by the administrators")
        expect(me.get_by_test_id("decision-reason")).to_have_text(reason)
        expect(me.get_by_test_id("parties")).to_contain_text("DE/ABC revoked")
        expect(me.get_by_role("button", name="Save the connection")).to_have_count(0)
        pages.check(me, "feed-rejected")
        pages.check_on_phone(me, "feed-rejected")
        assert pages.outside == []
    finally:
        pages.close()


def test_the_admin_verifies_from_the_evidence_then_the_cpo_edits_and_withdraws(
        request, browser, demo_cpo, nap_server, sessions, settings):
    first, second = demo_cpo(locations=6), demo_cpo(locations=4, seed=2)
    add_user(sessions, "admin@example.com", role="admin")
    url = nap_server.url
    pages = Pages(browser, url, prefix=f"portal-claims-{request.node.callspec.params['database_url']}-")
    try:
        me = sign_up_and_confirm(pages, url, "cpo@example.com", settings.mail_outbox_dir)
        register(me, first)

        # -- approved and harvested, nothing published yet: the claim is not verified ---------
        admin = sign_in(pages, url, "admin@example.com")
        admin.get_by_role("button", name="Approve Demo Laden").click()
        expect(admin.get_by_role("status").first).to_contain_text("approved; harvest requested")
        assert worker_tick(nap_server) == ["Demo Laden"]
        assert published(url) == set()
        admin.reload()
        row = admin.locator('tr[data-feed="Demo Laden"]')
        expect(row.get_by_test_id("feed-status")).to_have_text("active, publishes nothing")

        # -- the evidence: form, host, the EVSE ids' operator ---------------------------------
        claim = admin.locator('section[data-pair="DE/ABC"] li[data-claim="Demo Laden"]')
        expect(claim).to_contain_text("in the registration form")
        expect(claim.get_by_test_id("versions-host")).to_have_text("127.0.0.1")
        expect(claim.get_by_test_id("evse-operators")).to_contain_text("DE*ABC × ")
        expect(claim.get_by_test_id("evse-operators")).to_contain_text("carries DE*ABC")
        check_admin(pages, admin, "admin-evidence")
        claim.get_by_role("button", name="Verify DE/ABC for Demo Laden").click()
        expect(admin.get_by_role("status").first).to_contain_text("DE/ABC verified for Demo Laden; harvest requested")
        assert worker_tick(nap_server) == ["Demo Laden"]
        assert published(url) == {loc["id"] for loc in first.app.config["FLEET"].locations}
        admin.reload()
        expect(admin.locator('tr[data-feed="Demo Laden"]').get_by_test_id("published")).to_have_text("6")
        expect(admin.locator('tr[data-feed="Demo Laden"]').get_by_test_id("parties")).to_contain_text("DE/ABC verified")
        check_admin(pages, admin, "admin-verified")

        # -- the CPO moves its feed to another back end ----------------------------------------
        me.reload()
        expect(me.get_by_test_id("parties")).to_contain_text("verified")
        # Checked (and photographed full-page) before filling in: a full-page screenshot
        # between filling and clicking makes Chromium's click miss the button.
        pages.check(me, "feed-edit")
        me.get_by_label("OCPI versions URL").fill(second.versions_url)
        me.get_by_label("Harvest every (minutes)").fill("10")
        me.get_by_role("button", name="Save the connection").click()
        expect(me.get_by_role("status").first).to_contain_text("Saved: versions URL")
        expect(me.get_by_test_id("events")).to_contain_text(second.versions_url)
        admin.reload()
        expect(admin.locator('tr[data-feed="Demo Laden"]').get_by_test_id("versions-url")).to_have_text(
            second.versions_url)
        admin.get_by_role("button", name="Harvest Demo Laden now").click()
        expect(admin.get_by_role("status").first).to_contain_text("Harvest of Demo Laden requested")
        expect(admin.locator('tr[data-feed="Demo Laden"]').get_by_test_id("harvest-requested")).to_be_visible()
        assert worker_tick(nap_server) == ["Demo Laden"]
        assert published(url) == {loc["id"] for loc in second.app.config["FLEET"].locations}

        # -- and withdraws it: its data leaves the publication ---------------------------------
        me.get_by_role("link", name="Withdraw Demo Laden…").click()
        expect(me.get_by_test_id("published")).to_have_text("4")
        pages.check(me, "feed-withdraw")
        me.get_by_role("button", name="Withdraw Demo Laden now").click()
        expect(me.get_by_role("status").first).to_contain_text("Demo Laden is withdrawn")
        expect(me.get_by_test_id("status-text")).to_contain_text("Withdrawn")
        pages.check(me, "feed-withdrawn")
        assert published(url) == set()
        public = pages.context().new_page()
        public.goto(url + "/")
        expect(public.get_by_test_id("cpos")).to_have_text("0")
        admin.goto(url + "/admin/?status=withdrawn")
        expect(admin.locator('tr[data-feed="Demo Laden"]')).to_contain_text("withdrawn")
        check_admin(pages, admin, "admin-withdrawn")
        assert pages.outside == []
    finally:
        pages.close()
