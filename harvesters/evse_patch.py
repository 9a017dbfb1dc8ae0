"""The fast path of the most common push: a PATCH of one EVSE's fields (its status, above
all). It validates only the patched fields against the OCPI 2.3.0 EVSE field types and
updates one EVSE row and its location's timestamps, instead of reassembling and rewriting
the whole location. Anything else (connectors in the body, an unknown EVSE, an invalid
field) goes the general way, which validates the whole location and explains refusals.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nap.ocpi.schemas import Evse
from nap.ocpi.values import parse_datetime
from nap.store.status_history import StatusChange, record_status_changes
from nap.store.tables import Evse as EvseRow
from nap.store.tables import Location

# Fields the fast path does not handle: ids, and the nested connectors.
NOT_FAST = {"uid", "connectors"}


@lru_cache(maxsize=None)
def _field_adapter(name: str) -> TypeAdapter:
    return TypeAdapter(Evse.model_fields[name].annotation)


def fast_patchable(body: dict) -> bool:
    return bool(body) and all(key in Evse.model_fields and key not in NOT_FAST for key in body)


def _validated(body: dict) -> dict | None:
    """The patched fields in their normalized JSON form, or None if any is invalid (then
    the general path produces the findings)."""
    validated = {}
    for name, value in body.items():
        try:
            adapter = _field_adapter(name)
            validated[name] = adapter.dump_python(adapter.validate_python(value), mode="json", exclude_none=True)
        except ValidationError:
            return None
    return validated


def patch_evse_fast(session: Session, feed_id: int, pair: tuple[str, str], location_id: str, evse_uid: str,
                    body: dict, now: datetime) -> str | None:
    """Apply the PATCH and return "stored" or "ignored"; None when the general path must
    handle it."""
    fields = _validated(body)
    if fields is None or "last_updated" not in fields:
        return None
    found = session.execute(
        select(EvseRow, Location).join(Location, Location.id == EvseRow.location_pk)
        .where(Location.country_code == pair[0], Location.party_id == pair[1], Location.ocpi_id == location_id,
               Location.feed_id == feed_id, Location.removed_at.is_(None), EvseRow.uid == evse_uid)
        .with_for_update()
    ).one_or_none()
    if found is None:
        return None
    evse, location = found
    pushed_at = parse_datetime(fields["last_updated"])
    if evse.last_updated > pushed_at:
        return "ignored"
    data = {**evse.data, **{k: v for k, v in fields.items() if v is not None}}
    status, old_status = data["status"], evse.status  # read before the UPDATE refreshes `evse`
    session.execute(update(EvseRow).where(EvseRow.id == evse.id).values(
        data=data, status=status, evse_id=data.get("evse_id"), last_updated=pushed_at,
        status_changed_at=now if status != old_status else evse.status_changed_at))
    location_values: dict[str, Any] = {"changed_at": now, "content_hash": "pushed"}
    if pushed_at > location.last_updated:
        # OCPI: pushing an EVSE sets the parent Location's last_updated too.
        location_values.update(last_updated=pushed_at, data={**location.data, "last_updated": fields["last_updated"]})
    session.execute(update(Location).where(Location.id == location.id).values(**location_values))
    if status != old_status:
        record_status_changes(session, feed_id, [StatusChange(location.id, evse_uid, old_status, status, pushed_at)],
                              now, "push")
    return "stored"
