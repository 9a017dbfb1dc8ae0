"""The account pages in headless Chromium: a forgotten password (the link read from the
outbox), and a colleague invited and joining. Each page is checked like the others (labels,
one h1, contrast, no sideways scrolling, nothing loaded from elsewhere) and photographed."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.portal_fixtures import PASSWORD, add_user, link_in, outbox_mails
from tests.waiting import wait_until
from tests.test_portal_browser import Pages, browser  # noqa: F401 (browser: a fixture)

NEW_PASSWORD = "a brand new passphrase"


def test_forgot_password_and_inviting_a_colleague_in_a_browser(request, browser, nap_server, sessions, settings):
    add_user(sessions, "alice@example.com")
    database = request.node.callspec.params["database_url"]
    pages = Pages(browser, nap_server.url, prefix=f"portal-accounts-{database}-")
    url = nap_server.url
    try:
        me = pages.context().new_page()
        me.goto(url + "/login")
        me.get_by_role("link", name="Forgot your password?").click()
        me.get_by_label("E-mail address").fill("alice@example.com")
        pages.check(me, "forgot")
        me.get_by_role("button", name="Mail me a link").click()
        expect(me.get_by_test_id("reset-sent")).to_contain_text("If an account has the address alice@example.com")
        pages.check(me, "forgot-sent")

        # The mail leaves from a background thread: wait for the outbox.
        mails = wait_until(lambda: outbox_mails(settings.mail_outbox_dir, to="alice@example.com"),
                           what="the verification mail to alice@example.com")
        me.goto(url + link_in(mails[-1], "/reset"))
        me.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        me.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
        pages.check(me, "reset")
        me.get_by_role("button", name="Set the password").click()
        expect(me.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(me.get_by_role("status").first).to_contain_text("Your new password is set")
        me.get_by_label("E-mail address").fill("alice@example.com")
        me.get_by_label("Password").fill(NEW_PASSWORD)
        me.get_by_role("button", name="Sign in").click()
        expect(me.get_by_role("heading", name="My feeds")).to_be_visible()

        me.get_by_role("link", name="Colleagues").click()
        me.get_by_label("Colleague's e-mail address").fill("bob@example.com")
        pages.check(me, "colleagues")
        me.get_by_role("button", name="Send the invitation").click()
        expect(me.get_by_role("status").first).to_contain_text("Invitation sent to bob@example.com")
        expect(me.get_by_test_id("pending")).to_contain_text("bob@example.com")
        pages.check_on_phone(me, "colleagues-pending")

        bob = pages.context().new_page()
        [invitation] = outbox_mails(settings.mail_outbox_dir, to="bob@example.com")
        bob.goto(url + link_in(invitation, "/invite"))
        expect(bob.get_by_test_id("invited-email")).to_have_text("bob@example.com")
        bob.get_by_label("Password", exact=True).fill(PASSWORD)
        bob.get_by_label("Repeat the password").fill(PASSWORD)
        pages.check(bob, "invite-accept")
        bob.get_by_role("button", name="Create my account").click()
        expect(bob.get_by_role("heading", name="My feeds")).to_be_visible()
        bob.goto(url + link_in(invitation, "/invite"))
        expect(bob.get_by_test_id("link-invalid")).to_be_visible()
        pages.check(bob, "link-invalid")
        assert pages.outside == [], "pages must load nothing from other sites"
    finally:
        pages.close()
