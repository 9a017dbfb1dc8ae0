"""Multi-feed benchmark (#22): fifty demo CPOs harvested by two `nap worker` processes on one
PostgreSQL, as an access point serving a whole country or a consortium would run.

The fleet of `size` EVSEs is shared out over the feeds: a few large CPOs hold most of it,
many small ones the rest; they speak OCPI 2.3.0, 2.2.1 and 2.1.1 in turn, and a few are
slow (every list request delayed) or failing (503s: one always, one now and then, which
the client's retries get through). The demo CPOs are served from a few processes of their
own (`python -m bench.multi_feed serve PLAN`, one werkzeug server per feed), registered in
one child (`python -m bench.multi_feed register PLAN`), then two workers are started and
the suite waits until every feed has finished its first harvest (or the time limit). Then a
second round: a harvest of every feed is asked for at once (`python -m bench.multi_feed
request PLAN`, as the portal's "harvest now"), the workers running on, and the suite waits
for those runs too. In the first round nothing is known of any CPO; in the second, the slow
and failing ones have a run behind them, in one worker or the other.

Measured, for each round: the wall time from when the feeds fell due (the workers' start;
the request) to the last run's end; each feed's lag behind its schedule (its run's start
minus when it was due: in the first round every feed is due from its registration, which
precedes the workers, so the lag counts from the workers' start; in the second the workers
see the requests at their next tick, up to 30 s later); which feeds waited for a slow one.
Over both: the peak RSS of each worker.
"""
from __future__ import annotations

import json
import math
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.common import BIN, PYTHON, WORK, BenchError, Database, Service, bench_env, check, log, run_measured
from bench.harvest import DEMO_TOKEN, _descendants, _rss_kb, nap_env

FEEDS = 50
WORKERS = 2
LARGE_FEEDS = (0, 13, 26, 39)  # spread over the registration order, which is the workers' order too
LARGE_SHARE = 0.6  # of all EVSEs, shared by the large feeds
VERSIONS = ("2.3.0", "2.2.1", "2.1.1")
SLOW_FEEDS = (5, 20, 35)
# Per list request. Slower than NAP_HARVEST_SLOW_ANSWER_SECONDS (5 s): with the two cores
# saturated, the demo CPOs themselves take 2 s and more for a large page now and then, so
# a CPO that adds 2 s to each answer (this figure until 2026-12-06) is not a slow one.
SLOW_MS = 6000
ALWAYS_FAILING = (10,)  # every list request answered 503: its first run ends failed, after the retries
FLAKY = (30,)  # a quarter of the list requests answered 503: the retries get through
FLAKY_RATE = 0.25
INTERVAL_MINUTES = 15  # the default harvest interval (NAP_DEFAULT_HARVEST_INTERVAL_MINUTES)
DEMO_PROCESSES = 2  # processes serving the demo CPOs; the large feeds are split between them
PAGE_LIMIT = 1000  # as in the single-feed harvest benchmark
# The slow ones: slow, failing and flaky CPOs.
SLOW_KINDS = ("slow", "failing", "flaky")
# A feed "waited for a slow one" when its run began on a harvest thread that a slow one's
# run had just let go: the worker's threads take the due feeds in order, so that thread
# would have taken it earlier but for the slow run. A run lets its thread go at its end,
# or when it steps aside (nap/worker.py; the worker's log says when): how long it had held
# the thread by then is how long the feed waited for it, at most. A run that started aside
# (its feed's last run slow, flaky or failed; the log says so too) held no thread.
HANDOVER_SECONDS = 1.0
# Evidence for that: a feed that started this soon after it was due waited for nobody.
NO_WAIT_SECONDS = 1.0


@dataclass
class FeedPlan:
    name: str
    evses: int
    version: str
    party_id: str
    seed: int
    slow_ms: int = 0
    fail_rate: float = 0.0
    port: int = 0

    @property
    def kind(self) -> str:
        if self.fail_rate >= 1:
            return "failing"
        if self.fail_rate:
            return "flaky"
        if self.slow_ms:
            return "slow"
        return "large" if self.name.startswith("large") else "small"


def plan(total_evses: int) -> list[FeedPlan]:
    """Fifty feeds whose EVSEs add up to `total_evses` (each at least one)."""
    small_count = FEEDS - len(LARGE_FEEDS)
    large = max(1, round(total_evses * LARGE_SHARE / len(LARGE_FEEDS)))
    small_total = max(small_count, total_evses - large * len(LARGE_FEEDS))
    feeds = []
    small_index = 0
    for index in range(FEEDS):
        if index in LARGE_FEEDS:
            evses, prefix = large, "large"
        else:
            # The remainder goes to the first small feeds, so that the sum is exact.
            evses = small_total // small_count + (1 if small_index < small_total % small_count else 0)
            small_index += 1
            prefix = "small"
        feeds.append(FeedPlan(
            name=f"{prefix}-{index:02d}", evses=evses, version=VERSIONS[index % len(VERSIONS)],
            party_id=f"M{index:02d}", seed=1 + index,
            slow_ms=SLOW_MS if index in SLOW_FEEDS else 0,
            fail_rate=1.0 if index in ALWAYS_FAILING else FLAKY_RATE if index in FLAKY else 0.0))
    return feeds


def sized_fleet(feed: FeedPlan):
    """The shortest prefix of the feed's fleet holding at least its EVSEs (as
    bench/demo_server.py does, but under the feed's own party)."""
    from demo_cpo.fleet import generate_fleet

    locations = max(1, math.ceil(feed.evses / 3.0))
    while True:
        fleet = generate_fleet(locations=locations, seed=feed.seed, country_code="DE", party_id=feed.party_id)
        total = 0
        for index, location in enumerate(fleet.locations):
            total += len(location["evses"])
            if total >= feed.evses:
                del fleet.locations[index + 1:]
                return fleet, total
        locations = math.ceil(locations * 1.2)


# -- the child processes -----------------------------------------------------------------------


def serve(plan_path: str) -> None:
    """`python -m bench.multi_feed serve PLAN`: one threaded werkzeug server per feed of the
    plan, each on a port of its own; prints {"ports": {name: port}, "evses": {name: n}}."""
    import gc

    from werkzeug.serving import make_server

    from demo_cpo.server import DemoOptions, create_app

    servers, ports, evses = [], {}, {}
    for feed in (FeedPlan(**raw) for raw in json.loads(Path(plan_path).read_text())):
        fleet, evses[feed.name] = sized_fleet(feed)
        app = create_app(fleet, DemoOptions(ocpi_version=feed.version, token=DEMO_TOKEN, page_limit=PAGE_LIMIT,
                                            fail_rate=feed.fail_rate, slow_ms=feed.slow_ms, seed=feed.seed))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        servers.append(server)
        ports[feed.name] = server.server_port
    # The fleets live as long as the process (see bench/demo_server.py).
    gc.collect()
    gc.freeze()
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"ports": ports, "evses": evses}), flush=True)
    threading.Event().wait()


def register(plan_path: str) -> None:
    """`python -m bench.multi_feed register PLAN` (NAP's settings in the environment): every
    feed of the plan in one process, as `nap feeds add` would (fifty CLI starts would
    cost more than the harvests at the small sizes)."""
    from nap.config import load_settings
    from nap.feeds import add_feed
    from nap.store.db import session_factory

    feeds = [FeedPlan(**raw) for raw in json.loads(Path(plan_path).read_text())]
    with session_factory(load_settings().database_url).begin() as session:
        for feed in feeds:
            add_feed(session, name=feed.name, versions_url=f"http://127.0.0.1:{feed.port}/ocpi/versions",
                     token=DEMO_TOKEN, interval_minutes=INTERVAL_MINUTES, country_code="DE",
                     party_id=feed.party_id)
    print(json.dumps({"registered": len(feeds)}), flush=True)


def request(plan_path: str) -> None:
    """`python -m bench.multi_feed request PLAN`: a harvest of every feed asked for, as the
    portal's "harvest now" does; prints {"requested_at": the first request's time}."""
    from sqlalchemy import select

    from nap.config import load_settings
    from nap.feeds import request_harvest
    from nap.store.db import session_factory
    from nap.store.tables import Feed

    names = [FeedPlan(**raw).name for raw in json.loads(Path(plan_path).read_text())]
    with session_factory(load_settings().database_url).begin() as session:
        feeds = session.scalars(select(Feed).where(Feed.name.in_(names)))
        times = [request_harvest(session, feed) for feed in feeds]
    print(json.dumps({"requested_at": min(times).isoformat()}), flush=True)


# -- measuring ---------------------------------------------------------------------------------


def _hwm_kb(pid: int) -> int:
    """The process's own high-water RSS (VmHWM); psutil is not installed, /proc is enough."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class _WorkerRss:
    """Samples every 50 ms, per worker: its own VmHWM, and the summed RSS of the worker and
    its descendants (the page processes of large harvests), keeping the peaks."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.hwm_mb = {pid: 0.0 for pid in pids}
        self.tree_mb = {pid: 0.0 for pid in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "_WorkerRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._measure()  # once more: VmHWM only grows, so the last reading is the peak

    def _measure(self) -> None:
        for pid in self.pids:
            self.hwm_mb[pid] = max(self.hwm_mb[pid], _hwm_kb(pid) / 1024)
            tree = sum(_rss_kb(process) for process in (pid, *_descendants(pid)))
            self.tree_mb[pid] = max(self.tree_mb[pid], tree / 1024)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self._measure()


def _utc(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def round_runs(db: Database, since: datetime | None = None) -> dict[str, dict]:
    """Each feed's first run (None while it has none), or its first run started at or after
    `since` (the second round's request: not a scheduled run that came before it)."""
    rows = db.query(
        "SELECT f.name, r.started_at, r.finished_at, r.status, r.worker, r.objects_received "
        "FROM feeds f LEFT JOIN harvest_runs r ON r.id = "
        "(SELECT min(h.id) FROM harvest_runs h WHERE h.feed_id = f.id"
        + (" AND h.started_at >= :since)" if since else ")"),
        # NAP stores naive UTC (nap/store/types.py).
        **({"since": since.astimezone(timezone.utc).replace(tzinfo=None)} if since else {}))
    return {name: None if started is None else
            {"started": _utc(started), "finished": _utc(finished) if finished else None, "status": status,
             "worker": worker, "objects": objects}
            for name, started, finished, status, worker, objects in rows}


def waited_for_slow(feeds: list[FeedPlan], runs: dict[str, dict], due: datetime,
                    let_go: dict[str, datetime | None]) -> dict[str, str]:
    """Feeds whose first run began on a thread a slow feed's run had just let go
    (same worker, at most HANDOVER_SECONDS before), and that had waited for it. `let_go`:
    when each slow run let its thread go (those not named are left out)."""
    slow = {feed.name for feed in feeds if feed.kind in SLOW_KINDS}
    waited = {}
    for name, run in runs.items():
        if name in slow or run is None or (run["started"] - due).total_seconds() <= NO_WAIT_SECONDS:
            continue
        gaps = {}
        for other in slow:
            before = runs.get(other)
            if before and before["worker"] == run["worker"] and let_go.get(other) is not None:
                gaps[other] = (run["started"] - let_go[other]).total_seconds()
        handovers = {other: gap for other, gap in gaps.items() if 0 <= gap <= HANDOVER_SECONDS}
        if handovers:
            waited[name] = min(handovers, key=handovers.get)  # the run that let go last before it
    return waited


def _log_entries(workers: list[Service]):
    """The workers' JSON log lines (NAP_LOG_FORMAT=json), as dicts, each with its worker's
    pid (`pid`)."""
    for worker in workers:
        for line in worker.log_tail(50_000_000).splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                yield {**entry, "pid": worker.proc.pid}


def aside_lines(workers: list[Service], phrase: str, since: datetime, until: datetime | None = None,
                runs: dict[str, dict] | None = None) -> dict[str, datetime]:
    """When each run of a round (the workers' log lines from `since`, before `until`) logged
    `phrase` (nap/worker.py): "steps aside" (it let its thread go) or "starts aside" (its feed
    known to be slow, it held no thread at all). Feed name -> time. Both workers queue every
    due feed and may log that a run starts aside before the lease gives it to the other:
    with `runs`, only the lines of the worker that ran it count."""
    lines = {}
    for entry in _log_entries(workers):
        feed = entry.get("feed")
        if not feed or phrase not in entry.get("message", ""):
            continue
        run = (runs or {}).get(feed)
        if runs is not None and not (run and f":{entry['pid']}:" in (run["worker"] or "")):
            continue
        when = _utc(entry["time"])
        if since <= when and (until is None or when < until):
            lines.setdefault(feed, when)
    return lines


def table_files_written(workers: list[Service], due: datetime) -> list[dict]:
    """The DATEX II table files the workers began and wrote meanwhile (exporters/datex2/
    table_files.py, once the store holds 2,000 locations): what the harvests shared the
    cores with."""
    return [{"seconds_after_due": (_utc(entry["time"]) - due).total_seconds(), "message": entry["message"]}
            for entry in _log_entries(workers)
            if "table file written" in entry.get("message", "") or "table files: writing" in entry.get("message", "")]


def _summarize(feeds: list[FeedPlan], runs: dict[str, dict], due: datetime, workers: list[Service],
               rss: _WorkerRss, deadline_hit: bool, aside: dict[str, datetime], tables: list[dict]) -> dict:
    holders = {}
    for index, worker in enumerate(workers):
        pid = worker.proc.pid
        holders[f"worker-{index + 1}"] = {
            "pid": pid, "peak_rss_mb": rss.tree_mb[pid], "vm_hwm_mb": rss.hwm_mb[pid],
            "runs": sum(1 for run in runs.values() if run and f":{pid}:" in (run["worker"] or ""))}
    return {
        "feeds": len(feeds),
        "workers": WORKERS,
        "evses": sum(feed.evses for feed in feeds),
        **_round(feeds, runs, due, deadline_hit, aside),
        "table_files_written": tables,
        "per_worker": holders,
        "peak_rss_mb": max((w["peak_rss_mb"] for w in holders.values()), default=0.0),
    }


def _round(feeds: list[FeedPlan], runs: dict[str, dict], due: datetime, deadline_hit: bool,
           aside: dict[str, datetime], started_aside: dict[str, datetime] | None = None) -> dict:
    """One round of harvests, every feed due at `due`. `aside`: when runs stepped aside;
    `started_aside`: the runs that held no thread (they make no one wait)."""
    started_aside = started_aside or {}
    finished = {name: run for name, run in runs.items() if run and run["finished"]}
    last_end = max((run["finished"] for run in finished.values()), default=due)
    lags = {name: (run["started"] - due).total_seconds() for name, run in runs.items() if run}
    within = {name: (run["finished"] - due).total_seconds() <= INTERVAL_MINUTES * 60
              for name, run in finished.items()}
    ordered_lags = sorted(lags.values())
    # Waited for a slow run to end; and began when one stepped aside (waited for it until then).
    let_go = {name: aside.get(name, run["finished"]) for name, run in runs.items()
              if run and name not in started_aside}
    waited = waited_for_slow(feeds, runs, due, let_go)
    held = {slow: (let_go[slow] - runs[slow]["started"]).total_seconds() for slow in set(waited.values())}
    return {
        "wall_seconds": (last_end - due).total_seconds(),
        "done": len(finished),
        "failed": sorted(name for name, run in finished.items() if run["status"] not in ("success", "degraded")),
        "unfinished": sorted(name for name in runs if name not in finished),
        "time_limit_reached": deadline_hit,
        "lag_seconds": {"p50": ordered_lags[len(ordered_lags) // 2] if ordered_lags else None,
                        "max": ordered_lags[-1] if ordered_lags else None,
                        "max_feed": max(lags, key=lags.get) if lags else None},
        "within_interval": all(within.values()) and len(within) == len(feeds),
        "interval_minutes": INTERVAL_MINUTES,
        "waited_for_slow": waited,
        "waited_count": len(waited),
        # How long each slow run waited for had held its thread when it let it go.
        "slow_held_seconds": held,
        "stepped_aside": sorted(aside),
        "started_aside": sorted(started_aside),
        "per_feed": {feed.name: {
            "kind": feed.kind, "version": feed.version, "evses": feed.evses,
            "lag_seconds": lags.get(feed.name),
            "seconds": ((runs[feed.name]["finished"] - runs[feed.name]["started"]).total_seconds()
                        if feed.name in finished else None),
            "status": runs[feed.name]["status"] if runs.get(feed.name) else None,
            "objects": runs[feed.name]["objects"] if runs.get(feed.name) else None} for feed in feeds},
    }


def _start_demos(feeds: list[FeedPlan], label: str) -> list[Service]:
    """The demo CPOs in DEMO_PROCESSES processes; fills in each feed's port."""
    groups = [[] for _ in range(DEMO_PROCESSES)]
    for index, feed in enumerate(sorted(feeds, key=lambda f: -f.evses)):  # the large ones split up
        groups[index % DEMO_PROCESSES].append(feed)
    services, by_name = [], {feed.name: feed for feed in feeds}
    WORK.mkdir(parents=True, exist_ok=True)
    try:
        for number, group in enumerate(groups):
            path = WORK / f"multi-feed-{label}-{number}.json"
            path.write_text(json.dumps([asdict(feed) for feed in group]))
            services.append(Service(f"multi-feed-demo-{label}-{number}",
                                    [PYTHON, "-m", "bench.multi_feed", "serve", str(path)], bench_env()))
        for service in services:
            ready = _ready_line(service, 600)
            for name, port in ready["ports"].items():
                by_name[name].port = port
                by_name[name].evses = ready["evses"][name]  # whole locations: a few EVSEs more
    except BaseException:
        for service in services:
            service.stop()
        raise
    return services


def _ready_line(service: Service, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in service.log_tail(1_000_000).splitlines():
            if line.startswith('{"ports"'):
                return json.loads(line)
        if service.proc.poll() is not None:
            break
        time.sleep(0.2)
    raise BenchError(f"the demo CPOs did not start:\n{service.log_tail()}")


def run(postgres_url: str | None, size: int, timeout: float, keep: bool = False, label: str = "") -> dict:
    """The scenario at `size` EVSEs in all, on a fresh PostgreSQL database."""
    label = label or str(size)
    feeds = plan(size)
    db = Database("postgresql", f"multi-{label}", postgres_url)
    demos = _start_demos(feeds, label)
    try:
        db.create()
        # The workers' daily jobs write the day's export files: into the run's scratch space,
        # not the checkout's var/.
        env = nap_env(db, NAP_EXPORT_DIR=str(WORK / f"exports-{label}"), NAP_LOG_FORMAT="json")
        check(run_measured([str(BIN / "nap"), "db", "upgrade"], env, timeout=300), "nap db upgrade")
        plan_path = WORK / f"multi-feed-{label}.json"
        plan_path.write_text(json.dumps([asdict(feed) for feed in feeds]))
        check(run_measured([PYTHON, "-m", "bench.multi_feed", "register", str(plan_path)], env, timeout=300),
              "registering the feeds")
        log(f"multi_feed: {len(feeds)} feeds, {sum(f.evses for f in feeds):,} EVSEs; starting {WORKERS} workers")
        due = datetime.now(timezone.utc)
        workers = [Service(f"nap-worker-{label}-{number + 1}", [str(BIN / "nap"), "worker"], env)
                   for number in range(WORKERS)]
        again = None
        try:
            with _WorkerRss([worker.proc.pid for worker in workers]) as rss:
                runs, deadline_hit = _wait_for_round(db, workers, timeout)
                if not deadline_hit:
                    again = _second_round(db, workers, env, plan_path, timeout)
        finally:
            for worker in workers:
                worker.stop()
        result = _summarize(feeds, runs, due, workers, rss, deadline_hit,
                            aside_lines(workers, "steps aside", due, again and again[0], runs=runs),
                            table_files_written(workers, due))
        _log_round("first harvests", result)
        if again:
            again_due, again_runs, again_deadline_hit = again
            result["again"] = _round(feeds, again_runs, again_due, again_deadline_hit,
                                     aside_lines(workers, "steps aside", again_due, runs=again_runs),
                                     aside_lines(workers, "starts aside", again_due, runs=again_runs))
            _log_round("second round", result["again"])
        return result
    finally:
        for demo in demos:
            demo.stop()
        if not keep:
            db.drop()


def _second_round(db: Database, workers: list[Service], env: dict, plan_path: Path,
                  timeout: float) -> tuple[datetime, dict, bool]:
    """Every feed asked for at once again, the workers running on: as fifty feeds registered
    together fall due together. Now the slow CPOs have a run behind them (in either worker)."""
    asked = check(run_measured([PYTHON, "-m", "bench.multi_feed", "request", str(plan_path)], env, timeout=300),
                  "asking for every feed's harvest").json()
    requested_at = _utc(asked["requested_at"])
    runs, deadline_hit = _wait_for_round(db, workers, timeout, since=requested_at)
    return requested_at, runs, deadline_hit


def _log_round(name: str, result: dict) -> None:
    log(f"multi_feed, {name}: {result['done']} feeds harvested in {result['wall_seconds']:.1f} s; "
        f"lag p50 {result['lag_seconds']['p50']} s, max {result['lag_seconds']['max']} s; "
        f"{len(result['waited_for_slow'])} waited for a slow one")


def _wait_for_round(db: Database, workers: list[Service], timeout: float,
                    since: datetime | None = None) -> tuple[dict, bool]:
    deadline = time.monotonic() + timeout
    while True:
        runs = round_runs(db, since)
        if all(run and run["finished"] for run in runs.values()):
            return runs, False
        if time.monotonic() > deadline:
            log(f"multi_feed: time limit ({timeout:.0f} s) reached")
            return runs, True
        for worker in workers:
            if worker.proc.poll() is not None:
                raise BenchError(f"{worker.name} exited with {worker.proc.returncode}:\n{worker.log_tail()}")
        time.sleep(0.5)


if __name__ == "__main__":
    command, plan_file = sys.argv[1], sys.argv[2]
    {"serve": serve, "register": register, "request": request}[command](plan_file)
