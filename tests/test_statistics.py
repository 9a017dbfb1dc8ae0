"""Reliability statistics (docs/statistics.md): a status history with known intervals gives
the exact seconds and shares per EVSE, operator, power class and nation; the daily job and
`nap statistics compute` make them; recomputing a day gives the same rows; the API's JSON
and CSV agree; bad parameters are clear 400s; the operator's portal page lists its worst
EVSEs."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta, timezone
from fractions import Fraction

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from exporters.daily import run_daily_jobs
from exporters.statistics_api import FIGURE_COLUMNS
from nap.cli import main
from nap.store.evse_statistics import compute_day, days_due
from nap.store.leases import Leases
from nap.store.tables import DailyStatisticsGroup, EvseDailyStatistics, Location
from tests.settings_helpers import replace
from tests.statistics_fixtures import DAY_SECONDS, HOUR, build_history, expected_day_one, expected_day_two

SECONDS = ("operational_seconds", "occupied_seconds", "out_of_order_seconds", "unknown_seconds")


@pytest.fixture
def computed(sessions, settings, live_server, tmp_path):
    """The history, DAY computed by the daily job the night after, DAY+1 by the CLI."""
    history = build_history(sessions, settings, live_server)
    settings = replace(settings, export_dir=str(tmp_path / "exports"), export_hour_utc=23)
    night_after = datetime.combine(history.day + timedelta(days=1), time(1), tzinfo=timezone.utc)
    assert "statistics" in run_daily_jobs(sessions, settings, night_after, Leases(sessions, "worker-a"))
    assert "statistics" not in run_daily_jobs(sessions, settings, night_after, Leases(sessions, "worker-b"))
    result = _cli(settings, (history.day + timedelta(days=1)).isoformat())
    assert result.exit_code == 0, result.output
    return history, settings


def _cli(settings, day: str):
    env = {"NAP_DATABASE_URL": settings.database_url, "NAP_LOG_FORMAT": "text"}
    return CliRunner().invoke(main, ["statistics", "compute", "--day", day], env=env)


def _rows(sessions, day) -> dict[tuple, dict]:
    with sessions() as session:
        return {(row.location_pk, row.evse_uid): {
            column: getattr(row, column) for column in
            ("country_code", "party_id", "power_class", *SECONDS, "not_in_service_seconds", "status_changes",
             "end_status", "last_news_at")}
            for row in session.scalars(select(EvseDailyStatistics).where(EvseDailyStatistics.day == day))}


def _sum(rows, party, column) -> int:
    return sum(row[column] for row in rows.values() if row["party_id"] == party)


def test_each_evse_day_has_the_exact_seconds_of_its_known_intervals_and_recomputes_the_same(computed, sessions):
    history, settings = computed
    rows = _rows(sessions, history.day)
    a0, a1, a2 = (evse[:2] for evse in history.evses["AAA"][:3])
    b0 = history.evses["BBB"][0][:2]
    assert [rows[a0][c] for c in SECONDS] == [20 * HOUR, 2 * HOUR, 4 * HOUR, 0]
    assert rows[a0]["end_status"] == "OUTOFORDER" and rows[a0]["status_changes"] == 3
    assert [rows[a1][c] for c in SECONDS] == [23 * HOUR, 0, 0, HOUR]  # silent after the 24 h window
    assert a2 not in rows  # PLANNED all day: no charging point to judge
    assert [rows[b0][c] for c in SECONDS] == [12 * HOUR, 0, 12 * HOUR, 0]
    for key, row in rows.items():
        assert sum(row[c] for c in SECONDS if c != "occupied_seconds") + row["not_in_service_seconds"] == \
            DAY_SECONDS, key
        if key not in (a0, a1, b0):
            assert row["unknown_seconds"] == DAY_SECONDS, key  # no news for 30 h: unknown, never operational
    for day, expected in ((history.day, expected_day_one(history)),
                          (history.day + timedelta(days=1), expected_day_two(history))):
        rows = _rows(sessions, day)
        for party, figures in expected.items():
            got = {c: _sum(rows, party, c) for c in (*SECONDS, "status_changes")}
            got["evse_days"] = sum(1 for row in rows.values() if row["party_id"] == party)
            assert got == figures, (day, party)

    # The job caught up the day before too, which nobody had computed: AVAILABLE since 18:00
    # the day before that (30 h before DAY), known until 18:00, unknown after; a1 heard of
    # again at 23:00.
    day_before = _rows(sessions, history.day - timedelta(days=1))
    assert len(day_before) == sum(len(evses) for evses in history.evses.values())
    assert [day_before[a1][c] for c in SECONDS] == [19 * HOUR, 0, 0, 5 * HOUR]
    for key in set(day_before) - {a0, a1, a2, b0}:
        assert [day_before[key][c] for c in SECONDS] == [18 * HOUR, 0, 0, 6 * HOUR], key

    # Recomputing a day (the CLI, after the job) gives the same rows.
    before = _rows(sessions, history.day)
    result = _cli(settings, history.day.isoformat())
    assert result.exit_code == 0 and f"{len(before)} EVSE(s)" in result.output, result.output
    assert _rows(sessions, history.day) == before
    assert _cli(settings, "2026-02-30").exit_code == 2  # no such day: click says so
    # So does a pass per location, where the job's default takes this store in one: no
    # change is lost or counted twice where one range of locations ends and the next begins.
    with sessions.begin() as session:
        assert compute_day(session, history.day, timedelta(hours=24), locations_per_pass=1) == len(before)
    assert _rows(sessions, history.day) == before

    # A location the CPO stops serving leaves service when NAP marks it removed (its EVSEs
    # keep their last status, with no change in the history).
    b_last = history.evses["BBB"][-1]
    assert b_last[0] != b0[0]
    next_day = history.day + timedelta(days=1)
    with sessions.begin() as session:
        session.execute(update(Location).where(Location.id == b_last[0]).values(
            removed_at=datetime.combine(next_day, time(6), tzinfo=timezone.utc)))
    for day in (next_day, next_day + timedelta(days=1)):
        assert _cli(settings, day.isoformat()).exit_code == 0
    removed = _rows(sessions, next_day)[b_last[:2]]
    assert (removed["unknown_seconds"], removed["not_in_service_seconds"]) == (6 * HOUR, 18 * HOUR)
    assert b_last[:2] not in _rows(sessions, next_day + timedelta(days=1))


def _csv(response) -> list[dict]:
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def _agree(json_rows: list[dict], csv_rows: list[dict]) -> None:
    assert len(json_rows) == len(csv_rows)
    for from_json, from_csv in zip(json_rows, csv_rows):
        for column, text in from_csv.items():
            value = from_json[column]
            if value is None:
                assert text == ""
            elif isinstance(value, float):
                assert float(text) == value, column
            else:
                assert str(value) == text, column


def test_the_api_gives_exact_shares_per_operator_and_nation_in_json_and_csv(computed, nap_server, sessions):
    history, _settings = computed
    day, next_day = history.day.isoformat(), (history.day + timedelta(days=1)).isoformat()
    api = f"{nap_server.url}/api/v1/statistics"
    expected = expected_day_one(history)
    for party, figures in expected.items():
        answer = httpx.get(f"{api}/operators/de/{party.lower()}", params={"from": day, "to": day})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["country_code"], body["party_id"], body["silence_hours"]) == ("DE", party, 24)
        [row] = body["rows"]
        assert row["period_start"] == day and {k: row[k] for k in figures} == figures
        in_service = figures["operational_seconds"] + figures["out_of_order_seconds"] + figures["unknown_seconds"]
        assert row["in_service_seconds"] == in_service == figures["evse_days"] * DAY_SECONDS
        assert row["operational_share"] == float(Fraction(figures["operational_seconds"], in_service))
        assert row["occupied_share"] == float(Fraction(figures["occupied_seconds"], figures["operational_seconds"]))
        _agree(body["rows"], _csv(httpx.get(f"{api}/operators/DE/{party}",
                                            params={"from": day, "to": day, "format": "csv"})))

    national = httpx.get(f"{api}/national", params={"from": day, "to": next_day}).json()
    assert [r["period_start"] for r in national["rows"]] == [day, next_day]
    for row, by_party in zip(national["rows"], (expected, expected_day_two(history))):
        for column in (*SECONDS, "evse_days", "status_changes"):
            assert row[column] == sum(f[column] for f in by_party.values()), column
    as_csv = _csv(httpx.get(f"{api}/national", params={"from": day, "to": next_day},
                            headers={"Accept": "text/csv"}))
    assert list(as_csv[0]) == ["period_start", *FIGURE_COLUMNS]
    _agree(national["rows"], as_csv)

    # Weeks and months are sums of the days they hold; power classes and operators add up.
    for period in ("week", "month"):
        folded = httpx.get(f"{api}/national", params={"from": day, "to": next_day, "period": period}).json()["rows"]
        assert sum(r["operational_seconds"] for r in folded) == sum(r["operational_seconds"] for r in national["rows"])
        starts = {date.fromisoformat(r["period_start"]) for r in folded}
        assert starts == {d - timedelta(days=d.weekday()) if period == "week" else d.replace(day=1)
                          for d in (history.day, history.day + timedelta(days=1))}, period
    classes = httpx.get(f"{api}/power-classes", params={"from": day, "to": day}).json()["rows"]
    operators = httpx.get(f"{api}/operators", params={"from": day, "to": day}).json()["rows"]
    for column in SECONDS:
        assert sum(r[column] for r in classes) == sum(r[column] for r in operators) == national["rows"][0][column]

    evses = httpx.get(f"{api}/evses/DE/AAA", params={"day": day}).json()["rows"]
    a0 = next(r for r in evses if r["evse_uid"] == history.evses["AAA"][0][1])
    assert (a0["operational_seconds"], a0["out_of_order_seconds"], a0["operational_share"]) == \
        (20 * HOUR, 4 * HOUR, 20 / 24)
    _agree(evses, _csv(httpx.get(f"{api}/evses/DE/AAA", params={"day": day, "format": "csv"})))

    # An id a spreadsheet would run as a formula is quoted in the CSV (CSV injection), not in JSON.
    with sessions.begin() as session:
        session.execute(update(EvseDailyStatistics).where(EvseDailyStatistics.evse_uid == a0["evse_uid"])
                        .values(evse_id="=HYPERLINK(1)"))
    params = {"day": day}
    assert next(r for r in httpx.get(f"{api}/evses/DE/AAA", params=params).json()["rows"]
                if r["evse_uid"] == a0["evse_uid"])["evse_id"] == "=HYPERLINK(1)"
    assert next(r for r in _csv(httpx.get(f"{api}/evses/DE/AAA", params={**params, "format": "csv"}))
                if r["evse_uid"] == a0["evse_uid"])["evse_id"] == "'=HYPERLINK(1)"


BAD_PARAMETERS = [
    ("/national", {"period": "year"}, "period must be one of day, week, month"),
    ("/national", {"from": "2026-13-01"}, "from must be a date YYYY-MM-DD"),
    ("/national", {"to": "yesterday"}, "to must be a date YYYY-MM-DD"),
    ("/national", {"from": "2026-05-02", "to": "2026-05-01"}, "is after to"),
    ("/national", {"from": "0001-01-01", "to": "2026-01-01"}, "at most 3700 days"),
    ("/national", {"to": "0001-01-02"}, "too early"),
    ("/national", {"format": "xml"}, "format must be json or csv"),
    ("/operators/DEU/AAA", {}, "an operator is a country code of two letters"),
    ("/evses/DE/AAA", {"day": "2026-01-01", "from": "2026-01-01"}, "either day or from/to"),
    ("/evses/DE/AAA", {"from": "2025-01-01", "to": "2026-06-01"}, "at most 366 days"),
]


def test_bad_parameters_are_clear_400s_and_an_unknown_operator_a_404(nap_server):
    for path, params, message in BAD_PARAMETERS:
        answer = httpx.get(f"{nap_server.url}/api/v1/statistics{path}", params=params)
        assert answer.status_code == 400 and message in answer.json()["error"], (path, params, answer.text)
    answer = httpx.get(f"{nap_server.url}/api/v1/statistics/operators/DE/ZZZ")
    assert answer.status_code == 404 and "DE/ZZZ" in answer.json()["error"]


def test_the_openapi_document_lists_the_statistics_endpoints(nap_server):
    paths = httpx.get(f"{nap_server.url}/openapi.json").json()["paths"]
    for path in ("/api/v1/statistics/national", "/api/v1/statistics/power-classes", "/api/v1/statistics/operators",
                 "/api/v1/statistics/operators/{country_code}/{party_id}",
                 "/api/v1/statistics/evses/{country_code}/{party_id}"):
        operation = paths[path]["get"]
        assert "text/csv" in operation["responses"]["200"]["content"], path
        assert "400" in operation["responses"], path


def test_the_pages_draw_the_figures_and_the_cpo_sees_its_worst_evses(computed, nap_server, sessions):
    from nap.feeds import get_feed
    from nap.portal.ownership import add_owner
    from tests.portal_fixtures import PortalClient, add_user

    history, _settings = computed
    span = {"from": history.day.isoformat(), "to": (history.day + timedelta(days=1)).isoformat()}
    national = httpx.get(f"{nap_server.url}/statistics", params=span)
    assert national.status_code == 200 and 'data-chart="availability"' in national.text
    assert f'data-period="{history.day.isoformat()}" data-state="operational"' in national.text
    assert 'href="/statistics/operators/DE/AAA?' in national.text
    # Over both days: a0 20 of 48 h and a1 23 of 48 h operational, b0 24 of 48 h, the rest 0.
    others = len(history.evses["AAA"]) - 3 + len(history.evses["BBB"]) - 1
    for label, evses in (("0–10 %", others), ("40–50 %", 2), ("50–60 %", 1), ("90–100 %", 0)):
        assert f'data-bin="{label}" data-evses="{evses}"' in national.text, label
    page = httpx.get(f"{nap_server.url}/statistics/operators/DE/BBB", params={**span, "period": "week"})
    assert page.status_code == 200 and 'data-chart="distribution"' in page.text
    assert history.evses["BBB"][0][2] in page.text  # b0, out of order half a day, is among the worst
    assert httpx.get(f"{nap_server.url}/statistics", params={"period": "decade"}).status_code == 400
    assert httpx.get(f"{nap_server.url}/statistics/operators/DE/ZZZ", params=span).status_code == 404

    user = add_user(sessions, "owner@aaa.example")
    with sessions.begin() as session:
        feed_id = get_feed(session, "cpo-AAA").id
        add_owner(session, feed_id, user)
    client = PortalClient(nap_server.url)
    client.login("owner@aaa.example")
    own = client.get(f"/portal/feeds/{feed_id}").text
    client.close()
    worst = own.split('data-testid="worst-evses"', 1)[1].split("</table>", 1)[0]
    a0_id = history.evses["AAA"][0][2]
    assert a0_id in worst and history.evses["BBB"][0][2] not in worst


def test_a_day_is_cut_into_whole_seconds_by_state_and_news():
    """The day function alone, for cases the history above does not hold."""
    from nap.store.evse_statistics import _Timeline, day_bounds, evse_day_seconds

    start, _end = day_bounds(date(2026, 3, 29))  # 23 hours in central Europe; 24 in UTC
    window = timedelta(hours=24)

    def seconds(status, news_at, *changes):
        day = evse_day_seconds(_Timeline(status, news_at, [(start + timedelta(hours=h), s) for h, s in changes]),
                               start, window)
        return day.operational, day.occupied, day.out_of_order, day.unknown, day.not_in_service

    # First seen at 10:00 (no state before): not in service until then.
    assert seconds(None, None, (10, "AVAILABLE")) == (14 * HOUR, 0, 0, 0, 10 * HOUR)
    # A state known, but not since when (history pruned): unknown until its first change.
    assert seconds("CHARGING", None, (2, "AVAILABLE")) == (22 * HOUR, 0, 0, 2 * HOUR, 0)
    # Silence runs out in the middle of a state; UNKNOWN is unknown; REMOVED leaves service.
    assert seconds("RESERVED", start - timedelta(hours=20), (6, "UNKNOWN"), (7, "BLOCKED"), (22, "REMOVED")) == \
        (4 * HOUR + 15 * HOUR, 15 * HOUR, 0, 2 * HOUR + HOUR, 2 * HOUR)
    # A change at 23:59:59.999 counts from 23:59:59: the parts still add up to the day.
    late = evse_day_seconds(_Timeline("AVAILABLE", start, [(start + timedelta(seconds=DAY_SECONDS - 0.001),
                                                            "OUTOFORDER")]), start, window)
    assert (late.operational, late.out_of_order) == (DAY_SECONDS - 1, 1)


def test_a_day_begins_with_the_last_change_received_before_it_even_among_changes_received_together(
        sessions, settings, live_server):
    """Two changes of one EVSE received in the same batch share their receipt time: the one
    recorded last is the state the next day begins with (the job's start-state look-up)."""
    from nap.store.status_history import StatusChange, record_status_changes

    history = build_history(sessions, settings, live_server)
    start = datetime.combine(history.day, time(), tzinfo=timezone.utc)
    pk, uid, _ = history.evses["AAA"][1]
    together = start - timedelta(minutes=30)
    with sessions.begin() as session:
        feed_id = session.scalar(select(Location.feed_id).where(Location.id == pk))
        record_status_changes(session, feed_id, [StatusChange(pk, uid, "AVAILABLE", "CHARGING", together),
                                                 StatusChange(pk, uid, "CHARGING", "OUTOFORDER", together)],
                              together, "push")
    with sessions.begin() as session:
        assert compute_day(session, history.day, timedelta(hours=24)) == len(history.evses["AAA"]) + len(
            history.evses["BBB"]) - 1  # a2 is PLANNED all day
    row = _rows(sessions, history.day)[pk, uid]
    assert [row[c] for c in SECONDS] == [0, 0, 23 * HOUR + 1800, 1800]
    assert (row["end_status"], row["last_news_at"], row["status_changes"]) == ("OUTOFORDER", together, 0)


def test_the_nightly_job_catches_up_on_the_seven_days_before_yesterday_that_have_no_figures(sessions):
    """docs/statistics.md: yesterday, and any of the seven days before it without figures.
    It took the six before it (the range ended at yesterday)."""
    today = date(2026, 3, 20)
    figures = dict(country_code="DE", party_id="ABC", power_class="ac", evse_days=1, operational_seconds=1,
                   occupied_seconds=0, out_of_order_seconds=0, unknown_seconds=0, not_in_service_seconds=0,
                   status_changes=0)
    with sessions.begin() as session:
        for back in (1, 3, 9):  # yesterday, a day with figures, one beyond the catch-up
            session.add(DailyStatisticsGroup(day=today - timedelta(days=back), **figures))
    with sessions() as session:
        due = days_due(session, today)
    assert due == [today - timedelta(days=back) for back in (8, 7, 6, 5, 4, 2, 1)]
