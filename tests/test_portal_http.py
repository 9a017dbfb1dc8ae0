"""The portal over real HTTP, on SQLite and PostgreSQL: accounts and sessions, CSRF,
roles and ownership, registering a feed through approval, harvest and suspension, the
credentials handshake, push tokens, and the session key all processes share."""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone

import httpx
import limits.storage.memory
import pytest
from sqlalchemy import select, update
from werkzeug.security import check_password_hash

from nap.worker import due_feeds
from nap.app import create_app
from nap.feeds import get_feed
from nap.store.tables import COMPLETED_RUN_STATUSES, Feed, FeedEvent, FeedOwner, HarvestRun, PortalSession, User
from nap.tokens import token_hash
from tests.portal_fixtures import PASSWORD, PortalClient, add_user, worker_tick
from tests.settings_helpers import replace
from tests.waiting import OffsetClock


@pytest.fixture
def client(nap_server):
    clients = []

    def make() -> PortalClient:
        clients.append(PortalClient(nap_server.url))
        return clients[-1]

    yield make
    for c in clients:
        c.close()


def now() -> datetime:
    return datetime.now(timezone.utc)


def test_sign_up_stores_a_hash_and_sessions_follow_sign_in_and_out(client, sessions):
    alice = client()
    page = alice.get("/signup")
    assert page.status_code == 200 and 'autocomplete="new-password"' in page.text
    short = alice.post("/signup", {"email": "alice@example.com", "password": "short", "password_repeat": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    differ = alice.post("/signup", {"email": "alice@example.com", "password": PASSWORD, "password_repeat": PASSWORD + "x"})
    assert differ.status_code == 422 and "The two passwords differ" in differ.text

    created = alice.signup("Alice@Example.com ")
    assert created.status_code == 302 and created.headers["location"] == "/portal/"
    cookie = created.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = alice.follow(created)
    assert home.status_code == 200 and "alice@example.com" in home.text and "My feeds" in home.text
    with sessions() as session:
        user = session.scalar(select(User).where(User.email == "alice@example.com"))
        assert user.role == "cpo" and PASSWORD not in user.password_hash
        assert check_password_hash(user.password_hash, PASSWORD)

    again = client().signup("alice@example.com")
    assert again.status_code == 422 and "exists already" in again.text

    out = alice.post("/logout")
    assert out.status_code == 302
    locked = alice.get("/portal/")
    assert locked.status_code == 302 and locked.headers["location"].startswith("/login?next=/portal/")
    assert alice.login("alice@example.com", "wrong password!").status_code == 401
    back = alice.login("ALICE@example.com")
    assert back.status_code == 302 and alice.follow(back).status_code == 200


def test_every_form_needs_the_csrf_token_of_its_own_session(client):
    alice, mallory = client(), client()
    alice.signup("alice@example.com")
    alice.get("/portal/feeds/new")
    assert alice.post("/logout", csrf=False).status_code == 400  # no token at all
    mallory.get("/signup")  # mallory's own, valid token for mallory's session
    assert alice.post("/logout", {"csrf_token": mallory.token}).status_code == 400
    refused = mallory.post("/signup", {"csrf_token": "forged", "email": "m@example.com",
                                       "password": PASSWORD, "password_repeat": PASSWORD})
    assert refused.status_code == 400 and "CSRF" in refused.text
    assert alice.get("/portal/").status_code == 200  # still signed in: the forged posts did nothing


def _copy_of(browser: PortalClient, base_url: str) -> httpx.Client:
    """Another client holding the same cookies: a session cookie copied off the machine."""
    return httpx.Client(base_url=base_url, cookies=httpx.Cookies(browser.http.cookies), follow_redirects=False)


def _sessions_of(sessions, email: str) -> list[PortalSession]:
    with sessions() as session:
        return session.scalars(select(PortalSession).join(User, User.id == PortalSession.user_id)
                               .where(User.email == email).order_by(PortalSession.created_at)).all()


def test_signing_out_ends_the_session_on_the_server_so_a_copied_cookie_stops_working(
        client, sessions, nap_server):
    add_user(sessions, "alice@example.com")
    alice = client()
    assert alice.login("alice@example.com").status_code == 302
    stolen = _copy_of(alice, nap_server.url)
    assert stolen.get("/portal/").status_code == 200  # the copy is as good as the original...

    alice.get("/portal/")
    assert alice.post("/logout").status_code == 302
    locked = stolen.get("/portal/")  # ...until alice signs out
    assert locked.status_code == 302 and locked.headers["location"].startswith("/login?next=/portal/")
    assert stolen.get("/portal/password").status_code == 302
    [row] = _sessions_of(sessions, "alice@example.com")
    assert row.revoked_at is not None and len(row.id_hash) == 64
    # The cookie holds a random id and no user id; the table holds only the id's hash.
    signer = nap_server.app.session_interface.get_signing_serializer(nap_server.app)
    content = signer.loads(stolen.cookies["nap_session"])
    assert "uid" not in content and hashlib.sha256(content["sid"].encode()).hexdigest() == row.id_hash
    # Signing in again is a new session: the old cookie stays dead.
    assert alice.login("alice@example.com").status_code == 302
    assert alice.get("/portal/").status_code == 200 and stolen.get("/portal/").status_code == 302
    stolen.close()


def test_changing_the_password_ends_every_other_session_of_the_user(client, sessions, nap_server):
    add_user(sessions, "alice@example.com")
    add_user(sessions, "bob@example.com")
    laptop, phone, bob = client(), client(), client()
    for browser, email in ((laptop, "alice@example.com"), (phone, "alice@example.com"), (bob, "bob@example.com")):
        assert browser.login(email).status_code == 302
    stolen = _copy_of(phone, nap_server.url)
    assert stolen.get("/portal/").status_code == 200

    page = laptop.get("/portal/password")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.text
    new_password = "a brand new passphrase"
    wrong = laptop.post("/portal/password", {"current_password": "not my password", "password": new_password,
                                             "password_repeat": new_password})
    assert wrong.status_code == 422 and "not your current password" in wrong.text
    short = laptop.post("/portal/password", {"current_password": PASSWORD, "password": "short",
                                             "password_repeat": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    assert stolen.get("/portal/").status_code == 200  # refused changes end nothing

    changed = laptop.post("/portal/password", {"current_password": PASSWORD, "password": new_password,
                                               "password_repeat": new_password})
    assert changed.status_code == 302
    assert "signed out everywhere else" in laptop.follow(changed).text  # this browser stays signed in
    for other in (phone.http, stolen):
        refused = other.get("/portal/")
        assert refused.status_code == 302 and refused.headers["location"].startswith("/login?next=/portal/")
    assert bob.get("/portal/").status_code == 200  # other users' sessions are not touched
    rows = _sessions_of(sessions, "alice@example.com")
    assert [row.revoked_at is None for row in rows] == [False, False, True]  # the laptop's new one lives

    assert client().login("alice@example.com").status_code == 401  # the old password is gone
    assert client().login("alice@example.com", new_password).status_code == 302
    stolen.close()


def test_cookies_from_before_server_side_sessions_read_as_signed_out(client, sessions, nap_server):
    """Before migration 0009 the cookie held the user id and a password fingerprint; such a
    cookie, though validly signed, no longer signs anyone in."""
    user_id = add_user(sessions, "alice@example.com")
    client().get("/login")  # resolves the signing key
    app = nap_server.app
    with sessions() as session:
        password_hash = session.get(User, user_id).password_hash
    signer = app.session_interface.get_signing_serializer(app)
    old_style = signer.dumps({"uid": user_id, "pw": hashlib.sha256(password_hash.encode()).hexdigest()[:32],
                              "_permanent": True})
    made_up = signer.dumps({"sid": "no-such-session", "_permanent": True})
    for cookie in (old_style, made_up):
        with httpx.Client(base_url=nap_server.url, cookies={"nap_session": cookie}) as browser:
            response = browser.get("/portal/")
            assert response.status_code == 302 and response.headers["location"].startswith("/login")


def test_expired_sessions_are_refused_and_deleted_at_the_next_sign_in(client, sessions):
    add_user(sessions, "alice@example.com")
    add_user(sessions, "bob@example.com")
    alice = client()
    alice.login("alice@example.com")
    assert alice.get("/portal/").status_code == 200
    [row] = _sessions_of(sessions, "alice@example.com")
    assert timedelta(hours=11, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=12)
    with sessions.begin() as session:
        session.execute(update(PortalSession).values(expires_at=now() - timedelta(seconds=1)))
    assert alice.get("/portal/").status_code == 302
    assert client().login("bob@example.com").status_code == 302  # anyone's sign-in clears them away
    assert _sessions_of(sessions, "alice@example.com") == []
    assert len(_sessions_of(sessions, "bob@example.com")) == 1


def test_cpos_see_only_their_own_feeds_and_admins_see_all(client, sessions, demo_cpo):
    cpo = demo_cpo(locations=3)
    alice, bob = client(), client()
    alice.signup("alice@example.com")
    registered = alice.register_feed(cpo)
    assert registered.status_code == 302
    feed_path = registered.headers["location"]
    bob.signup("bob@example.com")
    assert bob.get(feed_path).status_code == 404
    assert bob.get(feed_path + "/quality").status_code == 404
    assert "demo" not in bob.get("/portal/").text
    assert bob.get("/admin/").status_code == 403
    bob.get("/portal/")
    feed_id = int(feed_path.rsplit("/", 1)[1])
    assert bob.post(f"/admin/feeds/{feed_id}/approve").status_code == 403
    with sessions() as session:
        assert session.get(Feed, feed_id).status == "pending"
        assert session.scalars(select(FeedOwner.user_id).where(FeedOwner.feed_id == feed_id)).all() == [
            session.scalar(select(User.id).where(User.email == "alice@example.com"))]

    add_user(sessions, "admin@example.com", role="admin")
    admin = client()
    signed_in = admin.login("admin@example.com")
    assert signed_in.headers["location"] == "/admin/"
    overview = admin.follow(signed_in)
    assert 'data-feed="demo"' in overview.text and "alice@example.com" in overview.text
    assert admin.get(feed_path).status_code == 200


def test_a_registered_feed_waits_for_approval_then_is_harvested_suspended_and_resumed(
        client, sessions, demo_cpo, nap_server):
    cpo = demo_cpo(locations=6, broken_objects=1)
    alice = client()
    alice.signup("alice@example.com")
    page = alice.follow(alice.register_feed(cpo))
    assert "Waiting for approval" in page.text and "No harvest yet" in page.text
    with sessions() as session:
        feed = get_feed(session, "demo")
        assert feed.status == "pending" and feed.country_code == "DE" and feed.party_id == "ABC"
        assert [feed.name for feed in due_feeds(session, now())] == []  # the worker leaves it alone
    # A pending feed gets no push token: it could write to NAP before anyone approved it.
    assert alice.post(f"/portal/feeds/{feed.id}/push-token").status_code == 409

    add_user(sessions, "admin@example.com", role="admin")
    admin = client()
    admin.login("admin@example.com")
    admin.get("/admin/")
    # The CPO's claim on DE/ABC, verified: only then is what it serves published.
    assert admin.post(f"/admin/feeds/{feed.id}/parties/DE/ABC/verify").status_code == 302
    admin.get("/admin/")
    approved = admin.post(f"/admin/feeds/{feed.id}/approve")
    assert approved.status_code == 302
    # The portal asks for the first harvest; the worker's next tick runs it.
    assert "harvest requested, the worker starts it within half a minute" in admin.follow(approved).text
    assert 'data-testid="harvest-requested"' in alice.get(f"/portal/feeds/{feed.id}").text
    with sessions() as session:
        assert session.scalars(select(HarvestRun).where(HarvestRun.feed_id == feed.id)).all() == []
    assert worker_tick(nap_server) == ["demo"]
    with sessions() as session:
        runs = session.scalars(select(HarvestRun).where(HarvestRun.feed_id == feed.id)).all()
        assert [run.status for run in runs] in (["success"], ["degraded"])
        assert get_feed(session, "demo").status == "active"
    page = alice.get(f"/portal/feeds/{feed.id}")
    assert f"#{runs[0].id}" in page.text and "Harvested on schedule" in page.text
    assert 'data-testid="harvest-requested"' not in page.text
    broken = cpo.app.config["BROKEN_IDS"][0]
    assert broken in page.text  # among the last errors: skipped in the latest harvest
    assert "within the 24 h limit" in page.text  # static freshness met right after the harvest

    issued = alice.post(f"/portal/feeds/{feed.id}/push-token")
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    token = issued.text.split('data-testid="push-token">', 1)[1].split("<", 1)[0]
    with sessions() as session:
        assert get_feed(session, "demo").inbound_token_hash == token_hash(token)
    assert token not in alice.get(f"/portal/feeds/{feed.id}").text  # shown once only

    admin.get("/admin/")
    assert admin.post(f"/admin/feeds/{feed.id}/suspend", {"reason": "tests"}).status_code == 302
    with sessions() as session:
        assert get_feed(session, "demo").status == "suspended"
        assert [feed.name for feed in due_feeds(session, now())] == []
    assert "Suspended by the administrators" in alice.get(f"/portal/feeds/{feed.id}").text
    admin.get("/admin/")
    assert admin.post(f"/admin/feeds/{feed.id}/approve").status_code == 302  # not allowed from suspended
    with sessions() as session:
        assert get_feed(session, "demo").status == "suspended"
    assert "cannot be approved" in admin.get("/admin/").text
    assert admin.post(f"/admin/feeds/{feed.id}/resume").status_code == 302
    assert worker_tick(nap_server) == ["demo"]  # though its last run was a moment ago
    with sessions() as session:
        assert get_feed(session, "demo").status == "active"
        kinds = session.scalars(select(FeedEvent.kind).where(FeedEvent.feed_id == feed.id).order_by(FeedEvent.id)).all()
        assert kinds == ["party_claimed", "registered", "party_verified", "approved", "push_token", "suspended",
                         "resumed"]
        assert len(session.scalars(select(HarvestRun).where(HarvestRun.feed_id == feed.id)).all()) == 2


def test_registration_with_a_handshake_shows_its_outcome(client, sessions, demo_cpo):
    good, bad = demo_cpo(locations=2), demo_cpo(locations=2, seed=2)
    alice = client()
    alice.signup("alice@example.com")
    page = alice.follow(alice.register_feed(good, auth_mode="handshake"))
    assert "Credentials handshake succeeded" in page.text
    token_c = good.app.config["TOKEN_C"]
    assert token_c
    with sessions() as session:
        feed = get_feed(session, "demo")
        assert feed.token == token_c and feed.registered_at is not None
        assert feed.status == "pending"  # a handshake is no approval

    failed = alice.follow(alice.register_feed(bad, name="other", auth_mode="handshake", token="not-token-a",
                                              party_id="XYZ"))
    assert "Credentials handshake failed" in failed.text
    with sessions() as session:
        event = session.scalar(select(FeedEvent).where(FeedEvent.kind == "handshake", FeedEvent.ok.is_(False)))
        assert event is not None and event.feed_id == get_feed(session, "other").id


def test_form_errors_are_shown_next_to_their_fields(client, demo_cpo):
    cpo = demo_cpo(locations=1)
    alice = client()
    alice.signup("alice@example.com")
    alice.get("/portal/feeds/new")
    response = alice.post("/portal/feeds/new", {"name": "x", "versions_url": "ftp://nope", "auth_mode": "magic",
                                                "token": "", "country_code": "Deutschland", "party_id": "AB"})
    assert response.status_code == 422
    for field in ("name", "versions_url", "auth_mode", "token", "country_code", "party_id"):
        assert f'id="f-{field}-error"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert alice.follow(alice.register_feed(cpo)).status_code == 200
    taken = alice.register_feed(cpo, name="demo")
    assert taken.status_code == 422 and "exists already" in taken.text
    # A pair another feed claims is claimed again, beside it: the admins decide (nap/parties.py).
    rival = alice.register_feed(cpo, name="second")
    assert rival.status_code == 302 and "awaiting an administrator" in alice.follow(rival).text


def test_all_processes_share_one_session_key(client, sessions, settings, live_server):
    """Two app instances on one database (two gunicorn workers): a cookie from one is good at the other."""
    add_user(sessions, "alice@example.com")
    first = client()
    assert first.login("alice@example.com").status_code == 302
    second_server = live_server(create_app(settings))
    second = httpx.Client(base_url=second_server.url, cookies=first.http.cookies)
    assert second.get("/portal/").status_code == 200
    # With NAP_SECRET_KEY set, that key signs cookies, and the database key is not accepted.
    third_server = live_server(create_app(replace(settings, secret_key="configured-secret-key")))
    third = httpx.Client(base_url=third_server.url, cookies=first.http.cookies)
    assert third.get("/portal/").status_code == 302
    second.close()
    third.close()


def test_portal_pages_send_security_headers_and_load_nothing_from_elsewhere(client, sessions, nap_server):
    public = client()
    for path in ("/", "/map", "/login", "/signup"):
        response = public.get(path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        # Every script, stylesheet and image the page names lives on NAP itself.
        for url in re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', response.text):
            assert url.startswith("/"), url
            assert public.get(url).status_code == 200, url


@pytest.mark.parametrize("path", ["/docs", "/downloads", "/downloads.json", "/openapi.json", "/ocpi/versions",
                                  "/health"])
def test_every_page_outside_the_portal_sends_security_headers_too(nap_server, path):
    """/docs and /downloads are HTML pages too: they must not be framed, sniffed, or run
    anything but what NAP wrote (they had no headers at all)."""
    response = httpx.get(f"{nap_server.url}{path}")
    assert response.status_code == 200, path
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "script-src" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_the_docs_page_style_is_allowed_by_its_policy(nap_server):
    import base64
    import hashlib

    response = httpx.get(f"{nap_server.url}/docs")
    style = re.search(r"<style>(.*?)</style>", response.text, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in response.headers["content-security-policy"]


def test_nginx_sends_hsts_and_security_headers_on_every_location():
    from pathlib import Path

    conf = (Path(__file__).resolve().parent.parent / "deploy" / "nginx" / "nap.conf").read_text()
    tls = conf.split("listen 443", 1)[1]
    assert re.search(r'add_header Strict-Transport-Security "max-age=\d{8,}; includeSubDomains" always;', tls)
    # add_header in a location drops every add_header of the server block: the downloads
    # location must repeat them.
    downloads = tls.split("location /downloads/", 1)[1].split("}", 2)
    block = downloads[0] + downloads[1]
    assert "Strict-Transport-Security" in block and "X-Content-Type-Options" in block


@pytest.mark.parametrize("method, path", [("POST", "/ocpi/2.3.0/locations"), ("DELETE", "/api/v1/locations"),
                                          ("POST", "/docs"), ("PUT", "/ready"), ("POST", "/downloads")])
def test_a_405_says_which_methods_are_allowed(nap_server, method, path):
    response = httpx.request(method, f"{nap_server.url}{path}")
    assert response.status_code == 405
    assert "GET" in {m.strip() for m in response.headers["allow"].split(",")}


@pytest.mark.parametrize("per", ["account", "address"])
def test_password_guessing_is_throttled_until_the_window_passes(sessions, settings, live_server, per,
                                                                monkeypatch):
    """40 wrong passwords, then the right one: refused (429) until the window has passed,
    per account, and per client address whatever accounts it tries. The window passes on
    the limiter's clock (limits' memory storage), moved on by the test."""
    if settings.database_url.startswith("postgresql"):
        pytest.skip("the throttle keeps its counts in memory: the database plays no part")
    clock = OffsetClock()
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    window = 900
    throttled = replace(settings, login_failure_window_seconds=window, login_max_failures_per_account=10,
                        login_max_failures_per_address=30 if per == "address" else 1000)
    if per == "address":
        throttled = replace(throttled, login_max_failures_per_account=1000)
    add_user(sessions, "alice@example.com")
    server = live_server(create_app(throttled))
    browser = PortalClient(server.url)
    statuses = [browser.login("alice@example.com" if per == "account" else f"guess{i}@example.com",
                              "wrong password!").status_code for i in range(40)]
    limit = 10 if per == "account" else 30
    assert statuses[:limit] == [401] * limit and set(statuses[limit:]) == {429}, statuses
    refused = browser.login("alice@example.com")
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text
    assert refused.headers["retry-after"] == str(window)
    clock.advance(window // 2)
    assert browser.login("alice@example.com").status_code == 429
    # The window began with the first failure counted, a few seconds of sign-ins ago.
    clock.advance(window // 2 + 1)
    assert browser.login("alice@example.com").status_code == 302
    browser.close()


def _power_class(watts: int) -> str:
    # AFIR Annex III bands, written out independently of nap.portal.stats.
    for label, below in (("Slow: under 7.4 kW", 7400), ("Medium: 7.4 to 22 kW", 22001),
                         ("Fast: over 22 and under 50 kW", 50000), ("Ultra-fast: 50 to under 150 kW", 150000),
                         ("Ultra-fast: 150 to under 350 kW", 350000)):
        if watts < below:
            return label
    return "Ultra-fast: 350 kW and more"


def test_the_overview_agrees_with_the_published_data(client, sessions, settings, demo_cpo):
    from tests.harvest_helpers import register_and_harvest, stored_locations

    cpo = demo_cpo(locations=15, broken_objects=2)
    fleet = cpo.app.config["FLEET"].locations
    hidden = next(loc for loc in fleet if loc["id"] not in cpo.app.config["BROKEN_IDS"])
    hidden["publish"] = False
    assert register_and_harvest(sessions, settings, cpo, country_code="DE", party_id="ABC").status \
        in COMPLETED_RUN_STATUSES
    public = [loc for loc in stored_locations(sessions).values() if loc["publish"]]
    evses = [evse for loc in public for evse in loc["evses"] if evse["status"] != "REMOVED"]
    classes: dict[str, int] = {}
    for evse in evses:
        label = _power_class(max(c["max_electric_power"] for c in evse["connectors"]))
        classes[label] = classes.get(label, 0) + 1
    available = sum(1 for evse in evses if evse["status"] == "AVAILABLE")

    page = client().get("/").text
    figure = lambda name: page.split(f'data-testid="{name}">', 1)[1].split("<", 1)[0]  # noqa: E731
    assert (figure("cpos"), figure("locations"), figure("evses")) == ("1", str(len(public)), str(len(evses)))
    assert figure("available") == f"{round(100 * available / len(evses), 1)} %"
    for label, count in classes.items():
        assert f'<th scope="row">{label}</th><td class="num">{count}</td>' in page, label
    assert sum(classes.values()) == len(evses)

    cpo_page = client().get("/cpos/demo")
    assert cpo_page.status_code == 200 and f'data-testid="locations">{len(public)}<' in cpo_page.text
    with sessions.begin() as session:
        get_feed(session, "demo").status = "pending"
    assert client().get("/cpos/demo").status_code == 404  # not approved: not public


def test_sign_in_goes_back_only_to_pages_of_this_site(client, sessions):
    add_user(sessions, "alice@example.com")
    for target, expected in (("/portal/lookup?q=LOC1", "/portal/lookup?q=LOC1"), ("//evil.example/x", "/portal/"),
                             ("/\\evil.example", "/portal/"), ("https://evil.example/", "/portal/")):
        alice = client()
        alice.get("/login")
        response = alice.post("/login", {"email": "alice@example.com", "password": PASSWORD, "next": target})
        assert response.headers["location"] == expected, target


def test_the_feed_page_and_the_admin_page_show_a_degraded_run_its_counts_and_reasons(
        client, sessions, settings, live_server):
    from nap.portal.ownership import add_owner
    from tests.harvest_helpers import fleet_with_flaws, harvest, register, served_units, verbatim_cpo

    fleet, dropped = fleet_with_flaws(locations=20, drop=2, voltages_as_text=3)
    evses, _ = served_units(fleet)
    register(sessions, verbatim_cpo(live_server, fleet), name="shaky")
    steady_fleet, _ = fleet_with_flaws(locations=4, party_id="XYZ")
    register(sessions, verbatim_cpo(live_server, steady_fleet), name="steady", country_code="DE", party_id="XYZ")
    shaky, steady = harvest(sessions, settings, "shaky"), harvest(sessions, settings, "steady")
    assert (shaky.status, steady.status) == ("degraded", "success")
    alice = add_user(sessions, "alice@example.com")
    with sessions.begin() as session:
        add_owner(session, get_feed(session, "shaky").id, alice)
        feed_id = get_feed(session, "shaky").id
    cpo_client = client()
    cpo_client.login("alice@example.com")

    page = cpo_client.get(f"/portal/feeds/{feed_id}").text
    latest = page.split('data-testid="latest-run">', 1)[1].split("</p>", 1)[0]
    assert f"Run #{shaky.id}" in latest and '<span class="badge warn">degraded</span>' in latest
    assert f"({2} of {evses})" in latest and "More than 1 % of the EVSEs" in latest
    units = page.split('data-testid="unit-counts">', 1)[1].split("</table>", 1)[0]
    row = units.split('data-unit="evses">', 1)[1].split("</tr>", 1)[0]
    stored, repaired = shaky.unit_counts["evses"]["stored"], shaky.unit_counts["evses"]["repaired"]
    assert stored == evses - 2 and [cell.split("<", 1)[0] for cell in row.split('<td class="num">')[1:]] == [
        str(evses), str(stored), str(repaired), f"2 ({100 * 2 / evses:.1f} %)"]
    errors = page.split('data-testid="top-errors">', 1)[1].split("</table>", 1)[0]
    assert errors.count("<tr>") == 2  # the header, and one group for both dropped EVSEs
    assert ('<td class="num">2</td><td><code>evses[].connectors</code></td>' in errors
            and f"<code>{min(dropped)}</code>" in errors)
    repairs = page.split('data-testid="top-repairs">', 1)[1].split("</table>", 1)[0]
    voltage = next(row for row in repairs.split("<tr>") if "max_voltage</code>" in row)
    assert voltage.startswith('<td class="num">3</td>') and "e.g. " in voltage  # three values, one group
    # The degraded run's findings are the current ones: its skipped EVSEs are the last errors.
    last_errors = page.split("<h2>Last errors</h2>", 1)[1].split("<h2>", 1)[0]
    assert all(ref in last_errors for ref in dropped)
    history = page.split('data-testid="runs">', 1)[1].split("</table>", 1)[0]
    assert '<span class="badge warn">degraded</span>' in history and f"2 of {evses}" in history

    add_user(sessions, "admin@example.com", role="admin")
    admin = client()
    admin.login("admin@example.com")
    overview = admin.get("/admin/").text
    shaky_row = overview.split('data-feed="shaky">', 1)[1].split("</tr>", 1)[0]
    steady_row = overview.split('data-feed="steady">', 1)[1].split("</tr>", 1)[0]
    assert '<span class="badge warn">degraded</span>' in shaky_row and f"2 of {evses}" in shaky_row
    assert f"{stored} stored, {repaired} repaired" in shaky_row
    assert '<span class="badge ok">success</span>' in steady_row and "degraded" not in steady_row
    assert f"0 of {served_units(steady_fleet)[0]}" in steady_row and 'data-testid="published">4<' in steady_row
    last_runs = overview.split('data-testid="last-runs">', 1)[1].split("</p>", 1)[0]
    assert [count.split("<", 1)[0].strip(" ·\n") for count in last_runs.split("</span>")[1:]] == ["1", "1", "0"]
