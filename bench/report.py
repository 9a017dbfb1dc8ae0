"""The Markdown table of a benchmark run: every figure, its baseline from the same run, the
ratio between them, the target and whether it is met.

Ratio = NAP's cost per operation / the baseline's (time over time, or the baseline's rate
over NAP's rate): 1.0 means as cheap as the baseline, 3.0 three times as expensive.
Targets are checked where the issues set them (most at 100,000 EVSEs; the push targets on
PostgreSQL at any size); elsewhere the column says n/a.
"""
from __future__ import annotations

from dataclasses import dataclass

TARGET_SIZE = 100_000


@dataclass
class Row:
    benchmark: str
    figure: str
    engine: str
    evses: int | str
    value: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None  # None: not checked here


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _ok(check: bool, applies: bool) -> bool | None:
    return check if applies else None


def harvest_rows(engine: str, size: int, result: dict) -> list[Row]:
    base = result["baseline"]
    at_target = size == TARGET_SIZE
    return [
        Row("harvest", "full harvest, wall time (s)", engine, size, _num(result["wall_seconds"]),
            f"{_num(base['wall_seconds'])} (fetch + JSON parse)", result["ratio"], "ratio <= 2.5",
            _ok(result["ratio"] <= 2.5, at_target)),
        Row("harvest", "objects/s (locations + tariffs)", engine, size,
            f"{_num(result['objects_per_second'])} ({_num(result['evses_per_second'])} EVSEs/s)",
            f"{_num(base['objects'] / base['wall_seconds'])}"),
        Row("harvest", "peak RSS (MB)", engine, size, _num(result["peak_rss_mb"], 0),
            _num(base["peak_rss_mb"], 0), result["peak_rss_mb"] / base["peak_rss_mb"], "<= 300 MB",
            _ok(result["peak_rss_mb"] <= 300, at_target)),
    ]


def growth_rows(benchmark: str, engine: str, sizes: dict[int, float], limit_percent: float) -> list[Row]:
    """Peak RSS growth from the smallest to the largest size measured."""
    if len(sizes) < 2:
        return []
    small, large = min(sizes), max(sizes)
    growth = (sizes[large] / sizes[small] - 1) * 100
    applies = small <= 10_000 and large >= TARGET_SIZE
    return [Row(benchmark, f"peak RSS growth {small:,} -> {large:,} EVSEs", engine, f"{small:,}->{large:,}",
                f"{growth:+.0f}% ({_num(sizes[small], 0)} -> {_num(sizes[large], 0)} MB)",
                target=f"<= {limit_percent:.0f}%", met=_ok(growth <= limit_percent, applies))]


def push_rows(engine: str, size: int, result: dict) -> list[Row]:
    capacity, paced = result["capacity"], result["paced"]
    nap_c, base_c = capacity["nap"], capacity["baseline"]
    nap_p, base_p = paced["nap"], paced["baseline"]
    applies = engine == "postgresql"
    rate = nap_p["target_rps"]
    rows = [
        Row("push", "PATCH/s, 8 clients back to back", engine, size,
            f"{_num(nap_c['rps'])} (p50 {_num(nap_c['latency_ms']['p50'])} ms, "
            f"p99 {_num(nap_c['latency_ms']['p99'])} ms{_errors(nap_c)})",
            _num(base_c["rps"]), base_c["rps"] / nap_c["rps"] if nap_c["rps"] else None, ">= 500/s",
            _ok(nap_c["rps"] >= 500, applies)),
    ]
    p99 = nap_p["latency_ms"].get("p99")
    kept_up = nap_p["rps"] >= 0.95 * rate
    rows.append(Row(
        "push", f"p99 latency at {rate:.0f} PATCH/s scheduled (ms)", engine, size,
        f"{_num(p99)} (p50 {_num(nap_p['latency_ms'].get('p50'))}; {_num(nap_p['rps'])}/s done{_errors(nap_p)})",
        _num(base_p["latency_ms"].get("p99"), 2), p99 / base_p["latency_ms"]["p99"] if p99 else None,
        "<= 50 ms", _ok(p99 is not None and p99 <= 50 and kept_up and not nap_p["errors"], applies)))
    probe = nap_p.get("probe") or {}
    delays = probe.get("delay_ms") or {}
    if probe:
        rows.append(Row(
            "push", "visible in /ocpi/2.3.0/locations after the answer (ms)", engine, size,
            f"max {_num(delays.get('max'))}, p50 {_num(delays.get('p50'))} "
            f"({probe['visible']}/{probe['probes']} probes seen)",
            target="<= 1000 ms",
            met=_ok(bool(delays) and delays["max"] <= 1000 and not probe["missed"], applies)))
    return rows


def _errors(load: dict) -> str:
    count = sum(load["errors"].values())
    return f"; {count} errors {load['errors']}" if count else ""


def api_rows(engine: str, size: int, result: dict) -> list[Row]:
    at_target = size == TARGET_SIZE
    rows = []
    lst = result["list"]
    p50, base = lst["nap"]["latency_ms"]["p50"], lst["baseline"]["latency_ms"]["p50"]
    rows.append(Row("api", "/ocpi/2.3.0/locations?limit=1000, p50 (ms)", engine, size,
                    f"{_num(p50)} (p90 {_num(lst['nap']['latency_ms']['p90'])})", _num(base, 2), p50 / base,
                    "<= 150 ms", _ok(p50 <= 150, at_target)))
    single = result["single"]
    rps, base_rps = single["nap"]["rps"], single["baseline"]["rps"]
    rows.append(Row("api", "single location GET, 8 clients (req/s)", engine, size,
                    f"{_num(rps)} (p50 {_num(single['nap']['latency_ms']['p50'])} ms)", _num(base_rps),
                    base_rps / rps, ">= 300/s", _ok(rps >= 300, at_target)))
    bbox = result["bbox"]
    p50, base = bbox["nap"]["latency_ms"]["p50"], bbox["baseline"]["latency_ms"]["p50"]
    rows.append(Row("api", "/api/v1/locations 1 km bbox, p50 (ms)", engine, size,
                    f"{_num(p50)} (p90 {_num(bbox['nap']['latency_ms']['p90'])})", _num(base, 2), p50 / base,
                    "<= 20 ms", _ok(p50 <= 20, at_target)))
    return rows


def datex2_rows(engine: str, size: int, result: dict) -> list[Row]:
    at_target = size == TARGET_SIZE
    base = result["baseline"]
    profile = result["profile"]
    return [
        Row("datex2", f"{profile} table export (s)", engine, size,
            f"{_num(result['seconds'])} ({result.get('jobs', 1)} process(es), {result['refill_points']:,} refill points, "
            f"{result['elements']:,} elements, {result['bytes'] / 1e6:.0f} MB)",
            f"{_num(base['seconds'], 2)} (bare lxml)", result["ratio"], "<= 20 s",
            _ok(result["seconds"] <= 20, at_target)),
        Row("datex2", f"{profile} table export, peak RSS (MB, all its processes)", engine, size,
            _num(result["peak_rss_mb"], 0),
            _num(base["peak_rss_mb"], 0), result["peak_rss_mb"] / base["peak_rss_mb"], "<= 200 MB",
            _ok(result["peak_rss_mb"] <= 200, at_target)),
    ]


def rows_for(results: dict) -> list[Row]:
    rows: list[Row] = []
    runs = results["runs"]
    for run in runs:
        engine, size = run["engine"], run["evses"]
        if "harvest" in run:
            rows += harvest_rows(engine, size, run["harvest"])
        if "push" in run:
            rows += push_rows(engine, size, run["push"])
        if "api" in run:
            rows += api_rows(engine, size, run["api"])
        if "datex2" in run:
            rows += datex2_rows(engine, size, run["datex2"])
    for engine in dict.fromkeys(run["engine"] for run in runs):
        mine = [run for run in runs if run["engine"] == engine]
        rows += growth_rows("harvest", engine, {r["evses"]: r["harvest"]["peak_rss_mb"] for r in mine
                                                if "harvest" in r}, 20)
        rows += growth_rows("datex2", engine, {r["evses"]: r["datex2"]["peak_rss_mb"] for r in mine
                                               if "datex2" in r}, 20)
    order = {"harvest": 0, "push": 1, "api": 2, "datex2": 3}
    rows.sort(key=lambda r: order[r.benchmark])  # stable: engines and sizes keep their run order
    return rows


def markdown(results: dict) -> str:
    lines = [
        f"## NAP benchmarks, {results['started']}",
        "",
        f"Source: {results.get('source', 'unknown')}.",
        "",
        f"Machine: {results['machine']}. gunicorn -w {results['workers']} with deploy/gunicorn.conf.py "
        f"(gthread workers, 4 threads each) on loopback; "
        f"load from bench/loadgen.py on the same cores. Ratio: NAP's cost per operation over the "
        f"baseline's measured in this run (1.0 = as cheap as the baseline).",
        "",
        "| benchmark | figure | engine | EVSEs | value | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows_for(results):
        met = {True: "yes", False: "**NO**", None: "n/a"}[row.met] if row.target else ""
        evses = f"{row.evses:,}" if isinstance(row.evses, int) else row.evses
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        lines.append(f"| {row.benchmark} | {row.figure} | {row.engine} | {evses} | {row.value} | {row.baseline} "
                     f"| {ratio} | {row.target} | {met} |")
    fleets = ", ".join(f"{int(size):,} EVSEs = {fleet['locations']:,} locations, {fleet['connectors']:,} connectors"
                       for size, fleet in sorted(results["fleets"].items(), key=lambda item: int(item[0])))
    lines += ["", f"Demo CPO fleets (seed 1): {fleets}."]
    busy = [f"{step} on {run['engine']} at {run['evses']:,}: {fraction:.0%}" for run in results["runs"]
            for step, fraction in run.get("busy", {}).items() if fraction > 0.15]
    if busy:
        lines.append(f"\nOther work kept the CPUs busy when some benchmarks began ({'; '.join(busy)}): "
                     f"their figures are pessimistic.")
    for run in results["runs"]:
        for name, error in run.get("errors", {}).items():
            lines.append(f"\n**{name} on {run['engine']} at {run['evses']:,} EVSEs did not run:** {error}")
    return "\n".join(lines) + "\n"
