"""Per-client rate limiting with token buckets, in the memory of one process.

Each client (consumer token, or client IP for anonymous readers) has a bucket holding up to
one minute's allowance; a request takes one token and tokens flow back continuously. So a
client may burst through a minute's allowance at once (a full sync walks many pages
quickly) but cannot exceed it on average.

The buckets live in the process: with N server processes (gunicorn workers, hosts) a client
can get up to N times the configured rate. That bounds the load per process, which is what
protects the database; an exact global limit would need a shared store (Redis, or a row
update per request) on every request.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

PRUNE_AT = 50_000  # buckets; beyond this, full (idle) ones are forgotten


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int  # requests per minute
    remaining: int
    retry_after: int  # seconds until the next request would be allowed (0 if allowed)


class TokenBuckets:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, as of)
        self._lock = threading.Lock()

    def take(self, key: str, per_minute: int) -> Decision:
        if per_minute <= 0:  # unlimited
            return Decision(True, 0, 0, 0)
        rate = per_minute / 60.0
        with self._lock:
            now = self._clock()
            tokens, as_of = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - as_of) * rate)
            if tokens >= 1.0:
                tokens -= 1.0
                self._buckets[key] = (tokens, now)
                decision = Decision(True, per_minute, int(tokens), 0)
            else:
                self._buckets[key] = (tokens, now)
                decision = Decision(False, per_minute, 0, max(1, math.ceil((1.0 - tokens) / rate)))
            if len(self._buckets) > PRUNE_AT:
                self._prune(now)
        return decision

    def _prune(self, now: float) -> None:
        # A bucket untouched for a minute is full again: forgetting it changes nothing.
        stale = [key for key, (_, as_of) in self._buckets.items() if now - as_of > 60.0]
        for key in stale:
            del self._buckets[key]
