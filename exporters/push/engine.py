"""What is due for which subscriber, and one delivery of it.

Status subscribers get a snapshotPush when they are new, at least every
NAP_PUSH_SNAPSHOT_HOURS, after NAP_PUSH_SNAPSHOT_AFTER_DELTAS deltas and after any failure
(what a subscriber missed is covered by a whole snapshot, never lost silently); in between,
a deltaPush of what changed since their watermark, at most one per
NAP_PUSH_MIN_INTERVAL_SECONDS. Table subscribers get the table when they are new and when
its version changes, at most once per NAP_PUSH_TABLE_PERIOD_SECONDS. A failed delivery is
tried again after a doubling backoff.

Of several workers on one database, one delivers to a subscriber at a time: its lease
(nap/store/leases.py) is taken, the subscriber's state read afresh under it, and the new
watermark committed with the delivery record before the lease is let go, so the next
holder starts from what was delivered.

The watermark is the time the last delivery was made from; the next delta asks for what
was received after it minus OVERLAP, so a status received just before a delivery but
committed just after it is in the next delta. The status and tariff changes that delivery
saw in that overlap window are kept with the subscriber (window_ids) and left out of the
next delta: without that, every delta sent OVERLAP's worth of changes again, which at 500
changes a second was most of each delta. Whether anything changed is decided by counting
the history rows and tariffs in that window: more than the last delivery saw there means
something new, even a row committed late.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from exporters.push.documents import Document, status_document, table_document, table_version
from exporters.push.kinds import DeliveryKind, SubscriptionKind
from exporters.push.subscribers import endpoint_of, party_pairs
from exporters.push.transport import Answer, Endpoint, post
from nap.config import Settings
from nap.retry import doubling
from nap.store.db import repeatable_read, write_session
from nap.store.leases import Leases
from nap.store.status_history import SeenChanges
from nap.store.tables import EvseStatusChange, PushDelivery, PushSubscriber, Tariff

log = logging.getLogger(__name__)

OVERLAP = timedelta(seconds=2)
# A lease outlives the longest delivery (its POST's timeout) by this much.
LEASE_MARGIN = timedelta(seconds=60)
# Subscribers delivered to at once by one worker: a slow one does not hold up the rest.
PARALLEL_DELIVERIES = 4
# Delivery records are kept this long (the admin page, /metrics).
DELIVERY_RECORD_DAYS = 7
# A table subscriber whose period has passed has its table's version (a few aggregate
# queries) compared at most this often by each process's scan, not at every tick.
TABLE_CHECK_EVERY = timedelta(seconds=10)
_table_checked: dict[tuple[str, int], datetime] = {}  # (database, subscriber id) -> when


@dataclass(frozen=True)
class Delivered:
    subscriber: str
    kind: DeliveryKind
    ok: bool
    items: int
    size: int
    http_status: int | None
    error: str | None
    lag_seconds: float | None


def lease_name(subscriber_id: int) -> str:
    return f"push:subscriber:{subscriber_id}"


def _window_count(session: Session, start: datetime) -> int:
    """Status changes and tariff changes received after `start`."""
    statuses = session.scalar(select(func.count()).select_from(EvseStatusChange)
                              .where(EvseStatusChange.received_at > start))
    tariffs = session.scalar(select(func.count()).select_from(Tariff).where(Tariff.changed_at > start))
    return statuses + tariffs


def _oldest_change_after(session: Session, after: datetime | None) -> datetime | None:
    if after is None:
        return None
    return session.scalar(select(func.min(EvseStatusChange.received_at)).where(EvseStatusChange.received_at > after))


def _since(moment: datetime | None, now: datetime) -> timedelta:
    return timedelta.max if moment is None else now - moment


def due_kind(session: Session, subscriber: PushSubscriber, settings: Settings, now: datetime, *,
             scan: bool = False) -> DeliveryKind | None:
    """What the subscriber is due now, if anything (`scan`: the cheap look of every tick)."""
    if not subscriber.enabled or (subscriber.next_attempt_at is not None and subscriber.next_attempt_at > now):
        return None
    if subscriber.kind == SubscriptionKind.TABLE:
        if subscriber.table_version is None:
            return DeliveryKind.TABLE
        if _since(subscriber.last_success_at, now) < timedelta(seconds=settings.push_table_period_seconds):
            return None
        if scan:
            key = (str(session.get_bind().url), subscriber.id)
            checked = _table_checked.get(key)
            if checked is not None and timedelta(0) <= now - checked < TABLE_CHECK_EVERY:
                return None
            _table_checked[key] = now
        _, version = table_version(subscriber.profile, session, now)
        return DeliveryKind.TABLE if version != subscriber.table_version else None
    if _since(subscriber.last_attempt_at, now) < timedelta(seconds=settings.push_min_interval_seconds):
        return None
    if (subscriber.needs_snapshot or subscriber.watermark is None
            or _since(subscriber.last_snapshot_at, now) >= timedelta(hours=settings.push_snapshot_hours)
            or subscriber.deltas_since_snapshot >= settings.push_snapshot_after_deltas):
        return DeliveryKind.SNAPSHOT
    if _window_count(session, subscriber.watermark - OVERLAP) > subscriber.window_seen:
        return DeliveryKind.DELTA
    return None


@dataclass(frozen=True)
class _Prepared:
    kind: DeliveryKind
    name: str
    endpoint: Endpoint
    document: Document
    oldest_change: datetime | None
    # Status: the new watermark and what its window held when the document was made.
    watermark: datetime | None = None
    window_seen: int = 0
    window_ids: dict | None = None  # SeenChanges.to_json()
    table_version: str | None = None


def _prepare(session: Session, subscriber: PushSubscriber, kind: DeliveryKind, settings: Settings,
             now: datetime) -> _Prepared:
    endpoint, parties = endpoint_of(subscriber), party_pairs(subscriber)
    if kind == DeliveryKind.TABLE:
        last_change, version = table_version(subscriber.profile, session, now)
        document = table_document(subscriber.profile, session, settings, now, parties)
        # The first table carries nothing that waited for it: no lag.
        oldest = last_change if subscriber.table_version is not None else None
        return _Prepared(kind, subscriber.name, endpoint, document, oldest, table_version=version)
    # Counted before the document is made: a row committed in between is then in the
    # document but not in the count, and only makes the next delta repeat it.
    seen_now = SeenChanges.after(session, now - OVERLAP)
    window_seen, window_ids = len(seen_now.statuses) + len(seen_now.tariffs), seen_now.to_json()  # as _window_count
    oldest = _oldest_change_after(session, subscriber.watermark)
    if kind == DeliveryKind.DELTA and oldest is None:
        oldest = _oldest_change_after(session, subscriber.watermark - OVERLAP)  # only late commits
    since = None if kind == DeliveryKind.SNAPSHOT else subscriber.watermark - OVERLAP
    seen = SeenChanges.from_json(subscriber.window_ids) if kind == DeliveryKind.DELTA else SeenChanges()
    document = status_document(subscriber.profile, session, settings, now, since, party_pairs(subscriber), seen)
    return _Prepared(kind, subscriber.name, endpoint, document, oldest, watermark=now, window_seen=window_seen,
                     window_ids=window_ids)


def _record(session: Session, subscriber: PushSubscriber, prepared: _Prepared, answer: Answer, now: datetime,
            received: datetime, settings: Settings) -> Delivered:
    lag = (received - prepared.oldest_change).total_seconds() if answer.ok and prepared.oldest_change else None
    attempt = subscriber.failures + 1
    session.add(PushDelivery(subscriber_id=subscriber.id, at=now, kind=prepared.kind, items=prepared.document.items,
                             size=len(prepared.document.body), ok=answer.ok, http_status=answer.http_status,
                             error=answer.error, lag_seconds=lag, attempt=attempt))
    subscriber.last_attempt_at = now
    if answer.ok:
        subscriber.failures, subscriber.next_attempt_at, subscriber.last_success_at = 0, None, received
        if prepared.kind == DeliveryKind.TABLE:
            subscriber.table_version = prepared.table_version
        else:
            subscriber.watermark, subscriber.window_seen = prepared.watermark, prepared.window_seen
            subscriber.window_ids = prepared.window_ids
            if prepared.kind == DeliveryKind.SNAPSHOT:
                subscriber.needs_snapshot, subscriber.last_snapshot_at = False, now
                subscriber.deltas_since_snapshot = 0
            else:
                subscriber.deltas_since_snapshot += 1
    else:
        subscriber.failures = attempt
        # Capped before doubling: after a week of failures 2**attempt would not fit in a float.
        backoff = doubling(settings.push_retry_seconds, jitter=True)(min(attempt, 30), RuntimeError(answer.error))
        subscriber.next_attempt_at = now + timedelta(seconds=min(backoff, settings.push_retry_max_seconds))
        if subscriber.kind == SubscriptionKind.STATUS:
            subscriber.needs_snapshot = True  # the subscriber may have missed what this carried
        log.warning("push of a %s to subscriber %s failed (attempt %s): %s", prepared.kind, subscriber.name,
                    attempt, answer.error)
    return Delivered(subscriber.name, prepared.kind, answer.ok, prepared.document.items,
                     len(prepared.document.body), answer.http_status, answer.error, lag)


def _deliver_one(sessions: sessionmaker[Session], settings: Settings, subscriber_id: int,
                 now: datetime) -> Delivered | None:
    """Deliver what the subscriber is due, under its lease (held by the caller)."""
    with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            repeatable_read(session)  # the count and the document see one snapshot
        subscriber = session.get(PushSubscriber, subscriber_id)
        kind = None if subscriber is None else due_kind(session, subscriber, settings, now)
        if kind is None:
            return None  # another worker delivered it meanwhile, or it was disabled
        failure = None
        try:
            prepared = _prepare(session, subscriber, kind, settings, now)
        except Exception as error:  # noqa: BLE001 - recorded and retried with a backoff, not at every tick
            log.exception("the %s for push subscriber %s could not be made", kind, subscriber.name)
            prepared = _Prepared(kind, subscriber.name, endpoint_of(subscriber), Document(b"", 0), None)
            failure = Answer(False, None, f"NAP could not make the document ({type(error).__name__})")
    if failure is not None:
        with write_session(sessions) as session:
            return _record(session, session.get(PushSubscriber, subscriber_id), prepared, failure, now, now, settings)
    if prepared.kind == DeliveryKind.DELTA and prepared.document.items == 0:
        # What changed is none of this subscriber's CPOs: nothing to send, the window moves on.
        with write_session(sessions) as session:
            subscriber = session.get(PushSubscriber, subscriber_id)
            subscriber.watermark, subscriber.window_seen = prepared.watermark, prepared.window_seen
            subscriber.window_ids = prepared.window_ids
        return None
    # No transaction is open while the subscriber answers.
    started = time.monotonic()
    answer = post(settings, prepared.endpoint, prepared.document.body)
    received = now + timedelta(seconds=time.monotonic() - started)
    with write_session(sessions) as session:
        subscriber = session.get(PushSubscriber, subscriber_id)
        if subscriber is None:
            return None  # removed while we delivered
        return _record(session, subscriber, prepared, answer, now, received, settings)


def _deliver_leased(sessions: sessionmaker[Session], settings: Settings, leases: Leases, subscriber_id: int,
                    now: datetime) -> Delivered | None:
    name = lease_name(subscriber_id)
    if not leases.acquire(name, timedelta(seconds=settings.push_timeout_seconds) + LEASE_MARGIN):
        return None  # another worker is delivering to it
    try:
        return _deliver_one(sessions, settings, subscriber_id, now)
    except Exception:  # one subscriber's trouble (a document that cannot be made) must not stop the rest
        log.exception("push delivery to subscriber %s crashed", subscriber_id)
        return None
    finally:
        leases.release(name)


def deliver_due(sessions: sessionmaker[Session], settings: Settings, now: datetime | None = None, *,
                leases: Leases | None = None) -> list[Delivered]:
    """Deliver to every subscriber that is due and that no other worker is delivering to;
    returns the deliveries made here (failed ones included)."""
    now = now or datetime.now(timezone.utc)
    leases = leases or Leases(sessions)
    # Due-ness is read without a lease (a read is cheap, a lease is a write) and checked
    # again under it.
    with sessions() as session:
        due = [subscriber.id for subscriber in session.scalars(
            select(PushSubscriber).where(PushSubscriber.enabled.is_(True)).order_by(PushSubscriber.id))
            if due_kind(session, subscriber, settings, now, scan=True) is not None]
    if not due:
        return []
    if len(due) == 1:
        done = [_deliver_leased(sessions, settings, leases, due[0], now)]
    else:
        with ThreadPoolExecutor(max_workers=min(len(due), PARALLEL_DELIVERIES),
                                thread_name_prefix="push") as pool:
            done = list(pool.map(lambda subscriber_id: _deliver_leased(sessions, settings, leases, subscriber_id,
                                                                       now), due))
    return [delivered for delivered in done if delivered is not None]


def prune_deliveries(sessions: sessionmaker[Session], now: datetime) -> int:
    with write_session(sessions) as session:
        return session.execute(delete(PushDelivery).where(
            PushDelivery.at < now - timedelta(days=DELIVERY_RECORD_DAYS))).rowcount
