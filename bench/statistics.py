"""Statistics benchmark: the daily reliability job (nap/store/evse_statistics.py) for one
day on which every EVSE of the harvested fleet changed status 10 times, in a child process
(seconds, peak RSS), against reading the same rows it needs (the EVSEs, the day's changes)
and doing nothing with them.

    python -m bench.statistics compute --url DB     (writes the day's history, then measures)
"""
from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timedelta, timezone

from bench.common import PYTHON, bench_env, check, log, run_measured

CHANGES_PER_EVSE = 10
CYCLE = ("CHARGING", "AVAILABLE", "BLOCKED", "AVAILABLE", "OUTOFORDER", "AVAILABLE", "UNKNOWN", "AVAILABLE",
         "INOPERATIVE", "AVAILABLE")


def _write_history(sessions, start: datetime) -> int:
    """10 changes per EVSE spread over the day (not measured)."""
    from sqlalchemy import insert, select

    from nap.store.tables import Evse, EvseStatusChange, Location

    with sessions.begin() as session:
        evses = session.execute(select(Location.feed_id, Evse.location_pk, Evse.uid)
                                .join(Location, Location.id == Evse.location_pk)).all()
        rows = []
        for n, (feed_id, pk, uid) in enumerate(evses):
            previous = "AVAILABLE"
            for step, status in enumerate(CYCLE[:CHANGES_PER_EVSE]):
                at = start + timedelta(seconds=(step * 8_000 + n * 7) % 86_000 + step)
                rows.append({"feed_id": feed_id, "location_pk": pk, "evse_uid": uid, "old_status": previous,
                             "new_status": status, "cpo_time": at, "received_at": at, "via": "push"})
                previous = status
        for begin in range(0, len(rows), 10_000):
            session.execute(insert(EvseStatusChange), rows[begin:begin + 10_000])
    return len(rows)


def child_compute(url: str) -> dict:
    import resource

    from sqlalchemy import text

    from nap.store.db import session_factory, write_session
    from nap.store.evse_statistics import compute_day, day_bounds

    sessions = session_factory(url)
    day = datetime.now(timezone.utc).date() + timedelta(days=1)  # after the harvest's own rows
    start, end = day_bounds(day)
    changes = _write_history(sessions, start)
    started = time.monotonic()
    with write_session(sessions) as session:
        evses = compute_day(session, day, timedelta(hours=24))
    seconds = time.monotonic() - started
    started = time.monotonic()
    with sessions() as session:  # the baseline: the same rows read, nothing done with them
        session.execute(text("SELECT e.location_pk, e.uid, e.status, l.feed_id FROM evses e "
                             "JOIN locations l ON l.id = e.location_pk")).all()
        session.execute(text("SELECT location_pk, evse_uid, old_status, new_status, received_at "
                             "FROM evse_status_history WHERE received_at >= :start AND received_at < :end "
                             "ORDER BY received_at, id"),
                        {"start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None)}).all()
    baseline = time.monotonic() - started
    return {"seconds": seconds, "evses": evses, "changes": changes, "baseline_seconds": baseline,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("compute").add_argument("--url", required=True)
    args = parser.parse_args()
    print(json.dumps(child_compute(args.url)), flush=True)


def run(db_url: str, timeout: float) -> dict:
    log("statistics: one day of 10 status changes per EVSE")
    measured = check(run_measured([PYTHON, "-m", "bench.statistics", "compute", "--url", db_url], bench_env(),
                                  timeout), "statistics job")
    result = measured.json()
    log(f"statistics: {result['seconds']:.2f} s for {result['evses']} EVSEs and {result['changes']} changes "
        f"(reading them: {result['baseline_seconds']:.2f} s)")
    return {**result, "peak_rss_mb": measured.peak_rss_mb,
            "ratio": result["seconds"] / result["baseline_seconds"] if result["baseline_seconds"] else None}


if __name__ == "__main__":
    main()
