"""One charger, several sources (nap/merge, nap/store/sources.py, docs/merge-rules.md): a
CPO's own feed and a roaming hub that carries it serve overlapping, partly differing data,
over real HTTP, into SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import func, select

from demo_cpo.fleet import HubParty, generate_hub_fleet, ocpi_timestamp, perturb_location
from demo_cpo.server import DemoOptions, create_app
from nap.feeds import add_feed
from nap.parties import revoke
from nap.portal.withdrawal import withdraw
from nap.quality.report import build_report
from nap.store.documents import assemble_locations
from nap.store.tables import Feed, Location, LocationSource, Tariff, User
from tests.harvest_helpers import harvest, register
from tests.portal_fixtures import PortalClient, add_user

OVERLAP_START = 6  # the hub carries DE/ABC's locations 6..17; the CPO serves 0..11
PERTURBED = {"LOC000007": "status", "LOC000008": "power", "LOC000009": "coordinates"}  # index % 3


@pytest.fixture
def cpo_and_hub(demo_cpo, live_server, sessions):
    """A CPO (DE/ABC, 12 locations) and a hub (DEHUB) carrying DE/ABC's 6..17, each of them
    but LOC000012 perturbed in one field, and DE/XYZ's 0..3; both registered, neither
    harvested yet."""
    cpo = demo_cpo(locations=12)
    hub_fleet = generate_hub_fleet([HubParty("DE", "ABC", 12, OVERLAP_START), HubParty("DE", "XYZ", 4)])
    for location in hub_fleet.locations:
        index = int(location["id"][3:]) - 1
        if location["party_id"] == "ABC" and location["id"] != "LOC000012":  # the hub relays that one as it is
            perturb_location(location, ("status", "power", "coordinates")[index % 3])
    hub = live_server(create_app(hub_fleet, DemoOptions(token="hub-token", hub_party_id="DEHUB")))
    hub.token, hub.versions_url = "hub-token", f"{hub.url}/ocpi/versions"
    register(sessions, cpo, "cpo")
    with sessions.begin() as session:
        add_feed(session, name="hub", versions_url=hub.versions_url, token=hub.token, kind="hub",
                 parties=(("DE", "ABC"), ("DE", "XYZ")))
    return cpo, hub


def _published(sessions, party_id: str = "ABC") -> dict[str, dict]:
    with sessions() as session:
        rows = session.scalars(select(Location).where(Location.removed_at.is_(None), Location.party_id == party_id)
                               .order_by(Location.id)).all()
        return {doc["id"]: doc for doc in assemble_locations(session, rows)}


def _row(sessions, location_id: str, party_id: str = "ABC") -> Location:
    with sessions() as session:
        row = session.scalars(select(Location).where(Location.party_id == party_id,
                                                     Location.ocpi_id == location_id)).one()
        session.expunge(row)
        return row


def _sources(sessions, location_id: str) -> list[LocationSource]:
    with sessions() as session:
        rows = list(session.scalars(select(LocationSource).join(Location, Location.id == LocationSource.location_pk)
                                    .where(Location.ocpi_id == location_id, Location.party_id == "ABC")
                                    .order_by(LocationSource.feed_id)))
        session.expunge_all()
        return rows


def _feed_id(sessions, name: str) -> int:
    with sessions() as session:
        return session.scalar(select(Feed.id).where(Feed.name == name))


def _served(server, location_id: str) -> dict:
    return next(loc for loc in server.app.config["FLEET"].locations if loc["id"] == location_id)


def _full_harvest(sessions, settings, name: str):
    """A full list, whatever the feed's last_updated window (the test's times lie before it)."""
    with sessions.begin() as session:
        session.scalars(select(Feed).where(Feed.name == name)).one().last_full_sync_at = None
    return harvest(sessions, settings, name)


def _harvest_both(sessions, settings) -> tuple[int, int]:
    for name in ("cpo", "hub"):
        assert harvest(sessions, settings, name).status == "success"
    return _feed_id(sessions, "cpo"), _feed_id(sessions, "hub")


def test_the_published_location_follows_the_rules_field_by_field(cpo_and_hub, sessions, settings):
    cpo, hub = cpo_and_hub
    # The CPO's own copy of LOC000008 lacks its postal code and directions: the hub's fill them in.
    _served(cpo, "LOC000008").pop("postal_code")
    _served(hub, "LOC000008")["directions"] = [{"language": "de", "text": "Hinter dem Markt"}]
    cpo_id, hub_id = _harvest_both(sessions, settings)

    published = _published(sessions)
    # 12 of the CPO and 6 more of DE/ABC from the hub (the 6 in common once each), 4 of DE/XYZ.
    assert len(published) == 18 and len(_published(sessions, "XYZ")) == 4
    with sessions() as session:
        assert session.query(LocationSource).count() == 2 * 6  # candidates only where two sources meet
        assert {row.feed_id for row in session.scalars(select(Location).where(Location.party_id == "XYZ"))} \
            == {hub_id}
    for location_id in ("LOC000007", "LOC000012"):
        assert _row(sessions, location_id).feed_id == cpo_id  # published for the party's own feed
        assert [s.feed_id for s in _sources(sessions, location_id)] == [cpo_id, hub_id]
    assert _row(sessions, "LOC000013").feed_id == hub_id and not _sources(sessions, "LOC000013")

    # static-authority: the CPO's power and coordinates stand against the hub's.
    cpo_power = _served(cpo, "LOC000008")["evses"][0]["connectors"][0]["max_electric_power"]
    assert _served(hub, "LOC000008")["evses"][0]["connectors"][0]["max_electric_power"] != cpo_power
    assert published["LOC000008"]["evses"][0]["connectors"][0]["max_electric_power"] == cpo_power
    cpo_latitude = float(_served(cpo, "LOC000009")["coordinates"]["latitude"])
    assert float(published["LOC000009"]["coordinates"]["latitude"]) == pytest.approx(cpo_latitude, abs=1e-6)
    # fill-missing: what the CPO lacks comes from the hub.
    assert published["LOC000008"]["postal_code"] == _served(hub, "LOC000008")["postal_code"]
    assert published["LOC000008"]["directions"] == [{"language": "de", "text": "Hinter dem Markt"}]
    # status-freshest: the hub reported LOC000007's first EVSE five minutes after the CPO.
    hub_evse, cpo_evse = _served(hub, "LOC000007")["evses"][0], _served(cpo, "LOC000007")["evses"][0]
    assert hub_evse["status"] != cpo_evse["status"]
    assert published["LOC000007"]["evses"][0]["status"] == hub_evse["status"]
    assert published["LOC000007"]["last_updated"] == _served(hub, "LOC000007")["last_updated"]  # latest-update
    # Where the sources agree, the location reads as the CPO's own.
    assert published["LOC000012"] == _cpo_document(sessions, "LOC000012")

    # Tariffs are published whole from the most authoritative source: the hub's copies of
    # the CPO's own tariffs leave them as they are.
    with sessions() as session:
        holders = {row.party_id: row.feed_id for row in session.scalars(select(Tariff))}
        assert session.scalar(select(func.count()).select_from(Tariff).where(Tariff.party_id == "ABC")) > 0
    assert holders == {"ABC": cpo_id, "XYZ": hub_id}

    # Harvested again unchanged, nothing is written and nothing moves.
    before = _row(sessions, "LOC000008").changed_at
    again = harvest(sessions, settings, "hub")
    assert (again.objects_changed, again.objects_new) == (0, 0)
    assert _row(sessions, "LOC000008").changed_at == before


def _cpo_document(sessions, location_id: str) -> dict:
    """What NAP publishes of the CPO's own copy alone (the CPO's feed normalized)."""
    with sessions() as session:
        document = next(c.document for c in session.scalars(select(LocationSource).where(
            LocationSource.ocpi_id == location_id, LocationSource.feed_id == _feed_id(sessions, "cpo"))))
    assert document["id"] == location_id
    return document


def test_status_comes_from_the_freshest_source_pulled_or_pushed(cpo_and_hub, sessions, settings, nap_server):
    cpo, hub = cpo_and_hub
    cpo_id, hub_id = _harvest_both(sessions, settings)
    uid = _served(cpo, "LOC000007")["evses"][0]["uid"]
    hub_status = _served(hub, "LOC000007")["evses"][0]["status"]
    assert _published(sessions)["LOC000007"]["evses"][0]["status"] == hub_status

    # The CPO reports later still: its status is published.
    later = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)  # times NAP takes as past
    location = _served(cpo, "LOC000007")
    location["evses"][0].update(status="CHARGING", last_updated=ocpi_timestamp(later))
    location["last_updated"] = ocpi_timestamp(later)
    _full_harvest(sessions, settings, "cpo")
    assert _published(sessions)["LOC000007"]["evses"][0]["status"] == "CHARGING"

    # A status pushed by the CPO (the receiver) merges again from its copy.
    with sessions.begin() as session:
        from nap.feeds import issue_push_token
        token = issue_push_token(session, session.get(Feed, cpo_id))
    pushed = later + timedelta(minutes=2)
    answer = httpx.patch(f"{nap_server.url}/ocpi/2.3.0/receiver/locations/DE/ABC/LOC000007/{uid}",
                         json={"status": "AVAILABLE", "last_updated": ocpi_timestamp(pushed)},
                         headers={"Authorization": f"Token {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status_code"] == 1000
    assert _published(sessions)["LOC000007"]["evses"][0]["status"] == "AVAILABLE"
    cpo_copy = next(s for s in _sources(sessions, "LOC000007") if s.feed_id == cpo_id)
    assert cpo_copy.document["evses"][0]["status"] == "AVAILABLE"

    # A hub's status from before that, harvested again, does not undo it; a later one does.
    _full_harvest(sessions, settings, "hub")
    assert _published(sessions)["LOC000007"]["evses"][0]["status"] == "AVAILABLE"
    hub_location = _served(hub, "LOC000007")
    newest = pushed + timedelta(minutes=6)
    hub_location["evses"][0].update(status="OUTOFORDER", last_updated=ocpi_timestamp(newest))
    hub_location["last_updated"] = ocpi_timestamp(newest)
    _full_harvest(sessions, settings, "hub")
    assert _published(sessions)["LOC000007"]["evses"][0]["status"] == "OUTOFORDER"


def test_provenance_names_each_fields_source_and_rule(cpo_and_hub, sessions, settings, nap_server):
    cpo, hub = cpo_and_hub
    _served(cpo, "LOC000008").pop("postal_code")
    _harvest_both(sessions, settings)

    body = httpx.get(f"{nap_server.url}/api/v1/provenance/DE/ABC/LOC000008").json()
    assert body["location"] == {"country_code": "DE", "party_id": "ABC", "id": "LOC000008"}
    assert body["published_for"] == "cpo"
    assert [(s["feed"], s["kind"], s["match"]) for s in body["sources"]] == [("cpo", "cpo", "key"),
                                                                            ("hub", "hub", "key")]
    fields = {f["field"]: (f["source"], f["rule"]) for f in body["fields"]}
    assert fields["name"] == ("cpo", "static-authority")
    assert fields["postal_code"] == ("hub", "fill-missing")
    assert fields["id"] == ("cpo", "identity")
    first_evse = body["evses"][0]
    evse_fields = {f["field"]: (f["source"], f["rule"]) for f in first_evse["fields"]}
    assert evse_fields["connectors"] == ("cpo", "static-authority")
    assert evse_fields["status"][1] == "status-freshest"
    [conflict] = [c for c in body["conflicts"] if c["field"] == "evses.connectors"]
    assert (conflict["published_by"], conflict["other_source"], conflict["rule"]) == ("cpo", "hub", "static-authority")
    assert conflict["evse_id"] == _served(cpo, "LOC000008")["evses"][0]["evse_id"]
    assert {rule["name"] for rule in body["rules"]} >= {"identity", "status-freshest", "static-authority",
                                                        "fill-missing", "latest-update"}

    status = httpx.get(f"{nap_server.url}/api/v1/provenance/DE/ABC/LOC000007").json()
    status_fields = {f["field"]: (f["source"], f["rule"]) for f in status["evses"][0]["fields"]}
    assert status_fields["status"] == ("hub", "status-freshest")

    single = httpx.get(f"{nap_server.url}/api/v1/provenance/DE/XYZ/LOC000001").json()
    assert [s["feed"] for s in single["sources"]] == ["hub"] and single["conflicts"] == []
    assert {f["rule"] for f in single["fields"]} <= {"identity", "only-source"}
    missing = httpx.get(f"{nap_server.url}/api/v1/provenance/DE/ABC/NOPE")
    assert missing.status_code == 404 and "no published location" in missing.json()["error"]


def test_conflicts_appear_in_both_quality_reports(cpo_and_hub, sessions, settings, nap_server):
    cpo, hub = cpo_and_hub
    cpo_id, hub_id = _harvest_both(sessions, settings)
    evse_id = _served(cpo, "LOC000007")["evses"][0]["evse_id"]
    hub_status = _served(hub, "LOC000007")["evses"][0]["status"]
    cpo_status = _served(cpo, "LOC000007")["evses"][0]["status"]
    now = datetime.now(timezone.utc)
    with sessions() as session:
        cpo_report = build_report(session, cpo_id, settings, now).conflicts
        hub_report = build_report(session, hub_id, settings, now).conflicts
    # Each perturbed location disagrees in one place (5 of the 6 overlapping: 2 in status, 2 in
    # power, 1 in coordinates); the one relayed as it is agrees, and its copies say so (NULL).
    assert (cpo_report.locations, hub_report.locations) == (5, 5)
    assert cpo_report.evses == hub_report.evses == 4  # status and power are an EVSE's; coordinates are not
    assert {s.conflicts for s in _sources(sessions, "LOC000012")} == {None}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(LocationSource).where(
            LocationSource.conflicts.is_(None))) == 2
    sentences = {row.sentence for row in cpo_report.rows}
    assert (f"EVSE {evse_id}, status: the hub hub says {hub_status}, your feed says {cpo_status};"
            f" published: {hub_status} (status-freshest)") in sentences
    assert any(s.startswith("the location, coordinates: the hub hub says") for s in sentences)
    assert (f"EVSE {evse_id}, status: the CPO feed cpo says {cpo_status}, your feed says {hub_status};"
            f" published: {hub_status} (status-freshest)") in {row.sentence for row in hub_report.rows}

    # And on the quality page an administrator (or the CPO) reads.
    add_user(sessions, "admin@nap.example", role="admin")
    client = PortalClient(nap_server.url)
    client.login("admin@nap.example")
    page = client.get(f"/portal/feeds/{cpo_id}/quality").text
    assert "5</strong> locations and <strong>4</strong> EVSEs" in page
    assert f"the hub hub says {hub_status}, your feed says {cpo_status}" in page


def test_removing_the_cpo_feed_leaves_the_hubs_data_published_marked_as_such(cpo_and_hub, sessions, settings,
                                                                             nap_server):
    cpo, hub = cpo_and_hub
    cpo_id, hub_id = _harvest_both(sessions, settings)
    admin_id = add_user(sessions, "admin@nap.example", role="admin")
    with sessions.begin() as session:
        withdraw(session, session.get(Feed, cpo_id), session.get(User, admin_id), "moved to the hub")

    published = _published(sessions)
    # The CPO's own 0..5 leave; what the hub also carries stays, from the hub alone.
    assert sorted(published) == [f"LOC{n:06d}" for n in range(OVERLAP_START + 1, 19)]
    for location_id in ("LOC000007", "LOC000008", "LOC000009"):
        assert _row(sessions, location_id).feed_id == hub_id
        assert not _sources(sessions, location_id)  # one source left, under the row's own key
    assert published["LOC000008"]["evses"][0]["connectors"][0]["max_electric_power"] == \
        _served(hub, "LOC000008")["evses"][0]["connectors"][0]["max_electric_power"]
    body = httpx.get(f"{nap_server.url}/api/v1/provenance/DE/ABC/LOC000008").json()
    assert body["published_for"] == "hub" and [s["kind"] for s in body["sources"]] == ["hub"]
    ocpi = httpx.get(f"{nap_server.url}/ocpi/2.3.0/locations/DE/ABC/LOC000008").json()["data"]
    assert ocpi["evses"][0]["connectors"][0]["max_electric_power"] == \
        _served(hub, "LOC000008")["evses"][0]["connectors"][0]["max_electric_power"]


def test_a_source_that_stops_serving_a_location_leaves_it_to_the_others(cpo_and_hub, sessions, settings):
    cpo, hub = cpo_and_hub
    cpo_id, hub_id = _harvest_both(sessions, settings)
    fleet = cpo.app.config["FLEET"]
    fleet.locations = [loc for loc in fleet.locations if loc["id"] != "LOC000010"]
    with sessions.begin() as session:
        session.get(Feed, cpo_id).last_full_sync_at = None  # a full list: what it leaves out is gone
    run = harvest(sessions, settings, "cpo")
    assert run.objects_removed == 1
    assert "LOC000010" in _published(sessions)
    assert _row(sessions, "LOC000010").feed_id == hub_id
    # The hub revoked from DE/ABC: its copies leave, the CPO's stay as they were served.
    with sessions.begin() as session:
        revoke(session, session.get(Feed, hub_id), "DE", "ABC", user_id=None)
    published = _published(sessions)
    assert "LOC000010" not in published and sorted(published) == [f"LOC{n:06d}" for n in
                                                                   (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12)]
    assert published["LOC000007"]["evses"][0]["status"] == _served(cpo, "LOC000007")["evses"][0]["status"]
    with sessions() as session:
        assert session.query(LocationSource).count() == 0


def test_a_hub_location_under_another_id_merges_by_its_evse_ids(cpo_and_hub, sessions, settings):
    cpo, hub = cpo_and_hub
    renamed = _served(hub, "LOC000012")
    renamed["id"] = "HUB-12"
    for evse in renamed["evses"]:
        evse["uid"] = "HUB-" + evse["uid"]
        evse["evse_id"] = evse["evse_id"].replace("*", "").lower()  # the same eMI3 id, spelled compactly
    cpo_id, hub_id = _harvest_both(sessions, settings)
    published = _published(sessions)
    assert "HUB-12" not in published
    sources = _sources(sessions, "LOC000012")
    assert [(s.feed_id, s.ocpi_id, s.match) for s in sources] == [(cpo_id, "LOC000012", "key"),
                                                                  (hub_id, "HUB-12", "evse_id")]
    # One EVSE per charger, under the CPO's uids.
    assert [e["uid"] for e in published["LOC000012"]["evses"]] == \
        [e["uid"] for e in _served(cpo, "LOC000012")["evses"]]
    # Harvested again, the hub's copy is found by its own key.
    harvest(sessions, settings, "hub")
    assert len(_sources(sessions, "LOC000012")) == 2 and "HUB-12" not in _published(sessions)


def _aggregator_copy(location: dict, new_id: str, north_metres: float = 20.0, **changes) -> dict:
    """What an aggregator relays of a CPO's site: its own id and party, no EVSE ids, the place
    geocoded a little apart."""
    import copy
    document = copy.deepcopy(location)
    document.update(country_code="DE", party_id="AGG", id=new_id, **changes)
    document["coordinates"]["latitude"] = f"{float(document['coordinates']['latitude']) + north_metres / 111_320:.6f}"
    for n, evse in enumerate(document["evses"], start=1):
        evse.pop("evse_id", None)
        evse["uid"] = f"{new_id}-{n}"
        for connector in evse["connectors"]:
            connector.pop("tariff_ids", None)
    return document


def test_an_aggregators_location_without_evse_ids_is_matched_by_place_and_an_admin_decides(
        demo_cpo, live_server, sessions, settings, nap_server):
    from demo_cpo.fleet import Fleet

    cpo = demo_cpo(locations=4)
    register(sessions, cpo, "cpo")
    served = {loc["id"]: loc for loc in cpo.app.config["FLEET"].locations}
    same_address = _aggregator_copy(served["LOC000001"], "AGG-1",
                                    directions=[{"language": "en", "text": "Behind the bakery"}])
    # Another address, but as many EVSEs as LOC000002: matched too (and split by the admin).
    same_count = _aggregator_copy(served["LOC000002"], "AGG-2", address="Elsewhere 1")
    # Far from any: a location of the aggregator's own.
    far = _aggregator_copy(served["LOC000003"], "AGG-3", north_metres=5000)
    aggregator = live_server(create_app(Fleet(locations=[same_address, same_count, far]),
                                        DemoOptions(token="agg-token")))
    with sessions.begin() as session:
        add_feed(session, name="aggregator", versions_url=f"{aggregator.url}/ocpi/versions", token="agg-token",
                 kind="aggregator", parties=(("DE", "AGG"),))
    harvest(sessions, settings, "cpo")
    assert harvest(sessions, settings, "aggregator").status == "success"

    assert sorted(_published(sessions, "AGG")) == ["AGG-3"]
    matched = {s.ocpi_id: s for s in _sources(sessions, "LOC000001") + _sources(sessions, "LOC000002")}
    assert (matched["AGG-1"].match, matched["AGG-1"].confirmed) == ("nearby", False)
    assert matched["AGG-1"].match_note.endswith("m apart, same address")
    assert matched["AGG-2"].match_note.endswith(f"{len(served['LOC000002']['evses'])} EVSEs each")
    # Merged at once as the least authoritative source: it fills in, the CPO's values stand.
    published = _published(sessions)
    assert published["LOC000001"]["directions"] == [{"language": "en", "text": "Behind the bakery"}]
    assert float(published["LOC000001"]["coordinates"]["latitude"]) == pytest.approx(
        float(served["LOC000001"]["coordinates"]["latitude"]), abs=1e-6)
    assert [e.get("evse_id") for e in published["LOC000001"]["evses"]] == \
        [e["evse_id"] for e in served["LOC000001"]["evses"]]

    add_user(sessions, "admin@nap.example", role="admin")
    admin = PortalClient(nap_server.url)
    admin.login("admin@nap.example")
    page = admin.get("/admin/matches")
    assert page.status_code == 200, page.text[:300]
    assert 'data-match="DE/AGG/AGG-1"' in page.text and 'data-match="DE/AGG/AGG-2"' in page.text
    confirmed = admin.follow(admin.post(f"/admin/matches/{matched['AGG-1'].id}/confirm"))
    assert "confirmed" in confirmed.text
    split = admin.follow(admin.post(f"/admin/matches/{matched['AGG-2'].id}/split"))
    assert "split from published location DE/ABC/LOC000002" in split.text
    assert 'data-testid="no-matches"' in split.text

    assert sorted(_published(sessions, "AGG")) == ["AGG-2", "AGG-3"]
    assert [s.confirmed for s in _sources(sessions, "LOC000001")] == [True, True]
    assert not _sources(sessions, "LOC000002")
    assert _published(sessions)["LOC000002"]["address"] == served["LOC000002"]["address"]
    # The decisions hold at the next harvest: no match by place again for the split one.
    _full_harvest(sessions, settings, "aggregator")
    assert sorted(_published(sessions, "AGG")) == ["AGG-2", "AGG-3"]
    assert len(_sources(sessions, "LOC000001")) == 2 and not _sources(sessions, "LOC000002")
    # A second decision on a decided match is refused with a message, not a 500.
    again = admin.follow(admin.post(f"/admin/matches/{matched['AGG-1'].id}/split"))
    assert "no such match waits for a decision" in again.text


def test_the_datex2_publications_carry_the_merged_locations_valid_and_once(cpo_and_hub, sessions, settings,
                                                                           nap_server):
    from lxml import etree

    from tests.de_afir_schema import validate_status, validate_table
    from tests.xsd import validate

    _harvest_both(sessions, settings)
    published = {**{("ABC", k): v for k, v in _published(sessions).items()},
                 **{("XYZ", k): v for k, v in _published(sessions, "XYZ").items()}}
    evses = sorted(f"DE*{party}*{location_id}#evse:{e['uid']}" for (party, location_id), location in published.items()
                   for e in location["evses"])
    table = httpx.get(f"{nap_server.url}/datex2/v3.7/energy-infrastructure/table", params={"profile": "afir"})
    assert table.status_code == 200 and validate(table.content) == []
    # Each charger once: a merged location is one site, its EVSEs one refill point each.
    points = etree.fromstring(table.content).xpath("//*[local-name()='refillPoint']/@id")
    assert sorted(points) == evses
    status = httpx.get(f"{nap_server.url}/datex2/v3.7/energy-infrastructure/status", params={"profile": "afir"})
    assert status.status_code == 200 and validate(status.content) == []
    de_table = httpx.get(f"{nap_server.url}/datex2/de-afir/01-00-00/table").json()
    de_status = httpx.get(f"{nap_server.url}/datex2/de-afir/01-00-00/status").json()
    assert validate_table(de_table) == [] and validate_status(de_status) == []
