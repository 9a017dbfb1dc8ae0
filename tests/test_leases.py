"""Leases keep a job from running twice across processes sharing one database."""
from __future__ import annotations

import time
from datetime import timedelta

from nap.store.leases import Leases


def test_only_one_holder_until_release(sessions):
    a, b = Leases(sessions, "worker-a"), Leases(sessions, "worker-b")
    assert a.acquire("job", timedelta(minutes=5))
    assert not b.acquire("job", timedelta(minutes=5))
    assert a.acquire("job", timedelta(minutes=5))  # the holder may re-acquire
    b.release("job")  # releasing someone else's lease does nothing
    assert not b.acquire("job", timedelta(minutes=5))
    a.release("job")
    assert b.acquire("job", timedelta(minutes=5))


def test_an_expired_lease_is_taken_over(sessions):
    dead, alive = Leases(sessions, "killed-worker"), Leases(sessions, "worker-b")
    assert dead.acquire("job", timedelta(milliseconds=200))
    assert not alive.acquire("job", timedelta(minutes=5))
    time.sleep(0.3)
    assert alive.acquire("job", timedelta(minutes=5))
    assert not dead.acquire("job", timedelta(minutes=5))
