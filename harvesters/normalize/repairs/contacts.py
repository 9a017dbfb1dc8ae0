"""AFIR data in well-known places outside OCPI."""
from __future__ import annotations

from harvesters.normalize.repairs.log import RepairLog

# Where feeds put the helpdesk number that OCPI 2.3.0 calls help_phone (AFIR Annex, A2).
_PHONE_KEYS = ("phone_number", "phone", "telephone", "helpdesk", "hotline", "help_phone", "support_phone")
_TOP_LEVEL_PHONE_KEYS = ("phone_number", "phone", "telephone", "support_phone", "support_phone_number",
                         "helpdesk", "helpdesk_phone", "hotline")


def _phone_at(location: dict) -> tuple[str, str] | None:
    for key in _TOP_LEVEL_PHONE_KEYS:
        value = location.get(key)
        if isinstance(value, str) and value.strip():
            return key, value.strip()
    for party in ("operator", "suboperator", "owner"):
        details = location.get(party)
        if isinstance(details, dict):
            for key in _PHONE_KEYS:
                value = details.get(key)
                if isinstance(value, str) and value.strip():
                    return f"{party}.{key}", value.strip()
    return None


def helpdesk_from_contacts(location: dict, log: RepairLog) -> None:
    if location.get("help_phone"):
        return
    found = _phone_at(location)
    if found:
        location["help_phone"] = found[1]
        log.note("help_phone", f"missing; taken from {found[0]}, which is not an OCPI field")
