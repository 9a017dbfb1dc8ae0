"""A harvest started from the portal (after approval, or an admin's "harvest now") runs in
a background thread, so the page answers at once; the CPO watches the run appear in its
harvest history. The harvester's lease keeps it from running twice alongside the worker."""
from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)
THREADS_KEY = "nap.portal.harvest_threads"


def _harvest(sessions, settings, feed_name: str) -> None:
    from harvesters.harvest import Harvester

    try:
        run = Harvester(sessions, settings).harvest(feed_name)
        if run is not None:
            log.info("portal harvest of %s: %s", feed_name, run.status)
    except Exception:
        log.exception("portal harvest of %s crashed", feed_name)


def start_harvest(app: Flask, feed_name: str) -> threading.Thread:
    thread = threading.Thread(target=_harvest, name=f"portal-harvest-{feed_name}", daemon=True,
                              args=(app.extensions["nap.sessions"], app.extensions["nap.settings"], feed_name))
    threads = app.extensions.setdefault(THREADS_KEY, [])
    threads[:] = [t for t in threads if t.is_alive()]
    threads.append(thread)
    thread.start()
    return thread


def wait_for_harvests(app: Flask, timeout: float = 60) -> None:
    """Join the portal's harvest threads (tests, and a clean shutdown)."""
    for thread in list(app.extensions.get(THREADS_KEY, [])):
        thread.join(timeout)
