"""The worker's delivery loop: `deliver_due` ten times a second, in a thread of its own
(the harvest tick, 30 s, is far too slow for a status delta within 2 s of the change).

A status subscriber gets at most one delta a second; a tick that comes too soon finds
nothing due at the cost of one query, and a tick every 0.1 s makes the next delta leave at
most 0.1 s after the second is up (at 0.5 s, a quarter of a second on average was lost,
with 500 changes a second waiting)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session, sessionmaker

from exporters.push.engine import deliver_due, prune_deliveries
from nap.config import Settings
from nap.store.leases import Leases
from nap.ticking import TickingThread

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1
PRUNE_EVERY = timedelta(hours=1)


class DeliveryLoop(TickingThread):
    name = "push-delivery"

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, *, tick_seconds: float = TICK_SECONDS,
                 leases: Leases | None = None):
        super().__init__(tick_seconds)
        self.sessions, self.settings = sessions, settings
        self.leases = leases or Leases(sessions)
        self._pruned_at: datetime | None = None

    def tick(self) -> None:
        now = datetime.now(timezone.utc)
        try:
            deliver_due(self.sessions, self.settings, now, leases=self.leases)
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                self._pruned_at = now
                prune_deliveries(self.sessions, now)
        except Exception:  # the database away for a moment: the next tick tries again
            log.exception("push delivery tick failed")
