"""Defensive readers for OCPI 2.3.0 Location/EVSE/Connector/Tariff dicts.

Harvested data is whatever the CPOs send. Every reader returns a clean value or None, never
raises, so the builders can simply leave an element out when its source is absent or broken.
All XML-bound text passes through `text()`, which also strips characters XML 1.0 cannot hold
(lxml would refuse them and abort the whole document).
"""
from __future__ import annotations

import functools
import math
import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from exporters.datex2 import mapping

# com:String and com:MultilingualStringValueType are limited to 1024 characters.
MAX_TEXT = 1024
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LANGUAGE = re.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")  # xs:language
_HH_MM = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# URLs (RFC 3986): what each part may hold as it is. Everything else is percent-encoded,
# non-ASCII as its UTF-8 octets (RFC 3987, 3.1); "%" is kept, so an escape stays as sent.
_SUB_DELIMS = "!$&'()*+,;="
_PATH_SAFE = _SUB_DELIMS + ":@/%"    # pchar and "/"
_QUERY_SAFE = _PATH_SAFE + "?"       # query and fragment: pchar, "/" and "?"
_USERINFO_SAFE = _SUB_DELIMS + ":%"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")  # a "%" that starts no escape means itself
_HOST_NAME = re.compile(r"^[A-Za-z0-9._~-]+$")       # a registered name, ASCII (IDNA) form
_IPV6_LITERAL = re.compile(r"^\[[0-9A-Fa-f:.]+\]$")
# Most URLs need nothing done: only characters a URI holds as they are, no escapes, no port.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?"
                        r"(\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]+)?(#[A-Za-z0-9._~!$&'()*+,;=:@/?-]+)?")


def text(value: Any, max_length: int = MAX_TEXT) -> str | None:
    """Non-empty XML-safe string, or None. Numbers are accepted (sloppy postal codes)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    cleaned = str(value)
    if not cleaned.isprintable():  # rare: only then pay for the regex
        cleaned = _NOT_XML_CHAR.sub("", cleaned)
    return cleaned.strip()[:max_length] or None


def code(value: Any) -> str | None:
    """An OCPI enumeration value, or None. Use it before any table lookup: a CPO sending a
    list or object where an enum belongs would otherwise raise TypeError (unhashable)."""
    return value if isinstance(value, str) else None


def number(value: Any) -> float | None:
    """Finite number (int, float or numeric string), or None."""
    if isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def positive(value: Any) -> float | None:
    result = number(value)
    return result if result is not None and result > 0 else None


def decimal(value: Any) -> Decimal | None:
    """Exact decimal of a JSON number (via str, so 0.1 stays 0.1), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def as_dict(value: Any) -> dict | None:
    return value if isinstance(value, dict) else None


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def dicts(value: Any) -> list[dict]:
    return [item for item in as_list(value) if isinstance(item, dict)]


def strings(value: Any) -> list[str]:
    """Cleaned strings of a list, in order, without duplicates."""
    seen: dict[str, None] = {}
    for item in as_list(value):
        cleaned = text(item)
        if cleaned is not None:
            seen.setdefault(cleaned)
    return list(seen)


def url(value: Any) -> str | None:
    """OCPI URL -> com:Url text (xs:anyURI), or None when it is not an absolute http(s) URL.

    CPOs send URLs as people type them ("https://cpo.example/img/charger 1.jpg"): what a URI
    cannot hold is percent-encoded, part by part (a second "#" is "%23", "[" in a path "%5B"),
    what it can is left alone ("%20" stays "%20"; a "%" that starts no escape becomes "%25").
    A non-ASCII host name gets its IDNA form (RFC 3986, 3.2.2). Scheme and port are put in
    their normal form, an empty query or fragment ("?", "#") is left out. Dropped: other
    schemes, no host, a host that is neither a name nor an IPv6 literal, an impossible port.
    """
    cleaned = text(value)
    if cleaned is None:
        return None
    return cleaned if _PLAIN_URL.fullmatch(cleaned) else uri_of(cleaned)


@functools.lru_cache(maxsize=1024)  # an operator's website and logo recur at every location
def uri_of(cleaned: str) -> str | None:
    """url() without its shortcut for URLs that need nothing done (same result)."""
    try:
        parts = urlsplit(_STRAY_PERCENT.sub("%25", cleaned))
        port = parts.port  # ValueError when not a number in 0-65535
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    userinfo, at, host_and_port = parts.netloc.rpartition("@")
    if host_and_port.startswith("["):
        host = host_and_port[:host_and_port.find("]") + 1]
        if not _IPV6_LITERAL.match(host):
            return None
    else:
        host = host_and_port.partition(":")[0]
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                return None
        if not _HOST_NAME.match(host):
            return None
    authority = f"{quote(userinfo, safe=_USERINFO_SAFE)}{at}{host}{'' if port is None else f':{port}'}"
    return urlunsplit((parts.scheme, authority, quote(parts.path, safe=_PATH_SAFE),
                       quote(parts.query, safe=_QUERY_SAFE), quote(parts.fragment, safe=_QUERY_SAFE)))


def language(value: Any) -> str | None:
    cleaned = text(value, 35)
    return cleaned if cleaned and _LANGUAGE.match(cleaned) else None


def display_texts(value: Any) -> list[tuple[str | None, str]]:
    """OCPI DisplayText list -> [(language or None, text)]."""
    result = []
    for item in dicts(value):
        content = text(item.get("text"))
        if content is not None:
            result.append((language(item.get("language")), content))
    return result


def timestamp(value: Any) -> datetime | None:
    """OCPI DateTime -> aware UTC datetime. OCPI timestamps are UTC even without "Z"."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range
        return None


def xml_datetime(moment: datetime) -> str:
    """xs:dateTime in UTC with "Z", seconds precision (sub-seconds add nothing here)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    # Not strftime: "%Y" does not zero-pad years below 1000, and xs:dateTime needs 4 digits.
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z")


def xml_timestamp(value: Any) -> str | None:
    """OCPI DateTime -> xs:dateTime text. The same few timestamps recur across a location's
    EVSEs and connectors, hence the small cache."""
    return _xml_timestamp(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=4096)
def _xml_timestamp(value: str) -> str | None:
    moment = timestamp(value)
    return xml_datetime(moment) if moment else None


def time_of_day(value: Any) -> str | None:
    """OCPI "HH:MM" (local time) -> xs:time "HH:MM:00". "24:00" is kept: xs:time allows it."""
    if not isinstance(value, str):
        return None
    match = _HH_MM.match(value.strip())
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        return None
    return f"{match.group(1)}:{match.group(2)}:00"


def coordinates(geo: Any) -> tuple[float, float] | None:
    """OCPI GeoLocation (strings) -> (latitude, longitude) within WGS 84 bounds, or None."""
    geo = as_dict(geo)
    if geo is None:
        return None
    latitude, longitude = number(geo.get("latitude")), number(geo.get("longitude"))
    if latitude is None or longitude is None:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


def country_alpha2(value: Any) -> str | None:
    """OCPI Location.country (ISO alpha-3) -> alpha-2. Alpha-2 input is tolerated."""
    code = (text(value, 3) or "").upper()
    if len(code) == 2 and code.isalpha():
        return code
    return mapping.COUNTRY_ALPHA2.get(code)


def currency(value: Any) -> str | None:
    code = (text(value, 3) or "").upper()
    return code if _CURRENCY.match(code) else None


def xml_number(value: float) -> str:
    """xs:float text: integers without ".0", others in shortest round-trip form."""
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


# --- Electrical values ---------------------------------------------------------------------

def connector_power_w(connector: dict) -> float | None:
    """Maximum power of a connector in W.

    OCPI: max_electric_power is set when it is lower than voltage * amperage (* phases), so it
    wins when present; otherwise the power follows from the electrical ratings.
    """
    explicit = positive(connector.get("max_electric_power"))
    if explicit is not None:
        return explicit
    voltage, amperage = positive(connector.get("max_voltage")), positive(connector.get("max_amperage"))
    phases = mapping.PHASES.get(code(connector.get("power_type")))
    if voltage is None or amperage is None or phases is None:
        return None
    power = voltage * amperage * phases
    return power if math.isfinite(power) else None


def current_type(connector: dict) -> str | None:
    return mapping.CURRENT_TYPE.get(code(connector.get("power_type")))


# --- Parking (new in OCPI 2.3.0) -----------------------------------------------------------

def parking_places(location: dict) -> dict[str, dict]:
    """Location.parking_places by id (first wins on duplicate ids)."""
    result: dict[str, dict] = {}
    for place in dicts(location.get("parking_places")):
        key = text(place.get("id"))
        if key is not None:
            result.setdefault(key, place)
    return result


def evse_parking_ids(evse: dict) -> list[str]:
    """Parking ids an EVSE refers to. EVSE.parking holds EVSEParking objects
    ({"parking_id": ...}); the spec's own examples use plain strings, so both are read."""
    ids: dict[str, None] = {}
    for item in as_list(evse.get("parking")):
        key = text(item.get("parking_id")) if isinstance(item, dict) else text(item)
        if key is not None:
            ids.setdefault(key)
    return list(ids)
