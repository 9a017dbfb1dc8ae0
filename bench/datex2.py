"""DATEX II benchmark: the table publication written from the store into a gzip file, as the
bulk export writes it, in a child process of its own (seconds, peak RSS), against writing
the same number of XML elements, with about the same text, through bare lxml
(etree.xmlfile) into a gzip file the same way, in another child.

    python -m bench.datex2 write --url DB --profile generic --out FILE   (NAP's writer)
    python -m bench.datex2 count --file FILE                             (elements, text)
    python -m bench.datex2 lxml --elements N --text-chars C --out FILE   (the baseline)
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path



# -- children ------------------------------------------------------------------------------------


def child_write(url: str, profile: str, out: str, jobs: int) -> dict:
    """The table as `nap export` writes it: in `jobs` processes (the others
    are children of this one, spawned by exporters/datex2/parallel.py)."""
    import resource
    from datetime import datetime, timezone

    from exporters.datex2.parallel import write_table_in_parallel
    from nap.compression import gzip_file
    from nap.store.db import session_factory

    started = time.monotonic()
    with gzip_file(out) as handle:
        written = write_table_in_parallel(handle, session_factory(url), jobs=jobs, profile=profile,
                                          publication_time=datetime.now(timezone.utc))
    seconds = time.monotonic() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child
    return {"seconds": seconds, "refill_points": written, "bytes": os.path.getsize(out),
            "plain_bytes": handle.size, "own_rss_mb": own, "largest_child_rss_mb": children}


def child_write_de_afir(url: str, out: str, jobs: int) -> dict:
    """Germany's AFIR profile (JSON) table as the bulk export writes it: in `jobs` processes
    from one snapshot (exporters/datex2/parallel.py), as the 3.7 table."""
    import resource
    from datetime import datetime, timezone

    from exporters.datex2.de_afir.table import write_table_in_parallel
    from nap.compression import gzip_file
    from nap.config import Settings
    from nap.store.db import session_factory

    started = time.monotonic()
    with gzip_file(out) as handle:
        written = write_table_in_parallel(handle, session_factory(url), Settings(database_url=url),
                                          now=datetime.now(timezone.utc), jobs=jobs)
    seconds = time.monotonic() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child
    return {"seconds": seconds, "charging_points": written, "bytes": os.path.getsize(out),
            "plain_bytes": handle.size, "own_rss_mb": own, "largest_child_rss_mb": children}

def child_count(path: str) -> dict:
    from lxml import etree

    elements = text = 0
    for _event, element in etree.iterparse(gzip.open(path), events=("end",), huge_tree=True):
        elements += 1
        text += len(element.text or "") if len(element) == 0 else 0
        element.clear(keep_tail=False)
    return {"elements": elements, "text_chars": text}


def child_lxml(elements: int, text_chars: int, out: str) -> dict:
    """`elements` elements: a root, then sites of 30 leaf elements each carrying text."""
    from lxml import etree

    from nap.compression import gzip_file

    leaves = max(1, elements - 1 - elements // 31)
    each = max(1, text_chars // leaves)
    filler = "x" * each
    started = time.monotonic()
    written = 1
    with gzip_file(out) as handle, etree.xmlfile(handle, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element("{http://example.org/bench}table", nsmap={"b": "http://example.org/bench"}):
            while written < elements:
                with xf.element("{http://example.org/bench}site", id=str(written)):
                    written += 1
                    for _ in range(min(30, elements - written)):
                        leaf = etree.Element("{http://example.org/bench}value")
                        leaf.text = filler
                        xf.write(leaf)
                        written += 1
    return {"seconds": time.monotonic() - started, "elements": written, "bytes": os.path.getsize(out)}


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    write = sub.add_parser("write")
    write.add_argument("--url", required=True)
    write.add_argument("--profile", default="generic")
    write.add_argument("--out", required=True)
    write.add_argument("--jobs", type=int, default=1)
    count = sub.add_parser("count")
    count.add_argument("--file", required=True)
    bare = sub.add_parser("lxml")
    bare.add_argument("--elements", type=int, required=True)
    bare.add_argument("--text-chars", type=int, required=True)
    bare.add_argument("--out", required=True)
    de_afir = sub.add_parser("de-afir")
    de_afir.add_argument("--url", required=True)
    de_afir.add_argument("--out", required=True)
    de_afir.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    if args.mode == "de-afir":
        result = child_write_de_afir(args.url, args.out, args.jobs)
    elif args.mode == "write":
        result = child_write(args.url, args.profile, args.out, args.jobs)
    elif args.mode == "count":
        result = child_count(args.file)
    else:
        result = child_lxml(args.elements, args.text_chars, args.out)
    print(json.dumps(result), flush=True)


# -- the benchmark ---------------------------------------------------------------------------------


def run(db_url: str, label: str, profile: str, timeout: float, jobs: int) -> dict:
    # Here, not at the top: the measured children (and the processes an export spawns, which
    # import this module again as __mp_main__) would carry the harness's modules (urllib,
    # ssl: 18 MB of RSS) in the figure.
    from bench.common import PYTHON, WORK, bench_env, check, log, run_measured

    out = WORK / f"datex2-{label}-{profile}.xml.gz"
    log(f"datex2: writing the {profile} table of {label} ({jobs} process(es))")
    measured = check(run_measured([PYTHON, "-m", "bench.datex2", "write", "--url", db_url, "--profile", profile,
                                   "--out", str(out), "--jobs", str(jobs)], bench_env(), timeout), "DATEX II table")
    result = measured.json()
    # Memory of the whole export: the writing process plus its children (each counted as the
    # largest; wait4 alone would report only the largest process).
    total_rss = (result["own_rss_mb"] + (jobs - 1) * result["largest_child_rss_mb"] if jobs > 1
                 else measured.peak_rss_mb)
    counted = check(run_measured([PYTHON, "-m", "bench.datex2", "count", "--file", str(out)], bench_env(), timeout),
                    "counting elements").json()
    baseline_out = WORK / f"datex2-{label}-lxml.xml.gz"
    bare = check(run_measured([PYTHON, "-m", "bench.datex2", "lxml", "--elements", str(counted["elements"]),
                               "--text-chars", str(counted["text_chars"]), "--out", str(baseline_out)],
                              bench_env(), timeout), "bare lxml baseline")
    baseline = bare.json()
    # Germany's AFIR profile (JSON) from the same store, in as many processes as the 3.7 table.
    de_afir_out = WORK / f"datex2-{label}-de-afir.json.gz"
    de_afir_run = check(run_measured([PYTHON, "-m", "bench.datex2", "de-afir", "--url", db_url,
                                      "--out", str(de_afir_out), "--jobs", str(jobs)], bench_env(), timeout),
                        "de-afir table")
    de_afir = de_afir_run.json()
    de_afir.update(wall_seconds=de_afir_run.wall_seconds, jobs=jobs,
                   peak_rss_mb=(de_afir["own_rss_mb"] + (jobs - 1) * de_afir["largest_child_rss_mb"] if jobs > 1
                                else de_afir_run.peak_rss_mb),
                   peak_rss_mb_per_process=max(de_afir_run.peak_rss_mb, de_afir["largest_child_rss_mb"]))
    for path in (out, baseline_out, de_afir_out):
        Path(path).unlink(missing_ok=True)
    log(f"datex2: {result['seconds']:.1f} s, peak RSS {measured.peak_rss_mb:.0f} MB, {counted['elements']} elements "
        f"(bare lxml {baseline['seconds']:.2f} s); de-afir JSON {de_afir['seconds']:.1f} s, "
        f"peak RSS {de_afir['peak_rss_mb']:.0f} MB")
    return {
        "profile": profile,
        "seconds": result["seconds"],
        "wall_seconds": measured.wall_seconds,
        "jobs": jobs,
        "peak_rss_mb": total_rss,
        "peak_rss_mb_per_process": max(measured.peak_rss_mb, result["largest_child_rss_mb"]),
        "refill_points": result["refill_points"],
        "bytes": result["bytes"],
        "plain_bytes": result["plain_bytes"],
        "elements": counted["elements"],
        "baseline": {"seconds": baseline["seconds"], "wall_seconds": bare.wall_seconds,
                     "peak_rss_mb": bare.peak_rss_mb, "bytes": baseline["bytes"]},
        "ratio": result["seconds"] / baseline["seconds"] if baseline["seconds"] else None,
        "de_afir": de_afir,
    }


if __name__ == "__main__":
    main()
