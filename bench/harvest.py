"""Harvest benchmark: a full harvest of the demo CPO by `nap harvest`, measured as a child
process (wall time, peak RSS, CPU), against the baseline of fetching and JSON-parsing the
same pages (bench/fetch_baseline.py), measured the same way right before it."""
from __future__ import annotations

import os
import threading

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


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    """Children of every thread of `pid` (a child started by a thread other than the main
    one, as the page process is, is listed under that thread's task only)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            continue
    return found


def _descendants(pid: int) -> list[int]:
    found, pending = [], _children(pid)
    while pending:
        child = pending.pop()
        found.append(child)
        pending += _children(child)
    return found


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return b""


class _TreeRss:
    """A harvest may run in two processes (`nap harvest` and its page process): wait4's
    high-water mark is the larger one's, not their sum. This samples the sum of the RSS of
    `nap harvest` and its descendants every 20 ms (Linux /proc) and keeps the peak. Shared
    pages count once per process, so the sum errs high."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "_TreeRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            total = 0
            for pid in _descendants(os.getpid()):
                command = _cmdline(pid)
                # `nap harvest bench`, not the launcher that measures it (bench/peak_rss.py).
                if b"\0harvest\0" + FEED.encode() in command and b"bench.peak_rss" not in command:
                    total += sum(_rss_kb(process) for process in (pid, *_descendants(pid)))
            self.peak_mb = max(self.peak_mb, total / 1024)


def run(db: Database, versions_url: str, fleet: dict, timeout: float) -> dict:
    log(f"harvest: baseline (fetch + JSON parse) of {fleet['locations']} locations")
    baseline = fetch_baseline(versions_url, timeout)
    log(f"harvest: baseline {baseline['wall_seconds']:.1f} s; now `nap harvest {FEED}` on {db.engine}")
    with _TreeRss() as tree:
        measured = check(run_measured([str(BIN / "nap"), "harvest", FEED], nap_env(db), timeout), "nap harvest")
    # All the harvest's processes together (the sampled sum), and never less than the harvest
    # process's own high-water mark, which sampling may miss by a few ms.
    peak_rss_mb = max(tree.peak_mb, measured.peak_rss_mb)
    (status, pages, received, new, findings, started, finished), = db.query(
        "SELECT status, pages, objects_received, objects_new, findings, started_at, finished_at "
        "FROM harvest_runs ORDER BY id DESC LIMIT 1")
    (evses,), = db.query("SELECT count(*) FROM evses")
    # "degraded" completed and stored its data too, but skipped EVSEs the demo CPO served
    # valid: the figures below then count fewer EVSEs than were fetched.
    if status not in ("success", "degraded") or new != received:
        raise RuntimeError(f"the harvest did not store everything: status {status}, {new} of {received} new")
    if status == "degraded":
        log(f"harvest: WARNING: the run ended degraded: EVSEs were skipped ({findings} findings)")
    seconds = measured.wall_seconds
    log(f"harvest: {seconds:.1f} s, peak RSS {peak_rss_mb:.0f} MB (all its processes; "
        f"{measured.peak_rss_mb:.0f} MB the largest alone)")
    return {
        "wall_seconds": seconds,
        "peak_rss_mb": peak_rss_mb,
        "peak_rss_largest_process_mb": measured.peak_rss_mb,
        "cpu_seconds": measured.cpu_seconds,
        "pages": pages,
        "objects": received,
        "evses": evses,
        "findings": findings,
        "status": status,
        "objects_per_second": received / seconds,
        "evses_per_second": evses / seconds,
        "baseline": baseline,
        "ratio": seconds / baseline["wall_seconds"],
    }
