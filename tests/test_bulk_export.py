"""Bulk downloads: complete, checksummed, provenance-stating snapshots, made once a day
whatever the number of workers, and never half-replaced."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import zlib
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from lxml import etree

from exporters.datex2 import parallel
from exporters.bulk import export_snapshot, list_snapshots, prune_snapshots
from exporters.daily import run_daily_jobs
from nap.feeds import get_feed
from nap.parties import claim
from nap.store.db import write_session
from nap.store.leases import Leases
from tests.harvest_helpers import register_and_harvest
from tests.settings_helpers import replace
from tests.xsd import validate

DATEX2_FILES = ("table-generic.xml.gz", "table-afir.xml.gz", "status-generic.xml.gz", "status-afir.xml.gz")
FILES = {*DATEX2_FILES, "afir-fields.csv", "datex2-de-afir-table.json.gz", "datex2-de-afir-status.json.gz",
         "SHA256SUMS", "manifest.json"}


def gunzipped(path) -> bytes:
    """The file's content, read as one gzip member (as an HTTP client or a browser reads it)."""
    single = zlib.decompressobj(16 + zlib.MAX_WBITS)
    content = single.decompress(path.read_bytes())
    assert single.eof and single.unused_data == b"", path
    return content


def harvested(demo_cpo, sessions, settings, locations=12):
    cpo = demo_cpo(locations=locations)
    assert register_and_harvest(sessions, settings, cpo, licence="CC-BY-4.0").status == "success"
    return cpo


def test_a_snapshot_holds_every_file_valid_checksummed_and_attributed(demo_cpo, sessions, settings, tmp_path):
    cpo = harvested(demo_cpo, sessions, settings)
    now = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)
    snapshot = export_snapshot(sessions, settings, tmp_path, now)
    directory = tmp_path / "2026-11-28"
    assert snapshot.directory == directory and {p.name for p in directory.iterdir()} == FILES
    for name in DATEX2_FILES:
        content = gunzipped(directory / name)
        assert validate(content) == [], name
        comment = etree.fromstring(content).getprevious()
        assert "demo (licence: CC-BY-4.0)" in comment.text and "2026-11-28T03:00:00Z" in comment.text
    # The downloadable AFIR status carries the ad hoc prices as the live one does (Annex F3).
    status_afir = etree.fromstring(gunzipped(directory / "status-afir.xml.gz"))
    assert status_afir.xpath("//*[local-name()='energyRateUpdate']")
    assert not etree.fromstring(gunzipped(directory / "status-generic.xml.gz")).xpath(
        "//*[local-name()='energyRateUpdate']")
    evses = sum(len(loc["evses"]) for loc in cpo.app.config["FLEET"].locations)
    with (directory / "afir-fields.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == evses
    assert all(r["feed"] == "demo" and r["licence"] == "CC-BY-4.0" and r["generated_at"] == "2026-11-28T03:00:00Z"
               for r in rows)
    assert all(r["ad_hoc_price"] and r["max_power_kw"] != "0" for r in rows)
    sums = dict(line.split("  ")[::-1] for line in (directory / "SHA256SUMS").read_text().splitlines())
    for name, digest in sums.items():
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == digest
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["feeds"][0]["licence"] == "CC-BY-4.0" and {f["name"] for f in manifest["files"]} == set(sums)


def test_locations_without_operator_are_operated_by_their_party_in_every_file(monkeypatch, demo_cpo, sessions, settings,
                                                                              tmp_path):
    """The tables are written by two processes (exporters/datex2/parallel.py): a location
    in either part gets its party's operator, and the status files reference its version."""
    monkeypatch.setattr(parallel, "LOCATIONS_PER_PROCESS", 1)  # the parts in child processes, however few
    cpo = demo_cpo(locations=12)
    locations = cpo.app.config["FLEET"].locations
    orphans = {f"DE*ABC*{locations[i]['id']}" for i in (1, 10)}
    for i in (1, 10):
        del locations[i]["operator"]
    assert register_and_harvest(sessions, settings, cpo, name="Ladenetz Nord", country_code="DE",
                                party_id="ABC").status == "success"
    with write_session(sessions) as session:
        claim(session, get_feed(session, "Ladenetz Nord"), "DE", "ABC", source="credentials",
              business_details={"name": "ABC Ladenetz Nord GmbH"})
    snapshot = export_snapshot(sessions, replace(settings, export_jobs=2), tmp_path,
                               datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc))
    for profile in ("generic", "afir"):
        table = etree.fromstring(gunzipped(snapshot.directory / f"table-{profile}.xml.gz"))
        status = etree.fromstring(gunzipped(snapshot.directory / f"status-{profile}.xml.gz"))
        sites = table.xpath("//*[local-name()='energyInfrastructureSite']")
        assert len(sites) == 12
        operators = {site.get("id"): site.xpath("*[local-name()='operator']/*[local-name()='name']"
                                                "//*[local-name()='value']/text()") for site in sites}
        assert {key for key, names in operators.items() if names == ["ABC Ladenetz Nord GmbH"]} == orphans
        assert all(names == ["ABC Ladenetz GmbH"] for key, names in operators.items() if key not in orphans)
        references = status.xpath("//*[local-name()='energyInfrastructureSiteStatus']/*[local-name()='reference']")
        assert {(r.get("id"), r.get("version")) for r in references} == {(s.get("id"), s.get("version"))
                                                                         for s in sites}


def test_downloads_are_listed_and_served(demo_cpo, sessions, settings, tmp_path, live_server):
    from nap.app import create_app

    harvested(demo_cpo, sessions, settings, locations=4)
    settings = replace(settings, export_dir=str(tmp_path))
    export_snapshot(sessions, settings, tmp_path, datetime.now(timezone.utc))
    nap = live_server(create_app(settings))
    listing = httpx.get(f"{nap.url}/downloads.json").json()["snapshots"]
    assert len(listing) == 1 and {f["name"] for f in listing[0]["files"]} == FILES - {"SHA256SUMS", "manifest.json"}
    page = httpx.get(f"{nap.url}/downloads").text
    assert "table-afir.xml.gz" in page and "CC-BY-4.0" in page
    for exported in listing[0]["files"]:
        body = httpx.get(f"{nap.url}/downloads/{listing[0]['date']}/{exported['name']}").content
        assert hashlib.sha256(body).hexdigest() == exported["sha256"]
    assert httpx.get(f"{nap.url}/downloads/{listing[0]['date']}/../../etc/passwd").status_code == 404


def test_daily_jobs_run_once_a_day_whatever_the_number_of_workers(demo_cpo, sessions, settings, tmp_path):
    harvested(demo_cpo, sessions, settings, locations=3)
    settings = replace(settings, export_dir=str(tmp_path), export_hour_utc=0)
    now = datetime.now(timezone.utc)
    first = run_daily_jobs(sessions, settings, now, Leases(sessions, "worker-a"))
    second = run_daily_jobs(sessions, settings, now, Leases(sessions, "worker-b"))
    assert first == ["export", "prune", "statistics"] and second == []
    assert len(list_snapshots(tmp_path)) == 1
    tomorrow = run_daily_jobs(sessions, settings, now + timedelta(days=1), Leases(sessions, "worker-b"))
    assert tomorrow == ["export", "prune", "statistics"] and len(list_snapshots(tmp_path)) == 2
    early = run_daily_jobs(sessions, replace(settings, export_hour_utc=3),
                           (now + timedelta(days=2)).replace(hour=1), Leases(sessions, "worker-a"))
    assert early == ["prune", "statistics"]  # the snapshot waits for the configured hour


def test_old_snapshots_are_pruned(demo_cpo, sessions, settings, tmp_path):
    harvested(demo_cpo, sessions, settings, locations=2)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    for day in range(5):
        export_snapshot(sessions, settings, tmp_path, start + timedelta(days=day))
    assert prune_snapshots(tmp_path, keep_days=3, today=(start + timedelta(days=4)).date()) == ["2026-11-02", "2026-11-01"]
    assert [s["date"] for s in list_snapshots(tmp_path)] == ["2026-11-05", "2026-11-04", "2026-11-03"]


def _limit_file_size():
    # Like a full disk: writes past 64 KB fail (EFBIG instead of the default SIGXFSZ kill).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_full_disk_during_an_export_leaves_the_previous_snapshot(demo_cpo, sessions, settings, tmp_path,
                                                                   database_url):
    """Fails without the protection: with the snapshot written straight into its dated
    directory (no temporary directory and rename), the previous files are gone (checked
    by that mutation of export_snapshot)."""
    harvested(demo_cpo, sessions, settings, locations=60)
    out = tmp_path / "exports"
    export_snapshot(sessions, settings, out, datetime.now(timezone.utc))
    before = {p.name: p.read_bytes() for p in next(out.iterdir()).iterdir()}
    env = {**os.environ, "NAP_DATABASE_URL": database_url}
    failed = subprocess.run([sys.executable, "-m", "nap.cli", "export", "--out", str(out)], env=env,
                            preexec_fn=_limit_file_size, capture_output=True, text=True, timeout=120)
    assert failed.returncode != 0 and "File too large" in failed.stderr
    directories = list(out.iterdir())
    assert len(directories) == 1  # no partial directory left behind
    assert {p.name: p.read_bytes() for p in directories[0].iterdir()} == before


HOSTILE_TEXTS = [
    "Ladenetz --- Nord -",                               # "--" and a trailing "-" break an XML comment
    "a]]>b <c> & d -->  <!-- e \x01\x0b\x1f\x7f f\u2028",  # CDATA end, markup, control characters
]


@pytest.mark.parametrize("hostile", HOSTILE_TEXTS, ids=["dashes", "markup-and-controls"])
def test_hostile_free_texts_of_a_cpo_go_through_every_exporter(monkeypatch, demo_cpo, sessions, settings, tmp_path,
                                                              hostile):
    monkeypatch.setattr(parallel, "LOCATIONS_PER_PROCESS", 1)  # the parts in child processes, however few
    """Every free text a CPO controls (feed name, licence, location name and address,
    operator, suboperator, owner, directions, related location names, its party's business
    name) ends up in valid files, in both profiles; nothing is built from it as markup."""
    cpo = demo_cpo(locations=4)
    for location in cpo.app.config["FLEET"].locations:
        location["name"] = f"{hostile} name"
        location["address"] = f"{hostile} street"
        location["city"] = hostile
        location["operator"]["name"] = f"{hostile} operator"
        location["suboperator"] = {"name": f"{hostile} sub"}
        location["owner"] = {"name": f"{hostile} owner"}
        location["directions"] = [{"language": "en", "text": f"{hostile} directions"}]
    feed_name = f"{hostile} feed"
    assert register_and_harvest(sessions, settings, cpo, name=feed_name, licence=f"{hostile} licence",
                                country_code="DE", party_id="ABC").status == "success"
    with write_session(sessions) as session:
        claim(session, get_feed(session, feed_name.strip()), "DE", "ABC", source="credentials",
              business_details={"name": f"{hostile} GmbH"})
    snapshot = export_snapshot(sessions, replace(settings, export_jobs=2), tmp_path,
                               datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc))
    for name in DATEX2_FILES:
        content = gunzipped(snapshot.directory / name)
        assert validate(content) == [], name
        root = etree.fromstring(content)
        assert root.getprevious() is None or isinstance(root.getprevious(), etree._Comment)
    table = etree.fromstring(gunzipped(snapshot.directory / "table-generic.xml.gz"))
    assert len(table.xpath("//*[local-name()='energyInfrastructureSite']")) == 4
    with (snapshot.directory / "afir-fields.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(r["feed"] == feed_name.strip() and r["licence"] == f"{hostile} licence" for r in rows)
    manifest = json.loads((snapshot.directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["feeds"][0]["name"] == feed_name.strip()
