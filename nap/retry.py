"""One retry loop, for every operation NAP tries again: a push's transaction that collided
with another (a unique index, a lock timeout, SQLite's single writer) and a CPO's HTTP
request that timed out or was answered 429 or 5xx. Nothing retries forever: the last
error after `attempts` tries is the caller's to report."""
from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

T = TypeVar("T")
Backoff = Callable[[int, BaseException], float]  # (attempt that failed, from 1; its error) -> seconds


def doubling(first_seconds: float, jitter: bool = False) -> Backoff:
    """`first_seconds` after the first failed attempt, twice as long after each next one.
    With jitter, a random delay between half of that and all of it: clients that failed
    together do not all come back at the same moment."""
    def delay(attempt: int, error: BaseException) -> float:
        base = first_seconds * 2 ** (attempt - 1)
        return base / 2 + random.uniform(0, base / 2) if jitter else base
    return delay


def with_retries(action: Callable[[], T], *, attempts: int,
                 retry_on: type[BaseException] | tuple[type[BaseException], ...], backoff: Backoff, on_retry: Callable[[int, BaseException, float], None] | None = None) -> T:
    """`action()`, tried at most `attempts` times (at least once). An error of a `retry_on`
    type is followed by a sleep of `backoff(attempt, error)` seconds, announced to
    `on_retry(attempt, error, delay)`, and another try; after the last try it propagates.
    Any other error propagates at once."""
    attempts = max(attempts, 1)
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except retry_on as error:
            if attempt == attempts:
                raise
            delay = backoff(attempt, error)
            if on_retry is not None:
                on_retry(attempt, error, delay)
            time.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")
