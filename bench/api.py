"""Publication API benchmark, against NAP under gunicorn and, with the very same load, the
trivial Flask app (bench/trivial_app.py) as the baseline.

- `/ocpi/2.3.0/locations?limit=1000`: one client, pages in random order: latency p50.
- `/ocpi/2.3.0/locations/DE/ABC/{id}`: 8 clients back to back: requests/s (and latency).
- `/api/v1/locations?bbox=...`: one client, 1 km x 1 km boxes around random locations: p50.
- `/api/v1/locations?bbox=<the whole fleet>&zoom=6`: the map's national view (clusters
  counted in SQL), one client: p50; and the answer sizes, gzip and plain, of it and of
  the 1 km boxes (the map's national view must stay under 200 KB).
- The same national view and a 1 km box clustered in the browser instead, with supercluster
  over every location (bench/client_clusters.py): the download that needs, and the time.
"""
from __future__ import annotations

import gzip
import json
import math
import random
import statistics
import time
import urllib.request

from bench import client_clusters
from bench.common import log, run_load

KM_PER_DEGREE_LATITUDE = 111.32
NATIONAL_ZOOM = 6  # a country of Germany's size on a 1280 px screen


def one_km_box(latitude: float, longitude: float) -> str:
    half_lat = 0.5 / KM_PER_DEGREE_LATITUDE
    half_lon = 0.5 / (KM_PER_DEGREE_LATITUDE * math.cos(math.radians(latitude)))
    return f"{longitude - half_lon:.6f},{latitude - half_lat:.6f},{longitude + half_lon:.6f},{latitude + half_lat:.6f}"


def workloads(locations: list[tuple[str, float, float]], seconds: float, seed: int = 7) -> dict[str, dict]:
    """The loads, by name; `locations` holds (ocpi id, latitude, longitude)."""
    rng = random.Random(seed)
    pages = [f"/ocpi/2.3.0/locations?offset={offset}&limit=1000" for offset in range(0, len(locations), 1000)]
    rng.shuffle(pages)
    singles = [f"/ocpi/2.3.0/locations/DE/ABC/{ocpi_id}" for ocpi_id, _, _ in rng.sample(locations, len(locations))]
    boxes = [f"/api/v1/locations?bbox={one_km_box(lat, lon)}"
             for _, lat, lon in rng.sample(locations, min(len(locations), 2000))]
    return {
        "national": {"kind": "get", "paths": [national_view(locations)], "mode": "closed", "concurrency": 1,
                     "warmup": 1.0, "duration": seconds, "max_requests": 500},
        "list": {"kind": "get", "paths": pages, "mode": "closed", "concurrency": 1, "warmup": 1.0,
                 "duration": seconds, "max_requests": 200},
        "single": {"kind": "get", "paths": singles, "mode": "closed", "concurrency": 8, "warmup": 1.0,
                   "duration": seconds},
        "bbox": {"kind": "get", "paths": boxes, "mode": "closed", "concurrency": 1, "warmup": 1.0,
                 "duration": seconds, "max_requests": 2000},
    }


def national_view(locations: list[tuple[str, float, float]]) -> str:
    lats, lons = [lat for _, lat, _ in locations], [lon for _, _, lon in locations]
    return (f"/api/v1/locations?bbox={min(lons):.5f},{min(lats):.5f},{max(lons):.5f},{max(lats):.5f}"
            f"&zoom={NATIONAL_ZOOM}")


def answer_bytes(base: str, path: str) -> dict:
    """The answer's size as sent with gzip (as browsers ask) and unpacked."""
    request = urllib.request.Request(base + path, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=120) as response:
        sent = response.read()
        plain = gzip.decompress(sent) if response.headers.get("Content-Encoding") == "gzip" else sent
        geojson = "json" in response.headers.get("Content-Type", "")
    features = len(json.loads(plain).get("features", [])) if geojson and plain else 0
    return {"gzip": len(sent), "plain": len(plain), "features": features}


def answer_sizes(base: str, spec: dict, sample: int = 50) -> dict:
    sizes = [answer_bytes(base, path) for path in spec["paths"][:sample]]
    medians = {key: statistics.median(size[key] for size in sizes) for key in ("gzip", "plain")}
    features = sum(size["features"] for size in sizes)
    # What one location costs in the answer, for pricing a download of all of them.
    medians["per_feature"] = {key: sum(size[key] for size in sizes) / features if features else 0.0
                              for key in ("gzip", "plain")}
    return medians


def _bbox_of(path: str) -> list[float]:
    return [float(part) for part in path.split("bbox=")[1].split("&")[0].split(",")]


def run(nap_base: str, trivial_base: str, locations: list[tuple[str, float, float]], seconds: float) -> dict:
    results = {}
    for name, spec in workloads(locations, seconds).items():
        if name == "national":
            # The first answer counts its tiles; the load's p50 then measures kept tiles.
            began = time.monotonic()
            answer_bytes(nap_base, spec["paths"][0])
            cold_ms = (time.monotonic() - began) * 1000
        log(f"api: {name} ({spec['concurrency']} client(s), {seconds:.0f} s) on NAP, then the trivial app")
        nap = run_load(f"api-{name}", {**spec, "base": nap_base})
        baseline = run_load(f"api-{name}-baseline", {**spec, "base": trivial_base})
        if nap["errors"] or not nap["requests"]:
            raise RuntimeError(f"api {name}: {nap['requests']} requests, errors {nap['errors']}")
        results[name] = {"nap": nap, "baseline": baseline}
        if name in ("national", "bbox"):
            results[name]["bytes"] = answer_sizes(nap_base, spec)
        if name == "national":
            results[name]["cold_ms"] = cold_ms
        log(f"api: {name}: p50 {nap['latency_ms']['p50']:.1f} ms, {nap['rps']:.0f}/s "
            f"(trivial: p50 {baseline['latency_ms']['p50']:.2f} ms, {baseline['rps']:.0f}/s)")
    if "national" in results and "bbox" in results:
        specs = workloads(locations, seconds)
        results["national"]["client_side"] = client_clusters.measure(
            locations, _bbox_of(specs["national"]["paths"][0]), _bbox_of(specs["bbox"]["paths"][0]),
            results["bbox"]["bytes"]["per_feature"])
    return results
