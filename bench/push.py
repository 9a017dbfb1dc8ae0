"""Real-time status benchmark: EVSE status PATCHes to NAP's OCPI receiver under gunicorn.

1. Capacity: 8 clients PATCH back to back (closed loop): PATCH/s and latency.
2. Target rate: PATCHes scheduled at `rate`/s (open loop, 32 senders); latency counts from
   the scheduled moment, so falling behind shows as latency. Meanwhile a probe PATCHes an
   EVSE of its own about once a second and polls `/ocpi/2.3.0/locations` (date_from/date_to
   around the pushed last_updated) until the new status shows: the delay after the answer.
3. The DATEX II status delta of the last minute, right after that load, as a consumer
   polling it asks for it (`/datex2/v3.7/energy-infrastructure/status?profile=afir&since=`
   one minute before): one client, p50, and the answer's size. As in production, the
   worker's status segment writer (exporters/datex2/status_segments.py) runs beside NAP
   (segment_writer(), started with gunicorn), and the delta waits until it has run a minute.
The same loads (without the probe) run against the trivial Flask app as the baseline.
"""
from __future__ import annotations

import random
import signal
import sys
import time
from datetime import datetime, timedelta, timezone

from bench.api import answer_bytes
from bench.common import GUNICORN_GROUPS, PYTHON, Service, log, run_load

DELTA_WINDOW = 60.0  # seconds: the delta of the last minute

PREFIX = "/ocpi/2.3.0/receiver/locations/DE/ABC"
PROBE_LOCATIONS = 4
# The processes whose CPU the capacity loads account for (bench/cpu.py), beside PostgreSQL,
# the load generator and the machine.
NAP_GROUP = "NAP (gunicorn)"
WRITER_GROUP = "segment writer"
TRIVIAL_GROUP = "trivial app"


def split_targets(evses: list[tuple[str, str]], seed: int = 11) -> tuple[list, list]:
    """(load targets in random order, probe targets): probe locations get no other load."""
    locations = sorted({location_id for location_id, _ in evses})
    rng = random.Random(seed)
    probe_locations = set(rng.sample(locations, min(PROBE_LOCATIONS, max(1, len(locations) // 10))))
    load = [list(pair) for pair in evses if pair[0] not in probe_locations]
    rng.shuffle(load)
    probes, taken = [], set()
    for location_id, uid in evses:
        if location_id in probe_locations and location_id not in taken:
            probes.append([location_id, uid])
            taken.add(location_id)
    return load, probes


def segment_writer(env: dict[str, str]) -> Service:
    """The worker's status segment writer alone, as `python -m bench.push segments`."""
    return Service("datex2-status-segments", [PYTHON, "-m", "bench.push", "segments"], env)


def run(nap_base: str, trivial_base: str, evses: list[tuple[str, str]], token: str, seconds: float,
        rate: float, writer: Service | None) -> dict:
    """`writer`: segment_writer(), running beside NAP (None: not run)."""
    load, probes = split_targets(evses)
    common = {"kind": "patch", "targets": load, "token": token, "receiver_prefix": PREFIX}
    capacity = {**common, "mode": "closed", "concurrency": 8, "warmup": 2.0, "duration": seconds}
    log(f"push: capacity (8 clients, {seconds:.0f} s) on NAP")
    nap_groups = {NAP_GROUP: GUNICORN_GROUPS[nap_base],
                  **({WRITER_GROUP: writer.proc.pid} if writer is not None else {})}
    nap_capacity = run_load("push-capacity", {**capacity, "base": nap_base, "cpu_groups": nap_groups})
    log(f"push: CPU per PATCH (ms): {nap_capacity['cpu_ms_per_request']}")
    log(f"push: {nap_capacity['rps']:.0f} PATCH/s, p99 {nap_capacity['latency_ms'].get('p99', 0):.0f} ms; "
        f"now {rate:.0f}/s scheduled with the visibility probe")
    paced = {**common, "mode": "open", "rate": rate, "concurrency": 32, "warmup": 2.0, "duration": seconds,
             "offset": nap_capacity["requests"] + 16 * 1024}
    nap_paced = run_load("push-paced", {**paced, "base": nap_base,
                                        "probe": {"targets": probes, "interval": 1.0, "timeout": 5.0}})
    log(f"push: at {rate:.0f}/s scheduled: {nap_paced['rps']:.0f}/s done, "
        f"p99 {nap_paced['latency_ms'].get('p99', 0):.0f} ms, probe {nap_paced.get('probe')}")
    # A delta reaching back before the writer's first segment is built whole (as with no writer).
    left = writer.started + DELTA_WINDOW + 1 - time.monotonic() if writer is not None else 0
    if left > 0:
        log(f"push: waiting {left:.0f} s until the segment writer has run for the delta's minute")
        time.sleep(left)
    since = (datetime.now(timezone.utc) - timedelta(seconds=DELTA_WINDOW)).strftime("%Y-%m-%dT%H:%M:%SZ")
    delta = {"kind": "get", "paths": [f"/datex2/v3.7/energy-infrastructure/status?profile=afir&since={since}"],
             "mode": "closed", "concurrency": 1, "warmup": 1.0, "duration": min(seconds, 10.0), "max_requests": 200}
    delta_bytes = answer_bytes(nap_base, delta["paths"][0])
    nap_delta = run_load("push-delta", {**delta, "base": nap_base})
    log(f"push: DATEX II status delta of the last minute: p50 {nap_delta['latency_ms'].get('p50', 0):.0f} ms, "
        f"{delta_bytes['plain'] / 1e6:.1f} MB")
    trivial_groups = {TRIVIAL_GROUP: GUNICORN_GROUPS[trivial_base]}
    baseline_capacity = run_load("push-capacity-baseline",
                                 {**capacity, "base": trivial_base, "cpu_groups": trivial_groups})
    baseline_paced = run_load("push-paced-baseline", {**paced, "base": trivial_base})
    baseline_delta = run_load("push-delta-baseline", {**delta, "base": trivial_base})
    # No answer at all under a closed load: NAP could not be measured. An open load that
    # got none answered in time is a figure (0/s done, its errors): a machine too busy to
    # keep the schedule, which made CI fail on a loaded host.
    if not nap_capacity["requests"]:
        raise RuntimeError("push capacity: no request answered")
    return {"capacity": {"nap": nap_capacity, "baseline": baseline_capacity},
            "paced": {"nap": nap_paced, "baseline": baseline_paced},
            "delta": {"nap": nap_delta, "baseline": baseline_delta, "bytes": delta_bytes},
            "segment_writer": writer is not None}


def _segments() -> None:
    """The worker's status segment writer alone, until SIGTERM."""
    from exporters.datex2.status_segments import SegmentLoop
    from nap.config import load_settings
    from nap.store.db import session_factory

    settings = load_settings()
    loop = SegmentLoop(session_factory(settings.database_url), profiles=settings.datex2_status_segments)
    signal.signal(signal.SIGTERM, lambda *_: loop.stopping.set())
    loop.run()


if __name__ == "__main__":
    if sys.argv[1:] != ["segments"]:
        raise SystemExit(__doc__)
    _segments()
