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
from datetime import datetime, timezone

import httpx
import pytest

from exporters.consumers import add_consumer, parse_publish_token
from nap.demo_cpo.fleet import generate_fleet
from nap.demo_cpo.server import DemoOptions, create_app
from nap.feeds import add_feed, issue_push_token
from nap.ocpi.values import format_datetime
from nap.portal.ownership import add_owner
from tests.harvest_helpers import harvest
from tests.portal_fixtures import PortalClient, add_user

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
    ]


def test_the_authorization_matrix(world):
    mismatches = []
    for method, path, kind, body, expected in _rows(world):
        for actor in ACTORS:
            status = _call(world, actor, method, path, kind, body)
            if status != expected[actor]:
                mismatches.append(f"{actor:9} {method:6} {path}: {status}, expected {expected[actor]}")
    assert not mismatches, "\n".join(mismatches)
