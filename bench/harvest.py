"""Harvest benchmark: a full harvest of the demo CPO by `nap harvest`, measured as a child
process (wall time, peak RSS, CPU), against the baseline of fetching and JSON-parsing the
same pages (bench/fetch_baseline.py), measured the same way right before it."""
from __future__ import annotations

from bench.common import BIN, PYTHON, Database, bench_env, check, log, run_measured

FEED = "bench"
DEMO_TOKEN = "demo-token"


def nap_env(db: Database, **extra) -> dict[str, str]:
    return bench_env(NAP_DATABASE_URL=db.url, NAP_OUTBOUND_ALLOW="127.0.0.0/8", NAP_HARVEST_PAGE_LIMIT="1000",
                     **extra)


def prepare(db: Database, versions_url: str) -> str:
    """Migrate the database and register the feed; returns the push token."""
    env = nap_env(db)
    check(run_measured([str(BIN / "nap"), "db", "upgrade"], env, timeout=300), "nap db upgrade")
    added = check(run_measured([str(BIN / "nap"), "feeds", "add", "--name", FEED, "--versions-url", versions_url,
                                "--token", DEMO_TOKEN, "--country-code", "DE", "--party-id", "ABC"],
                               env, timeout=120), "nap feeds add")
    for line in added.stdout.splitlines():
        if line.startswith("push token"):
            return line.rsplit(":", 1)[1].strip()
    raise RuntimeError(f"no push token in the output of nap feeds add:\n{added.stdout}")


def fetch_baseline(versions_url: str, timeout: float) -> dict:
    measured = check(run_measured([PYTHON, "-m", "bench.fetch_baseline", "--versions-url", versions_url,
                                   "--token", DEMO_TOKEN, "--limit", "1000"], bench_env(), timeout),
                     "fetch baseline")
    result = measured.json()
    return {"wall_seconds": measured.wall_seconds, "fetch_seconds": result["seconds"], "pages": result["pages"],
            "objects": result["objects"], "bytes": result["bytes"], "peak_rss_mb": measured.peak_rss_mb,
            "cpu_seconds": measured.cpu_seconds}


def run(db: Database, versions_url: str, fleet: dict, timeout: float) -> dict:
    log(f"harvest: baseline (fetch + JSON parse) of {fleet['locations']} locations")
    baseline = fetch_baseline(versions_url, timeout)
    log(f"harvest: baseline {baseline['wall_seconds']:.1f} s; now `nap harvest {FEED}` on {db.engine}")
    measured = check(run_measured([str(BIN / "nap"), "harvest", FEED], nap_env(db), timeout), "nap harvest")
    (status, pages, received, new, findings, started, finished), = db.query(
        "SELECT status, pages, objects_received, objects_new, findings, started_at, finished_at "
        "FROM harvest_runs ORDER BY id DESC LIMIT 1")
    (evses,), = db.query("SELECT count(*) FROM evses")
    if status != "success" or new != received:
        raise RuntimeError(f"the harvest did not store everything: status {status}, {new} of {received} new")
    seconds = measured.wall_seconds
    log(f"harvest: {seconds:.1f} s, peak RSS {measured.peak_rss_mb:.0f} MB")
    return {
        "wall_seconds": seconds,
        "peak_rss_mb": measured.peak_rss_mb,
        "cpu_seconds": measured.cpu_seconds,
        "pages": pages,
        "objects": received,
        "evses": evses,
        "findings": findings,
        "objects_per_second": received / seconds,
        "evses_per_second": evses / seconds,
        "baseline": baseline,
        "ratio": seconds / baseline["wall_seconds"],
    }
