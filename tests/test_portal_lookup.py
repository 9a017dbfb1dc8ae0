"""'Where did my charger go?' over real HTTP on SQLite and PostgreSQL: one object in each
state a CPO can find it in (published, hidden, skipped by a finding, removed, never
received), looked up by location id, EVSE uid and EVSE id."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from demo_cpo.fleet import ocpi_timestamp
from nap.feeds import get_feed
from nap.portal.ownership import add_owner
from nap.store.tables import COMPLETED_RUN_STATUSES
from tests.harvest_helpers import harvest, register_and_harvest
from tests.portal_fixtures import PortalClient, add_user
from tests.settings_helpers import replace


def states(page: str) -> list[str]:
    return re.findall(r'<span data-testid="state">([^<]+)</span>', page)


@pytest.fixture
def world(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=12, broken_objects=3)
    flaws = cpo.app.config["BROKEN_FLAWS"]
    fleet = cpo.app.config["FLEET"].locations
    spare = [location for location in fleet if location["id"] not in flaws]
    objects = dict(zip(("published", "hidden", "removed", "evse_removed", "outdated"), spare))
    objects["hidden"]["publish"] = False
    objects["hidden"]["publish_allowed_to"] = [{"uid": "0102030405", "type": "RFID"}]
    assert register_and_harvest(sessions, settings, cpo, country_code="DE", party_id="ABC").status \
        in COMPLETED_RUN_STATUSES

    # Then the CPO drops a location, removes an EVSE and breaks a location it served fine before.
    stamp = ocpi_timestamp(datetime.now(timezone.utc))
    fleet.remove(objects["removed"])
    evse = objects["evse_removed"]["evses"][0]
    evse["status"] = "REMOVED"
    evse["last_updated"] = objects["evse_removed"]["last_updated"] = stamp
    objects["outdated"]["coordinates"]["latitude"] = "north"
    objects["outdated"]["last_updated"] = stamp
    # A full sync, so that the dropped location is noticed.
    assert harvest(sessions, replace(settings, full_sync_hours=0)).status in COMPLETED_RUN_STATUSES

    uid = add_user(sessions, "alice@example.com")
    add_user(sessions, "bob@example.com")
    with sessions.begin() as session:
        add_owner(session, get_feed(session, "demo").id, uid)
    alice = PortalClient(nap_server.url)
    alice.login("alice@example.com")
    yield alice, cpo, objects
    alice.close()


def lookup(client: PortalClient, query: str) -> str:
    response = client.get("/portal/lookup", params={"q": query})
    assert response.status_code == 200
    return response.text


def test_each_state_is_told_with_its_reason(world, nap_server):
    alice, cpo, objects = world
    published = objects["published"]
    page = lookup(alice, published["id"])
    assert states(page) == ["Published"]
    assert f'/ocpi/2.3.0/locations/DE/ABC/{published["id"]}' in page
    evse = published["evses"][0]
    assert states(lookup(alice, evse["evse_id"])) == ["Published"]  # by EVSE id
    assert states(lookup(alice, evse["evse_id"].replace("*", "").lower())) == ["Published"]  # separators, case
    assert states(lookup(alice, evse["uid"])) == ["Published"]  # by EVSE uid

    page = lookup(alice, objects["hidden"]["id"])
    assert states(page) == ["Hidden: you sent it with publish: false"] and "1 token(s)" in page

    page = lookup(alice, objects["removed"]["id"])
    [state] = states(page)
    assert state.startswith("Removed on ") and state.endswith("by harvest run #2")

    removed_evse = objects["evse_removed"]["evses"][0]
    page = lookup(alice, removed_evse["evse_id"])
    assert states(page)[0].startswith("Removed by you: status REMOVED since")
    assert "published with status REMOVED until" in page

    page = lookup(alice, objects["outdated"]["id"])
    assert states(page) == ["Published"]
    assert "The latest version you served was skipped" in page and "coordinates.latitude" in page

    page = lookup(alice, "NO-SUCH-CHARGER")
    assert states(page) == ["Never received"] and "no current finding names it" in page

    # Another CPO looks only among its own feeds (bob has none) and learns nothing of alice's.
    bob = PortalClient(nap_server.url)
    bob.login("bob@example.com")
    page = lookup(bob, published["id"])
    assert states(page) == [] and "You have no feeds yet" in page
    bob.close()


def test_skipped_objects_name_the_finding(world):
    alice, cpo, _ = world
    flaws = cpo.app.config["BROKEN_FLAWS"]
    by_id = {location["id"]: location for location in cpo.app.config["FLEET"].locations}
    for location_id, flaw in flaws.items():
        if flaw == "latitude_not_a_number":  # the whole location is skipped
            page = lookup(alice, location_id)
            assert states(page) == ["Skipped because of a finding"]
            assert "coordinates.latitude" in page
        elif flaw == "power_type_unknown":  # repaired from the connector's standard: published
            evse = by_id[location_id]["evses"][0]
            for query in (evse["evse_id"], evse["uid"]):
                assert states(lookup(alice, query)) == ["Published"], query
        elif flaw == "evse_uid_missing":  # its evse_id stands in for the uid: published under it
            assert states(lookup(alice, by_id[location_id]["evses"][0]["evse_id"])) == ["Published"]
    assert sorted(flaws.values()) == ["evse_uid_missing", "latitude_not_a_number", "power_type_unknown"]

