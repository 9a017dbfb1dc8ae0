"""The DATEX II endpoints over real HTTP: both profiles valid against the XSD, status
deltas holding exactly the EVSEs that changed, conditional GETs, gzip, nothing to say."""
from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest
from lxml import etree

from harvesters.credentials import handshake
from demo_cpo.server import touch_location
from nap.feeds import add_feed, get_feed
from nap.parties import claim, verify
from nap.ocpi.values import format_datetime
from nap.store.db import write_session
from tests.harvest_helpers import harvest, register_and_harvest
from tests.waiting import clock_past, with_last_modified
from tests.xsd import validate

BASE = "/datex2/v3.7/energy-infrastructure"


def refill_point_statuses(content: bytes) -> dict[str, str]:
    document = etree.fromstring(content)
    return {
        s.xpath("string(*[local-name()='reference']/@id)"): s.xpath("string(*[local-name()='status'])")
        for s in document.xpath("//*[local-name()='refillPointStatus']")
    }


def test_status_snapshot_and_delta_in_both_profiles(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=15)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    since_moment = clock_past(datetime.now(timezone.utc))
    since = format_datetime(since_moment)
    changed = [touch_location(cpo.app, i, clock_past(since_moment)) for i in (2, 9)]
    assert harvest(sessions, settings).status == "success"
    for profile in ("generic", "afir"):
        snapshot = httpx.get(f"{nap_server.url}{BASE}/status", params={"profile": profile})
        assert snapshot.status_code == 200 and validate(snapshot.content) == []
        total_evses = sum(len(loc["evses"]) for loc in cpo.app.config["FLEET"].locations)
        assert len(refill_point_statuses(snapshot.content)) == total_evses

        delta = httpx.get(f"{nap_server.url}{BASE}/status", params={"profile": profile, "since": since})
        assert delta.status_code == 200 and validate(delta.content) == []
        statuses = refill_point_statuses(delta.content)
        expected = {f"DE*ABC*{loc['id']}#evse:{loc['evses'][0]['uid']}" for loc in changed}
        assert set(statuses) == expected
    later = format_datetime(datetime.now(timezone.utc))
    nothing = httpx.get(f"{nap_server.url}{BASE}/status", params={"since": later})
    assert nothing.status_code == 204


def test_conditional_gets_and_gzip(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=5)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    url = f"{nap_server.url}{BASE}/table"
    first = with_last_modified(lambda: httpx.get(url, headers={"Accept-Encoding": "gzip"}))
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip"
    assert validate(first.content) == []  # httpx inflated it
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert httpx.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    touch_location(cpo.app, 0, datetime.now(timezone.utc))
    assert harvest(sessions, settings).status == "success"
    changed = httpx.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_an_empty_store_answers_no_content(nap_server):
    for kind in ("table", "status"):
        response = httpx.get(f"{nap_server.url}{BASE}/{kind}")
        assert response.status_code == 204
    assert httpx.get(f"{nap_server.url}{BASE}/table", params={"profile": "nope"}).status_code == 400


# --- the operator of locations that name none -------------------------------------------------

def _sites(content: bytes) -> dict[str, etree._Element]:
    return {s.get("id"): s for s in etree.fromstring(content).xpath("//*[local-name()='energyInfrastructureSite']")}


def _names(site: etree._Element, tag: str) -> list[str]:
    return site.xpath(f"*[local-name()='{tag}']/*[local-name()='name']//*[local-name()='value']/text()")


def _without_operator(cpo, *indexes: int) -> list[str]:
    """Take `operator` out of some of the demo CPO's locations; their site ids."""
    locations = cpo.app.config["FLEET"].locations
    for i in indexes:
        del locations[i]["operator"]
    return [f"DE*ABC*{locations[i]['id']}" for i in indexes]


def _site_versions(content: bytes, tag: str) -> dict[str, str]:
    document = etree.fromstring(content)
    if tag == "energyInfrastructureSite":
        return {s.get("id"): s.get("version") for s in document.xpath(f"//*[local-name()='{tag}']")}
    return {r.get("id"): r.get("version")
            for r in document.xpath(f"//*[local-name()='{tag}']/*[local-name()='reference']")}


def test_locations_without_operator_are_operated_by_their_party(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=6)
    orphans = _without_operator(cpo, 1, 4)
    assert register_and_harvest(sessions, settings, cpo, name="Ladenetz Nord", country_code="DE",
                                party_id="ABC").status == "success"
    url = f"{nap_server.url}{BASE}/table"
    # Registered by hand: the name the feed was registered under.
    first = httpx.get(url, params={"profile": "afir"})
    assert first.status_code == 200 and validate(first.content) == []
    sites = _sites(first.content)
    for site_id in orphans:
        assert _names(sites[site_id], "operator") == ["Ladenetz Nord"]
        assert _names(sites[site_id], "helpdesk") == ["Ladenetz Nord"]
    others = [site for site_id, site in sites.items() if site_id not in orphans]
    assert others and all(_names(site, "operator") == ["ABC Ladenetz GmbH"] for site in others)

    # What the CPO's credentials gave for the party (as a handshake keeps it) comes first,
    # and the table's version changes with it.
    with write_session(sessions) as session:
        claim(session, get_feed(session, "Ladenetz Nord"), "DE", "ABC", source="credentials",
              business_details={"name": "ABC Ladenetz Nord GmbH", "website": "https://abc-laden.example/nord"})
    for profile in ("generic", "afir"):
        table = httpx.get(url, params={"profile": profile}, headers={"If-None-Match": first.headers["ETag"]})
        assert table.status_code == 200 and validate(table.content) == []
        sites = _sites(table.content)
        for site_id in orphans:
            assert _names(sites[site_id], "operator") == ["ABC Ladenetz Nord GmbH"]
            assert sites[site_id].xpath("*[local-name()='operator']/*[local-name()='linkToGeneralInformation']"
                                        "/text()") == ["https://abc-laden.example/nord"]
        if profile == "afir":
            assert all(_names(sites[site_id], "helpdesk") == ["ABC Ladenetz Nord GmbH"] for site_id in orphans)
        status = httpx.get(f"{nap_server.url}{BASE}/status", params={"profile": profile})
        assert status.status_code == 200 and validate(status.content) == []
        assert _site_versions(status.content, "energyInfrastructureSiteStatus") == _site_versions(
            table.content, "energyInfrastructureSite")


def test_a_party_registered_by_hand_is_operated_by_its_feeds_name(demo_cpo, nap_server, sessions, settings):
    # Only verified parties publish, so every published party is one NAP knows: without
    # business details from credentials, the feed's registered name stands for it.
    cpo = demo_cpo(locations=4)
    orphans = _without_operator(cpo, 2)
    assert register_and_harvest(sessions, settings, cpo, name="Ladenetz Nord").status == "success"
    table = httpx.get(f"{nap_server.url}{BASE}/table", params={"profile": "afir"})
    assert table.status_code == 200 and validate(table.content) == []
    site = _sites(table.content)[orphans[0]]
    assert _names(site, "operator") == ["Ladenetz Nord"] == _names(site, "helpdesk")


def test_a_handshake_keeps_the_business_details_of_the_cpo_roles(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=4, token="token-a")
    orphans = _without_operator(cpo, 0)
    with sessions.begin() as session:
        add_feed(session, name="Ladenetz Nord", versions_url=cpo.versions_url, token="token-a")
    assert handshake(sessions, settings, "Ladenetz Nord").ok
    with sessions.begin() as session:  # the credentials' party, verified by an administrator
        verify(session, get_feed(session, "Ladenetz Nord"), "DE", "ABC", user_id=None)
    assert harvest(sessions, settings, "Ladenetz Nord").status == "success"
    table = httpx.get(f"{nap_server.url}{BASE}/table", params={"profile": "afir"})
    assert _names(_sites(table.content)[orphans[0]], "operator") == ["ABC Ladenetz GmbH"]


def test_the_table_version_counts_the_locations_at_most_every_interval(demo_cpo, sessions, settings, monkeypatch):
    """The count only notices rows deleted without a stamp; reading it at every request
    took 100-150 ms at a million EVSEs."""
    from sqlalchemy import delete, event, func, select

    from exporters.datex2 import source
    from nap.store.db import get_engine
    from nap.store.tables import Location

    assert register_and_harvest(sessions, settings, demo_cpo(locations=3)).status == "success"
    counts = []
    engine = get_engine(settings.database_url)

    def note(conn, cursor, statement, parameters, context, executemany):
        if "count(locations.id)" in statement:
            counts.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        with sessions() as session:
            _, version = source.table_state(session)
            assert source.table_state(session)[1] == version and len(counts) == 1
        with write_session(sessions) as session:  # a row deleted without a stamp
            session.execute(delete(Location).where(Location.id == session.scalar(select(func.min(Location.id)))))
        with sessions() as session:
            assert source.table_state(session)[1] == version  # counted again only after the interval
            monkeypatch.setattr(source, "_COUNT_SECONDS", 0.0)
            assert source.table_state(session)[1] != version
    finally:
        event.remove(engine, "before_cursor_execute", note)
