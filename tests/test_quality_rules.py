"""The data-quality rules and the AFIR coverage score, run over data really harvested from
demo CPOs into SQLite and PostgreSQL. Each rule gets a location planted to break it; every
rule must flag exactly its planted objects and nothing else."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from demo_cpo.fleet import generate_fleet
from demo_cpo.server import DemoOptions, create_app, touch_location
from nap.quality import RULES, build_report, cached_report
from nap.quality.rules import _coordinates_swapped
from nap.quality.snapshot import EvseView, FeedSnapshot, LocationView
from nap.store.tables import Feed, Location
from tests.harvest_helpers import harvest, register_and_harvest

REPO = Path(__file__).resolve().parent.parent


def plant(fleet) -> dict[str, str]:
    """Break one location per rule; returns rule name -> the object id it must flag."""
    loc = fleet.locations

    def ref(n, e=0):
        return f"{loc[n]['id']}/{loc[n]['evses'][e]['uid']}"

    del loc[0]["opening_times"]
    del loc[1]["operator"]
    del loc[2]["help_phone"]
    del loc[3]["evses"][0]["evse_id"]
    del loc[3]["evses"][0]["connectors"][0]["max_electric_power"]
    for connector in loc[4]["evses"][0]["connectors"]:
        connector["tariff_ids"] = ["NO-SUCH-TARIFF"]
    coords = loc[5]["coordinates"]
    coords["latitude"], coords["longitude"] = coords["longitude"], coords["latitude"]
    loc[6]["coordinates"] = {"latitude": "48.856600", "longitude": "2.352200"}  # Paris, in a DEU location
    loc[7]["evses"][0]["evse_id"] = "DE*ABC*123"  # no 'E' before the id: not eMI3
    loc[8]["evses"][0]["evse_id"] = "DE*XYZ*E999999*1"  # someone else's operator id
    loc[11]["coordinates"] = {"latitude": "0.000000", "longitude": "0.000000"}
    del loc[12]["city"]  # kept by the harvest, with the city empty
    loc[9]["help_phone"] = "+49 12"  # too short for any German number
    return {
        "afir-opening-hours-missing": loc[0]["id"],
        "afir-operator-missing": loc[1]["id"],
        "afir-helpdesk-missing": loc[2]["id"],
        "afir-evse-id-missing": ref(3),
        "afir-max-power-missing": ref(3),
        "tariff-unknown": ref(4),
        "afir-ad-hoc-price-missing": ref(4),
        "coordinates-swapped": loc[5]["id"],
        "evse-id-malformed": ref(7),
        "evse-id-other-operator": ref(8),
        "evse-id-duplicate": ref(9),
        "afir-coordinates-missing": loc[11]["id"],
        "afir-address-missing": loc[12]["id"],
        "help-phone-malformed": loc[9]["id"],
    }


@pytest.fixture
def planted(live_server, sessions, settings):
    """Two CPOs harvested: ABC with one broken location per rule, XYZ reusing an ABC EVSE id."""
    abc_app = create_app(generate_fleet(locations=13, seed=1), DemoOptions())
    expected = plant(abc_app.config["FLEET"])
    xyz_fleet = generate_fleet(locations=2, seed=5, party_id="XYZ")
    xyz_fleet.locations[0]["evses"][0]["evse_id"] = abc_app.config["FLEET"].locations[9]["evses"][0]["evse_id"]
    servers = {"abc": live_server(abc_app), "xyz": live_server(create_app(xyz_fleet, DemoOptions()))}
    for name, server in servers.items():
        server.versions_url, server.token = f"{server.url}/ocpi/versions", "demo-token"
        run = register_and_harvest(sessions, settings, server, name=name, country_code="DE",
                                   party_id=name.upper())
        assert run.status == "success", run.error
    # Location 10 changes (an EVSE status and its last_updated) and is harvested again:
    # it is neither stale nor silent.
    touch_location(abc_app, 10, datetime.now(timezone.utc).replace(microsecond=0))
    assert harvest(sessions, settings, "abc").status == "success"
    with sessions() as session:
        ids = {feed.name: feed.id for feed in session.query(Feed)}
    fleet = abc_app.config["FLEET"].locations
    return ids, expected, fleet, xyz_fleet


def flagged(report) -> dict[str, set[str]]:
    found = defaultdict(set)
    for finding in report.findings:
        found[finding.rule].add(finding.object_id)
    return found


def test_each_rule_flags_exactly_its_planted_objects(planted, sessions, settings):
    ids, expected, fleet, xyz_fleet = planted
    now = datetime.now(timezone.utc)
    with sessions() as session:
        report = build_report(session, ids["abc"], settings, now)
        other = build_report(session, ids["xyz"], settings, now)
    found = flagged(report)
    for rule, object_id in expected.items():
        assert found[rule] == {object_id}, rule
    # (0, 0) is outside Germany too, and Paris is, without a swap explaining it.
    assert found["coordinates-outside-country"] == {fleet[11]["id"], fleet[6]["id"]}
    # Every location but the one that changed just now is more than a year old (the demo fleet dates from 2023-24).
    assert found["last-updated-stale"] == {location["id"] for location in fleet} - {fleet[10]["id"]}
    # Every EVSE was first seen a moment ago: none has been silent for 24 hours yet.
    assert found["status-never-updated"] == set()
    for rule in ("afir-connectors-missing", "afir-current-type-missing"):
        assert found[rule] == set()  # the harvester's schema already refuses EVSEs without them
    assert set(found) - {r.name for r in RULES} == set()
    by_rule = {rule.name: rule for rule in RULES}
    assert all(f.severity == by_rule[f.rule].severity for f in report.findings)

    # The other CPO sees the duplicate from its side, and that the id names ABC as operator.
    xyz_ref = f"{xyz_fleet.locations[0]['id']}/{xyz_fleet.locations[0]['evses'][0]['uid']}"
    other_found = flagged(other)
    assert other_found["evse-id-duplicate"] == {xyz_ref}
    assert other_found["evse-id-other-operator"] == {xyz_ref}
    duplicate = next(f for f in report.findings if f.rule == "evse-id-duplicate")
    assert "also published by xyz" in duplicate.message


def test_status_never_updated_after_a_day_of_silence(planted, sessions, settings):
    ids, _, fleet, _ = planted
    with sessions() as session:
        report = build_report(session, ids["abc"], settings, datetime.now(timezone.utc) + timedelta(days=2))
    silent = flagged(report)["status-never-updated"]
    every_evse = {f"{loc['id']}/{evse['uid']}" for loc in fleet for evse in loc["evses"]}
    touched = f"{fleet[10]['id']}/{fleet[10]['evses'][0]['uid']}"
    assert silent == every_evse - {touched}


def test_coverage_counts_evses_with_each_afir_field(planted, sessions, settings):
    ids, _, fleet, _ = planted
    with sessions() as session:
        report = cached_report(session, ids["abc"], settings, datetime.now(timezone.utc))
        assert cached_report(session, ids["abc"], settings, datetime.now(timezone.utc)) is report
    total = sum(len(location["evses"]) for location in fleet)
    evses_at = [len(location["evses"]) for location in fleet]
    coverage = {c.key: (c.present, c.total) for c in report.coverage.fields}
    assert report.evses == total and report.locations == len(fleet)
    assert {key: coverage[key] for key in FIRST_FIELDS} == {
        "coordinates": (total - evses_at[11], total),
        "connectors": (total, total),
        "current_type": (total, total),
        "max_power": (total - 1, total),
        "address": (total - evses_at[12], total),
        "opening_hours": (total - evses_at[0], total),
        "operator": (total - evses_at[1], total),
        "helpdesk": (total - evses_at[2], total),
        "evse_id": (total - 1, total),
        "ad_hoc_price": (total - 1, total),
    }
    # Locations 0, 1, 2, 11 and 12 lose all their EVSEs; location 3 and 4 one EVSE each.
    assert report.coverage.complete == total - sum(evses_at[n] for n in (0, 1, 2, 11, 12)) - 2
    # One row per AFIR Annex item: the fields' counts where OCPI carries the item, none yet
    # from the supplement.
    items = {c.code: c for c in report.coverage.items}
    assert len(items) == 37 and all(c.total == total for c in items.values())
    assert (items["A14"].present, items["A7"].present, items["F3"].present) == (
        coverage["opening_hours"][0], coverage["coordinates"][0], coverage["ad_hoc_price"][0])
    assert items["A13"].present == total - evses_at[12] and items["A11"].present == total
    assert {code for code, c in items.items() if c.state != "published"} == {"A4", "A10", "A22", "A23", "B5"}
    assert all(items[code].present == 0 and items[code].source.startswith("from the supplement")
               for code in ("A4", "A10", "A22", "A23", "B5"))

    # The cached report lasts only while the feed's data is unchanged.
    with sessions.begin() as session:
        location = session.query(Location).filter_by(feed_id=ids["abc"], removed_at=None).first()
        location.removed_at = location.changed_at = datetime.now(timezone.utc)
    with sessions() as session:
        after = cached_report(session, ids["abc"], settings, datetime.now(timezone.utc))
    assert after is not report and after.locations == report.locations - 1


FIRST_FIELDS = ("coordinates", "connectors", "current_type", "max_power", "address", "opening_hours", "operator",
                "helpdesk", "evse_id", "ad_hoc_price")


def _complete_location() -> LocationView:
    """A location with every Annex item OCPI carries, for the rules added with the Annex."""
    now = datetime.now(timezone.utc)
    data = {"country": "DEU", "time_zone": "Europe/Berlin", "facilities": ["CAFE"],
            "energy_mix": {"is_green_energy": True}, "address": "Hauptstr. 1", "postal_code": "10115",
            "city": "Berlin"}
    evse = _evse([{"power_type": "AC_3_PHASE", "format": "SOCKET", "max_electric_power": 11000}])
    evse.data = {"floor_level": "-1", "parking": ["P1"], "capabilities": ["RFID_READER"],
                 "accepted_service_providers": ["DE*XYZ"]}
    return LocationView(1, "L1", "DE", "ABC", True, 52.5, 13.4, now, now, data, evses=[evse])


ANNEX_RULES = {  # rule -> how to break it, and the field its finding names
    "afir-country-missing": (lambda loc: loc.data.pop("country"), "country"),
    "afir-time-zone-missing": (lambda loc: loc.data.update(time_zone="Mars/Olympus"), "time_zone"),
    "afir-connector-format-missing": (lambda loc: loc.evses[0].connectors[0].pop("format"),
                                      "connectors[0].format"),
    "afir-facilities-missing": (lambda loc: loc.data.update(facilities=[]), "facilities"),
    "afir-location-details-missing": (lambda loc: loc.evses[0].data.pop("floor_level"), "floor_level"),
    "afir-parking-missing": (lambda loc: loc.evses[0].data.pop("parking"), "parking"),
    "afir-capabilities-missing": (lambda loc: loc.evses[0].data.pop("capabilities"), "capabilities"),
    "afir-service-providers-missing": (lambda loc: loc.evses[0].data.update(accepted_service_providers=[]),
                                       "accepted_service_providers"),
    "afir-renewable-missing": (lambda loc: loc.data.update(energy_mix={"energy_product_name": "Grey"}),
                               "energy_mix.is_green_energy"),
    "afir-status-missing": (lambda loc: setattr(loc.evses[0], "status", "UNKNOWN"), "status"),
}


@pytest.mark.parametrize("rule_name", sorted(ANNEX_RULES))
def test_each_annex_rule_flags_a_missing_value_and_passes_a_present_one(rule_name):
    rules = {rule.name: rule for rule in RULES}
    location = _complete_location()
    snapshot = FeedSnapshot(1, location.last_updated, 365, 24, locations=[location])
    assert list(rules[rule_name].check(snapshot)) == []
    breaking, field = ANNEX_RULES[rule_name]
    breaking(location)
    assert [f.field for f in rules[rule_name].check(snapshot)] == [field]


def test_the_supplement_fills_the_items_only_it_gives():
    from nap.quality.coverage import afir_coverage

    location = _complete_location()
    snapshot = FeedSnapshot(1, location.last_updated, 365, 24, locations=[location])
    plain = {c.code: c.present for c in afir_coverage(snapshot).items}
    assert plain["A10"] == plain["B5"] == 0 and plain["A15"] == plain["B3"] == 1
    supplemented = {c.code: c.present for c in afir_coverage(
        snapshot, supplement={"": {"A10": "DE3"}, "L1": {"B5": 150000}, "OTHER": {"A4": "staff"}}).items}
    assert (supplemented["A10"], supplemented["B5"], supplemented["A4"]) == (1, 1, 0)
    # Toilets from the supplement count for A6 where OCPI lists no facilities.
    location.data["facilities"] = []
    assert [c.present for c in afir_coverage(snapshot).items if c.code == "A6"] == [0]
    assert [c.present for c in afir_coverage(snapshot, {"L1": {"A6": True}}).items if c.code == "A6"] == [1]


def _evse(connectors) -> EvseView:
    return EvseView(pk=1, uid="1", evse_id="DE*ABC*E1*1", status="AVAILABLE", data={}, connectors=connectors)


def test_rules_the_schema_keeps_from_firing_still_catch_what_they_are_for():
    """Connectors and current type are required by the OCPI schema, so harvested data never
    lacks them; their rules still guard data that arrives by other ways (pushes, migrations)."""
    now = datetime.now(timezone.utc)
    location = LocationView(1, "L1", "DE", "ABC", True, 52.5, 13.4, now, now, {"country": "DEU"},
                            evses=[_evse([]), _evse([{"power_type": "AC"}])])
    location.evses[1].uid = "2"
    snapshot = FeedSnapshot(1, now, 365, 24, locations=[location])
    rules = {rule.name: rule for rule in RULES}
    assert [f.object_id for f in rules["afir-connectors-missing"].check(snapshot)] == ["L1/1"]
    assert [(f.object_id, f.field) for f in rules["afir-current-type-missing"].check(snapshot)] == [
        ("L1/1", "connectors[].power_type"), ("L1/2", "connectors[0].power_type")]
    assert list(_coordinates_swapped(snapshot)) == []
    location.latitude, location.longitude = 13.4, 52.5
    assert [f.object_id for f in _coordinates_swapped(snapshot)] == ["L1"]


def test_every_rule_is_named_explained_in_one_line_and_documented():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    documentation = (REPO / "docs" / "quality-rules.md").read_text()
    for rule in RULES:
        assert rule.severity in ("error", "warning")
        assert "\n" not in rule.explanation and len(rule.explanation) <= 160, rule.name
        assert f"`{rule.name}`" in documentation, f"{rule.name} is not in docs/quality-rules.md"
