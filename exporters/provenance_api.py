"""Where each published value of a location came from (docs/merge-rules.md):

    GET /api/v1/provenance/{country_code}/{party_id}/{location_id}

The location's sources (the CPO's own feed, hubs, aggregators), which source gave each
field of the location and of each EVSE and by which rule, the values the sources disagree
on, and the rules themselves. A location id a hub or an aggregator gave a charger that is
published under another key answers for the published location. Public, as the data is.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint
from sqlalchemy import select

from exporters.access import current_audience, install_access_control
from exporters.api_errors import catch_crashes, json_error
from exporters.publication import Publication
from nap.merge.rules import RULES, Decision
from nap.ocpi.envelope import json_response
from nap.ocpi.ids import id_key
from nap.ocpi.values import format_datetime
from nap.store.sources import feed_names, provenance
from nap.store.tables import Location, LocationSource
from nap.web import db_session, settings

blueprint = Blueprint("provenance_api", __name__)
install_access_control(blueprint, lambda message, http_status, _code: json_error(message, http_status))
catch_crashes(blueprint)


def _published_row(session, publication: Publication, country_code: str, party_id: str,
                   location_id: str) -> Location | None:
    key = (Location.country_code == country_code.upper(), Location.party_id == party_id.upper(),
           Location.id_key == id_key(location_id))
    row = session.scalar(select(Location).where(*key, publication.location_condition()))
    if row is not None:
        return row
    # A source's own key for a charger published under another one.
    location_pk = session.scalar(select(LocationSource.location_pk).where(
        LocationSource.country_code == country_code.upper(), LocationSource.party_id == party_id.upper(),
        LocationSource.id_key == id_key(location_id)).limit(1))
    if location_pk is None:
        return None
    return session.scalar(select(Location).where(Location.id == location_pk, publication.location_condition()))


def _field(decision: Decision) -> dict:
    return {"field": decision.field, "source": decision.source.feed_name, "rule": decision.rule.name}


def _time(value: datetime | None) -> str | None:
    return format_datetime(value) if value is not None else None


@blueprint.get("/api/v1/provenance/<country_code>/<party_id>/<location_id>")
def location_provenance(country_code: str, party_id: str, location_id: str):
    session = db_session()
    publication = Publication(session, current_audience(), datetime.now(timezone.utc),
                              settings().removed_evse_visible_hours)
    row = _published_row(session, publication, country_code, party_id, location_id)
    if row is None:
        return json_error(f"no published location {country_code[:2]}/{party_id[:3]}/{location_id[:80]}", 404)
    candidates, merged = provenance(session, row)
    names = feed_names(session, [row.feed_id, *(c.feed_id for c in candidates)])
    if candidates:
        sources = [{"feed": names[c.feed_id][0], "kind": names[c.feed_id][1],
                    "location_id": c.ocpi_id, "country_code": c.country_code, "party_id": c.party_id,
                    "match": c.match, "confirmed": c.confirmed, "match_note": c.match_note,
                    "last_updated": _time(c.last_updated), "seen_at": _time(c.seen_at)} for c in candidates]
    else:
        sources = [{"feed": names[row.feed_id][0], "kind": names[row.feed_id][1], "location_id": row.ocpi_id,
                    "country_code": row.country_code, "party_id": row.party_id, "match": "key", "confirmed": True,
                    "match_note": None, "last_updated": _time(row.last_updated), "seen_at": _time(row.changed_at)}]
    evse_fields: dict[str, list[dict]] = {}
    for decision in merged.decisions:
        if decision.evse is not None:
            evse_fields.setdefault(decision.evse, []).append(_field(decision))
    body = {
        "location": {"country_code": row.country_code, "party_id": row.party_id, "id": row.ocpi_id},
        "published_for": names[row.feed_id][0],
        "sources": sources,
        "fields": [_field(d) for d in merged.decisions if d.evse is None],
        "evses": [{"uid": evse["uid"], "evse_id": evse.get("evse_id"), "fields": evse_fields.get(evse["uid"], [])}
                  for evse in merged.document.get("evses") or []],
        # EVSEs a less authoritative source lists that cannot be told apart from the others.
        "evses_left_out": [{"source": source.feed_name, "uid": uid, "rule": "unnamed-extra"}
                           for source, uid in merged.left_out],
        "conflicts": [{"field": c.field, "evse_uid": c.evse_uid, "evse_id": c.evse_id,
                       "published": c.published, "published_by": c.published_by.feed_name,
                       "other": c.other, "other_source": c.other_source.feed_name, "rule": c.rule.name}
                      for c in merged.conflicts],
        "rules": [{"name": rule.name, "says": rule.says} for rule in RULES],
    }
    return json_response(body)
