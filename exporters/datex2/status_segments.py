"""DATEX II 3.7 status deltas joined from segments the worker writes ahead.

A delta of the last minute at 500 status changes a second holds about 30,000 refill point
statuses; built at each request (about 0.45 ms each) it took 11-20 s. Here the worker
writes each tick's changes once, as a segment: its site statuses, compressed
(nap/compression.py). A delta joins the segments after its `since` and builds only what
came after the newest one.

What a segment holds. Segment k asks for the changes received after
`since` = made_at(k-1) - OVERLAP and not after its own made_at, leaving out those k-1 had
in that window (its window_ids: the push engine's rule, exporters/push/engine.py, so a
row committed up to OVERLAP after it was received is in the next segment). So every change
received after a segment's `since` is in it or in one after it, and no segment holds a
change received after its made_at.

Which a delta joins. A delta since T needs every change received after T: it joins the
segments made after T, in order, if each follows the one before (previous_id) and the
first asked from T or earlier; what came after the newest is built live, its window left
out. Otherwise (no writer, a gap, T older than what is kept) the delta is built live whole,
as without segments.

A refill point that changed in two segments is in the delta twice, in the order of the
changes: the later status is the current one. A segment's references carry the versions
its sites had when it was written.
"""
from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from typing import BinaryIO

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from nap.compression import GzipJoin, Piece, PieceWriter, PlainJoin
from exporters.datex2.source import ChangedStatuses, party_operators, tariff_lookup
from exporters.datex2.status import status_envelope, write_site_statuses
from nap.store.db import repeatable_read, write_session
from nap.store.leases import Leases
from nap.store.status_history import SeenChanges, count_changed_evses
from nap.store.tables import Datex2StatusSegment as Segment, Tariff
from nap.ticking import TickingThread

log = logging.getLogger(__name__)

PROFILES = ("generic", "afir")  # as exporters/datex2/api.py serves them
OVERLAP = timedelta(seconds=2)
# A tick a quarter of a second: what a delta builds live is at most that much of changes
# (and the time a segment takes to write).
TICK_SECONDS = 0.25
# Deltas reach back this far through segments; a since older than that is built live.
KEEP = timedelta(minutes=15)
# A writer that stopped for longer starts a new chain rather than catch up on the gap.
CHAIN_GAP = timedelta(minutes=5)
# With nothing changed, an empty segment this often, so that the chain stays current.
HEARTBEAT = timedelta(seconds=10)
# EVSEs that change many times within a delta's window are in many segments: a delta whose
# segments hold more than this many times the EVSEs that changed (and some) is built live,
# rather than send its consumer mostly repeats.
REPEATS_LIMIT = 2
REPEATS_SLACK = 100
# The most changed locations whose documents a tick holds to write two profiles from one
# read; beyond, each profile reads them (a big tariff change: thousands of locations).
SHARED_READ_LOCATIONS = 2000
LEASE = "datex2:status-segments"
LEASE_TTL = timedelta(seconds=30)
PRUNE_EVERY = timedelta(minutes=1)


def _write_fragments(session: Session, out: BinaryIO, delta: ChangedStatuses, profile: str, at: datetime,
                     documents: list[dict] | None = None, operators: dict | None = None, tariffs=None) -> int:
    return write_site_statuses(out, delta if documents is None else documents, profile=profile, publication_time=at,
                               party_operators=party_operators(session) if operators is None else operators,
                               tariffs_by_key=tariffs or tariff_lookup(session), narrow=delta.narrow)


class TariffCache:
    """The tariffs a writer of segments has read, kept from tick to tick until one changes:
    reading them again at each tick was a tenth of the writer's time. A change is seen by
    the tariffs' latest change and count, and by any tariff changed in the segment's window
    (one committed late, dated before the latest)."""

    def __init__(self) -> None:
        self._state: tuple | None = None
        self._tariffs: dict = {}

    def lookup(self, session: Session, since: datetime):
        state = tuple(session.execute(select(func.max(Tariff.changed_at), func.max(Tariff.removed_at),
                                             func.count(Tariff.id))).one())
        changed = session.scalar(select(func.count(Tariff.id)).where(Tariff.changed_at > since))
        if state != self._state or changed:
            self._state, self._tariffs = state, {}
        return tariff_lookup(session, self._tariffs)


@dataclass(frozen=True)
class _Next:
    """Where a profile's next segment starts."""
    since: datetime
    seen: SeenChanges
    previous: int | None
    heartbeat_due: bool


def _next(session: Session, profile: str, now: datetime) -> _Next:
    last = session.execute(select(Segment.id, Segment.made_at, Segment.window_ids).where(Segment.profile == profile)
                           .order_by(Segment.id.desc()).limit(1)).first()
    if last is None or not timedelta(0) <= now - last.made_at <= CHAIN_GAP:
        return _Next(now - OVERLAP, SeenChanges(), None, True)
    return _Next(last.made_at - OVERLAP, SeenChanges.from_json(last.window_ids), last.id,
                 now - last.made_at >= HEARTBEAT)


def write_segments(sessions: sessionmaker[Session], now: datetime, profiles: tuple[str, ...] = PROFILES,
                   tariffs: TariffCache | None = None) -> list[Segment]:
    """Write each profile's segment of the changes since its newest one, if there are any
    (or the heartbeat is due); returns those written (not those another writer wrote first).

    The profiles' chains normally start at the same point: their changes are then read
    once, and written in each profile. A segment holds the EVSEs whose ad hoc price changed
    in both profiles (the generic one restates their status: the live delta would not)."""
    written: dict[str, tuple[_Next, int, Piece]] = {}
    with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            repeatable_read(session)  # the window and the segments see one snapshot
        window = SeenChanges.after(session, now - OVERLAP, until=now)
        starts = {profile: _next(session, profile, now) for profile in profiles}
        for since, seen in {(start.since, start.seen) for start in starts.values()}:
            delta = ChangedStatuses(session, since, prices=True, seen=seen, until=now)
            due = [profile for profile, start in starts.items() if (start.since, start.seen) == (since, seen)
                   and (delta.locations or start.heartbeat_due)]
            if not due:
                continue
            # Two profiles share one read of the documents, unless they are too many to hold.
            documents = list(delta) if len(due) > 1 and delta.locations <= SHARED_READ_LOCATIONS else None
            operators = party_operators(session)
            lookup = (tariffs or TariffCache()).lookup(session, since)
            for profile in due:
                piece = PieceWriter()
                items = _write_fragments(session, piece, delta, profile, now, documents, operators, lookup)
                written[profile] = (starts[profile], items, piece.piece())
    segments = []
    for profile, (start, items, piece) in written.items():
        segment = Segment(profile=profile, previous_id=start.previous, since=start.since, made_at=now,
                          window_ids=window.to_json(), items=items, body=piece.deflated, crc=piece.crc,
                          plain_size=piece.size)
        try:
            with write_session(sessions) as session:
                session.add(segment)
        except IntegrityError:
            log.info("a DATEX II %s status segment after %s was written by another process", profile, start.previous)
            continue
        segments.append(segment)
    return segments


def prune_segments(sessions: sessionmaker[Session], now: datetime) -> int:
    with write_session(sessions) as session:
        return session.execute(delete(Segment).where(Segment.made_at < now - KEEP)).rowcount


@dataclass(frozen=True)
class Plan:
    """How a delta is joined: these segments, then the changes after `tail_since` but for
    `tail_seen`, built live."""
    segment_ids: list[int]
    tail_since: datetime
    tail_seen: SeenChanges
    since: datetime  # the delta's
    items: int  # refill point statuses in the segments


def plan_delta(session: Session, profile: str, since: datetime) -> Plan | None:
    """The segments that make the delta since `since`, or None if they cannot (it is then
    built live whole). Whether they hold mostly repeats is mostly_repeats' to say, after a
    conditional request has had its 304."""
    rows = session.execute(select(Segment.id, Segment.previous_id, Segment.since, Segment.made_at, Segment.items)
                           .where(Segment.profile == profile, Segment.made_at > since)
                           .order_by(Segment.id)).all()
    if not rows or rows[0].since > since:
        return None
    if any(later.previous_id != earlier.id for earlier, later in pairwise(rows)):
        return None
    window = session.scalar(select(Segment.window_ids).where(Segment.id == rows[-1].id))
    return Plan([row.id for row in rows], rows[-1].made_at - OVERLAP, SeenChanges.from_json(window), since,
                sum(row.items for row in rows))


def mostly_repeats(session: Session, plan: Plan) -> bool:
    """Whether the plan's segments hold more than REPEATS_LIMIT times the EVSEs that changed
    (and REPEATS_SLACK): its delta is then better built live."""
    return plan.items > REPEATS_LIMIT * max(count_changed_evses(session, plan.since), 1) + REPEATS_SLACK


def write_joined(out: BinaryIO, session: Session, plan: Plan, *, gzipped: bool, profile: str, publication_time: datetime,
                 table_version: str, country: str, national_identifier: str) -> int:
    """Write the delta `plan` makes to `out` (one gzip stream, or plain XML); returns the
    refill point statuses in it."""
    head, closing = status_envelope(profile=profile, publication_time=publication_time, table_version=table_version,
                                    country=country, national_identifier=national_identifier)
    tail = io.BytesIO()
    delta = ChangedStatuses(session, plan.tail_since, prices=profile == "afir", seen=plan.tail_seen)
    items = _write_fragments(session, tail, delta, profile, publication_time)
    join = GzipJoin(out) if gzipped else PlainJoin(out)
    join.add_plain(head)
    for chunk in range(0, len(plan.segment_ids), 64):  # a few MB of segments at a time
        for row in session.execute(select(Segment.items, Segment.body, Segment.crc, Segment.plain_size)
                                   .where(Segment.id.in_(plan.segment_ids[chunk:chunk + 64])).order_by(Segment.id)):
            items += row.items
            join.add(Piece(row.body, row.crc, row.plain_size))
    join.add_plain(tail.getvalue())
    join.add_plain(closing)
    join.finish()
    return items


class SegmentLoop(TickingThread):
    """The worker's segment writer: a segment per profile every TICK_SECONDS while this
    process holds the lease (one writer among many workers)."""

    name = "datex2-status-segments"

    def __init__(self, sessions: sessionmaker[Session], *, profiles: tuple[str, ...] = PROFILES,
                 tick_seconds: float = TICK_SECONDS, leases: Leases | None = None):
        super().__init__(tick_seconds)
        self.sessions, self.profiles, self.tariffs = sessions, profiles, TariffCache()
        self.leases = leases or Leases(sessions)
        self._leased_until = 0.0
        self._pruned_at: datetime | None = None

    def _holds_lease(self) -> bool:
        if time.monotonic() < self._leased_until:
            return True
        if not self.leases.acquire(LEASE, LEASE_TTL):
            return False
        self._leased_until = time.monotonic() + LEASE_TTL.total_seconds() / 3  # renewed well before it expires
        return True

    def tick(self) -> None:
        try:
            if not self.profiles or not self._holds_lease():
                return
            now = datetime.now(timezone.utc)
            write_segments(self.sessions, now, self.profiles, self.tariffs)
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                self._pruned_at = now
                prune_segments(self.sessions, now)
        except OperationalError as error:  # SQLite's write lock held by a harvest, the database away
            log.warning("DATEX II status segments: the database refused this tick (%s); the next one tries again",
                        str(error).splitlines()[0])
        except Exception:
            log.exception("DATEX II status segment tick failed")

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self.leases.release(LEASE)
