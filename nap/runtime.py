"""Process-wide interpreter tuning: the cyclic garbage collector and the GIL switch interval.

These settings belong to the whole process, and gunicorn's gthread workers, the harvest's
threads and the exports run several holders at once. Each trick is therefore a
reference-counted context manager: the first holder to enter applies the setting, the
last one to leave restores what the process had before the first, and a holder that
leaves early changes nothing for those still inside. docs/performance.md says what each
trick buys, the invariant it relies on and the test that guards it.

    with paused_gc(): ...               # no cyclic collection while a large response is built
    with fewer_collections(): ...       # a harvest: startup objects frozen, collections rarer
    with short_switch_interval(): ...   # a harvest: the store thread gets the GIL back sooner
"""
from __future__ import annotations

import gc
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

# A collection waits for this many allocations (Python's default: 700) under fewer_collections.
FEWER_COLLECTIONS_THRESHOLD = 10_000
# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
SHORT_SWITCH_INTERVAL = 0.0005


class _Shared:
    """A process-wide setting held while at least one holder is inside: `apply` runs when
    the count goes from 0 to 1 and returns what `restore` gets when it goes back to 0."""

    def __init__(self, apply: Callable[[], Any], restore: Callable[[Any], None]) -> None:
        self._apply, self._restore = apply, restore
        self._lock = threading.Lock()
        self._holders = 0
        self._saved: Any = None

    @property
    def holders(self) -> int:
        return self._holders

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._saved = self._apply()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    saved, self._saved = self._saved, None
                    self._restore(saved)


def _disable_gc() -> bool:
    was_enabled = gc.isenabled()
    gc.disable()
    return was_enabled


def _reenable_gc(was_enabled: bool) -> None:
    if was_enabled:
        gc.enable()


def _raise_threshold() -> tuple[int, int, int]:
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], FEWER_COLLECTIONS_THRESHOLD), thresholds[1], thresholds[2])
    return thresholds


def _restore_threshold(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def _shorten_switch_interval() -> float:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SHORT_SWITCH_INTERVAL))
    return interval


_PAUSED_GC = _Shared(_disable_gc, _reenable_gc)
_FEWER_COLLECTIONS = _Shared(_raise_threshold, _restore_threshold)
_SHORT_SWITCH_INTERVAL = _Shared(_shorten_switch_interval, sys.setswitchinterval)


def paused_gc():
    """No cyclic collection inside. A page of 1,000 locations creates a few hundred thousand
    dicts and lists; each allocation burst triggered collections that walk the whole heap
    (the app, the ORM, the schemas): about half the time of such a request. Those objects
    hold no reference cycles, so reference counting frees them anyway."""
    return _PAUSED_GC.held()


def fewer_collections():
    """The objects alive on entry (modules, the ORM's registries) frozen out of the
    collector, and a collection every FEWER_COLLECTIONS_THRESHOLD allocations instead of
    700. A harvest page allocates a few hundred thousand containers, and collections that
    walked the whole heap took about a third of a harvest's CPU time. The collector stays
    on: whatever cycles a run makes are still freed, and memory stays flat."""
    return _FEWER_COLLECTIONS.held()


def short_switch_interval():
    """A GIL switch interval of at most SHORT_SWITCH_INTERVAL. A harvest's store thread talks
    to the database in many short exchanges (COPY chunks, queries) and after each waited up
    to 5 ms for the validating thread to let go of the GIL; on PostgreSQL, where the store
    thread sets the pace, 0.5 ms takes a 100k-EVSE harvest from about 30 to 22 s; on SQLite it changes nothing."""
    return _SHORT_SWITCH_INTERVAL.held()
