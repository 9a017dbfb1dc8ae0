"""OCPI Hours -> fac:operatingHours (table) and the opening status at an instant (status).

Table rule:
  * 24/7 without exceptional closings   -> OpenAllHours
  * anything else                       -> OperatingHoursSpecification whose overallPeriod has
      - one validPeriod per distinct regular time window, listing its weekdays,
      - one validPeriod per exceptional opening, one exceptionPeriod per exceptional closing,
      - for 24/7 with closings: one validPeriod covering all seven days.
    overallStartTime is mandatory in DATEX II and OCPI has no "valid since": the location's
    last_updated is used, i.e. the hours are published as valid since the data was last
    confirmed. Without last_updated, or without any valid period, no element is written.
Regular hours are local time (OCPI), and xs:time without offset is local time as well.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from exporters.datex2 import mapping, ocpi
from exporters.datex2.namespaces import COM, Profile, q
from exporters.datex2.xmlbuild import Element, sub, typed


def _regular_windows(hours: dict) -> dict[tuple[str, str], list[int]]:
    """(begin, end) -> weekdays, in first-seen order, invalid entries dropped."""
    windows: dict[tuple[str, str], list[int]] = {}
    for entry in ocpi.dicts(hours.get("regular_hours")):
        weekday = entry.get("weekday")
        begin, end = ocpi.time_of_day(entry.get("period_begin")), ocpi.time_of_day(entry.get("period_end"))
        if type(weekday) is not int or weekday not in mapping.WEEKDAY or not begin or not end:
            continue
        days = windows.setdefault((begin, end), [])
        if weekday not in days:
            days.append(weekday)
    return windows


def _periods(value: object) -> list[tuple[datetime, datetime]]:
    periods = []
    for entry in ocpi.dicts(value):
        begin, end = ocpi.timestamp(entry.get("period_begin")), ocpi.timestamp(entry.get("period_end"))
        if begin and end and begin < end:
            periods.append((begin, end))
    return periods


def _write_days(period: Element, days: list[int]) -> None:
    recurring = sub(period, q(COM, "recurringDayWeekMonthPeriod"))
    for day in sorted(days):
        sub(recurring, q(COM, "applicableDay"), mapping.WEEKDAY[day])


def _write_absolute(parent: Element, tag: str, begin: datetime, end: datetime) -> None:
    period = sub(parent, tag)
    sub(period, q(COM, "startOfPeriod"), ocpi.xml_datetime(begin))
    sub(period, q(COM, "endOfPeriod"), ocpi.xml_datetime(end))


def write_operating_hours(parent: Element, profile: Profile, hours: object, *, object_id: str,
                          version: str, valid_since: str | None) -> Element | None:
    hours = ocpi.as_dict(hours)
    if hours is None:
        return None
    always = hours.get("twentyfourseven") is True
    closings = _periods(hours.get("exceptional_closings"))
    tag = profile.f("operatingHours")
    if always and not closings:
        return typed(parent, tag, profile.ftype("OpenAllHours"))
    windows = {} if always else _regular_windows(hours)
    openings = _periods(hours.get("exceptional_openings"))
    if valid_since is None or not (always or windows or openings):
        return None
    element = typed(parent, tag, profile.ftype("OperatingHoursSpecification"),
                    {"id": object_id, "version": version})
    overall = sub(element, profile.f("overallPeriod"))
    sub(overall, q(COM, "overallStartTime"), valid_since)
    if always:
        _write_days(sub(overall, q(COM, "validPeriod")), list(mapping.WEEKDAY))
    for (begin, end), days in windows.items():
        period = sub(overall, q(COM, "validPeriod"))
        window = sub(period, q(COM, "recurringTimePeriodOfDay"))
        sub(window, q(COM, "startTimeOfPeriod"), begin)
        sub(window, q(COM, "endTimeOfPeriod"), end)
        _write_days(period, days)
    for begin, end in openings:
        _write_absolute(overall, q(COM, "validPeriod"), begin, end)
    for begin, end in closings:
        _write_absolute(overall, q(COM, "exceptionPeriod"), begin, end)
    return element


# --- Status: open or closed right now ----------------------------------------------------

def _minutes(hh_mm_ss: str) -> int:
    hours, minutes, _ = hh_mm_ss.split(":")
    return int(hours) * 60 + int(minutes)


def _in_regular_hours(windows: dict[tuple[str, str], list[int]], local: datetime) -> bool:
    now, today = local.hour * 60 + local.minute, local.isoweekday()
    yesterday = 7 if today == 1 else today - 1
    for (begin, end), days in windows.items():
        start, stop = _minutes(begin), _minutes(end)
        if start < stop and today in days and start <= now < stop:
            return True
        if stop <= start:  # window wraps past midnight
            if (today in days and now >= start) or (yesterday in days and now < stop):
                return True
    return False


def opening_status(hours: object, time_zone: object, at: datetime) -> str | None:
    """"open"/"closed" at `at` (aware), or None when it cannot be told (no hours, bad zone)."""
    hours = ocpi.as_dict(hours)
    if hours is None:
        return None
    if any(begin <= at < end for begin, end in _periods(hours.get("exceptional_closings"))):
        return "closed"
    if hours.get("twentyfourseven") is True:
        return "open"
    if any(begin <= at < end for begin, end in _periods(hours.get("exceptional_openings"))):
        return "open"
    windows = _regular_windows(hours)
    if not windows:
        return None
    try:
        zone = ZoneInfo(ocpi.text(time_zone) or "")
    except (ValueError, KeyError, OSError):
        return None
    return "open" if _in_regular_hours(windows, at.astimezone(zone)) else "closed"

