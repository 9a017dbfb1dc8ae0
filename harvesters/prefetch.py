"""Iterating a producer of pages in a thread of its own, a bounded number of pages ahead."""
from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

T = TypeVar("T")

# Pages held by the fetch side: the one being made while the previous waits for the
# consumer. Each page held costs memory (a parsed page of 1,000 locations is tens of MB).
PREFETCH_PAGES = 1


def prefetched(pages: Iterator[T], depth: int = PREFETCH_PAGES) -> Iterator[T]:
    """Iterate `pages` in a thread of its own, so that fetching the next page overlaps
    storing this one: a run takes about the longer of the two instead of their sum. The
    fetch side holds at most `depth` pages beyond the one the consumer works on (it starts a
    fetch only when a slot is free). Exceptions of the producer reach the consumer in
    order; when the consumer stops early (an error, the deadline), the producer is stopped
    and joined (a request under way ends at the latest when the run closes its client)."""
    channel: queue.Queue = queue.Queue()
    slots = threading.Semaphore(depth + 1)  # + the page the consumer holds
    stop = threading.Event()
    done = object()

    def produce() -> None:
        iterator = iter(pages)
        try:
            while True:
                while not slots.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                try:
                    page = next(iterator)
                except StopIteration:
                    channel.put((done, None))
                    return
                channel.put((page, None))
                page = None
        except BaseException as error:  # handed to the consumer, raised there
            channel.put((None, error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="harvest-fetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = channel.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
            item = None  # do not keep the page alive while waiting for the next one
            slots.release()
    finally:
        stop.set()
        # A fetch under way finishes first (at once, unless the CPO is slow); a run that
        # ends does not wait long for it: closing the client right after fails it.
        thread.join(timeout=5)
