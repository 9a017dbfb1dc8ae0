"""A job run every few tenths of a second in a thread of its own (the worker's push delivery
and DATEX II status segments): the harvest tick, 30 s, is far too slow for them."""
from __future__ import annotations

import threading
import time


class TickingThread:
    """Calls tick() every `tick_seconds` (less the tick's own time) until stop()."""

    name = "ticking"

    def __init__(self, tick_seconds: float):
        self.tick_seconds = tick_seconds
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def tick(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            self.tick()
            self.stopping.wait(max(0.0, self.tick_seconds - (time.monotonic() - started)))

    def start(self):
        self.thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)
