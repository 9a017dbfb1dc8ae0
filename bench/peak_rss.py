"""Run a command and write its peak RSS (MB) to a file: `python -m bench.peak_rss FILE CMD...`.

Why a wrapper: Linux keeps a process's high-water RSS across execve, so a child forked
from the benchmark process and exec'ed reports at least the RSS the benchmark process had
(over 100 MB at 100k EVSEs, with its lists of locations). Forked from this small process
instead, the command's own peak is what wait4 reports.
"""
from __future__ import annotations

import os
import subprocess
import sys


def main() -> int:
    report, command = sys.argv[1], sys.argv[2:]
    process = subprocess.Popen(command)  # same stdio, same process group (a timeout kills both)
    _, status, usage = os.wait4(process.pid, 0)
    with open(report, "w", encoding="utf-8") as handle:
        handle.write(str(usage.ru_maxrss / 1024))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
