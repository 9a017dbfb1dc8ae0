"""Waiting in tests without fixed sleeps: poll a condition until a deadline, or replace the
clock a piece of code reads.

A fixed sleep is either too short on a busy machine (a flaky test) or too long everywhere
(a slow suite); a deadline is only reached when something is wrong, and then the error
names what did not happen."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")  # an HTTP response

_real_sleep = time.sleep
_real_time = time.time


def wait_until(condition: Callable[[], T], timeout: float = 20.0, what: str = "a condition",
               interval: float = 0.05) -> T:
    """Call `condition` until it returns something true, and return that; after `timeout`
    seconds raise AssertionError naming `what` was waited for."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        _real_sleep(interval)


class RecordedSleeps(list):
    """The seconds each time.sleep call asked for, in order, none of them waited."""


def record_sleeps(monkeypatch) -> RecordedSleeps:
    """Replace time.sleep in this process for the rest of the test: every call is recorded
    and returns at once. A test of a wait (Retry-After, a slow CPO) checks what was asked
    for instead of timing the wall clock."""
    recorded = RecordedSleeps()

    def sleep(seconds: float) -> None:
        recorded.append(seconds)
        _real_sleep(0)

    monkeypatch.setattr(time, "sleep", sleep)
    return recorded


class OffsetClock:
    """Stands in for the `time` module inside a module under test: time.time() runs on from
    the real clock plus an offset the test moves forward, so a window of minutes passes at
    once. Everything else is the real `time` module."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return _real_time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def __getattr__(self, name: str):
        return getattr(time, name)


def clock_past(moment: datetime) -> datetime:
    """The time once the clock has passed `moment` by a millisecond, the precision of OCPI
    timestamps: what happens next is dated after `moment`."""
    floor = moment + timedelta(milliseconds=1)

    def now_if_past() -> datetime | None:
        now = datetime.now(timezone.utc)
        return now if now >= floor else None
    return wait_until(now_if_past, timeout=5, what=f"the clock to pass {moment.isoformat()}", interval=0.001)


def with_last_modified(request: Callable[[], R]) -> R:
    """`request()` repeated until its answer carries Last-Modified, which NAP sends once the
    second of the data's last change has passed (exporters/http_caching.py)."""
    def answer_if_dated() -> R | None:
        response = request()
        return response if "Last-Modified" in response.headers else None
    return wait_until(answer_if_dated, timeout=5, what="an answer with Last-Modified", interval=0.05)
