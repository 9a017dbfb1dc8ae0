"""How long a harvest has waited for its CPO's answers. The worker reads it while the run goes
on (nap/worker.py): a run that waits seconds for one answer is held up by its CPO, not by
this machine, and stops counting against the worker's threads."""
from __future__ import annotations

import itertools
import threading
import time
from contextlib import contextmanager
from typing import Hashable, Iterator

_keys = itertools.count()


class AnswerWaits:
    """The longest wait for one answer (a request with its retries and back-offs), those
    under way included, and how many retries the requests took. Several may be under way at
    once: the harvest process's own request and its page process's (reported by the child,
    harvesters/page_process.py). Times are time.monotonic(), which on Linux is one clock
    for all processes."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.retries = 0
        self._open: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    @contextmanager
    def waiting(self) -> Iterator[None]:
        key, since = next(_keys), time.monotonic()
        self.began(key, since)
        try:
            yield
        finally:
            self.ended(key, time.monotonic() - since)

    def began(self, key: Hashable, since: float) -> None:
        with self._lock:
            self._open[key] = since

    def ended(self, key: Hashable, seconds: float) -> None:
        with self._lock:
            self._open.pop(key, None)
            self.longest = max(self.longest, seconds)

    def retried(self) -> None:
        """A request failed and is tried again, after a back-off: one retry."""
        with self._lock:
            self.retries += 1

    def longest_now(self) -> float:
        with self._lock:
            oldest = min(self._open.values(), default=None)
            return max(self.longest, time.monotonic() - oldest if oldest is not None else 0.0)


class ReportedWaits(AnswerWaits):
    """A page process's waits: one that lasts `after` seconds is sent to the harvest process
    while it goes on (("wait", (key, since))), and then its end (("answered", (key,
    seconds))). Quicker answers send nothing, so that the frames never hold up a pull. Each
    retry is sent (("retried", None)): they are few."""

    def __init__(self, send, after: float) -> None:
        super().__init__()
        self._send, self._after = send, after
        self._pending: dict[Hashable, threading.Timer] = {}
        self._reported: set[Hashable] = set()
        # A wait is reported once, and its end only after it: both under this lock.
        self._reporting = threading.Lock()

    def began(self, key: Hashable, since: float) -> None:
        super().began(key, since)
        with self._reporting:
            timer = self._pending[key] = threading.Timer(self._after, self._report, (key, since))
            timer.daemon = True
            timer.start()

    def _report(self, key: Hashable, since: float) -> None:
        with self._reporting:
            if self._pending.pop(key, None) is not None:  # not ended meanwhile
                self._reported.add(key)
                self._send(("wait", (key, since)))

    def retried(self) -> None:
        super().retried()
        with self._reporting:
            self._send(("retried", None))

    def ended(self, key: Hashable, seconds: float) -> None:
        super().ended(key, seconds)
        with self._reporting:
            timer = self._pending.pop(key, None)
            if timer is not None:
                timer.cancel()
            if key in self._reported:
                self._reported.discard(key)
                self._send(("answered", (key, seconds)))
