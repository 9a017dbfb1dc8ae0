"""Long CLI operations draw a progress bar on a terminal and print nothing extra otherwise."""
from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

from nap.progress import Progress
from tests.harvest_helpers import register


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_on_a_terminal_and_silence_elsewhere():
    terminal, pipe = FakeTerminal(), io.StringIO()
    for stream in (terminal, pipe):
        with Progress("demo", stream) as progress:
            for done in (10, 50, 100):
                progress.update("locations", done, 100)
    assert "demo: locations [" in terminal.getvalue() and "100/100" in terminal.getvalue()
    assert pipe.getvalue() == ""


def test_nap_harvest_shows_progress_only_on_a_terminal(demo_cpo, sessions, database_url):
    cpo = demo_cpo(locations=30, page_limit=10)
    register(sessions, cpo)
    env = {**os.environ, "NAP_DATABASE_URL": database_url, "NAP_OUTBOUND_ALLOW": "127.0.0.0/8",
           "NAP_HARVEST_PAGE_LIMIT": "10", "NAP_LOG_FORMAT": "text", "NAP_FULL_SYNC_HOURS": "0"}
    piped = subprocess.run([sys.executable, "-m", "nap.cli", "harvest", "demo"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and "[" not in piped.stderr.replace("[redacted]", "")
    # On a pseudo-terminal the bar is drawn on stderr.
    main, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "nap.cli", "harvest", "demo"], env=env,
                               stdout=subprocess.PIPE, stderr=secondary, text=True)
    os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=60)
    assert process.returncode == 0
    assert b"demo: locations [" in output and b"30/30" in output
