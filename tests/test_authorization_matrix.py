"""Who may do what: anonymous, an API consumer, CPO A, CPO B and an administrator against
every kind of endpoint, in one table.

Reading the public data needs nothing; a publish=false location only reaches the consumer
holding a listed token; the public API is read-only; a CPO pushes only its own objects
(with its feed's push token) and sees only its own feeds in the portal; the admin pages are
the administrators'. Fails without the protections: with the receiver's party check
removed, CPO B can PUT a new location under A's party (checked); with the publication
rule removed, everyone sees the private location; with the admin role check removed, the
CPOs reach /admin/."""
from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import select

from exporters.consumers import add_consumer, parse_publish_token
from demo_cpo.fleet import generate_fleet
from demo_cpo.server import DemoOptions, create_app
from nap.feeds import add_feed, get_feed, issue_push_token
from nap.ocpi.values import format_datetime
from nap.parties import PartyError, move, revoke, verify
from nap.portal.ownership import add_owner
from nap.store.tables import COMPLETED_RUN_STATUSES, Location
from tests.harvest_helpers import findings, harvest
from tests.portal_fixtures import PortalClient, add_user
from tests.settings_helpers import replace as replace_settings

ACTORS = ("anonymous", "consumer", "cpo_a", "cpo_b", "admin")


def _token_header(token: str) -> dict:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


@pytest.fixture
def world(live_server, nap_server, sessions, settings):
    feeds = {}
    for party in ("AAA", "BBB"):
        fleet = generate_fleet(locations=3, party_id=party)
        cpo = live_server(create_app(fleet, DemoOptions()))
        with sessions.begin() as session:
            feed = add_feed(session, name=f"cpo-{party}", versions_url=f"{cpo.url}/ocpi/versions",
                            token="demo-token", country_code="DE", party_id=party)
            feeds[party] = {"id": feed.id, "push": issue_push_token(session, feed),
                            "location": fleet.locations[0]}
        assert harvest(sessions, settings, f"cpo-{party}").status == "success"
    private = {**feeds["AAA"]["location"], "id": "PRIVATE", "publish": False,
               "publish_allowed_to": [{"uid": "RFID-1", "type": "RFID"}],
               "last_updated": format_datetime(datetime.now(timezone.utc))}
    put = httpx.put(f"{nap_server.url}/ocpi/2.3.0/receiver/locations/DE/AAA/PRIVATE", json=private,
                    headers=_token_header(feeds["AAA"]["push"]))
    assert put.status_code == 200, put.text
    user_a, user_b = add_user(sessions, "a@cpo.example"), add_user(sessions, "b@cpo.example")
    with sessions.begin() as session:
        _, consumer_token = add_consumer(session, "navigator", publish_tokens=[parse_publish_token("uid=RFID-1,type=RFID")])
        add_owner(session, feeds["AAA"]["id"], user_a)
        add_owner(session, feeds["BBB"]["id"], user_b)
    add_user(sessions, "admin@nap.example", role="admin")
    portal = {}
    for actor, email in (("cpo_a", "a@cpo.example"), ("cpo_b", "b@cpo.example"), ("admin", "admin@nap.example")):
        portal[actor] = PortalClient(nap_server.url)
        assert portal[actor].login(email).status_code in (302, 303)
    portal["anonymous"] = portal["consumer"] = None
    yield {"url": nap_server.url, "feeds": feeds, "consumer": consumer_token, "portal": portal}
    for client in portal.values():
        if client is not None:
            client.close()


def _api_headers(world, actor: str, kind: str) -> dict:
    """The credential each actor presents: consumers their API token, CPOs their push token on
    the receiver; everyone else reads the public API anonymously."""
    if actor == "consumer":
        return _token_header(world["consumer"])
    if kind == "push" and actor in ("cpo_a", "cpo_b"):
        return _token_header(world["feeds"]["AAA" if actor == "cpo_a" else "BBB"]["push"])
    return {}


def _call(world, actor: str, method: str, path: str, kind: str, body=None) -> int:
    if kind == "page":
        client = world["portal"][actor]
        if client is None:
            return httpx.request(method, world["url"] + path, follow_redirects=False).status_code
        if method == "GET":
            return client.get(path).status_code
        client.get("/portal/" if actor != "admin" else "/admin/")  # a fresh CSRF token
        return client.post(path, body or {}).status_code
    return httpx.request(method, world["url"] + path, json=body,
                         headers=_api_headers(world, actor, kind)).status_code


def _rows(world):
    a, b = world["feeds"]["AAA"], world["feeds"]["BBB"]
    location, evse = a["location"]["id"], a["location"]["evses"][0]["uid"]
    stamp = format_datetime(datetime.now(timezone.utc))
    patch = {"status": "CHARGING", "last_updated": stamp}
    new_location = {**a["location"], "id": "NEW", "last_updated": stamp}
    everyone = dict.fromkeys(ACTORS, 200)
    # (method, path, kind, body, expected status per actor)
    return [
        ("GET", "/ocpi/versions", "api", None, everyone),
        ("GET", "/ocpi/2.3.0/locations", "api", None, everyone),
        ("GET", "/ocpi/2.2.1/locations", "api", None, everyone),
        ("GET", f"/ocpi/2.3.0/locations/DE/AAA/{location}", "api", None, everyone),
        ("GET", "/ocpi/2.3.0/locations/DE/AAA/PRIVATE", "api", None,
         {"anonymous": 404, "consumer": 200, "cpo_a": 404, "cpo_b": 404, "admin": 404}),
        ("GET", "/ocpi/2.3.0/tariffs", "api", None, everyone),
        ("POST", "/ocpi/2.3.0/locations", "api", {}, dict.fromkeys(ACTORS, 405)),
        ("PUT", f"/ocpi/2.3.0/locations/DE/AAA/{location}", "api", {}, dict.fromkeys(ACTORS, 405)),
        ("DELETE", f"/ocpi/2.3.0/locations/DE/AAA/{location}", "api", None, dict.fromkeys(ACTORS, 405)),
        ("GET", "/api/v1/locations?bbox=5,47,15,55", "api", None, everyone),
        ("GET", "/datex2/v3.7/energy-infrastructure/table", "api", None, everyone),
        ("GET", "/datex2/v3.7/energy-infrastructure/status?profile=afir", "api", None, everyone),
        ("GET", "/downloads.json", "api", None, everyone),
        ("GET", "/openapi.json", "api", None, everyone),
        ("GET", f"/ocpi/2.3.0/receiver/locations/DE/AAA/{location}", "push", None,
         {"anonymous": 401, "consumer": 401, "cpo_a": 200, "cpo_b": 404, "admin": 401}),
        ("PATCH", f"/ocpi/2.3.0/receiver/locations/DE/AAA/{location}/{evse}", "push", patch,
         {"anonymous": 401, "consumer": 401, "cpo_a": 200, "cpo_b": 404, "admin": 401}),
        ("PUT", "/ocpi/2.3.0/receiver/locations/DE/AAA/NEW", "push", new_location,
         {"anonymous": 401, "consumer": 401, "cpo_a": 200, "cpo_b": 404, "admin": 401}),
        ("PATCH", f"/ocpi/2.2.1/receiver/locations/DE/BBB/{b['location']['id']}/{b['location']['evses'][0]['uid']}",
         "push", patch, {"anonymous": 401, "consumer": 401, "cpo_a": 404, "cpo_b": 200, "admin": 401}),
        ("DELETE", "/ocpi/2.3.0/receiver/tariffs/DE/BBB/NOPE", "push", None,
         {"anonymous": 401, "consumer": 401, "cpo_a": 404, "cpo_b": 404, "admin": 401}),
        ("GET", "/", "page", None, everyone),
        ("GET", "/map", "page", None, everyone),
        ("GET", "/portal/", "page", None, {"anonymous": 302, "consumer": 302, "cpo_a": 200, "cpo_b": 200, "admin": 200}),
        ("GET", f"/portal/feeds/{a['id']}", "page", None,
         {"anonymous": 302, "consumer": 302, "cpo_a": 200, "cpo_b": 404, "admin": 200}),
        ("GET", f"/portal/feeds/{a['id']}/quality", "page", None,
         {"anonymous": 302, "consumer": 302, "cpo_a": 200, "cpo_b": 404, "admin": 200}),
        ("GET", "/admin/", "page", None, {"anonymous": 302, "consumer": 302, "cpo_a": 403, "cpo_b": 403, "admin": 200}),
        ("POST", f"/admin/feeds/{b['id']}/suspend", "page", None,
         {"anonymous": 400, "consumer": 400, "cpo_a": 403, "cpo_b": 403, "admin": 302}),
        ("POST", f"/admin/feeds/{b['id']}/resume", "page", None,
         {"anonymous": 400, "consumer": 400, "cpo_a": 403, "cpo_b": 403, "admin": 302}),
        ("POST", f"/admin/feeds/{b['id']}/parties/DE/BBB/verify", "page", None,
         {"anonymous": 400, "consumer": 400, "cpo_a": 403, "cpo_b": 403, "admin": 302}),
        ("POST", f"/admin/feeds/{a['id']}/parties/DE/AAA/revoke", "page", None,
         {"anonymous": 400, "consumer": 400, "cpo_a": 403, "cpo_b": 403, "admin": 302}),
        ("POST", f"/portal/feeds/{a['id']}/connection", "page", {"interval_minutes": "20"},
         {"anonymous": 400, "consumer": 400, "cpo_a": 302, "cpo_b": 404, "admin": 302}),
        ("GET", f"/portal/feeds/{a['id']}/withdraw", "page", None,
         {"anonymous": 302, "consumer": 302, "cpo_a": 200, "cpo_b": 404, "admin": 200}),
        # Unconfirmed: refused, and the feed stays.
        ("POST", f"/portal/feeds/{a['id']}/withdraw", "page", None,
         {"anonymous": 400, "consumer": 400, "cpo_a": 422, "cpo_b": 404, "admin": 422}),
    ]


def test_the_authorization_matrix(world):
    mismatches = []
    for method, path, kind, body, expected in _rows(world):
        for actor in ACTORS:
            status = _call(world, actor, method, path, kind, body)
            if status != expected[actor]:
                mismatches.append(f"{actor:9} {method:6} {path}: {status}, expected {expected[actor]}")
    assert not mismatches, "\n".join(mismatches)


# -- Party claims: who publishes under a pair (nap/parties.py) ----------------------------------


def _published(url: str) -> set[tuple[str, str]]:
    """(party, location id) of every published location."""
    data = httpx.get(f"{url}/ocpi/2.3.0/locations", params={"limit": 1000}).json()["data"]
    return {(location["party_id"], location["id"]) for location in data}


def _served(sessions, settings, name: str):
    run = harvest(sessions, settings, name)
    assert run.status in COMPLETED_RUN_STATUSES, run.error
    return run


def test_only_a_verified_party_publishes_by_harvest_or_push(live_server, nap_server, sessions, settings):
    xss = generate_fleet(locations=3, party_id="XSS")
    # A feed registered for DE/INJ that also serves objects under DE/XSS.
    inj = generate_fleet(locations=2, party_id="INJ")
    injected = {**xss.locations[0], "id": "INJECTED", "name": "Not XSS's"}
    injector = live_server(create_app(replace(inj, locations=[*inj.locations, injected]), DemoOptions()))
    rightful = live_server(create_app(xss, DemoOptions()))
    with sessions.begin() as session:
        injector_feed = add_feed(session, name="injector", versions_url=f"{injector.url}/ocpi/versions",
                                 token="demo-token", country_code="DE", party_id="INJ")
        # Two claims on DE/XSS, both from the registration form, neither verified.
        for name, cpo in (("impostor", injector), ("rightful", rightful)):
            add_feed(session, name=name, versions_url=f"{cpo.url}/ocpi/versions", token="demo-token",
                     country_code="DE", party_id="XSS", claim_source="form")
        rightful_push = issue_push_token(session, get_feed(session, "rightful"))
        injector_push = issue_push_token(session, injector_feed)

    run = _served(sessions, settings, "injector")
    assert run.objects_new == 2 + len(inj.tariffs)
    assert any(f.reason.startswith("DE/XSS is not a verified party of this feed") for f in findings(sessions))
    assert _served(sessions, settings, "rightful").objects_new == 0  # claimed, not verified
    assert {party for party, _ in _published(nap_server.url)} == {"INJ"}

    # Pushes under an unverified claim or another feed's party change nothing.
    location = {**xss.locations[1], "last_updated": format_datetime(datetime.now(timezone.utc))}
    url = f"{nap_server.url}/ocpi/2.3.0/receiver/locations/DE/XSS/{location['id']}"
    for token, message in ((rightful_push, "not verified yet"), (injector_push, "not a party registered")):
        answer = httpx.put(url, json=location, headers=_token_header(token))
        assert answer.status_code == 404 and message in answer.json()["status_message"]
    assert {party for party, _ in _published(nap_server.url)} == {"INJ"}

    # The administrator verifies the rightful claim: the conflicting claim locked nobody out.
    with sessions.begin() as session:
        verify(session, get_feed(session, "rightful"), "DE", "XSS", user_id=None)
        with pytest.raises(PartyError, match="verified for feed 'rightful'"):
            verify(session, get_feed(session, "impostor"), "DE", "XSS", user_id=None)
    assert _served(sessions, settings, "rightful").objects_new == 3 + len(xss.tariffs)
    answer = httpx.put(url, json={**location, "name": "Pushed by XSS"}, headers=_token_header(rightful_push))
    assert answer.json()["status_code"] == 1000, answer.text
    assert _published(nap_server.url) >= {("XSS", loc["id"]) for loc in xss.locations}
    assert ("XSS", "INJECTED") not in _published(nap_server.url)
    _served(sessions, settings, "injector")  # still refused after the verification
    assert ("XSS", "INJECTED") not in _published(nap_server.url)


def test_a_moved_party_publishes_only_from_its_new_feed(live_server, nap_server, sessions, settings):
    fleet = generate_fleet(locations=3, party_id="MOV")
    old_backend = live_server(create_app(fleet, DemoOptions()))
    new_backend = live_server(create_app(fleet, DemoOptions()))
    with sessions.begin() as session:
        add_feed(session, name="old-backend", versions_url=f"{old_backend.url}/ocpi/versions", token="demo-token",
                 country_code="DE", party_id="MOV")
        add_feed(session, name="new-backend", versions_url=f"{new_backend.url}/ocpi/versions", token="demo-token")
        old_push = issue_push_token(session, get_feed(session, "old-backend"))
        new_push = issue_push_token(session, get_feed(session, "new-backend"))
    _served(sessions, settings, "old-backend")
    ids = {("MOV", loc["id"]) for loc in fleet.locations}
    assert _published(nap_server.url) == ids

    with sessions.begin() as session:
        move(session, "DE", "MOV", get_feed(session, "new-backend"), user_id=None, reason="new back end")
    assert _published(nap_server.url) == ids  # the objects moved with the party, still published
    evse = fleet.locations[0]["evses"][0]["uid"]
    url = f"{nap_server.url}/ocpi/2.3.0/receiver/locations/DE/MOV/{fleet.locations[0]['id']}/{evse}"
    patch = {"status": "OUTOFORDER", "last_updated": format_datetime(datetime.now(timezone.utc))}
    assert httpx.patch(url, json=patch, headers=_token_header(old_push)).status_code == 404
    stale = _served(sessions, replace_settings(settings, full_sync_hours=0), "old-backend")  # a full pull
    assert (stale.objects_new, stale.objects_changed, stale.objects_skipped) == (0, 0, 3 + len(fleet.tariffs))
    assert _published(nap_server.url) == ids
    answer = httpx.patch(url, json=patch, headers=_token_header(new_push))
    assert answer.json()["status_code"] == 1000, answer.text
    run = _served(sessions, settings, "new-backend")
    assert run.objects_new == 0  # the locations and tariffs moved with the party
    with sessions() as session:
        owners = set(session.scalars(select(Location.feed_id).where(Location.party_id == "MOV")))
        assert owners == {get_feed(session, "new-backend").id}

    # Revoked: what the feed published under the pair leaves the publication.
    with sessions.begin() as session:
        revoke(session, get_feed(session, "new-backend"), "DE", "MOV", user_id=None, reason="contract ended")
    assert _published(nap_server.url) == set()
