"""The closed sets of the push tables (CHECK constraints of migration 0015)."""
from __future__ import annotations

from enum import StrEnum


class SubscriptionKind(StrEnum):
    """What a subscriber receives (push_subscribers.kind)."""

    #: The static publication (sites, stations, charging points, rates), when it changes.
    TABLE = "table"
    #: The dynamic publication: snapshots, and deltas of what changed in between.
    STATUS = "status"


class DeliveryKind(StrEnum):
    """What one delivery carried (push_deliveries.kind)."""

    TABLE = "table"
    #: Every status (exchangeInformation: snapshotPush).
    SNAPSHOT = "snapshot"
    #: The statuses that changed since the last delivery, with an overlap (deltaPush).
    DELTA = "delta"
