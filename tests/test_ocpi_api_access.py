"""Who sees what, how often: publish=false locations and consumer tokens, the visibility
window of REMOVED EVSEs, rate limits with 429, unknown tokens, and `nap consumers`."""
from __future__ import annotations

import base64

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from nap.cli import main
from nap.store.tables import Consumer
from tests.test_ocpi_api_fixtures import (
    CC, LOCATIONS, NEW_REMOVED, OLD_REMOVED, PARTY, PRIVATE_NOBODY, PRIVATE_SHARED, fetch_all, location_id,
    token_header,
)

# The shared data set (fixture `published`): one harvest per database for the whole session.
pytest_plugins = ["tests.test_ocpi_api_fixtures"]


def ids(objects) -> set[str]:
    return {obj["id"] for obj in objects}


def location_path(index: int, version: str = "2.3.0") -> str:
    return f"/ocpi/{version}/locations/{CC}/{PARTY}/{location_id(index)}"


# -- publish=false --------------------------------------------------------------------------------


def test_private_locations_are_served_only_to_holders_of_a_listed_token(published):
    everyone = ids(fetch_all(published.url("/ocpi/2.3.0/locations"))[0])
    holder, responses = fetch_all(published.url("/ocpi/2.3.0/locations"), token_header(published.consumer_token))
    stranger = ids(fetch_all(published.url("/ocpi/2.3.0/locations"), token_header(published.stranger_token))[0])
    public = {location_id(i) for i in range(LOCATIONS)} - {location_id(PRIVATE_SHARED), location_id(PRIVATE_NOBODY)}
    assert everyone == stranger == public  # the stranger's uid matches but its type does not
    assert ids(holder) == public | {location_id(PRIVATE_SHARED)}
    assert responses[0].headers["X-Total-Count"] == str(len(public) + 1)

    private = next(loc for loc in holder if loc["id"] == location_id(PRIVATE_SHARED))
    assert private["publish"] is False
    # Only the entry the consumer holds: the other entries are other people's tokens.
    assert private["publish_allowed_to"] == [{"uid": "RFID-0001", "type": "RFID"}]
    stored = dict(published.locations[location_id(PRIVATE_SHARED)])
    assert {**private, "publish_allowed_to": stored["publish_allowed_to"]} == stored

    for headers, status in (({}, 404), (token_header(published.stranger_token), 404),
                            (token_header(published.consumer_token), 200)):
        assert httpx.get(published.url(location_path(PRIVATE_SHARED)), headers=headers).status_code == status
    assert httpx.get(published.url(location_path(PRIVATE_NOBODY)),
                     headers=token_header(published.consumer_token)).status_code == 404


def test_a_token_is_accepted_base64_encoded_or_plain_and_an_unknown_one_is_401(published):
    plain = {"Authorization": f"Token {published.consumer_token}"}
    assert httpx.get(published.url(location_path(PRIVATE_SHARED)), headers=plain).status_code == 200
    for header in ("Token " + base64.b64encode(b"no-such-token").decode(), "Token no-such-token", "Bearer x"):
        response = httpx.get(published.url("/ocpi/2.3.0/locations"), headers={"Authorization": header})
        body = response.json()
        assert response.status_code == 401 and body["status_code"] == 2000 and "data" not in body
        assert "token" in body["status_message"] and response.headers["WWW-Authenticate"].startswith("Token")
    on_map = httpx.get(published.url("/api/v1/locations"), params={"bbox": "5,47,15,55"},
                       headers={"Authorization": "Token nope"})
    assert on_map.status_code == 401 and "token" in on_map.json()["error"]


# -- REMOVED EVSEs -----------------------------------------------------------------------------------


def test_removed_evses_stay_visible_for_the_configured_time_then_leave(published):
    listed = {loc["id"]: loc for loc in fetch_all(published.url("/ocpi/2.3.0/locations"))[0]}
    recent = listed[location_id(NEW_REMOVED)]["evses"]
    assert [e["status"] for e in recent][0] == "REMOVED"
    assert len(recent) == len(published.locations[location_id(NEW_REMOVED)]["evses"])
    old_stored = published.locations[location_id(OLD_REMOVED)]["evses"]
    old_uid = old_stored[0]["uid"]
    assert old_stored[0]["status"] == "REMOVED"  # removed 72 h ago: past the default 48 h
    assert [e["uid"] for e in listed[location_id(OLD_REMOVED)]["evses"]] == [e["uid"] for e in old_stored[1:]]

    patient = published.nap_with(removed_evse_visible_hours=100)
    evse = httpx.get(f"{patient.url}{location_path(OLD_REMOVED)}/{old_uid}")
    assert evse.status_code == 200 and evse.json()["data"]["status"] == "REMOVED"
    hasty = published.nap_with(removed_evse_visible_hours=0)
    location = httpx.get(f"{hasty.url}{location_path(NEW_REMOVED)}").json()["data"]
    assert "REMOVED" not in [e["status"] for e in location["evses"]]


# -- rate limits --------------------------------------------------------------------------------------


def test_anonymous_clients_are_limited_per_address_with_a_clear_429(published):
    nap = published.nap_with(api_rate_limit_per_minute=3, api_trusted_proxies=1)
    url = f"{nap.url}/ocpi/2.3.0/tariffs"
    client_a = {"X-Forwarded-For": "192.0.2.1"}
    remaining = [httpx.get(url, headers=client_a).headers["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = httpx.get(url, headers=client_a)
    body = refused.json()
    assert refused.status_code == 429 and body["status_code"] == 2000 and "data" not in body
    assert "3 requests per minute" in body["status_message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 20
    # Another client has its own bucket, and so has the map API's caller (same buckets, JSON errors).
    assert httpx.get(url, headers={"X-Forwarded-For": "192.0.2.2"}).status_code == 200
    on_map = httpx.get(f"{nap.url}/api/v1/locations", params={"bbox": "5,47,15,55"}, headers=client_a)
    assert on_map.status_code == 429 and "rate limit" in on_map.json()["error"]


def test_a_consumer_token_has_its_own_higher_limit(published):
    nap = published.nap_with(api_rate_limit_per_minute=2, api_consumer_rate_limit_per_minute=50)
    url = f"{nap.url}/ocpi/2.3.0/tariffs"
    assert [httpx.get(url).status_code for _ in range(3)] == [200, 200, 429]
    consumer = [httpx.get(url, headers=token_header(published.stranger_token)) for _ in range(5)]
    assert [r.status_code for r in consumer] == [200] * 5
    assert consumer[-1].headers["X-RateLimit-Limit"] == "50"


# -- the CLI ---------------------------------------------------------------------------------------------


def test_nap_consumers_add_prints_a_working_token_once_and_stores_only_its_hash(published, monkeypatch):
    monkeypatch.setenv("NAP_DATABASE_URL", published.database_url)
    runner = CliRunner()
    result = runner.invoke(main, ["consumers", "add", "--name", "fleet-app", "--rate-limit", "300",
                                  "--publish-token", "group_id=fleet-7"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with published.sessions() as session:
        consumer = session.scalars(select(Consumer).where(Consumer.name == "fleet-app")).one()
        assert consumer.rate_limit_per_minute == 300 and consumer.publish_tokens == [{"group_id": "fleet-7"}]
        stored = session.execute(select(Consumer.__table__)).all()
    assert token not in repr(stored) and len(token) >= 32
    response = httpx.get(published.url(location_path(PRIVATE_SHARED)), headers=token_header(token))
    assert response.status_code == 200  # FLEET-7 is listed; group_id is a CiString
    assert response.json()["data"]["publish_allowed_to"] == [{"group_id": "FLEET-7"}]

    listing = runner.invoke(main, ["consumers", "list"])
    assert "fleet-app\t300/min\t1 publish tokens" in listing.output and token not in listing.output
    assert runner.invoke(main, ["consumers", "remove", "fleet-app"]).exit_code == 0
    assert httpx.get(published.url("/ocpi/2.3.0/tariffs"), headers=token_header(token)).status_code == 401


@pytest.mark.parametrize("argument, complaint", [
    ("uid=123", "type"), ("visual_number=42", "issuer"), ("type=RFID", "at least one"),
    ("uid=1,type=BADGE", "type: Input should be"), ("colour=red", "key=value"),
])
def test_nap_consumers_add_rejects_publish_tokens_the_spec_forbids(published, monkeypatch, argument, complaint):
    monkeypatch.setenv("NAP_DATABASE_URL", published.database_url)
    result = CliRunner().invoke(main, ["consumers", "add", "--name", "bad", "--publish-token", argument])
    assert result.exit_code != 0 and complaint in result.output
    with published.sessions() as session:
        assert session.scalar(select(Consumer.id).where(Consumer.name == "bad")) is None
