"""Where a load's CPU goes: the CPU time of each process under test during the measured
window, from /proc (Linux). Divided by the requests answered, it says what one request
costs each of them, and the machine's busy time says what it costs in all: on a machine of
N cores, N seconds over the machine's CPU per request is the most requests a second it can
answer, whatever the server does with its time.

    before = snapshot({"NAP (gunicorn)": pgid})
    ...
    per_request_ms(before, snapshot(...), requests)

A group is a process group (bench/common.Service starts each service in one: the gunicorn
master and its workers); PostgreSQL is every process named "postgres" (the benchmarks'
database runs on the same machine); the load generator is the calling process. The
machine is every core's busy time, so what none of these did shows as "other".
"""
from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
POSTGRESQL = "PostgreSQL"
LOAD_GENERATOR = "load generator"
MACHINE = "machine"
OTHER = "other"


def usable_cores() -> int:
    """The cores this process may run on: all of the machine's, unless the benchmark runs
    under `taskset` (its services and the database pinned with it), which measures how a
    figure grows with the cores."""
    return len(os.sched_getaffinity(0))


def cores_text(count: int) -> str:
    return "1 core" if count == 1 else f"{count} cores"


def _processes():
    """(pid, start time, command name, process group, CPU seconds) of every process still
    readable. The start time (in clock ticks since boot) tells a pid's process from a later
    one that reuses the number."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        # The command name is in parentheses and may itself hold spaces or parentheses.
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        # After the name: state, ppid, pgrp, ..., utime (12th), stime (13th), starttime (20th).
        yield int(entry.name), int(fields[19]), name, int(fields[2]), (int(fields[11]) + int(fields[12])) / TICKS


def _machine_busy_seconds() -> float:
    # The first line of /proc/stat sums every core: user nice system idle iowait irq softirq steal ...
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICKS


def snapshot(groups: dict[str, int]) -> dict:
    """The CPU seconds so far of each process of the named process groups, of PostgreSQL
    and of this process, by process; and the machine's."""
    by_group = {pgid: name for name, pgid in groups.items()}
    own = os.getpid()
    processes = {}
    for pid, started, name, pgid, cpu in _processes():
        part = (LOAD_GENERATOR if pid == own else by_group.get(pgid)
                or (POSTGRESQL if name == "postgres" else None))
        if part is not None:
            processes[pid, started] = part, cpu
    return {"parts": [*groups, POSTGRESQL, LOAD_GENERATOR], "processes": processes,
            MACHINE: _machine_busy_seconds()}


def per_request_ms(before: dict, after: dict, requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request for each part, "other" for the machine's rest. Each
    process counts the CPU it spent between the two snapshots (all of it if it began in
    between); one that ended in between (a database connection closed) leaves its share to
    "other"."""
    if not requests:
        return {}
    seconds = {part: 0.0 for part in before["parts"]}
    for key, (part, cpu) in after["processes"].items():
        seconds[part] += cpu - before["processes"].get(key, (part, 0.0))[1]
    seconds[MACHINE] = after[MACHINE] - before[MACHINE]
    shares = {part: max(0.0, value) * 1000 / requests for part, value in seconds.items()}
    shares[OTHER] = max(0.0, shares[MACHINE] - sum(v for k, v in shares.items() if k != MACHINE))
    return {name: round(value, 3) for name, value in shares.items()}
