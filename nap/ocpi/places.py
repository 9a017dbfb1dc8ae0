"""The codes a Location's `country` and `time_zone` must be: ISO 3166-1 alpha-3 (from
pycountry, which follows the ISO tables) and IANA time zone names (from the zoneinfo
database Python reads)."""
from __future__ import annotations

import zoneinfo

import pycountry

ALPHA3_CODES: frozenset[str] = frozenset(country.alpha_3 for country in pycountry.countries)
TIME_ZONES: frozenset[str] = frozenset(zoneinfo.available_timezones())


def alpha3_of(text: str) -> str | None:
    """The alpha-3 code of a country written as an alpha-2 or alpha-3 code, in any case, or
    as its English short or official name; None when it names no country."""
    text = text.strip()
    if not text:
        return None
    try:
        return pycountry.countries.lookup(text).alpha_3
    except LookupError:
        return None
