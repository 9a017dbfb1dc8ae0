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


def test_a_busy_lease_is_skipped_at_once_not_waited_for(sessions):
    """`nap harvest` of a feed another process was harvesting waited (SQLite: for the write
    lock the running harvest holds; PostgreSQL likewise for a lease row being released),
    then took the lease that had just been released and ran the harvest again. A lease
    held by someone else is now seen with a read and skipped at once, as on PostgreSQL."""
    import threading

    from sqlalchemy import delete

    from nap.store.db import write_session
    from nap.store.tables import Lease

    running = Leases(sessions, "harvesting-worker")
    assert running.acquire("harvest:feed:1", timedelta(minutes=5))
    # The running harvest's transaction holds the write lock; when it ends, its lease goes.
    harvest = write_session(sessions)
    session = harvest.__enter__()
    session.execute(delete(Lease).where(Lease.name == "harvest:feed:1"))

    def finish():
        time.sleep(1.0)
        harvest.__exit__(None, None, None)

    finisher = threading.Thread(target=finish)
    finisher.start()
    try:
        started = time.monotonic()
        acquired = Leases(sessions, "second-command").acquire("harvest:feed:1", timedelta(minutes=5))
        waited = time.monotonic() - started
    finally:
        finisher.join()
    assert not acquired, "the second command ran the harvest again"
    assert waited < 0.5
