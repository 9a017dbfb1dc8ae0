"""The other way to cluster a map (issue #20): in the browser, with supercluster, over every
point of the fleet, against NAP's clusters counted in SQL per grid cell.

For the client to cluster, it must first hold every location: the download is priced at
NAP's own pin format (the median bytes per feature of the 1 km box answers, gzip and
plain, times the locations), and the clustering is timed in Node.js with supercluster
(what a browser runs): reading the points, building the index, then the national view at
zoom 6 and a 1 km box at zoom 17.

supercluster comes from the npm registry: `make bench` installs it into var/npm. Without
Node.js or the package the comparison is reported as not measured, never failed.
"""
from __future__ import annotations

import json
import shutil
import subprocess

from bench.common import REPO, WORK, log

NPM_PREFIX = REPO / "var" / "npm"
SUPERCLUSTER = NPM_PREFIX / "node_modules" / "supercluster" / "index.js"

# The browser's work, as the public map would do it: the points read from a JSON download,
# clustered with a radius of 60 px (about NAP's 64 px grid cells) up to zoom 16.
SCRIPT = """
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import Supercluster from "%(module)s";
const [pointsPath, national, box] = process.argv.slice(2);
let began = performance.now();
const points = JSON.parse(readFileSync(pointsPath, "utf8")).map(([lon, lat]) =>
  ({ type: "Feature", geometry: { type: "Point", coordinates: [lon, lat] }, properties: {} }));
const parseMs = performance.now() - began;
began = performance.now();
const index = new Supercluster({ radius: 60, maxZoom: 16 }).load(points);
const indexMs = performance.now() - began;
const timed = (bbox, zoom) => {
  const runs = [];
  let features = 0;
  for (let i = 0; i < 21; i++) {
    const t = performance.now();
    features = index.getClusters(JSON.parse(bbox), zoom).length;
    runs.push(performance.now() - t);
  }
  runs.sort((a, b) => a - b);
  return { p50_ms: runs[10], features };
};
const heapMb = process.memoryUsage().heapUsed / 1048576;
console.log(JSON.stringify({ points: points.length, parse_ms: parseMs, index_ms: indexMs, heap_mb: heapMb,
                             national: timed(national, 6), box: timed(box, 17) }));
"""


def measure(locations: list[tuple[str, float, float]], national_bbox: list[float], box_bbox: list[float],
            pin_bytes: dict[str, float]) -> dict:
    """What clustering in the browser would cost for these locations, or why it was not measured."""
    node = shutil.which("node")
    if node is None or not SUPERCLUSTER.exists():
        missing = "Node.js" if node is None else f"supercluster ({SUPERCLUSTER.relative_to(REPO)}; make bench installs it)"
        log(f"api: client-side clustering not measured: no {missing}")
        return {"measured": False, "why": f"no {missing}"}
    WORK.mkdir(parents=True, exist_ok=True)
    points_path, script_path = WORK / "client-points.json", WORK / "client-clusters.mjs"
    points_path.write_text(json.dumps([[round(lon, 6), round(lat, 6)] for _, lat, lon in locations]))
    script_path.write_text(SCRIPT % {"module": SUPERCLUSTER.as_uri()})
    log(f"api: client-side clustering of {len(locations):,} points with supercluster in Node.js")
    done = subprocess.run([node, "--max-old-space-size=4096", str(script_path), str(points_path),
                           json.dumps(national_bbox), json.dumps(box_bbox)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"supercluster in Node.js failed: {done.stderr.strip()[-500:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures.update(measured=True, download_gzip=pin_bytes["gzip"] * len(locations),
                   download_plain=pin_bytes["plain"] * len(locations))
    points_path.unlink()
    return figures
