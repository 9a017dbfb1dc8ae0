"""Issue #16 in the portal, over real HTTP on SQLite and PostgreSQL: the admins decide party
claims from their evidence (verify, revoke, move; two feeds on one pair), reject a
registration or suspend a feed with a reason the CPO reads, and the CPO edits its feed's
connection or withdraws it, its data then leaving the public API."""
from __future__ import annotations

import base64
import html
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import func, select

from nap.worker import due_feeds
from nap.feeds import add_feed, get_feed, issue_push_token
from nap.ocpi.values import format_datetime
from nap.portal.ownership import add_owner
from nap.store.tables import COMPLETED_RUN_STATUSES, FeedEvent, FeedParty, HarvestRun, Location
from tests.harvest_helpers import fleet_with_flaws, harvest, verbatim_cpo
from tests.portal_fixtures import PortalClient, add_user, worker_tick
from tests.test_portal_http import client  # noqa: F401 (a fixture)


@pytest.fixture
def admin(client, sessions):
    add_user(sessions, "admin@example.com", role="admin")
    browser = client()
    assert browser.login("admin@example.com").status_code == 302
    return browser


def published_ids(nap_server) -> set[str]:
    """The location ids the public OCPI API serves."""
    answer = httpx.get(f"{nap_server.url}/ocpi/2.3.0/locations", params={"limit": 1000})
    assert answer.status_code == 200
    return {location["id"] for location in answer.json()["data"]}


def cpo_registers(client, cpo, email: str, name: str = "demo", party_id: str = "ABC") -> tuple[PortalClient, int]:
    browser = client()
    browser.signup(email)
    registered = browser.register_feed(cpo, name=name, party_id=party_id)
    assert registered.status_code == 302, registered.text[:500]
    return browser, int(registered.headers["location"].rsplit("/", 1)[1])


def post_admin(admin: PortalClient, path: str, data: dict | None = None, status: str | None = None) -> str:
    """Post an admin form from the admin page; the text of the page it leads back to."""
    admin.get("/admin/" + (f"?status={status}" if status else ""))
    answer = admin.post(path + (f"?status={status}" if status else ""), data)
    assert answer.status_code == 302, (answer.status_code, answer.text[:500])
    return html.unescape(admin.follow(answer).text)


def claim_state(sessions, feed_id: int, pair=("DE", "ABC")) -> str | None:
    with sessions() as session:
        return session.scalar(select(FeedParty.state).where(
            FeedParty.feed_id == feed_id, FeedParty.country_code == pair[0], FeedParty.party_id == pair[1]))


def event_kinds(sessions, feed_id: int) -> list[str]:
    with sessions() as session:
        return session.scalars(select(FeedEvent.kind).where(FeedEvent.feed_id == feed_id).order_by(FeedEvent.id)).all()


def card(page: str, pair: str, feed: str) -> str:
    """The admin page's evidence card of one feed's claim on one pair."""
    section = page.split(f'data-pair="{pair}"', 1)[1].split("</section>", 1)[0]
    return section.split(f'data-claim="{feed}"', 1)[1].split("</li>", 1)[0]


def test_an_admin_verifies_a_claim_from_its_evidence_and_the_next_harvest_publishes(
        client, admin, sessions, demo_cpo, nap_server):
    cpo = demo_cpo(locations=5)
    alice, feed_id = cpo_registers(client, cpo, "alice@example.com")
    assert claim_state(sessions, feed_id) == "claimed"
    post_admin(admin, f"/admin/feeds/{feed_id}/approve")
    worker_tick(nap_server)
    # Approved and harvested, but nothing is published under an unverified claim...
    with sessions() as session:
        assert session.scalar(select(HarvestRun.status).where(HarvestRun.feed_id == feed_id)) \
            in COMPLETED_RUN_STATUSES
    assert published_ids(nap_server) == set()
    mine = alice.get("/portal/").text
    assert "active, publishes nothing" in mine and '<span class="badge ok">met</span>' not in mine

    # ...and the admin sees why, with the evidence: the form named DE/ABC, and the EVSE
    # ids the harvest served carry DE*ABC.
    page = html.unescape(admin.get("/admin/").text)
    row = page.split('data-feed="demo"', 1)[1].split("</tr>", 1)[0]
    assert cpo.versions_url in row and "alice@example.com" in row
    assert '<code>DE/ABC</code></a> <span class="badge warn">claimed</span>' in row
    evidence = card(page, "DE/ABC", "demo")
    assert "in the registration form" in evidence and "127.0.0.1" in evidence
    assert "<code>DE*ABC</code> × " in evidence and "carries DE*ABC" in evidence

    verified = post_admin(admin, f"/admin/feeds/{feed_id}/parties/DE/ABC/verify")
    assert "DE/ABC verified for demo; harvest requested, the worker starts it within half a minute." in verified
    worker_tick(nap_server)
    assert claim_state(sessions, feed_id) == "verified"
    assert published_ids(nap_server) == {location["id"] for location in cpo.app.config["FLEET"].locations}
    assert "party_verified" in event_kinds(sessions, feed_id)
    page = alice.get(f"/portal/feeds/{feed_id}").text
    assert "DE/ABC</code> <span class=\"badge ok\">verified</span>" in page and "verified by admin@example.com" in page

    # Bad input is a message, never a 500.
    for path, message in ((f"/admin/feeds/{feed_id}/parties/DE/TOOLONG/verify", "not a country code and party id"),
                          (f"/admin/feeds/{feed_id}/parties/D%00/ABC/verify", "not a country code and party id"),
                          (f"/admin/feeds/{feed_id}/parties/DE/XYZ/revoke", "has no claim on DE/XYZ to revoke")):
        assert message in post_admin(admin, path), path
    admin.get("/admin/")
    assert admin.post(f"/admin/feeds/{feed_id}/parties/DE/ABC/explode").status_code == 404
    assert admin.post("/admin/feeds/999999/parties/DE/ABC/verify").status_code == 404
    assert alice.post(f"/admin/feeds/{feed_id}/parties/DE/ABC/revoke").status_code == 403


def two_feeds_on_one_pair(client, admin, sessions, demo_cpo, nap_server):
    """Alice's "rightful" feed and Mallory's "impostor" both claim DE/ABC; both approved
    and harvested."""
    rightful_cpo, impostor_cpo = demo_cpo(locations=4), demo_cpo(locations=3, seed=2)
    alice, rightful = cpo_registers(client, rightful_cpo, "alice@example.com", name="rightful")
    mallory, impostor = cpo_registers(client, impostor_cpo, "mallory@example.com", name="impostor")
    for feed_id in (rightful, impostor):
        post_admin(admin, f"/admin/feeds/{feed_id}/approve")
    worker_tick(nap_server)
    return (alice, rightful, rightful_cpo), (mallory, impostor, impostor_cpo)


def test_two_feeds_claim_one_pair_side_by_side_and_the_admin_verifies_the_rightful_one(
        client, admin, sessions, demo_cpo, nap_server):
    (alice, rightful, rightful_cpo), (mallory, impostor, _) = two_feeds_on_one_pair(
        client, admin, sessions, demo_cpo, nap_server)
    page = html.unescape(admin.get("/admin/").text)
    section = page.split('data-pair="DE/ABC"', 1)[1].split("</section>", 1)[0]
    assert "claimed by 2 feeds" in section
    assert "impostor (active, claimed)" in card(page, "DE/ABC", "rightful")  # each names its rival
    assert "rightful (active, claimed)" in card(page, "DE/ABC", "impostor")
    for feed in ("rightful", "impostor"):
        assert "Verify DE/ABC for " + feed in card(page, "DE/ABC", feed)

    post_admin(admin, f"/admin/feeds/{rightful}/parties/DE/ABC/verify")
    worker_tick(nap_server)
    assert (claim_state(sessions, rightful), claim_state(sessions, impostor)) == ("verified", "claimed")
    assert published_ids(nap_server) == {loc["id"] for loc in rightful_cpo.app.config["FLEET"].locations}
    # The impostor's claim can no longer be verified, only moved to: the page offers that,
    # and a forged verify is a message.
    page = html.unescape(admin.get("/admin/").text)
    assert "Verify DE/ABC" not in card(page, "DE/ABC", "impostor")
    assert "Move DE/ABC to impostor" in card(page, "DE/ABC", "impostor")
    refused = post_admin(admin, f"/admin/feeds/{impostor}/parties/DE/ABC/verify")
    assert "DE/ABC is verified for feed 'rightful': move it instead" in refused
    assert claim_state(sessions, impostor) == "claimed"

    revoked = post_admin(admin, f"/admin/feeds/{impostor}/parties/DE/ABC/revoke", {"reason": "not their party"})
    assert "impostor's claim on DE/ABC revoked" in revoked
    assert claim_state(sessions, impostor) == "revoked"
    assert "not their party" in mallory.get(f"/portal/feeds/{impostor}").text
    assert published_ids(nap_server) == {loc["id"] for loc in rightful_cpo.app.config["FLEET"].locations}


def test_the_admin_moves_a_verified_pair_to_another_feed(client, admin, sessions, demo_cpo, nap_server):
    (alice, old, old_cpo), (_, new, new_cpo) = two_feeds_on_one_pair(client, admin, sessions, demo_cpo, nap_server)
    post_admin(admin, f"/admin/feeds/{old}/parties/DE/ABC/verify")
    worker_tick(nap_server)
    before = published_ids(nap_server)

    moved = post_admin(admin, f"/admin/feeds/{new}/parties/DE/ABC/move", {"reason": "changed back-end provider"})
    assert "DE/ABC moved to impostor; harvest requested, the worker starts it within half a minute." in moved
    worker_tick(nap_server)
    assert (claim_state(sessions, old), claim_state(sessions, new)) == ("revoked", "verified")
    # The new feed's full harvest publishes what it serves, and what it does not serve
    # (of the old feed's) is no longer published.
    assert published_ids(nap_server) == {loc["id"] for loc in new_cpo.app.config["FLEET"].locations} != before
    for feed_id in (old, new):
        assert "party_moved" in event_kinds(sessions, feed_id)
    assert "changed back-end provider" in html.unescape(alice.get(f"/portal/feeds/{old}").text)
    # Moving onto a feed that holds it already changes nothing; a pair nobody holds is refused.
    assert "DE/ABC moved to impostor" in post_admin(admin, f"/admin/feeds/{new}/parties/DE/ABC/move")
    assert "verified for no feed" in post_admin(admin, f"/admin/feeds/{new}/parties/NL/QQQ/move")


def test_the_admin_rejects_a_registration_with_a_reason_the_cpo_reads(client, admin, sessions, demo_cpo):
    cpo = demo_cpo(locations=2)
    alice, feed_id = cpo_registers(client, cpo, "alice@example.com")
    page = admin.get("/admin/?status=pending").text
    row = page.split('data-feed="demo"', 1)[1].split("</tr>", 1)[0]
    # A pending feed is approved or rejected; it is not suspended.
    assert "Reject demo" in row and "Approve demo" in row and "Suspend" not in row
    assert "cannot be suspended" in post_admin(admin, f"/admin/feeds/{feed_id}/suspend", {"reason": "x"})

    no_reason = post_admin(admin, f"/admin/feeds/{feed_id}/reject", {"reason": "  "}, status="pending")
    assert "Give a reason to reject demo" in no_reason
    with sessions() as session:
        assert get_feed(session, "demo").status == "pending"

    reason = "The versions URL is a test server <b>not</b> your production system."
    rejected = admin.post(f"/admin/feeds/{feed_id}/reject?status=pending", {"reason": reason})
    # Back to the list the admin was looking at.
    assert rejected.headers["location"] == "/admin/?status=pending"
    with sessions() as session:
        assert get_feed(session, "demo").status == "rejected"
        assert [feed.name for feed in due_feeds(session, datetime.now(timezone.utc))] == []
    assert claim_state(sessions, feed_id) == "revoked"
    assert event_kinds(sessions, feed_id)[-2:] == ["rejected", "party_revoked"]

    feed_page = alice.get(f"/portal/feeds/{feed_id}").text
    assert "Rejected by the administrators" in feed_page
    shown = feed_page.split('data-testid="decision-reason">', 1)[1].split("</span>", 1)[0]
    assert html.unescape(shown) == reason
    assert "<b>not</b>" not in feed_page  # the reason is text, not markup
    # Nothing more to do with a rejected feed: no handshake, no edits, no withdrawal.
    assert 'action="/portal/feeds/%d/connection"' % feed_id not in feed_page
    assert "Withdraw demo" not in feed_page
    alice.get(f"/portal/feeds/{feed_id}")
    assert alice.post(f"/portal/feeds/{feed_id}/connection", {"interval_minutes": "5"}).status_code == 302
    with sessions() as session:
        assert get_feed(session, "demo").interval_minutes != 5
    filtered = admin.get("/admin/?status=rejected").text
    assert 'data-feed="demo"' in filtered and reason.split("<", 1)[0] in html.unescape(filtered)
    assert 'data-feed="demo"' not in admin.get("/admin/?status=active").text


def test_suspending_needs_a_reason_the_cpo_reads(client, admin, sessions, demo_cpo, nap_server):
    cpo = demo_cpo(locations=2)
    alice, feed_id = cpo_registers(client, cpo, "alice@example.com")
    post_admin(admin, f"/admin/feeds/{feed_id}/approve")
    worker_tick(nap_server)
    assert "Give a reason to suspend demo" in post_admin(admin, f"/admin/feeds/{feed_id}/suspend")
    # A NUL, which no database text column takes, is dropped rather than answered with a 500.
    post_admin(admin, f"/admin/feeds/{feed_id}/suspend", {"reason": "Your data shows chargers\x00 in the sea."})
    page = alice.get(f"/portal/feeds/{feed_id}").text
    assert "Suspended by the administrators" in page
    assert 'data-testid="decision-reason">Your data shows chargers in the sea.<' in page


def verified_and_harvested(client, admin, sessions, cpo, nap_server, email="alice@example.com"):
    alice, feed_id = cpo_registers(client, cpo, email)
    post_admin(admin, f"/admin/feeds/{feed_id}/parties/DE/ABC/verify")
    post_admin(admin, f"/admin/feeds/{feed_id}/approve")
    worker_tick(nap_server)
    assert published_ids(nap_server) == {loc["id"] for loc in cpo.app.config["FLEET"].locations}
    return alice, feed_id


def _push_header(token: str) -> dict:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def test_the_cpo_withdraws_its_feed_and_its_data_leaves_the_publication(
        client, admin, sessions, demo_cpo, nap_server):
    cpo = demo_cpo(locations=4)
    alice, feed_id = verified_and_harvested(client, admin, sessions, cpo, nap_server)
    with sessions.begin() as session:
        push_token = issue_push_token(session, get_feed(session, "demo"))
    assert client().get("/").text.split('data-testid="cpos">', 1)[1].startswith("1<")
    assert client().get("/cpos/demo").status_code == 200

    bob = client()
    bob.signup("bob@example.com")
    assert bob.get(f"/portal/feeds/{feed_id}/withdraw").status_code == 404
    assert bob.post(f"/portal/feeds/{feed_id}/withdraw", {"confirm": "withdraw"}).status_code == 404

    confirm = alice.get(f"/portal/feeds/{feed_id}/withdraw")
    assert confirm.status_code == 200 and 'data-testid="published">4<' in confirm.text
    unconfirmed = alice.post(f"/portal/feeds/{feed_id}/withdraw", {})
    assert unconfirmed.status_code == 422
    with sessions() as session:
        assert get_feed(session, "demo").status == "active"
    assert len(published_ids(nap_server)) == 4

    done = alice.post(f"/portal/feeds/{feed_id}/withdraw", {"confirm": "withdraw", "reason": "we close down"})
    assert done.status_code == 302
    served = len(cpo.app.config["FLEET"].locations) + len(cpo.app.config["FLEET"].tariffs)
    assert f"demo is withdrawn: {served} published objects left the publication" in html.unescape(
        alice.follow(done).text)
    assert published_ids(nap_server) == set()
    with sessions() as session:
        assert get_feed(session, "demo").status == "withdrawn"
        assert [feed.name for feed in due_feeds(session, datetime.now(timezone.utc))] == []
        # The history stays: the rows are there, marked removed.
        assert session.scalar(select(func.count()).select_from(Location).where(
            Location.feed_id == feed_id, Location.removed_at.is_not(None))) == 4
    assert claim_state(sessions, feed_id) == "revoked"
    assert event_kinds(sessions, feed_id)[-2:] == ["party_revoked", "withdrawn"]
    page = alice.get(f"/portal/feeds/{feed_id}").text
    assert "Withdrawn: not harvested" in page and "we close down" in page
    assert client().get("/").text.split('data-testid="cpos">', 1)[1].startswith("0<")
    assert client().get("/cpos/demo").status_code == 404

    # Its pushes are refused, by the receiver and by the one-statement EVSE patch.
    location = cpo.app.config["FLEET"].locations[0]
    stamp = format_datetime(datetime.now(timezone.utc))
    url = f"{nap_server.url}/ocpi/2.3.0/receiver/locations/DE/ABC/{location['id']}"
    put = httpx.put(url, json={**location, "last_updated": stamp}, headers=_push_header(push_token))
    assert put.status_code == 403 and "withdrawn" in put.json()["status_message"]
    patch = httpx.patch(f"{url}/{location['evses'][0]['uid']}", json={"status": "CHARGING", "last_updated": stamp},
                        headers=_push_header(push_token))
    assert patch.status_code == 403
    assert published_ids(nap_server) == set()
    # No second withdrawal, no handshake that would claim the parties again.
    alice.get(f"/portal/feeds/{feed_id}")
    assert alice.post(f"/portal/feeds/{feed_id}/handshake").status_code == 302
    assert claim_state(sessions, feed_id) == "revoked"
    assert "nothing to withdraw" in html.unescape(
        alice.follow(alice.post(f"/portal/feeds/{feed_id}/withdraw", {"confirm": "withdraw"})).text)
    admin.get("/admin/")
    assert "it publishes nothing" in post_admin(admin, f"/admin/feeds/{feed_id}/parties/DE/ABC/verify")
    assert claim_state(sessions, feed_id) == "revoked"


def test_the_cpo_edits_the_versions_url_interval_and_token(client, admin, sessions, demo_cpo, nap_server):
    old_cpo, new_cpo = demo_cpo(locations=3), demo_cpo(locations=2, seed=2)
    alice, feed_id = verified_and_harvested(client, admin, sessions, old_cpo, nap_server)
    page = alice.get(f"/portal/feeds/{feed_id}").text
    assert f'value="{old_cpo.versions_url}"' in page

    wrong = alice.post(f"/portal/feeds/{feed_id}/connection",
                       {"versions_url": "ftp://nope", "interval_minutes": "0", "token": "has space"})
    assert wrong.status_code == 422
    for field in ("versions_url", "interval_minutes", "token"):
        assert f'id="f-{field}-error"' in wrong.text
    with sessions() as session:
        assert get_feed(session, "demo").versions_url == old_cpo.versions_url

    alice.get(f"/portal/feeds/{feed_id}")
    saved = alice.post(f"/portal/feeds/{feed_id}/connection",
                       {"versions_url": new_cpo.versions_url, "interval_minutes": "5", "token": ""})
    assert saved.status_code == 302
    assert "Saved: versions URL" in html.unescape(alice.follow(saved).text)
    with sessions() as session:
        feed = get_feed(session, "demo")
        assert (feed.versions_url, feed.interval_minutes, feed.last_full_sync_at) == (new_cpo.versions_url, 5, None)
        event = session.scalar(select(FeedEvent).where(FeedEvent.feed_id == feed_id, FeedEvent.kind == "connection"))
        assert old_cpo.versions_url in event.message and "15 → 5 min" in event.message

    # The next harvest reads the new endpoint, in full: the old one's locations leave.
    assert harvest(sessions, nap_server.app.extensions["nap.settings"], "demo").status in COMPLETED_RUN_STATUSES
    assert published_ids(nap_server) == {loc["id"] for loc in new_cpo.app.config["FLEET"].locations}

    # A new TOKEN_A runs the handshake again: a new registration (POST), not a PUT.
    alice.get(f"/portal/feeds/{feed_id}")
    handshake = alice.post(f"/portal/feeds/{feed_id}/connection",
                           {"token": new_cpo.token, "auth_mode": "handshake"})
    assert "Credentials handshake succeeded" in html.unescape(alice.follow(handshake).text)
    with sessions() as session:
        assert get_feed(session, "demo").token == new_cpo.app.config["TOKEN_C"]
    assert [r["method"] for r in new_cpo.app.config["REQUEST_LOG"] if r["path"].endswith("/credentials")] == ["POST"]

    bob = client()
    bob.signup("bob@example.com")
    bob.get("/portal/")
    assert bob.post(f"/portal/feeds/{feed_id}/connection", {"interval_minutes": "1"}).status_code == 404


def test_public_figures_count_operators_and_a_feed_that_publishes_nothing_is_not_green(
        client, admin, sessions, settings, live_server, nap_server):
    # One feed publishing for two parties (a back-end provider): two operators.
    abc, _ = fleet_with_flaws(locations=3, party_id="ABC")
    xyz, _ = fleet_with_flaws(locations=2, party_id="XYZ", seed=4)
    abc.locations.extend(xyz.locations)
    abc.tariffs.extend(xyz.tariffs)
    provider = verbatim_cpo(live_server, abc)
    alice = add_user(sessions, "alice@example.com")
    with sessions.begin() as session:
        feed = add_feed(session, name="provider", versions_url=provider.versions_url, token=provider.token,
                        country_code="DE", party_id="ABC", parties=(("DE", "XYZ"),))
        # Another feed, claiming a pair nobody verified: harvested, publishes nothing.
        idle = add_feed(session, name="idle", versions_url=provider.versions_url, token=provider.token,
                        country_code="DE", party_id="QQQ", claim_source="form")
        add_owner(session, feed.id, alice)
        add_owner(session, idle.id, alice)
    for name in ("provider", "idle"):
        assert harvest(sessions, settings, name).status in COMPLETED_RUN_STATUSES

    overview = client().get("/").text
    assert overview.split('data-testid="cpos">', 1)[1].startswith("2<")
    assert overview.split('data-testid="locations">', 1)[1].startswith("5<")
    assert "<code>DE/ABC</code>, <code>DE/XYZ</code>" in overview and ">idle<" not in overview
    assert client().get("/cpos/idle").status_code == 404

    cpo = client()
    cpo.login("alice@example.com")
    mine = cpo.get("/portal/").text
    idle_row = mine.split(">idle</a>", 1)[1].split("</tr>", 1)[0]
    provider_row = mine.split(">provider</a>", 1)[1].split("</tr>", 1)[0]
    assert "badge ok" not in idle_row and "active, publishes nothing" in idle_row
    assert '<span class="badge ok">active</span>' in provider_row and '<span class="badge ok">met</span>' in provider_row
    idle_page = cpo.get(f"/portal/feeds/{idle.id}").text
    assert 'data-testid="nothing-published"' in idle_page and "badge ok" not in idle_page.split("<h2>Latest harvest", 1)[0]
    admin_row = admin.get("/admin/").text.split('data-feed="idle"', 1)[1].split("</tr>", 1)[0]
    assert "active, publishes nothing" in admin_row
    assert '<span class="badge ok">active' not in admin_row and '<span class="badge ok">met' not in admin_row
