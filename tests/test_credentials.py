"""The OCPI credentials handshake against the demo CPO's credentials module, per version."""
from __future__ import annotations


import json

import pytest

from harvesters.credentials import handshake, unregister
from nap.feeds import add_feed, get_feed
from nap.parties import claims, verify
from nap.tokens import token_hash
from tests.conftest import OCPI_SPEC
from tests.harvest_helpers import harvest


@pytest.mark.parametrize("version", ["2.3.0", "2.2.1", "2.1.1"])
def test_handshake_swaps_token_a_for_token_c_and_registers_parties(version, demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=6, ocpi_version=version, token="token-a")
    with sessions.begin() as session:
        add_feed(session, name="cpo", versions_url=cpo.versions_url, token="token-a")
    result = handshake(sessions, settings, "cpo")
    assert result.ok, result.message
    assert result.version == version
    posted = cpo.app.config["CLIENT_CREDENTIALS"]
    token_c = cpo.app.config["TOKEN_C"]
    if version == "2.1.1":
        assert posted["party_id"] == settings.party_id and "roles" not in posted
    else:
        assert posted["roles"][0]["role"] == "NAP"
    with sessions() as session:
        feed = get_feed(session, "cpo")
        assert feed.token == token_c and feed.token != "token-a"
        assert feed.inbound_token_hash == token_hash(posted["token"])  # TOKEN_B opens pushes
        # What the credentials name is a claim, not yet a right to publish.
        assert [(c.country_code, c.party_id, c.state, c.source) for c in claims(session, feed.id)] == [
            ("DE", "ABC", "claimed", "credentials")]
    # TOKEN_A is spent; harvesting works with TOKEN_C, but stores nothing of a party that is
    # not verified: it shows what the feed serves, the evidence for the administrator.
    run = harvest(sessions, settings, "cpo")
    assert run.objects_new == 0 and run.objects_skipped >= 6
    assert run.served_parties["parties"]["DE/ABC"] >= 6
    assert run.served_parties["evse_operators"]["DE*ABC"] >= 6
    with sessions.begin() as session:
        verify(session, get_feed(session, "cpo"), "DE", "ABC", user_id=None)
    run = harvest(sessions, settings, "cpo")
    assert run.status == "success", run.error
    assert run.objects_new >= 6


def test_reregistration_and_unregistering(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=3, token="token-a")
    with sessions.begin() as session:
        add_feed(session, name="cpo", versions_url=cpo.versions_url, token="token-a")
    assert handshake(sessions, settings, "cpo").ok
    first_c = cpo.app.config["TOKEN_C"]
    again = handshake(sessions, settings, "cpo")  # registered already: PUT
    assert again.ok, again.message
    assert cpo.app.config["TOKEN_C"] != first_c
    assert any(r["method"] == "PUT" and r["path"].endswith("/credentials") for r in cpo.app.config["REQUEST_LOG"])
    assert unregister(sessions, settings, "cpo").ok
    with sessions() as session:
        feed = get_feed(session, "cpo")
        assert feed.status == "needs_credentials" and feed.inbound_token_hash is None


def test_a_wrong_token_a_fails_the_handshake_with_a_reason(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=3, token="token-a")
    with sessions.begin() as session:
        add_feed(session, name="cpo", versions_url=cpo.versions_url, token="wrong")
    result = handshake(sessions, settings, "cpo")
    assert not result.ok and "401" in result.message


# The spec's two version-details examples: the credentials endpoint as SENDER, and as
# RECEIVER (how a third-party OCPI 2.2.1 server lists it). Either role is the module NAP
# registers with.
SPEC_EXAMPLES = OCPI_SPEC / "ocpi-2.3.0" / "examples"


@pytest.mark.parametrize("example", ["version_details_example.json", "version_details_example2.json"])
def test_handshake_finds_the_credentials_endpoint_in_either_role(example, demo_cpo, sessions, settings):
    document = json.loads((SPEC_EXAMPLES / example).read_text())
    cpo = demo_cpo(locations=3, ocpi_version="2.2.1", token="token-a", version_details=document)
    with sessions.begin() as session:
        add_feed(session, name="cpo", versions_url=cpo.versions_url, token="token-a")
    result = handshake(sessions, settings, "cpo")
    assert result.ok, result.message
    assert cpo.app.config["TOKEN_C"] is not None
    assert any(r["method"] == "POST" and r["path"] == "/ocpi/2.2/credentials" for r in cpo.app.config["REQUEST_LOG"])
    with sessions() as session:
        assert get_feed(session, "cpo").credentials_url == f"{cpo.url}/ocpi/2.2/credentials"


def test_handshake_prefers_the_sender_credentials_endpoint_when_both_are_listed(demo_cpo, sessions, settings):
    document = json.loads((SPEC_EXAMPLES / "version_details_example2.json").read_text())
    document["endpoints"].append({"identifier": "credentials", "role": "SENDER",
                                  "url": "https://example.com/ocpi/cpo/2.2/credentials"})
    cpo = demo_cpo(locations=3, ocpi_version="2.2.1", token="token-a", version_details=document)
    with sessions.begin() as session:
        add_feed(session, name="cpo", versions_url=cpo.versions_url, token="token-a")
    assert handshake(sessions, settings, "cpo").ok
    posts = [r["path"] for r in cpo.app.config["REQUEST_LOG"] if r["method"] == "POST"]
    assert posts == ["/ocpi/cpo/2.2/credentials"]
