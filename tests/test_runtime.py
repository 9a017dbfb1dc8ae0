"""nap/runtime.py: process-wide tuning held by several threads at once is undone only when
the last holder leaves, and then exactly to what the process had before the first.

Mutations checked: a paused_gc that re-enables the collector when any holder leaves (not
the last), or a tuning that restores what the previous holder saw instead of what was
there before the first, fails these tests."""
from __future__ import annotations

import gc
import sys
import threading
from contextlib import contextmanager

import pytest

from nap.runtime import (FEWER_COLLECTIONS_THRESHOLD, SHORT_SWITCH_INTERVAL, fewer_collections, paused_gc,
                         short_switch_interval)

WAIT = 10  # seconds: a deadline for a thread that never comes, not a pause


@pytest.fixture(autouse=True)
def collector_on():
    assert gc.isenabled()
    yield
    gc.enable()


def _hold(tuning, entered: threading.Event, leave: threading.Event, left: threading.Event) -> threading.Thread:
    def run():
        with tuning():
            entered.set()
            leave.wait(WAIT)
        left.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert entered.wait(WAIT)
    return thread


def test_two_overlapping_pauses_keep_the_collector_off_until_the_last_one_ends():
    first = [threading.Event() for _ in range(3)]
    second = [threading.Event() for _ in range(3)]
    threads = [_hold(paused_gc, *first)]
    assert not gc.isenabled()
    threads.append(_hold(paused_gc, *second))
    assert not gc.isenabled()

    first[1].set()  # the first pause ends while the second goes on
    assert first[2].wait(WAIT)
    assert not gc.isenabled()

    second[1].set()
    assert second[2].wait(WAIT)
    for thread in threads:
        thread.join(WAIT)
    assert gc.isenabled()


def test_a_pause_inside_a_disabled_collector_leaves_it_disabled():
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_harvest_tunings_restore_what_was_there_before_the_first():
    thresholds, interval, frozen = gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()
    with fewer_collections(), short_switch_interval():
        assert gc.get_threshold()[0] == max(thresholds[0], FEWER_COLLECTIONS_THRESHOLD)
        assert sys.getswitchinterval() == min(interval, SHORT_SWITCH_INTERVAL)
        assert gc.get_freeze_count() >= frozen
        inner = [threading.Event() for _ in range(3)]
        thread = _hold(_harvest_tuning, *inner)
    # The other run goes on: its tuning stays.
    assert gc.get_threshold()[0] == max(thresholds[0], FEWER_COLLECTIONS_THRESHOLD)
    assert sys.getswitchinterval() == min(interval, SHORT_SWITCH_INTERVAL)
    inner[1].set()
    assert inner[2].wait(WAIT)
    thread.join(WAIT)
    assert (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()) == (thresholds, interval, frozen)


@contextmanager
def _harvest_tuning():
    with fewer_collections(), short_switch_interval():
        yield
