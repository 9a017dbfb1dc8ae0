"""Repairs: named rules, each turning one class of real-world deviation into what the OCPI
2.3.0 model says, and each saying so in a warning (docs/repairs.md lists them all).

A rule fixes a class of quirk, never one feed's, and changes only what is missing or cannot
be read as it stands: a value the CPO gave that validates is never overwritten. Spelling
(enum values in another case or with other separators, numbers as text or with a fraction,
weekday 0) is read by the schemas themselves (nap/ocpi/schemas.py), which warn alike.

Two sets, for speed: the ALWAYS rules are cheap and run on every location (their quirks
would validate, and lose data); the others run only when an object fails validation or
validates with warnings, which the common, valid object never does.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from harvesters.normalize.repairs import connectors, contacts, identity, keys, place, status, timestamps
from harvesters.normalize.repairs.keys import snake_case_keys
from harvesters.normalize.repairs.log import RepairLog

log = logging.getLogger(__name__)

__all__ = ["Repair", "RepairLog", "ALWAYS", "LOCATION_REPAIRS", "TARIFF_REPAIRS", "run", "snake_case_keys"]


@dataclass(frozen=True)
class Repair:
    name: str
    apply: Callable[[dict, RepairLog], None]


ALWAYS: tuple[Repair, ...] = (
    Repair("identity_from_feed", identity.identity_from_feed),
    Repair("publish_by_default", identity.publish_by_default),
    Repair("helpdesk_from_contacts", contacts.helpdesk_from_contacts),
)
# In order: names first, then ids, then the facts that later rules reason from.
LOCATION_REPAIRS: tuple[Repair, ...] = (
    Repair("older_field_names", keys.older_field_names),
    Repair("ids_as_text", identity.ids_as_text),
    Repair("evse_uid_from_evse_id", identity.evse_uid_from_evse_id),
    Repair("connector_id_from_position", identity.connector_id_from_position),
    Repair("country_iso_alpha3", place.country_iso_alpha3),
    Repair("time_zone_from_coordinates", place.time_zone_from_coordinates),
    Repair("address_parts", place.address_parts),
    Repair("status_unknown", status.status_unknown),
    Repair("power_type_from_standard", connectors.power_type_from_standard),
    Repair("connector_units", connectors.units),
    Repair("voltage_from_power_type", connectors.voltage_from_power_type),
    Repair("amperage_from_power", connectors.amperage_from_power),
    Repair("format_from_standard", connectors.format_from_standard),
    Repair("timestamps", timestamps.location_timestamps),
)
TARIFF_ALWAYS: tuple[Repair, ...] = (
    Repair("identity_from_feed", identity.identity_from_feed),
)
TARIFF_REPAIRS: tuple[Repair, ...] = (
    Repair("ids_as_text", identity.ids_as_text),
    Repair("timestamps", timestamps.tariff_timestamp),
)


def run(rules: tuple[Repair, ...], obj: dict, repairs: RepairLog) -> None:
    for rule in rules:
        try:
            rule.apply(obj, repairs)
        except Exception:  # a rule's bug must cost its repair, not the object or the run
            log.exception("repair %s failed", rule.name)
