"""OCPI pagination (transport_and_format, "Pagination"): the request's window and the
response headers Link, X-Total-Count and X-Limit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from nap.ocpi.envelope import OcpiError
from nap.ocpi.values import format_datetime, parse_datetime


@dataclass(frozen=True)
class Window:
    offset: int
    limit: int  # already capped at the server maximum: this is X-Limit
    date_from: datetime | None  # inclusive
    date_to: datetime | None  # exclusive


def _present(args, name: str) -> str | None:
    """The parameter's value, None when absent; an empty one (`offset=`) is an error, not
    the default: a client that sends it has a bug it should hear about."""
    raw = args.get(name)
    if raw is not None and not raw.strip():
        raise OcpiError(2001, f"{name} is empty: give a value or leave the parameter out", 400)
    return raw


def _integer(args, name: str, default: int) -> int:
    raw = _present(args, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise OcpiError(2001, f"{name} must be an integer, not {raw!r}", 400) from None


def _datetime(args, name: str) -> datetime | None:
    raw = _present(args, name)
    if raw is None:
        return None
    try:
        return parse_datetime(raw)
    except ValueError as error:
        raise OcpiError(2001, f"{name}: {error}", 400) from None


# Beyond any real list; larger offsets would overflow the database's integer types.
MAX_OFFSET = 2**31 - 1


def parse_window(args, max_limit: int) -> Window:
    offset = min(_integer(args, "offset", 0), MAX_OFFSET)
    limit = _integer(args, "limit", max_limit)
    if offset < 0:
        raise OcpiError(2001, "offset must be 0 or more", 400)
    if limit < 1:
        raise OcpiError(2001, "limit must be 1 or more", 400)
    # A larger limit is not an error: the server "might decide to return fewer objects".
    return Window(offset, min(limit, max_limit), _datetime(args, "date_from"), _datetime(args, "date_to"))


def paging_headers(window: Window, total: int, returned: int, base_url: str, args) -> dict[str, str]:
    headers = {"X-Total-Count": str(total), "X-Limit": str(window.limit)}
    next_offset = window.offset + returned
    if returned and next_offset < total:
        # "The Link should also contain any filters present in the original request."
        query = {key: value for key, value in args.items() if key not in ("offset", "limit")}
        for key, value in (("date_from", window.date_from), ("date_to", window.date_to)):
            if value is not None:
                query[key] = format_datetime(value)
        query.update(offset=next_offset, limit=window.limit)
        headers["Link"] = f'<{base_url}?{urlencode(query)}>; rel="next"'
    return headers
