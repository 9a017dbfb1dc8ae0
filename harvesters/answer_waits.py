"""How long a harvest has waited for its CPO's answers. The worker reads it while the run goes
on (nap/worker.py): a run that waits seconds for one answer is held up by its CPO, not by
this machine, and stops counting against the worker's threads."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator


class AnswerWaits:
    """The longest wait for one answer (a request with its retries and back-offs), the one
    under way included. Written by the run's threads, read by the worker's: each write is
    one attribute, which a reader sees whole."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._since: float | None = None

    @contextmanager
    def waiting(self) -> Iterator[None]:
        since = self._since = time.monotonic()
        try:
            yield
        finally:
            self._since = None
            self.answered(time.monotonic() - since)

    def answered(self, seconds: float) -> None:
        """An answer that took `seconds`: also one waited for elsewhere (the page process)."""
        if seconds > self.longest:
            self.longest = seconds

    def longest_now(self) -> float:
        since = self._since
        return max(self.longest, time.monotonic() - since if since is not None else 0.0)
