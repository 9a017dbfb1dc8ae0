"""Statistics benchmark (issue #19): the daily reliability job (nap/store/evse_statistics.py)
for one day on which every EVSE of the harvested fleet changed status 10 times, in a child
process of its own (seconds, peak RSS), against reading the same rows it needs (the EVSEs,
the day's changes) and doing nothing with them; then the statistics API over that day
under gunicorn, one client per endpoint (p50).

    python -m bench.statistics history --url DB    (writes the day's history: not measured)
    python -m bench.statistics compute --url DB    (computes the day: measured)
    python -m bench.statistics baseline --url DB   (reads the rows the job reads: measured)
    python -m bench.statistics size --url DB       (the store's size on disk, per EVSE)

The store's size is read twice: as harvested, and with the day's history and its statistics
(#22: "database size per EVSE, with the status history of a day at 10 changes per EVSE").
"""
from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timedelta, timezone

from bench.common import PYTHON, bench_env, check, free_port, gunicorn, log, run_load, run_measured

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


def _day():
    return datetime.now(timezone.utc).date() + timedelta(days=1)  # after the harvest's own rows


def child_history(url: str) -> dict:
    from nap.store.db import session_factory
    from nap.store.evse_statistics import day_bounds

    return {"changes": _write_history(session_factory(url), day_bounds(_day())[0])}


def _day_changes(sessions, start, end) -> int:
    from sqlalchemy import func, select

    from nap.store.tables import EvseStatusChange

    with sessions() as session:
        return session.scalar(select(func.count()).select_from(EvseStatusChange).where(
            EvseStatusChange.received_at >= start, EvseStatusChange.received_at < end))


def child_compute(url: str) -> dict:
    """The job alone in this process: its peak RSS is the job's."""
    from nap.store.db import session_factory, write_session
    from nap.store.evse_statistics import compute_day, day_bounds

    sessions = session_factory(url)
    day = _day()
    changes = _day_changes(sessions, *day_bounds(day))
    started = time.monotonic()
    with write_session(sessions) as session:
        evses = compute_day(session, day, timedelta(hours=24))
    return {"seconds": time.monotonic() - started, "evses": evses, "changes": changes, "day": day.isoformat()}


def child_baseline(url: str) -> dict:
    """The same rows read, nothing done with them (a process of its own: holding them all
    would count in the job's memory)."""
    from sqlalchemy import text

    from nap.store.db import session_factory
    from nap.store.evse_statistics import day_bounds

    sessions = session_factory(url)
    start, end = day_bounds(_day())
    started = time.monotonic()
    with sessions() as session:
        session.execute(text("SELECT e.location_pk, e.uid, e.status, l.feed_id FROM evses e "
                             "JOIN locations l ON l.id = e.location_pk")).all()
        session.execute(text("SELECT location_pk, evse_uid, old_status, new_status, received_at "
                             "FROM evse_status_history WHERE received_at >= :start AND received_at < :end "
                             "ORDER BY received_at, id"),
                        {"start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None)}).all()
    return {"baseline_seconds": time.monotonic() - started}


def child_size(url: str) -> dict:
    """The store's bytes on disk: PostgreSQL, every table of the store with its indexes and
    TOAST (not the catalogues of an empty database); SQLite, the file's pages."""
    from sqlalchemy import func, select, text

    from nap.store.db import session_factory
    from nap.store.tables import Evse

    with session_factory(url)() as session:
        evses = session.scalar(select(func.count()).select_from(Evse))
        if session.get_bind().dialect.name == "postgresql":
            tables = dict(session.execute(text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'r' AND n.nspname = current_schema()")).all())
        else:
            pages = session.execute(text("PRAGMA page_count")).scalar()
            tables = {"(file)": pages * session.execute(text("PRAGMA page_size")).scalar()}
    total = sum(tables.values())
    largest = dict(sorted(tables.items(), key=lambda item: -item[1])[:4])
    return {"bytes": total, "evses": evses, "bytes_per_evse": total / evses if evses else None, "largest": largest,
            "tables": tables}


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    children = {"history": child_history, "compute": child_compute, "baseline": child_baseline,
                "size": child_size}
    for mode in children:
        sub.add_parser(mode).add_argument("--url", required=True)
    args = parser.parse_args()
    print(json.dumps(children[args.mode](args.url)), flush=True)


def api_paths(day: str, operator: tuple[str, str]) -> dict[str, str]:
    """The aggregate endpoints a page or an analyst calls, over the computed day; the per-EVSE
    list of an operator is a download (every EVSE), timed once beside them."""
    country, party = operator
    return {"national": f"/api/v1/statistics/national?from={day}&to={day}",
            "power classes": f"/api/v1/statistics/power-classes?from={day}&to={day}",
            "operators": f"/api/v1/statistics/operators?from={day}&to={day}",
            "one operator": f"/api/v1/statistics/operators/{country}/{party}?from={day}&to={day}"}


def _api(env: dict, workers: int, seconds: float, day: str, operator: tuple[str, str]) -> dict:
    from bench.api import answer_bytes

    port = free_port()
    results = {}
    with gunicorn("nap-statistics", "wsgi:app", port, env, workers):
        base = f"http://127.0.0.1:{port}"
        for name, path in api_paths(day, operator).items():
            load = run_load(f"statistics-{name}", {"kind": "get", "paths": [path], "mode": "closed",
                                                   "concurrency": 1, "warmup": 1.0, "duration": seconds,
                                                   "max_requests": 500, "base": base})
            if load["errors"] or not load["requests"]:
                raise RuntimeError(f"statistics API {name}: {load['requests']} requests, errors {load['errors']}")
            results[name] = {"p50_ms": load["latency_ms"]["p50"], "requests": load["requests"]}
        began = time.monotonic()
        size = answer_bytes(base, f"/api/v1/statistics/evses/{operator[0]}/{operator[1]}?day={day}")
        results["per-EVSE list (one answer)"] = {"ms": (time.monotonic() - began) * 1000, **size}
    return results


def _size(db_url: str, timeout: float) -> dict:
    return check(run_measured([PYTHON, "-m", "bench.statistics", "size", "--url", db_url], bench_env(), timeout),
                 "database size").json()


def run(db_url: str, timeout: float, *, env: dict | None = None, workers: int = 2, api_seconds: float = 3.0,
        operator: tuple[str, str] = ("DE", "ABC")) -> dict:
    harvested = _size(db_url, timeout)
    log("statistics: one day of 10 status changes per EVSE")
    history = check(run_measured([PYTHON, "-m", "bench.statistics", "history", "--url", db_url], bench_env(),
                                 timeout), "statistics history").json()
    measured = check(run_measured([PYTHON, "-m", "bench.statistics", "compute", "--url", db_url], bench_env(),
                                  timeout), "statistics job")
    result = {**measured.json(), **check(run_measured([PYTHON, "-m", "bench.statistics", "baseline", "--url", db_url],
                                                      bench_env(), timeout), "statistics baseline").json()}
    log(f"statistics: {result['seconds']:.2f} s for {result['evses']} EVSEs and {result['changes']} changes "
        f"(reading them: {result['baseline_seconds']:.2f} s), peak RSS {measured.peak_rss_mb:.0f} MB")
    with_history = _size(db_url, timeout)
    log(f"statistics: the store holds {with_history['bytes_per_evse']:,.0f} bytes per EVSE with the day's history "
        f"({harvested['bytes_per_evse']:,.0f} as harvested)")
    api = _api(env, workers, api_seconds, result["day"], operator) if env is not None else {}
    if api:
        log("statistics API p50: " + ", ".join(f"{name} {figures.get('p50_ms', figures.get('ms')):.1f} ms"
                                               for name, figures in api.items()))
    return {**result, "written_changes": history["changes"], "peak_rss_mb": measured.peak_rss_mb, "api": api,
            "database_size": {"harvested": harvested, "with_history": with_history},
            "ratio": result["seconds"] / result["baseline_seconds"] if result["baseline_seconds"] else None}


if __name__ == "__main__":
    main()
