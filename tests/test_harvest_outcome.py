"""What a harvest run tells the CPO and the operator: the locations, EVSEs and connectors
served, stored, repaired and skipped, kept on the run; a run that skipped more than
NAP_HARVEST_DEGRADED_EVSE_SHARE of the EVSEs served ends "degraded" (its data stored, and
it counts as a good run for what follows: freshness, incremental pulls, findings); the top
reasons of its findings in `nap feeds show`; and /metrics. Against the demo CPO over real
HTTP, on SQLite and PostgreSQL.

Mutations checked: judging a run by the share of locations (not EVSEs) skipped, or ending
a degraded run as "success", fails the first test; a page process that drops its pages'
counts fails tests/test_page_process.py; `_may_be_large` or the incremental window reading
"success" runs only fails the incremental test; grouping reasons by their exact text or
fields with their indices fails the reasons tests.
"""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, update

from nap.ocpi.findings import UnitCounts
from harvesters.harvest import Harvester, completed_status
from nap.cli import main
from nap.feeds import add_feed, get_feed
from nap.store.db import get_engine
from nap.store.migrate import alembic_config, upgrade
from nap.store.run_report import field_pattern, latest_run_report, reason_pattern, top_reasons
from nap.store.tables import Evse, Feed, Finding, HarvestRun, Location
from tests.harvest_helpers import (
    count_rows, fleet_with_flaws, harvest, register_and_harvest, served_units, verbatim_cpo,
)
from tests.settings_helpers import replace


def test_a_run_that_skips_more_than_1_percent_of_the_evses_ends_degraded_with_its_counts(
        live_server, sessions, settings):
    fleet, dropped = fleet_with_flaws(locations=20, drop=2)
    evses, connectors = served_units(fleet)  # the dropped EVSEs have no connectors left to count
    assert 2 > 0.01 * evses
    run = register_and_harvest(sessions, settings, verbatim_cpo(live_server, fleet))
    assert run.status == "degraded", run.error
    assert run.error is None and run.objects_skipped == 0  # every location was stored
    units = run.unit_counts
    assert units["locations"] | {"repaired": 0} == {"served": 20, "stored": 20, "repaired": 0, "skipped": 0}
    assert (units["evses"]["served"], units["evses"]["stored"], units["evses"]["skipped"]) == (evses, evses - 2, 2)
    assert (units["connectors"]["served"], units["connectors"]["stored"], units["connectors"]["skipped"]) == (
        connectors, connectors, 0)
    # Its data was stored, as a success's would be.
    assert count_rows(sessions, Location) == 20 and count_rows(sessions, Evse) == evses - 2
    with sessions() as session:
        feed = get_feed(session, "demo")
        assert feed.last_success_started_at == run.started_at == feed.last_full_sync_at
        errors = session.scalars(select(Finding.object_id).where(Finding.run_id == run.id,
                                                                 Finding.severity == "error")).all()
    assert set(errors) == set(dropped)


def test_a_run_that_skips_no_evse_or_at_most_the_share_ends_as_success(live_server, sessions, settings):
    fleet, _ = fleet_with_flaws(locations=20)
    evses, connectors = served_units(fleet)
    run = register_and_harvest(sessions, settings, verbatim_cpo(live_server, fleet))
    assert run.status == "success", run.error
    assert run.unit_counts["evses"] | {"repaired": 0} == {"served": evses, "stored": evses, "repaired": 0, "skipped": 0}
    assert run.unit_counts["connectors"]["stored"] == connectors
    # Two EVSEs dropped as in the first test, with a share above theirs allowed (another
    # party's fleet: the first feed's ids are its own).
    broken, _ = fleet_with_flaws(locations=20, drop=2, party_id="XYZ")
    register_and_harvest(sessions, replace(settings, harvest_degraded_evse_share=0.5),
                         verbatim_cpo(live_server, broken), name="lenient", country_code="DE", party_id="XYZ")
    with sessions() as session:
        lenient = session.scalars(select(HarvestRun).join(Feed).where(Feed.name == "lenient")).one()
    assert lenient.status == "success" and lenient.unit_counts["evses"]["skipped"] == 2


def test_the_share_is_of_the_evses_served_and_more_than_it_degrades():
    assert completed_status(UnitCounts(evses_served=100, evses_skipped=1), 0.01) == "success"
    assert completed_status(UnitCounts(evses_served=100, evses_skipped=2), 0.01) == "degraded"
    assert completed_status(UnitCounts(evses_served=1000, evses_skipped=11), 0.01) == "degraded"
    # Locations skipped whole skip their EVSEs: it is the EVSEs that count.
    assert completed_status(UnitCounts(locations_served=10, locations_skipped=5, evses_served=100,
                                       evses_skipped=0), 0.01) == "success"
    assert completed_status(UnitCounts(), 0.01) == "success"  # nothing served (tariffs only, or no changes)
    assert completed_status(UnitCounts(evses_served=100, evses_skipped=1), 0) == "degraded"


def test_broken_demo_objects_are_counted_and_degrade_the_run(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=60, broken_objects=13)
    run = register_and_harvest(sessions, settings, cpo)
    assert run.status == "degraded", run.error
    units = run.unit_counts
    for unit in ("locations", "evses", "connectors"):
        assert units[unit]["served"] == units[unit]["stored"] + units[unit]["skipped"], unit
        assert units[unit]["repaired"] <= units[unit]["stored"], unit
    assert units["locations"]["served"] == 60 and 0 < units["locations"]["skipped"] == run.objects_skipped
    # A location skipped whole skips its EVSEs too.
    assert units["evses"]["skipped"] >= units["locations"]["skipped"]
    assert units["evses"]["stored"] == count_rows(sessions, Evse)


def test_after_a_degraded_run_the_next_is_incremental_and_judged_by_it(live_server, sessions, settings):
    fleet, _ = fleet_with_flaws(locations=20, drop=2)
    cpo = verbatim_cpo(live_server, fleet)
    first = register_and_harvest(sessions, settings, cpo)
    assert first.status == "degraded"
    with sessions() as session:
        feed = get_feed(session, "demo")
    # Its Locations in the harvest process: the degraded run showed the feed small (a
    # feed never harvested well would get a page process).
    assert not Harvester(sessions, replace(settings, harvest_page_process_min_objects=1000))._may_be_large(
        feed, full_sync=True)
    # The CPO mends one EVSE: the next pull asks for the changes since the degraded run.
    location = fleet.locations[0]
    location["evses"][0]["connectors"] = copy.deepcopy(fleet.locations[5]["evses"][0]["connectors"])
    location["last_updated"] = location["evses"][0]["last_updated"] = (
        datetime.now(timezone.utc) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    second = harvest(sessions, settings)
    assert second.status == "success" and not second.full_sync
    assert second.objects_received == 1 and second.objects_changed == 1
    assert second.unit_counts["evses"]["skipped"] == 0
    assert second.unit_counts["evses"]["served"] == len(location["evses"])
    assert count_rows(sessions, Evse) == served_units(fleet)[0] - 1


def test_locations_of_a_party_not_verified_for_the_feed_are_counted_skipped(live_server, sessions, settings):
    fleet, _ = fleet_with_flaws(locations=6)
    evses, connectors = served_units(fleet)
    first = register_and_harvest(sessions, settings, verbatim_cpo(live_server, fleet), name="first")
    assert first.status == "success"
    # A second feed serving the same ids under a party it only claims (DE/ABC is verified for
    # the first): the store refuses them after the normalizer let them through, so the run
    # stored none of its units.
    second = register_and_harvest(sessions, settings, verbatim_cpo(live_server, copy.deepcopy(fleet)), name="second",
                                  country_code="DE", party_id="ABC", claim_source="form")
    assert second.objects_skipped == 6, second.unit_counts
    assert second.status == "degraded", second.unit_counts
    assert second.unit_counts["locations"] | {"repaired": 0} == {"served": 6, "stored": 0, "repaired": 0, "skipped": 6}
    assert (second.unit_counts["evses"]["stored"], second.unit_counts["evses"]["skipped"]) == (0, evses)
    assert second.unit_counts["connectors"]["skipped"] == connectors
    assert second.unit_counts["evses"]["repaired"] == 0


def _plant_run(sessions, findings: list[tuple[str, str | None, str, str]]) -> int:
    """A finished run of a new feed with these findings: (severity, object id, field, reason)."""
    now = datetime.now(timezone.utc)
    with sessions.begin() as session:
        feed = add_feed(session, name="planted", versions_url="https://cpo.example/versions", token="t")
        run = HarvestRun(feed_id=feed.id, started_at=now, finished_at=now, status="degraded", pages=1, bytes=1,
                         objects_received=3, unit_counts=UnitCounts(evses_served=10, evses_stored=8,
                                                                    evses_skipped=2).as_dict())
        session.add(run)
        session.flush()
        session.add_all(Finding(feed_id=feed.id, run_id=run.id, object_type="evse", object_id=object_id,
                                field=field, severity=severity, reason=reason, created_at=now)
                        for severity, object_id, field, reason in findings)
        return run.id


def test_top_reasons_group_fields_without_indices_and_reasons_without_values(sessions):
    format_error = "Input should be 'CABLE' or 'SOCKET', not {!r}"
    planted = (
        [("error", f"L{n}/E1", f"evses[{n % 3}].connectors[{n % 2}].format", format_error.format(f"X{n}"))
         for n in range(5, 12)]  # 7: one group, whatever the index or the value
        + [("error", "L2/E1", "evses[0].connectors", "List should have at least 1 item after validation, not 0"),
           ("error", "L1/E9", "evses[4].connectors", "List should have at least 1 item after validation, not 0"),
           ("error", None, None, "expected a JSON object, got list")]
        + [("error", f"M{n:02}", f"field_{n}", "Field required") for n in range(12)]  # 12 groups of one
        + [("warning", "L3", "max_voltage", "number given as text '230'"),
           ("warning", "L4", "max_voltage", "number given as text '400'"),
           ("warning", "L5", "standard", "'type 2' read as IEC_62196_T2"),
           ("warning", "L6", "country", "missing, taken from the feed's registration")])
    run_id = _plant_run(sessions, planted)
    with sessions() as session:
        errors = top_reasons(session, run_id, "error")
        warnings = top_reasons(session, run_id, "warning")
        report = latest_run_report(session, get_feed(session, "planted").id)
    assert len(errors) == 10
    first, second = errors[0], errors[1]
    assert (first.field, first.reason, first.count) == (
        "evses[].connectors[].format", "Input should be '…', not '…'", 7)
    assert first.example_object_id == "L10/E1" and first.example_reason == format_error.format("X10")
    assert first.shows_values
    assert (second.field, second.count, second.example_object_id) == ("evses[].connectors", 2, "L1/E9")
    assert not second.shows_values
    # Then the groups of one, by field: the object-less finding sorts first ("" field).
    assert [(g.field, g.count, g.example_object_id) for g in errors[2:4]] == [("", 1, None), ("field_0", 1, "M00")]
    assert [(g.field, g.reason, g.count, g.example_object_id) for g in warnings] == [
        ("max_voltage", "number given as text '…'", 2, "L3"),
        ("country", "missing, taken from the feed's registration", 1, "L6"),
        ("standard", "'…' read as IEC_62196_T2", 1, "L5")]
    assert report.run.id == run_id and (report.error_count, report.repair_count) == (22, 4)
    assert [(row.unit, row.served, row.skipped) for row in report.units][1] == ("evses", 10, 2)


def test_patterns():
    assert field_pattern("evses[12].connectors[0].tariff_ids[3]") == "evses[].connectors[].tariff_ids[]"
    assert field_pattern(None) == ""
    assert reason_pattern("latitude '52,1' is not a decimal number") == "latitude '…' is not a decimal number"
    assert reason_pattern("Input should be 'A', 'B' or 'C', not \"it's\"") == "Input should be '…', not '…'"
    assert reason_pattern("the CPO's feed's field") == "the CPO's feed's field"


def test_nap_feeds_show_prints_the_counts_and_the_top_reasons(live_server, sessions, settings, monkeypatch):
    fleet, dropped = fleet_with_flaws(locations=20, drop=3, voltages_as_text=4)
    evses, _ = served_units(fleet)
    run = register_and_harvest(sessions, settings, verbatim_cpo(live_server, fleet))
    assert run.status == "degraded"
    monkeypatch.setenv("NAP_DATABASE_URL", settings.database_url)
    shown = CliRunner().invoke(main, ["feeds", "show", "demo"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert any(line.startswith(f"{run.id:<4} ") and " degraded " in line for line in lines)
    assert f"latest finished run #{run.id}" in shown.output and "): degraded" in shown.output
    evse_line = next(line for line in lines if line.startswith("evses "))
    assert evse_line.split()[:2] == ["evses", str(evses)] and evse_line.split()[2] == str(evses - 3)
    assert evse_line.split()[4:] == ["3", f"({100 * 3 / evses:.1f}", "%)"]
    assert "more than 1 % of the EVSEs served were skipped" in shown.output
    errors = shown.output.split("top reasons, errors (skipped): 3 findings", 1)[1].split("top reasons, repairs", 1)[0]
    # The three connector-less EVSEs: one reason, counted 3 times, the first of them as the example.
    assert errors.strip().splitlines()[0].split()[:2] == ["3", "evses[].connectors:"]
    assert f"(e.g. {min(dropped)})" in errors
    repairs = shown.output.split("top reasons, repairs (warnings): ", 1)[1]
    voltage = next(line for line in repairs.splitlines() if "max_voltage" in line)
    # Four different values, one group (their values replaced by '…'), one example value.
    assert voltage.split()[0] == "4" and "'…'" in voltage and "(e.g. " in voltage


def test_metrics_show_the_degraded_run_and_its_units(live_server, nap_server, sessions, settings):
    fleet, _ = fleet_with_flaws(locations=20, drop=2)
    evses, _ = served_units(fleet)
    register_and_harvest(sessions, settings, verbatim_cpo(live_server, fleet), name="shaky")
    steady, _ = fleet_with_flaws(locations=5, party_id="XYZ")
    register_and_harvest(sessions, settings, verbatim_cpo(live_server, steady), name="steady", country_code="DE",
                         party_id="XYZ")
    text = httpx.get(f"{nap_server.url}/metrics").text
    assert 'nap_harvest_runs_total{feed="shaky",status="degraded"} 1.0' in text
    assert 'nap_harvest_runs_total{feed="shaky",status="success"} 0.0' in text
    assert 'nap_harvest_runs_total{feed="steady",status="degraded"} 0.0' in text
    assert 'nap_harvest_runs_total{feed="steady",status="success"} 1.0' in text
    assert f'nap_harvest_last_run_units{{feed="shaky",outcome="served",unit="evses"}} {float(evses)}' in text
    assert 'nap_harvest_last_run_units{feed="shaky",outcome="skipped",unit="evses"} 2.0' in text
    assert 'nap_harvest_last_run_units{feed="shaky",outcome="stored",unit="locations"} 20.0' in text
    assert 'nap_harvest_last_run_units{feed="steady",outcome="skipped",unit="evses"} 0.0' in text
    assert 'nap_harvest_last_run_degraded{feed="shaky"} 1.0' in text
    assert 'nap_harvest_last_run_degraded{feed="steady"} 0.0' in text
    assert 'nap_harvest_last_finished_timestamp_seconds{feed="shaky",status="degraded"}' in text


def test_migration_0006_adds_the_counts_and_its_downgrade_keeps_degraded_runs_good(live_server, sessions,
                                                                                    settings):
    fleet, _ = fleet_with_flaws(locations=5, drop=2)
    assert register_and_harvest(sessions, settings, verbatim_cpo(live_server, fleet)).status == "degraded"
    findings = count_rows(sessions, Finding)
    assert findings >= 2
    engine = get_engine(settings.database_url)
    command.downgrade(alembic_config(settings.database_url), "0005")
    assert "unit_counts" not in {c["name"] for c in inspect(engine).get_columns("harvest_runs")}
    with engine.connect() as connection:
        # The previous release knows no "degraded": the run is one whose data was stored.
        assert connection.execute(select(HarvestRun.__table__.c.status)).scalars().all() == ["success"]
        # The runs' findings stay (no table rebuilt under them).
        assert connection.execute(select(func.count()).select_from(Finding.__table__)).scalar() == findings
    upgrade(settings.database_url)
    with sessions() as session:
        assert session.scalars(select(HarvestRun.unit_counts)).all() == [None]
