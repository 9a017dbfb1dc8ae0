"""Hubs and aggregators carry parties' data beside the parties' own feeds (nap/parties.py,
carried claims; docs/portal.md): verified beside the own claim, never displacing it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from demo_cpo.fleet import HubParty, generate_hub_fleet
from demo_cpo.server import DemoOptions, create_app
from harvesters.credentials import handshake
from nap.feeds import add_feed, get_feed
from nap.parties import PartyError, claims, set_kind, verify, verified_claim
from nap.portal.claims_board import claims_board
from nap.store.tables import Feed, Location
from tests.harvest_helpers import harvest, register


def test_a_2_3_0_handshake_naming_a_hub_makes_a_hub_whose_claims_are_carried(live_server, sessions, settings):
    fleet = generate_hub_fleet([HubParty("DE", "ABC", 3), HubParty("NL", "XYZ", 2)])
    hub = live_server(create_app(fleet, DemoOptions(token="token-a", hub_party_id="DEHUB")))
    with sessions.begin() as session:
        add_feed(session, name="hub", versions_url=f"{hub.url}/ocpi/versions", token="token-a")
    assert handshake(sessions, settings, "hub").ok
    with sessions() as session:
        feed = get_feed(session, "hub")
        assert feed.kind == "hub"
        assert [(c.country_code, c.party_id, c.carried, c.state) for c in claims(session, feed.id)] == [
            ("DE", "ABC", True, "claimed"), ("NL", "XYZ", True, "claimed")]


def test_a_carried_claim_is_verified_beside_the_own_one_and_unpublishes_nothing(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=4)
    register(sessions, cpo, "cpo")
    harvest(sessions, settings, "cpo")
    with sessions.begin() as session:
        hub = add_feed(session, name="hub", versions_url="https://hub.example/versions", token="t", kind="hub")
        other_cpo = add_feed(session, name="other", versions_url="https://other.example/versions", token="t")
        hub_id, other_id = hub.id, other_cpo.id
        verify(session, hub, "DE", "ABC", user_id=None)
        # An own claim of another feed is still refused: that is a move.
        with pytest.raises(PartyError, match="move it instead"):
            verify(session, other_cpo, "DE", "ABC", user_id=None)
    with sessions.begin() as session:
        assert verified_claim(session, "DE", "ABC").feed_id != hub_id  # the own one stays the party's
        published = session.scalars(select(Location).where(Location.removed_at.is_(None))).all()
        assert len(published) == 4
        board = {card.evidence.feed.name: card for card in claims_board(session, [hub_id])[0].cards}
        assert not board["cpo"].can_move and not board["hub"].can_move
        # The hub may not turn into an own feed while the CPO holds the pair.
        with pytest.raises(PartyError, match="is verified for feed 'cpo' as its own"):
            set_kind(session, session.get(Feed, hub_id), "cpo")
        assert session.get(Feed, other_id).feed_kind == "cpo"
