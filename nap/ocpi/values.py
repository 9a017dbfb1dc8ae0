"""Lenient parsers for OCPI scalar types. Each accepts what real CPOs send and returns the
form the 2.3.0 spec prescribes, or raises ValueError with a reason a CPO can act on."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from decimal import Decimal, InvalidOperation

MIN_YEAR = 1000
# How far ahead of the receipt a last_updated may lie (clocks drift) before it is taken as
# wrong: a date in the future would make every later update look older, pushed or pulled.
FUTURE_TOLERANCE = timedelta(minutes=5)

LATITUDE_RE = re.compile(r"^-?[0-9]{1,2}\.[0-9]{5,7}$")
LONGITUDE_RE = re.compile(r"^-?[0-9]{1,3}\.[0-9]{5,7}$")


def parse_datetime(value: object) -> datetime:
    """OCPI DateTime: RFC 3339 in UTC; 'Z' may be missing (then UTC is meant)."""
    return _parse_datetime(value)[0]


def _parse_datetime(value: object) -> tuple[datetime, bool]:
    """The date-time, and whether it came without a zone (read as UTC)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace(" ", "T", 1)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an RFC 3339 date-time: {value!r}") from None
    else:
        raise ValueError(f"expected a date-time string, got {type(value).__name__}")
    zoneless = parsed.tzinfo is None
    if zoneless:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        parsed = parsed.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"not a plausible date-time: {value!r}") from None
    if parsed.year < MIN_YEAR:
        # 0001-01-01 and the like: a placeholder for "unknown", not a date.
        raise ValueError(f"not a plausible date-time: {value!r} (before the year {MIN_YEAR})")
    return parsed, zoneless


def format_datetime(value: datetime) -> str:
    """The canonical OCPI form: UTC with 'Z', milliseconds only when present."""
    value = value.astimezone(timezone.utc)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# Text already in the canonical form: UTC with 'Z', milliseconds only when not zero (and
# a four-digit year: strftime does not pad smaller ones). Nearly every timestamp a feed
# sends; parsing it only to format it again would double the time spent on timestamps.
_CANONICAL_DATETIME = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3})?Z")


def normalize_datetime(value: object) -> str:
    return normalize_datetime_noting_zone(value)[0]


def normalize_datetime_noting_zone(value: object) -> tuple[str, bool]:
    """The canonical text, and whether the value came without a zone (read as UTC)."""
    if isinstance(value, str):
        if _CANONICAL_DATETIME.fullmatch(value) and not value.endswith(".000Z"):
            try:
                datetime.fromisoformat(value[:-1])  # a real date and time of day
                return value, False
            except ValueError:
                pass  # the full parser below explains what is wrong
        return _normalize_datetime_text(value)
    parsed, zoneless = _parse_datetime(value)
    return format_datetime(parsed), zoneless


@lru_cache(maxsize=4096)
def _normalize_datetime_text(value: str) -> tuple[str, bool]:
    # A harvest validates a few timestamps per EVSE, and feeds repeat them (an EVSE's
    # connectors, a batch of updates): parsing and formatting each would be ~10% of validation.
    # Only results are cached; an invalid text raises every time, as before.
    parsed, zoneless = _parse_datetime(value)
    return format_datetime(parsed), zoneless


_future_limit: tuple[float, str] = (0.0, "")


def future_limit() -> str:
    """Now plus FUTURE_TOLERANCE in the canonical text form, which compares as text with
    other canonical date-times; worked out again at most once a second."""
    global _future_limit
    checked_at, text = _future_limit
    now = time.monotonic()
    if now - checked_at >= 1.0:
        text = format_datetime(datetime.now(timezone.utc) + FUTURE_TOLERANCE)
        _future_limit = (now, text)
    return text


def is_future(canonical: str) -> bool:
    """Whether a canonical date-time lies beyond the tolerance ahead of now."""
    return canonical > future_limit()


def _coordinate(value: object, name: str, limit: int, pattern: re.Pattern) -> str:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} missing or not a number")
    if isinstance(value, str) and pattern.match(value.strip()):
        number = Decimal(value.strip())
        text = value.strip()
    else:
        try:
            # Some feeds send numbers, or strings with a decimal comma.
            number = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation:
            raise ValueError(f"{name} {value!r} is not a decimal number") from None
        if not number.is_finite():
            raise ValueError(f"{name} {value!r} is not a decimal number")
        text = None
    if abs(number) > limit:
        raise ValueError(f"{name} {value!r} is outside -{limit}..{limit}")
    if text is None:
        # Re-render with 5 to 7 decimals, as the spec's regex demands.
        quantized = number.quantize(Decimal("0.0000001"))
        text = f"{quantized:f}".rstrip("0")
        decimals = len(text.split(".")[1]) if "." in text else 0
        if decimals < 5:
            text = f"{quantized:.5f}"
    return text


def normalize_latitude(value: object) -> str:
    return _coordinate(value, "latitude", 90, LATITUDE_RE)


def normalize_longitude(value: object) -> str:
    return _coordinate(value, "longitude", 180, LONGITUDE_RE)
