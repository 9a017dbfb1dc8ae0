"""The data-quality rules, in the order the report lists them.

Each rule has a stable name (shown to CPOs and usable in links), a severity and a one-line
explanation, and a check that yields the objects it applies to. Severity "error": the data
breaks an AFIR requirement or cannot be used as published; "warning": it is doubtful and
worth a look. Unlike the harvester's findings, nothing here stops an object from being
published: these rules judge what is already stored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Iterable

from nap.ocpi.ids import id_key, normalized_evse_id
from nap.phone import help_phone
from nap.ocpi.schemas import EVSE_ID_RE
from nap.quality.afir import AFIR_FIELDS, AfirField
from nap.quality.geography import inside_country
from nap.quality.snapshot import FeedSnapshot


@dataclass(frozen=True)
class Flag:
    """One object a rule applies to. object_id: the location id, or "<location id>/<EVSE uid>"
    for EVSEs (as in the harvester's findings); field: the OCPI path within that object."""

    object_type: str
    object_id: str
    field: str | None
    message: str


@dataclass(frozen=True)
class Rule:
    name: str
    severity: str  # "error" or "warning"
    explanation: str
    check: Callable[[FeedSnapshot], Iterable[Flag]]


def _evse_ref(location, evse) -> str:
    return f"{location.ocpi_id}/{evse.uid}"


def _afir_missing(afir: AfirField) -> Callable[[FeedSnapshot], Iterable[Flag]]:
    def check(snapshot: FeedSnapshot) -> Iterable[Flag]:
        for location in snapshot.locations:
            if afir.level == "location":
                missing = afir.missing(location, None, snapshot)
                if missing and location.evses:
                    yield Flag("location", location.ocpi_id, missing[0],
                               f"{afir.label} missing ({', '.join(missing)}) for {len(location.evses)} EVSE(s)")
                continue
            for evse in location.evses:
                missing = afir.missing(location, evse, snapshot)
                if missing:
                    yield Flag("evse", _evse_ref(location, evse), missing[0],
                               f"{afir.label} missing: {', '.join(missing)}")
    return check


def _coordinates_swapped(snapshot: FeedSnapshot) -> Iterable[Flag]:
    for location in snapshot.locations:
        country = location.data.get("country", "")
        if inside_country(country, location.latitude, location.longitude) is False \
                and inside_country(country, location.longitude, location.latitude):
            yield Flag("location", location.ocpi_id, "coordinates",
                       f"({location.latitude}, {location.longitude}) lies outside {country}; "
                       f"swapped, ({location.longitude}, {location.latitude}) would lie inside")


def _coordinates_outside(snapshot: FeedSnapshot) -> Iterable[Flag]:
    for location in snapshot.locations:
        country = location.data.get("country", "")
        if inside_country(country, location.latitude, location.longitude) is False \
                and not inside_country(country, location.longitude, location.latitude):
            yield Flag("location", location.ocpi_id, "coordinates",
                       f"({location.latitude}, {location.longitude}) lies outside {country}, "
                       f"the location's country")


def _evse_id_malformed(snapshot: FeedSnapshot) -> Iterable[Flag]:
    for location, evse in snapshot.evses():
        if evse.evse_id and not EVSE_ID_RE.match(evse.evse_id):
            yield Flag("evse", _evse_ref(location, evse), "evse_id",
                       f"{evse.evse_id!r} is not an eMI3/ISO 15118 EVSE id like DE*ABC*E12345*1")


# Country code and operator id at the start of a well-formed EVSE id.
_EVSE_ID_OWNER = re.compile(r"^([A-Z]{2})\*?([A-Z0-9]{3})\*?E", re.IGNORECASE)


def _evse_id_other_operator(snapshot: FeedSnapshot) -> Iterable[Flag]:
    for location, evse in snapshot.evses():
        match = _EVSE_ID_OWNER.match(evse.evse_id or "")
        if not match or not EVSE_ID_RE.match(evse.evse_id):
            continue  # missing or malformed: other rules say so
        owner = f"{match.group(1)}*{match.group(2)}".upper()
        if owner != f"{location.country_code}*{location.party_id}".upper():
            yield Flag("evse", _evse_ref(location, evse), "evse_id",
                       f"{evse.evse_id} names operator {owner}, but the location belongs to "
                       f"{location.country_code}*{location.party_id}")


def _unknown_tariffs(snapshot: FeedSnapshot) -> Iterable[Flag]:
    for location, evse in snapshot.evses():
        for n, connector in enumerate(evse.connectors):
            unknown = [t for t in connector.get("tariff_ids") or []
                       if (location.country_code, location.party_id, id_key(t)) not in snapshot.tariffs]
            if unknown:
                yield Flag("evse", _evse_ref(location, evse), f"connectors[{n}].tariff_ids",
                           f"no tariff {', '.join(map(repr, unknown))} among the "
                           f"{location.country_code}/{location.party_id} tariffs NAP holds")


def _evse_id_elsewhere(snapshot: FeedSnapshot) -> Iterable[Flag]:
    for location, evse in snapshot.evses():
        others = snapshot.evse_ids_elsewhere.get(normalized_evse_id(evse.evse_id)) if evse.evse_id else None
        if others:
            yield Flag("evse", _evse_ref(location, evse), "evse_id",
                       f"{evse.evse_id} is also published by {', '.join(others)}")


def _stale(snapshot: FeedSnapshot) -> Iterable[Flag]:
    limit = snapshot.now - timedelta(days=snapshot.stale_days)
    for location in snapshot.locations:
        if location.last_updated < limit:
            days = (snapshot.now - location.last_updated).days
            yield Flag("location", location.ocpi_id, "last_updated",
                       f"last updated {location.last_updated:%Y-%m-%d}, {days} days ago")


def _status_never_updated(snapshot: FeedSnapshot) -> Iterable[Flag]:
    silence = timedelta(hours=snapshot.status_silence_hours)
    for location, evse in snapshot.evses():
        seen = evse.first_seen_at or location.first_seen_at
        if evse.status_changes == 0 and seen <= snapshot.now - silence:
            yield Flag("evse", _evse_ref(location, evse), "status",
                       f"status {evse.status} has not changed since NAP first saw it on {seen:%Y-%m-%d %H:%M} UTC")


def _help_phone_malformed(snapshot: FeedSnapshot) -> Iterable[Flag]:
    for location in snapshot.locations:
        number = location.data.get("help_phone")
        if isinstance(number, str) and number.strip() and help_phone(number, location.data.get("country")) is None:
            yield Flag("location", location.ocpi_id, "help_phone",
                       f"{number!r} is no valid telephone number (read as one of {location.data.get('country')} "
                       f"when it has no country code); it is published as given, not as +CC number")


def _afir_rule(afir: AfirField) -> Rule:
    if afir.severity == "error":
        explanation = f"AFIR Art. 20(2): every recharging point needs its {afir.noun}; in OCPI: {afir.ocpi_fields}."
    else:
        explanation = f"AFIR Annex: say the recharging point's {afir.noun}; in OCPI: {afir.ocpi_fields}."
    return Rule(f"afir-{afir.key.replace('_', '-')}-missing", afir.severity, explanation, _afir_missing(afir))


RULES: tuple[Rule, ...] = (
    *(_afir_rule(afir) for afir in AFIR_FIELDS),
    Rule("coordinates-swapped", "error",
         "Latitude and longitude seem swapped: the point lies outside the location's country, the swapped one inside.",
         _coordinates_swapped),
    Rule("coordinates-outside-country", "error",
         "The coordinates lie outside the country the location says it is in.",
         _coordinates_outside),
    Rule("evse-id-malformed", "error",
         "The EVSE id is not in eMI3/ISO 15118 form (country, operator id, 'E', id), so drivers and apps cannot use it.",
         _evse_id_malformed),
    Rule("evse-id-other-operator", "warning",
         "The EVSE id's country and operator id differ from the CPO's country_code and party_id.",
         _evse_id_other_operator),
    Rule("tariff-unknown", "error",
         "A connector's tariff_ids names a tariff the CPO does not publish, so its price cannot be shown.",
         _unknown_tariffs),
    Rule("evse-id-duplicate", "error",
         "Another CPO publishes the same EVSE id; an EVSE id must identify one charging point.",
         _evse_id_elsewhere),
    Rule("help-phone-malformed", "error",
         "The helpdesk number is no valid telephone number, so it cannot be published as +CC number (AFIR Annex).",
         _help_phone_malformed),
    Rule("last-updated-stale", "warning",
         "The location's last_updated is older than the configured limit; check that changes reach NAP.",
         _stale),
    Rule("status-never-updated", "warning",
         "The EVSE's status has never changed since NAP first saw it; AFIR wants dynamic data kept current.",
         _status_never_updated),
)
