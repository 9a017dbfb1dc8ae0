"""OCPI Location.time_zone (IANA name) -> DATEX II timeZone (a fixed UTC offset).

DATEX II can only say "+01:00"; an IANA zone has daylight saving time. So a publication
states the offset valid at its publication time, and the offset is part of the site
version (identity.site_version): a table written after a change of offset is a new version
of every site in that zone, and the table's version (datex2_source.table_state) changes
with it, so that consumers holding the old table fetch the new one.

Both lookups are cached: a national table has tens of thousands of sites in a handful of
zones, and the publication time is the same for all of them.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# How far offset_period looks for the previous and next change of offset. Zones with DST
# change twice a year; a zone without DST has no change to find, and its offset is then
# taken as constant over the window.
_SEARCH_DAYS = 400


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a zone key ("../x", "")
        return None


def _offset(zone: ZoneInfo, at: datetime) -> timedelta:
    return at.astimezone(zone).utcoffset() or timedelta(0)


def _text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60  # whole minutes: the schema has no seconds
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def utc_offset(time_zone: object, at: datetime) -> str | None:
    """The offset of the IANA zone `time_zone` at `at` (aware) as "+HH:MM"
    (afac:TimeZone / fac:TimeZone), or None when the zone is not known."""
    # Checked before the cache: a CPO's value may be anything, unhashable included.
    return _utc_offset(time_zone.strip(), at) if isinstance(time_zone, str) else None


@lru_cache(maxsize=4096)
def _utc_offset(name: str, at: datetime) -> str | None:
    zone = _zone(name)
    return _text(_offset(zone, at)) if zone is not None else None


def _change(zone: ZoneInfo, after: datetime, before: datetime) -> datetime:
    """The first second after `after` with the offset `before` has (they differ)."""
    low, high = after, before
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _offset(zone, middle) == _offset(zone, before):
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


@lru_cache(maxsize=512)
def _periods(name: str, day: datetime) -> tuple[datetime | None, datetime | None] | None:
    zone = _zone(name)
    if zone is None:
        return None
    now = _offset(zone, day)
    start = end = None
    for days in range(1, _SEARCH_DAYS):
        earlier = day - timedelta(days=days)
        if _offset(zone, earlier) != now:
            start = _change(zone, earlier, earlier + timedelta(days=1))
            break
    for days in range(1, _SEARCH_DAYS):
        later = day + timedelta(days=days)
        if _offset(zone, later) != now:
            end = _change(zone, later - timedelta(days=1), later)
            break
    return start, end


def offset_since(time_zone: object, at: datetime) -> datetime | None:
    """When the offset `time_zone` has at `at` took effect (None: not within a year, or an
    unknown zone): the moment the published table changed without any data changing."""
    if not isinstance(time_zone, str) or _zone(time_zone.strip()) is None:
        return None
    at = at.astimezone(timezone.utc)
    # Computed per UTC day, then checked against `at`: a change on that day may lie before
    # or after it.
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = _periods(time_zone.strip(), day)
    if end is not None and end <= at:
        return end
    return start
