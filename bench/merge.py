"""Merge benchmark (#18): a roaming hub that carries a CPO's locations, half of them the
same chargers the CPO serves itself, harvested after the CPO's own feed.

Two demo CPOs in processes of their own: the CPO (DE/ABC, `size` EVSEs) and a hub
(DEHUB, `--hub-from 0.5`) serving as many locations of DE/ABC, from the middle of the CPO's
fleet on, a tenth of them perturbed (status, power, place). One database per engine; the
CPO's harvest is the single-feed figure, the hub's harvest (which merges half its
locations with the CPO's) the merge figure, each with the peak RSS of all its processes.
Then NAP is served and the provenance endpoint asked for merged locations, one request
at a time: its latency.
"""
from __future__ import annotations

import json
import random
import sys
import time

import httpx

from bench.common import (BIN, Database, check, free_port, gunicorn, log, percentile, run_measured,
                          start_demo_server)
from bench.harvest import DEMO_TOKEN, _TreeRss, nap_env

CPO, HUB = "cpo", "hub"
PROVENANCE_REQUESTS = 300


def _harvest(db: Database, feed: str, timeout: float) -> dict:
    with _TreeRss() as tree:
        measured = check(run_measured([str(BIN / "nap"), "harvest", feed], nap_env(db), timeout),
                         f"nap harvest {feed}")
    (status, received, new, changed), = db.query(
        "SELECT r.status, r.objects_received, r.objects_new, r.objects_changed FROM harvest_runs r"
        " JOIN feeds f ON f.id = r.feed_id WHERE f.name = :feed ORDER BY r.id DESC LIMIT 1", feed=feed)
    if status not in ("success", "degraded"):
        raise RuntimeError(f"the harvest of {feed} ended {status}")
    return {"wall_seconds": measured.wall_seconds, "peak_rss_mb": max(tree.peak_mb, measured.peak_rss_mb),
            "peak_rss_largest_process_mb": measured.peak_rss_mb, "cpu_seconds": measured.cpu_seconds,
            "objects": received, "new": new, "changed": changed}


def _provenance_latency(db: Database, workers: int) -> dict:
    keys = [row[0] for row in db.query(
        "SELECT DISTINCT l.ocpi_id FROM location_sources s JOIN locations l ON l.id = s.location_pk")]
    if not keys:
        raise RuntimeError("no location was merged")
    sample = random.Random(7).choices(keys, k=PROVENANCE_REQUESTS)
    port = free_port()
    with gunicorn(f"nap-merge-{db.engine}", "wsgi:app", port, nap_env(db, NAP_API_RATE_LIMIT_PER_MINUTE="0"),
                  workers):
        latencies = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for location_id in sample[:20]:  # warm: the first requests open connections, import modules
                client.get(f"/api/v1/provenance/DE/ABC/{location_id}")
            for location_id in sample:
                started = time.perf_counter()
                answer = client.get(f"/api/v1/provenance/DE/ABC/{location_id}")
                latencies.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200 or len(answer.json()["sources"]) < 2:
                    raise RuntimeError(f"provenance of {location_id}: HTTP {answer.status_code} {answer.text[:200]}")
    return {"requests": len(latencies), "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
            "max": max(latencies)}


def run(engine: str, postgres_url: str | None, size: int, timeout: float, keep: bool, workers: int,
        label: str, perturb: float = 0.1) -> dict:
    cpo, cpo_url, cpo_fleet = start_demo_server("demo-merge-cpo", size)
    hub = None
    db = Database(engine, f"merge-{label}", postgres_url)
    try:
        hub, hub_url, hub_fleet = start_demo_server("demo-merge-hub", size, "--hub-from", "0.5",
                                                    "--perturb", str(perturb))
        db.create()
        env = nap_env(db)
        check(run_measured([str(BIN / "nap"), "db", "upgrade"], env, timeout=300), "nap db upgrade")
        for name, url, extra in ((CPO, cpo_url, ["--country-code", "DE", "--party-id", "ABC"]),
                                 (HUB, hub_url, ["--kind", "hub", "--party", "DE:ABC"])):
            check(run_measured([str(BIN / "nap"), "feeds", "add", "--name", name, "--versions-url", url,
                                "--token", DEMO_TOKEN, *extra], env, timeout=120), f"nap feeds add {name}")
        log(f"merge: the CPO's own harvest ({cpo_fleet['evses']:,} EVSEs) on {engine}")
        single = _harvest(db, CPO, timeout)
        db.settle()
        log(f"merge: {single['wall_seconds']:.1f} s; now the hub's ({hub_fleet['evses']:,} EVSEs, half of them"
            " the CPO's)")
        merged = _harvest(db, HUB, timeout)
        db.settle()
        (candidates, locations, conflicted), = db.query(
            "SELECT (SELECT count(*) FROM location_sources), (SELECT count(*) FROM locations),"
            " (SELECT count(*) FROM location_sources WHERE conflicts IS NOT NULL)")
        log(f"merge: {merged['wall_seconds']:.1f} s ({merged['wall_seconds'] / single['wall_seconds']:.2f}x the"
            f" CPO's); {candidates // 2:,} locations merged, {conflicted:,} copies with conflicts")
        provenance = _provenance_latency(db, workers)
        log(f"merge: provenance p50 {provenance['p50']:.1f} ms")
        return {"cpo_fleet": cpo_fleet, "hub_fleet": hub_fleet, "single": single, "merge": merged,
                "ratio": merged["wall_seconds"] / single["wall_seconds"],
                "rss_ratio": merged["peak_rss_mb"] / single["peak_rss_mb"],
                "merged_locations": candidates // 2, "locations": locations, "conflicted_copies": conflicted,
                "provenance_ms": provenance}
    finally:
        if not keep:
            db.drop()
        if hub is not None:
            hub.stop()
        cpo.stop()


if __name__ == "__main__":
    # python -m bench.merge ENGINE SIZE [POSTGRES_URL [PERTURB]]: one run, its result as JSON
    print(json.dumps(run(sys.argv[1], sys.argv[3] if len(sys.argv) > 3 else None, int(sys.argv[2]), 900.0, False,
                         2, "manual", float(sys.argv[4]) if len(sys.argv) > 4 else 0.1), indent=2))
