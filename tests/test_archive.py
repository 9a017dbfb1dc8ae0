"""The history archive: the EVSE status history as daily Parquet files holding exactly the
day's rows, listed and served on /downloads with matching sizes and sums, rebuilt to the
same bytes, written before the live history is pruned; snapshots kept as long as the
setting says."""
from __future__ import annotations

import base64
import hashlib
import json
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from exporters.archive import HISTORY_SCHEMA, archive_day, archive_missing_days, history_dir, safe_prune_cutoff
from exporters.bulk import list_snapshots
from exporters.daily import run_daily_jobs
from nap.app import create_app
from nap.cli import main
from nap.config import Settings
from nap.feeds import get_feed, issue_push_token
from nap.ocpi.values import format_datetime
from nap.store.db import write_session
from nap.store.leases import Leases
from nap.store.status_history import STATUS_CHANGE_COLUMNS, StatusChange, record_status_changes
from nap.store.tables import EvseStatusChange, Feed, Location
from tests.harvest_helpers import register_and_harvest
from tests.settings_helpers import replace

TODAY = datetime.now(timezone.utc).date()
DAY_ONE, DAY_TWO = TODAY - timedelta(days=3), TODAY - timedelta(days=2)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


@pytest.fixture
def history(demo_cpo, live_server, sessions, settings, tmp_path):
    """A harvested demo CPO (its first statuses are history rows, pulled), one status PATCH
    pushed over HTTP today, and changes received on two earlier days, on both sides of
    their midnights. Returns the settings (exports under tmp_path) and NAP serving."""
    settings = replace(settings, export_dir=str(tmp_path / "exports"))
    cpo = demo_cpo(locations=6)
    assert register_and_harvest(sessions, settings, cpo, licence="CC-BY-4.0").status == "success"
    nap = live_server(create_app(settings))
    with sessions.begin() as session:
        token = issue_push_token(session, get_feed(session, "demo"))
    location = cpo.app.config["FLEET"].locations[0]
    stamp = format_datetime(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1))
    evse = f"{location['id']}/{location['evses'][0]['uid']}"
    pushed = httpx.patch(f"{nap.url}/ocpi/2.3.0/receiver/locations/DE/ABC/{evse}",
                         json={"status": "OUTOFORDER", "last_updated": stamp},
                         headers={"Authorization": "Token " + base64.b64encode(token.encode()).decode()})
    assert pushed.status_code == 200 and pushed.json()["status_code"] == 1000
    with write_session(sessions) as session:
        feed_id = session.scalar(select(Feed.id).where(Feed.name == "demo"))
        pk, uid = session.execute(select(EvseStatusChange.location_pk, EvseStatusChange.evse_uid)).first()
        for received, old, new in [
            (_midnight(DAY_ONE), None, "AVAILABLE"),  # the first microsecond of a day is that day's
            (_midnight(DAY_ONE) + timedelta(hours=12), "AVAILABLE", "CHARGING"),
            (_midnight(DAY_TWO) - timedelta(microseconds=1), "CHARGING", "BLOCKED"),  # its last
            (_midnight(DAY_TWO) + timedelta(microseconds=1), "BLOCKED", "AVAILABLE"),
        ]:
            record_status_changes(session, feed_id, [StatusChange(pk, uid, old, new, received - timedelta(seconds=2))],
                                  received, "push")
    return settings, nap


def _rows_by_day(sessions) -> dict[date, list[dict]]:
    """The history as the database holds it, joined by hand, in insertion order per time."""
    by_day = defaultdict(list)
    with sessions() as session:
        locations = {row.id: row for row in session.scalars(select(Location))}
        feeds = {row.id: row.name for row in session.scalars(select(Feed))}
        for change in session.scalars(select(EvseStatusChange).order_by(EvseStatusChange.id)):
            location = locations[change.location_pk]
            by_day[change.received_at.date()].append({
                "country_code": location.country_code, "party_id": location.party_id,
                "location_id": location.ocpi_id, "evse_uid": change.evse_uid, "old_status": change.old_status,
                "new_status": change.new_status, "cpo_time": change.cpo_time, "received_at": change.received_at,
                "via": change.via, "feed": feeds[change.feed_id]})
    return {day: sorted(rows, key=lambda row: row["received_at"]) for day, rows in by_day.items()}


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_each_day_reads_back_to_exactly_its_rows_and_is_served_as_listed(history, sessions):
    settings, nap = history
    export_dir = Path(settings.export_dir)
    expected = _rows_by_day(sessions)
    assert set(expected) == {DAY_ONE, DAY_TWO, TODAY} and len(expected[DAY_ONE]) == 3
    assert {row["via"] for row in expected[TODAY]} == {"pull", "push"}

    # Complete days only: today's history is still growing.
    written = archive_missing_days(sessions, export_dir, TODAY)
    assert [a.day for a in written] == [DAY_ONE + timedelta(days=n) for n in range((TODAY - DAY_ONE).days)]
    assert archive_missing_days(sessions, export_dir, TODAY) == []  # nothing missing any more
    today = archive_day(sessions, export_dir, TODAY)  # asked for by name (nap archive --day)
    for archived in [*written, today]:
        table = pq.read_table(archived.path)
        assert table.schema == HISTORY_SCHEMA
        assert table.to_pylist() == expected.get(archived.day, []), archived.day
        assert archived.rows == table.num_rows
    assert not any(name.startswith(".") for name in (p.name for p in history_dir(export_dir).iterdir()))

    listing = httpx.get(f"{nap.url}/downloads.json").json()
    assert listing["licence"] == settings.data_licence and listing["catalogue"] == "/catalogue"
    listed = {entry["date"]: entry for entry in listing["status_history"]}
    assert list(listed) == sorted(listed, reverse=True)
    assert set(listed) == {a.day.isoformat() for a in [*written, today]}
    page = httpx.get(f"{nap.url}/downloads").text
    for day, entry in listed.items():
        assert entry["url"] == f"/downloads/archive/status-history/{day}.parquet"
        served = httpx.get(nap.url + entry["url"])
        assert served.status_code == 200
        assert (len(served.content), _sha256(served.content)) == (entry["size"], entry["sha256"])
        on_disk = history_dir(export_dir) / f"{day}.parquet"
        assert (on_disk.stat().st_size, _sha256(on_disk.read_bytes())) == (entry["size"], entry["sha256"])
        sum_file = httpx.get(nap.url + entry["url"] + ".sha256").text
        assert sum_file == f"{entry['sha256']}  {day}.parquet\n"
        assert f'href="{entry["url"]}"' in page and entry["sha256"] in page and str(entry["size"]) in page
    assert settings.data_licence in page and 'href="/catalogue"' in page


def test_nap_archive_writes_missing_days_and_rebuilds_a_day_to_the_same_bytes(history, sessions, tmp_path):
    settings, nap = history
    export_dir = Path(settings.export_dir)
    env = {"NAP_DATABASE_URL": settings.database_url, "NAP_EXPORT_DIR": settings.export_dir, "NAP_LOG_FORMAT": "text"}
    runner = CliRunner()
    first = runner.invoke(main, ["archive"], env=env)
    assert first.exit_code == 0, first.output
    assert f"{DAY_ONE.isoformat()}.parquet" in first.output and f"{TODAY.isoformat()}.parquet" not in first.output
    path = history_dir(export_dir) / f"{DAY_ONE.isoformat()}.parquet"
    before = path.read_bytes()
    assert runner.invoke(main, ["archive"], env=env).output.strip() == "nothing to archive"
    assert runner.invoke(main, ["archive", "--day", DAY_ONE.isoformat()], env=env).output.strip() == \
        "nothing to archive"  # already archived: only --rebuild rewrites it

    rebuilt = runner.invoke(main, ["archive", "--day", DAY_ONE.isoformat(), "--rebuild"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "3 rows" in rebuilt.output and path.read_bytes() == before
    listed = httpx.get(f"{nap.url}/downloads.json").json()["status_history"]
    assert {e["date"]: e["sha256"] for e in listed}[DAY_ONE.isoformat()] == _sha256(before)

    # A day that may have lost rows to pruning since is not rewritten (the archive would shrink).
    old = runner.invoke(main, ["archive", "--day", DAY_ONE.isoformat(), "--rebuild"],
                        env={**env, "NAP_STATUS_HISTORY_DAYS": "2"})
    assert old.exit_code == 1 and "may have been pruned" in old.output and path.read_bytes() == before
    bad = runner.invoke(main, ["archive", "--day", "2026-13-01"], env=env)
    assert bad.exit_code == 2 and "2026-13-01" in bad.output
    for name in (".2026-12-01.parquet.123.partial", "2001-01-01.parquet", "..%2fmanifest.json"):
        assert httpx.get(f"{nap.url}/downloads/archive/status-history/{name}").status_code == 404


def test_the_daily_job_archives_before_it_prunes_and_keeps_snapshots_as_configured(history, sessions):
    settings, nap = history
    export_dir = Path(settings.export_dir)
    expected = _rows_by_day(sessions)
    now = datetime.combine(TODAY, time(3, 0), tzinfo=timezone.utc)
    # Yesterday's and older snapshots: those past the default year go, the rest stay.
    assert Settings.model_fields["export_keep_days"].default == settings.export_keep_days == 365
    dated = {TODAY - timedelta(days=n): n for n in (1, 364, 365, 400)}
    for day in dated:
        (export_dir / day.isoformat()).mkdir(parents=True)
        (export_dir / day.isoformat() / "manifest.json").write_text(json.dumps({"files": [], "feeds": []}))

    # Nothing archived yet: pruning two days back would delete DAY_ONE's rows, so it stops there.
    with sessions() as session:
        assert safe_prune_cutoff(session, export_dir, now - timedelta(days=2)) == _midnight(DAY_ONE)

    pruning = replace(settings, status_history_days=2)
    assert {"export", "prune"} <= set(run_daily_jobs(sessions, pruning, now, Leases(sessions, "worker-a")))
    for day in (DAY_ONE, DAY_TWO):
        assert pq.read_table(history_dir(export_dir) / f"{day}.parquet").to_pylist() == expected[day]
    left = _rows_by_day(sessions)
    assert DAY_ONE not in left  # pruned, archived first
    assert left.get(DAY_TWO, []) == [row for row in expected[DAY_TWO] if row["received_at"] >= now - timedelta(days=2)]

    kept = {snapshot["date"] for snapshot in list_snapshots(export_dir)}
    assert kept == {TODAY.isoformat(), *(d.isoformat() for d, n in dated.items() if n < 365)}
    listing = httpx.get(f"{nap.url}/downloads.json").json()
    today = next(s for s in listing["snapshots"] if s["date"] == TODAY.isoformat())
    for listed in today["files"]:
        content = httpx.get(f"{nap.url}/downloads/{TODAY.isoformat()}/{listed['name']}").content
        assert (len(content), _sha256(content)) == (listed["size"], listed["sha256"]), listed["name"]


def test_a_busy_day_is_written_in_batches_in_order(history, sessions):
    """A day is streamed from the database batch by batch (each one Parquet row group), so a
    busy day does not have to fit in memory."""
    settings, _ = history
    busy = TODAY - timedelta(days=5)
    with write_session(sessions) as session:
        feed_id = session.scalar(select(Feed.id).where(Feed.name == "demo"))
        pk, uid = session.execute(select(EvseStatusChange.location_pk, EvseStatusChange.evse_uid)).first()
        start = _midnight(busy)
        # Received in reverse order of insertion: the file follows received time, then insertion.
        # (A Core insert: the ORM's would take seconds for this many rows.)
        session.connection().execute(EvseStatusChange.__table__.insert(), [
            dict(zip(STATUS_CHANGE_COLUMNS, (feed_id, pk, uid, "AVAILABLE", "CHARGING", received, received, "pull")))
            for received in (start + timedelta(seconds=n // 1000) for n in range(25_000, 0, -1))])
    archived = archive_day(sessions, Path(settings.export_dir), busy)
    parquet = pq.ParquetFile(archived.path)
    assert archived.rows == parquet.metadata.num_rows == 25_000
    assert parquet.metadata.num_row_groups == 3
    assert parquet.read(columns=["received_at"]).column(0).to_pylist() == sorted(
        start + timedelta(seconds=n // 1000) for n in range(25_000, 0, -1))
