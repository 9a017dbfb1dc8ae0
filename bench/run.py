"""`make bench`: NAP's benchmark suite. Not timed tests: it measures, compares each figure
with a baseline measured in the same run, and reports against the targets of the issues.

    python -m bench.run [--sizes 10000,100000] [--engines sqlite,postgresql]
                        [--only harvest,push,api,datex2,multi_feed] [--runs 3] [--postgres-url URL]

For each size (in EVSEs) the demo CPO serves a fleet of that size in a process of its own;
for each engine a fresh database is migrated, the feed registered and harvested (measured),
NAP is served by gunicorn for the API and push loads, and the DATEX II table is written
from the store; then fifty demo CPOs sharing the size are harvested by two workers
(bench/multi_feed.py). With --runs N each is repeated N times and the report gives every
figure's median and spread, and the growth between consecutive sizes.
Results go to bench/results/<time>.json and .md; the table is printed.
Exit status 1 when a benchmark could not run (a missed target is not an error).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
import traceback
from contextlib import nullcontext
from datetime import datetime, timezone

from bench import cpu as bench_cpu
from bench import api, datex2, de_afir_push, harvest, merge, multi_feed, push, statistics
from bench.common import (BIN, REPO, RESULTS, WORK, BenchError, Database, Service, bench_env, check, free_port,
                          gunicorn, log, run_measured, start_demo_server)
from bench.report import markdown

BENCHMARKS = ("harvest", "push", "api", "datex2", "statistics", "multi_feed", "de_afir_push", "merge")
# The benchmarks of one feed's store (a demo CPO, a database per engine, run_one); the
# multi-feed and merge scenarios bring their own CPOs and databases.
SINGLE_FEED = ("harvest", "push", "api", "datex2", "statistics", "de_afir_push")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="EVSE counts, comma-separated")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="benchmarks to run, comma-separated")
    parser.add_argument("--postgres-url", default=os.environ.get("NAP_TEST_POSTGRES_URL"),
                        help="admin URL with CREATEDB (default: $NAP_TEST_POSTGRES_URL)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for NAP and the baseline")
    parser.add_argument("--api-seconds", type=float, default=8.0, help="duration of each API load")
    parser.add_argument("--push-seconds", type=float, default=15.0, help="duration of each push load")
    parser.add_argument("--push-rate", type=float, default=500.0, help="scheduled PATCH/s of the paced load")
    parser.add_argument("--no-segment-writer", action="store_true",
                        help="push without the worker's DATEX II status segment writer beside NAP (its cost)")
    parser.add_argument("--datex2-profile", default="generic", choices=("generic", "afir"))
    parser.add_argument("--datex2-jobs", type=int, default=2,
                        help="processes writing the table on PostgreSQL (as NAP_EXPORT_JOBS)")
    parser.add_argument("--step-timeout", type=float, default=900.0, help="seconds any one step may take")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    parser.add_argument("--runs", type=int, default=1,
                        help="run every benchmark this many times; the report gives the median and the spread")
    parser.add_argument("--multi-feed-timeout", type=float, default=1800.0,
                        help="seconds the multi-feed scenario waits for every feed's first harvest")
    parser.add_argument("--wait-idle", type=float, default=60.0,
                        help="seconds to wait, before each benchmark, for other work on the machine to stop")
    args = parser.parse_args(argv)
    args.sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    args.engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks {sorted(unknown)}; choose from {BENCHMARKS}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def start_demo(evses: int) -> tuple[Service, str, dict]:
    service, versions_url, fleet = start_demo_server(f"demo-cpo-{evses}", evses)
    # One pass over every page, not measured: the demo CPO caches the timestamps it compares
    # (demo_cpo.server._epoch), so its first pass is slower than any later one. Without it
    # the first engine's harvest baseline met a cold server and its harvest a warm one (4.1 s
    # against 3.5 s at 100k EVSEs).
    harvest.fetch_baseline(versions_url, 600)
    return service, versions_url, fleet


def load_average() -> float:
    """The 1-minute load average: other work on the machine skews every figure."""
    try:
        with open("/proc/loadavg") as handle:
            return float(handle.read().split()[0])
    except (OSError, ValueError):
        return 0.0


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values), idle


def cpu_busy(seconds: float = 1.0) -> float:
    """The fraction of all cores busy over the next `seconds` (0 where /proc is missing)."""
    try:
        total0, idle0 = _cpu_times()
        time.sleep(seconds)
        total1, idle1 = _cpu_times()
    except (OSError, ValueError):
        return 0.0
    return 1.0 - (idle1 - idle0) / max(1, total1 - total0)


def wait_until_quiet(limit: float) -> float:
    """Wait up to `limit` seconds for the machine to be idle (other work would be measured
    too); returns how busy it was when we went on."""
    deadline = time.monotonic() + limit
    busy = cpu_busy()
    while busy > 0.15 and time.monotonic() < deadline:
        log(f"the machine is {busy:.0%} busy with other work: waiting (at most {deadline - time.monotonic():.0f} s)")
        busy = cpu_busy(2.0)
    return busy


def run_one(args, engine: str, size: int, versions_url: str, trivial_base: str | None) -> dict:
    run: dict = {"engine": engine, "evses": size, "errors": {}, "load_average_before": load_average(), "busy": {}}

    def quiet(step: str) -> None:
        run["busy"][step] = wait_until_quiet(args.wait_idle)

    db = Database(engine, f"{engine}-{size}", args.postgres_url)
    db.create()
    try:
        token = harvest.prepare(db, versions_url)
        quiet("harvest")
        if "harvest" in args.only:
            run["harvest"] = harvest.run(db, versions_url, fleet=run_fleet(size), timeout=args.step_timeout)
        else:
            log(f"harvesting (not measured) on {engine}")
            check(run_measured([str(BIN / "nap"), "harvest", harvest.FEED], harvest.nap_env(db), args.step_timeout),
                  "nap harvest")
        harvested = time.monotonic()
        db.settle()
        if {"api", "push", "de_afir_push"} & set(args.only):
            locations = [(ocpi_id, float(lat), float(lon)) for ocpi_id, lat, lon in
                         db.query("SELECT ocpi_id, latitude, longitude FROM locations ORDER BY id")]
            run["kept_list_wait_seconds"] = settle_kept_lists(len(locations), harvested)
            evses = [(ocpi_id, uid) for ocpi_id, uid in db.query(
                "SELECT l.ocpi_id, e.uid FROM evses e JOIN locations l ON l.id = e.location_pk "
                "ORDER BY e.location_pk, e.position")]
            port = free_port()
            # All load comes from 127.0.0.1: the per-IP rate limit (120/min) would measure
            # itself, so it is switched off as for a trusted proxy in front.
            env = harvest.nap_env(db, NAP_API_RATE_LIMIT_PER_MINUTE="0")
            writes_segments = "push" in args.only and not args.no_segment_writer
            with gunicorn(f"nap-{engine}-{size}", "wsgi:app", port, env, args.workers), \
                    (push.segment_writer(env) if writes_segments else nullcontext()) as writer:
                base = f"http://127.0.0.1:{port}"
                if "api" in args.only:
                    quiet("api")
                    guarded(run, "api", lambda: api.run(base, trivial_base, locations, args.api_seconds))
                if "push" in args.only:
                    quiet("push")
                    guarded(run, "push", lambda: push.run(base, trivial_base, evses, token, args.push_seconds,
                                                          args.push_rate, writer))
                if "de_afir_push" in args.only:
                    quiet("de_afir_push")
                    guarded(run, "de_afir_push", lambda: de_afir_push.run(
                        db, base, token, args.push_seconds, args.push_rate, args.step_timeout))
        if "datex2" in args.only:
            quiet("datex2")
            guarded(run, "datex2", lambda: datex2.run(db.url, f"{engine}-{size}", args.datex2_profile,
                                                      args.step_timeout, args.datex2_jobs))
        if "statistics" in args.only:  # last: it adds a day of status history to the database
            quiet("statistics")
            guarded(run, "statistics", lambda: statistics.run(
                db.url, args.step_timeout, env=harvest.nap_env(db, NAP_API_RATE_LIMIT_PER_MINUTE="0"),
                workers=args.workers, api_seconds=args.api_seconds))
    except (BenchError, RuntimeError) as error:
        log(f"{engine} at {size}: {error}")
        run["errors"]["setup"] = str(error).splitlines()[0]
        traceback.print_exc()
    finally:
        if not args.keep:
            db.drop()
    return run


def settle_kept_lists(locations: int, harvested: float) -> float:
    """Wait out the minute after the harvest in which list pages read every listed id again.

    The API keeps the listed ids per process (exporters/ocpi/listed_ids.py). For OVERLAP after
    a write that stamped more than MAX_CHANGES locations, as a first harvest does, pages
    read them all again instead of the few that changed (about 240 ms at a million EVSEs),
    at most every FULL_READ_INTERVAL.
    As with VACUUM ANALYZE, the loads measure the steady state; bench/README gives that
    minute's figure. Returns the seconds waited."""
    from exporters.ocpi.listed_ids import MAX_CHANGES, OVERLAP

    left = harvested + OVERLAP.total_seconds() + 1 - time.monotonic()
    if locations <= MAX_CHANGES or left <= 0:
        return 0.0
    log(f"waiting {left:.0f} s for the kept list of locations to settle after the harvest")
    time.sleep(left)
    return left


def single_feed_runs(args, size: int, trivial_base: str | None, results: dict) -> list[dict]:
    """Every engine at `size`, --runs times; the repeats alternate between the engines, so
    that a slow spell of the machine does not fall on one engine's runs only."""
    log(f"demo CPO with {size:,} EVSEs")
    demo, versions_url, fleet = start_demo(size)
    _FLEETS[size] = fleet
    results["fleets"][size] = fleet
    log(f"demo CPO ready: {fleet}")
    runs = []
    try:
        for repeat in range(args.runs):
            for engine in args.engines:
                log(f"== {engine}, {size:,} EVSEs{_repeat_label(args, repeat)} ==")
                run = run_one(args, engine, size, versions_url, trivial_base)
                run["repeat"] = repeat
                runs.append(run)
    finally:
        demo.stop()
    return runs


def multi_feed_runs(args, size: int, results: dict) -> list[dict]:
    """The multi-feed scenario (bench/multi_feed.py) at `size` EVSEs in all, --runs times;
    PostgreSQL only (two workers harvest in parallel, which NAP does not do on SQLite)."""
    if "postgresql" not in args.engines:
        results.setdefault("notes", []).append("multi_feed runs on PostgreSQL only: not run (--engines).")
        log("multi_feed: PostgreSQL only; skipped")
        return []
    runs = []
    for repeat in range(args.runs):
        log(f"== multi_feed, {multi_feed.FEEDS} feeds, {size:,} EVSEs{_repeat_label(args, repeat)} ==")
        run = {"scenario": "multi_feed", "engine": "postgresql", "evses": size, "repeat": repeat, "errors": {},
               "load_average_before": load_average(), "busy": {"multi_feed": wait_until_quiet(args.wait_idle)}}
        guarded(run, "multi_feed", lambda: multi_feed.run(args.postgres_url, size, args.multi_feed_timeout,
                                                          args.keep, label=f"{size}-{repeat}"))
        runs.append(run)
    return runs


def merge_runs(args, size: int) -> list[dict]:
    """A hub overlapping a CPO by half (bench/merge.py) at `size` EVSEs each, on every
    engine, --runs times (alternating engines, as the single-feed runs)."""
    runs = []
    for repeat in range(args.runs):
        for engine in args.engines:
            log(f"== merge, {engine}, {size:,} EVSEs{_repeat_label(args, repeat)} ==")
            run = {"scenario": "merge", "engine": engine, "evses": size, "repeat": repeat, "errors": {},
                   "load_average_before": load_average(), "busy": {"merge": wait_until_quiet(args.wait_idle)}}
            guarded(run, "merge", lambda: merge.run(engine, args.postgres_url, size, args.step_timeout, args.keep,
                                                    args.workers, label=f"{size}-{repeat}"))
            runs.append(run)
    return runs


def _repeat_label(args, repeat: int) -> str:
    return f", run {repeat + 1} of {args.runs}" if args.runs > 1 else ""


_FLEETS: dict[int, dict] = {}


def run_fleet(size: int) -> dict:
    return _FLEETS[size]


def guarded(run: dict, name: str, action) -> None:
    try:
        run[name] = action()
    except (BenchError, RuntimeError, KeyError, ValueError) as error:
        log(f"{name} failed: {error}")
        traceback.print_exc()
        run["errors"][name] = str(error).splitlines()[0] if str(error) else type(error).__name__


def machine() -> str:
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            kb = int(handle.readline().split()[1])
            memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    cores = bench_cpu.usable_cores()
    of_machine = f" of {os.cpu_count()}" if cores != os.cpu_count() else ""
    return f"{bench_cpu.cores_text(cores)}{of_machine}{memory}, Python {platform.python_version()}, {platform.system()}"


def source_state() -> str:
    """The commit measured, and whether the work tree differed from it outside bench/
    (with a digest of the difference, so that a change during the run shows)."""
    import hashlib
    import subprocess

    def git(*arguments: str) -> str:
        return subprocess.run(["git", *arguments], cwd=REPO, capture_output=True, text=True, timeout=60).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        status = [line for line in git("status", "--porcelain").splitlines() if not line[3:].startswith("bench/")]
        diff = git("diff", "HEAD", "--", ".", ":(exclude)bench")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not commit:
        return "unknown"
    if not status:
        return commit
    digest = hashlib.sha256(("\n".join(status) + diff).encode()).hexdigest()[:8]
    return f"{commit} plus {len(status)} uncommitted changes (digest {digest})"


def main(argv=None) -> int:
    args = parse_args(argv)
    if "postgresql" in args.engines and not args.postgres_url:
        print("PostgreSQL needs --postgres-url or NAP_TEST_POSTGRES_URL (scripts/test-postgres.sh prints one); "
              "or run with --engines sqlite", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc)
    results = {"started": started.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(), "source": source_state(),
               "workers": args.workers, "repeats": args.runs,
               "sizes": args.sizes, "engines": args.engines, "fleets": {}, "runs": []}
    clock = time.monotonic()
    trivial = None
    try:
        if {"api", "push"} & set(args.only):
            port = free_port()
            trivial = gunicorn("trivial", "bench.trivial_app:app", port, bench_env(), args.workers)
            trivial_base = f"http://127.0.0.1:{port}"
        else:
            trivial_base = None
        for size in args.sizes:
            if set(SINGLE_FEED) & set(args.only):
                results["runs"] += single_feed_runs(args, size, trivial_base, results)
            if "multi_feed" in args.only:
                results["runs"] += multi_feed_runs(args, size, results)
            if "merge" in args.only:
                results["runs"] += merge_runs(args, size)
    finally:
        if trivial is not None:
            trivial.stop()
    results["seconds"] = time.monotonic() - clock
    source_after = source_state()
    if source_after != results["source"]:
        results["source"] += f"; the work tree changed during the run (at the end: {source_after})"
    stamp = started.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    table = markdown(results)
    (RESULTS / f"{stamp}.md").write_text(table)
    (RESULTS / "latest.md").write_text(table)
    print(table)
    log(f"done in {results['seconds'] / 60:.1f} min; results in {RESULTS}/{stamp}.json and .md")
    if any(run["errors"] for run in results["runs"]):
        log(f"service logs are in {WORK}")
        return 1
    shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
