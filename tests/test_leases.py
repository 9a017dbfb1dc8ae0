"""Leases keep a job from running twice across processes sharing one database."""
from __future__ import annotations

from datetime import timedelta

from nap.store.leases import Leases
from tests.waiting import wait_until


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
    wait_until(lambda: alive.acquire("job", timedelta(minutes=5)), timeout=10,
               what="the expired lease to be taken over")
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

    # The harvest ends when the second command has answered, or after a while if the
    # command waits for it: then it takes the lease just released and the asserts fail.
    answered, ended = threading.Event(), threading.Event()

    def finish():
        answered.wait(timeout=10)
        harvest.__exit__(None, None, None)
        ended.set()

    finisher = threading.Thread(target=finish)
    finisher.start()
    try:
        acquired = Leases(sessions, "second-command").acquire("harvest:feed:1", timedelta(minutes=5))
        answered_while_running = not ended.is_set()
    finally:
        answered.set()
        finisher.join()
    assert not acquired, "the second command ran the harvest again"
    assert answered_while_running, "the second command waited for the running harvest"
