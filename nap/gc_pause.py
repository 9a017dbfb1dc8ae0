"""Pausing Python's cyclic garbage collector while a large response is built.

A page of 1,000 locations creates a few hundred thousand dicts and lists; each allocation
burst triggers collections that walk the whole heap (the app, the ORM, the schemas), which
measured at about half the time of such a request. Those objects hold no reference cycles,
so reference counting frees them anyway; collection resumes right after."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
