"""The ids of the listed locations, in order, kept per process: so that a page of
`/locations` at any offset, and its X-Total-Count, cost a lookup instead of a count over
the whole table and a walk of the index up to the offset (at a million EVSEs, 315,000
locations, those two took 60-110 ms of a page's time whatever its offset).

A location enters or leaves the list (is inserted, removed, published or withdrawn) only
by a write that stamps its static_changed_at (nap/store/tables.py, change_stamps), and
writes stamp just before they commit. So each read lists again only the locations
stamped since the one before, less OVERLAP for late commits, through
ix_locations_static_changed_at, and applies them to the kept ids. When too many were
stamped (a harvest that changed much), the ids are read again whole, as is the first time;
while those stamps are within OVERLAP, at most every FULL_READ_INTERVAL.

Rows leave without a stamp in one case: the deletion of a feed deletes its locations (ON
DELETE CASCADE). The feeds' count is part of what is checked, so that too starts again.

Lists with date_from or date_to are not kept: a status push moves a location's last_updated
(it enters such a window) without a stamp, and their range on (last_updated, id) is cheap.
"""
from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from nap.store.tables import Feed, Location

# As exporters/datex2/de_afir/versioning.py: how long before its commit a write may stamp.
OVERLAP = timedelta(seconds=60)
# More locations stamped since the last read than this: reading every id again is cheaper
# than applying them one by one.
MAX_CHANGES = 5_000
MAX_LISTS = 8  # audiences with lists of their own (private locations); anonymous is one
# After a write that stamped more than MAX_CHANGES locations, every read finds them stamped
# within OVERLAP for a minute, and would read every id again: 230-245 ms of each page at a
# million EVSEs. Read whole at most this often then: a location that enters the list in
# that minute, and the count of one that leaves it, show at most this late (static data,
# which AFIR gives 24 hours; a page's rows are read as they are, so it never serves one
# that has left).
FULL_READ_INTERVAL = timedelta(seconds=10)


@dataclass
class _Listed:
    ids: array = field(default_factory=lambda: array("q"))
    settled: datetime | None = None  # every location stamped until then is applied to `ids`
    feeds: int | None = None
    stamped: datetime | None = None  # the newest static_changed_at at the last read
    # Until then the ids are not read again: they were read whole for too many changes.
    full_read_until: datetime | None = None


_LISTS: OrderedDict[tuple, _Listed] = OrderedDict()
_LOCK = threading.Lock()


def listed_page(session: Session, condition, audience_key: tuple, offset: int,
                limit: int) -> tuple[int, list[int], datetime | None]:
    """(how many locations meet `condition`, the audience's publication rule; the ids of
    those from `offset` on, at most `limit`, in id order; the newest static_changed_at of
    any location, which every entry into or exit from the list moves), from one state."""
    key = (session.get_bind().url.render_as_string(hide_password=True), audience_key)
    with _LOCK:
        listed = _LISTS.pop(key, None) or _Listed()
        _LISTS[key] = listed
        while len(_LISTS) > MAX_LISTS:
            _LISTS.popitem(last=False)
        _refresh(session, listed, condition)
        return len(listed.ids), listed.ids[offset:offset + limit].tolist(), listed.stamped


def _refresh(session: Session, listed: _Listed, condition) -> None:
    now = datetime.now(timezone.utc)
    settled = now - OVERLAP  # taken before the reads: what they cannot miss
    feeds, stamped = session.execute(select(select(func.count()).select_from(Feed).scalar_subquery(),
                                            select(func.max(Location.static_changed_at)).scalar_subquery())).one()
    if feeds == listed.feeds and listed.full_read_until is not None and now < listed.full_read_until:
        return  # ids, settled and stamped stay as that full read left them
    listed.full_read_until = None
    changed = None
    if listed.settled is not None and feeds == listed.feeds:
        changed = session.execute(
            select(Location.id, case((condition, True), else_=False))
            .where(Location.static_changed_at > listed.settled).limit(MAX_CHANGES + 1)).all()
    if changed is None or len(changed) > MAX_CHANGES:
        listed.ids = array("q", session.scalars(select(Location.id).where(condition).order_by(Location.id)))
        if changed is not None:
            listed.full_read_until = now + FULL_READ_INTERVAL
    else:
        ids = listed.ids
        for pk, shown in changed:
            at = bisect_left(ids, pk)
            present = at < len(ids) and ids[at] == pk
            if shown and not present:
                ids.insert(at, pk)
            elif not shown and present:
                del ids[at]
    listed.settled, listed.feeds, listed.stamped = settled, feeds, stamped


def forget() -> None:
    """Drop every kept list (tests that rewrite a store behind the writers' backs)."""
    with _LOCK:
        _LISTS.clear()
