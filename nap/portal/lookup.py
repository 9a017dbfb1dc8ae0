"""'Where did my charger go?': for any id a CPO gives (location id, EVSE uid or EVSE id),
where the object stands in NAP: published, hidden by `publish: false`, skipped because of
a finding (which one), removed (when, and by which run), or never received.

Only the current findings count: those of the feed's latest successful harvest and the
pushes after it. Older findings describe versions that have been replaced since.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import Session

from nap.portal.findings import current_findings
from nap.ocpi.ids import normalized_evse_id
from nap.store.states import COMPLETED_RUN_STATUSES, ObjectKind
from nap.store.tables import EVSE_KEY, Evse, Feed, Finding, HarvestRun, Location

MAX_RESULTS = 20


@dataclass
class Whereabouts:
    state: str  # "published", "hidden", "skipped", "removed", "never_received"
    object_type: str  # "location" or "evse"
    object_id: str  # location id, or "<location id>/<EVSE uid>"
    feed_name: str | None
    headline: str
    details: list[str] = field(default_factory=list)
    public_path: str | None = None
    findings: list[Finding] = field(default_factory=list)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


class Lookup:
    def __init__(self, session: Session, feeds: list[Feed], now: datetime, removed_evse_visible_hours: int):
        self.session = session
        self.feeds = {feed.id: feed for feed in feeds}
        self.now = now
        self.removed_window = timedelta(hours=removed_evse_visible_hours)

    # -- the findings that describe what the CPO serves now -------------------------------

    def _findings(self, *conditions) -> list[Finding]:
        return current_findings(self.session, list(self.feeds),
                                Finding.object_type.in_((ObjectKind.LOCATION, ObjectKind.EVSE, ObjectKind.PUSH)),
                                *conditions)

    def findings_about(self, object_id: str, with_children: bool = False) -> list[Finding]:
        folded = func.lower(Finding.object_id)
        wanted = object_id.lower()
        if with_children:
            return self._findings(or_(folded == wanted, folded.like(f"{_like_escape(wanted)}/%", escape="\\")))
        return self._findings(folded == wanted)

    # -- stored objects --------------------------------------------------------------------

    def _removing_run(self, location: Location) -> HarvestRun | None:
        return self.session.scalar(
            select(HarvestRun).where(HarvestRun.feed_id == location.feed_id,
                                     HarvestRun.started_at <= location.removed_at,
                                     HarvestRun.status.in_(COMPLETED_RUN_STATUSES))
            .order_by(HarvestRun.started_at.desc()).limit(1))

    def _location_state(self, location: Location, result: Whereabouts) -> bool:
        """Fills in a state the location imposes on it and its EVSEs; False if none."""
        if location.removed_at is not None:
            run = self._removing_run(location)
            result.state = "removed"
            result.headline = f"Removed on {_when(location.removed_at)}" + (f" by harvest run #{run.id}" if run else "")
            result.details.append("A full harvest no longer received this location from your Locations endpoint, "
                                  "so NAP stopped publishing it. Serve it again and the next harvest brings it back.")
            return True
        if not location.publish:
            allowed = location.data.get("publish_allowed_to") or []
            result.state = "hidden"
            result.headline = "Hidden: you sent it with publish: false"
            result.details.append(f"Only consumers holding one of the {len(allowed)} token(s) in publish_allowed_to "
                                  "see it; it is not on the public API, the map or the DATEX II exports.")
            return True
        return False

    def _skipped_versions(self, result: Whereabouts, changed_at: datetime) -> None:
        errors = [f for f in result.findings if f.severity == "error"]
        if errors and result.state == "published":
            result.details.append(f"The latest version you served was skipped because of the finding(s) below; "
                                  f"NAP still publishes the version it received on {_when(changed_at)}.")

    def for_location(self, location: Location) -> Whereabouts:
        feed = self.feeds[location.feed_id]
        result = Whereabouts("published", "location", location.ocpi_id, feed.name, "Published")
        result.findings = self.findings_about(location.ocpi_id, with_children=True)
        if not self._location_state(location, result):
            result.public_path = f"/ocpi/2.3.0/locations/{location.country_code}/{location.party_id}/{location.ocpi_id}"
            evses = self.session.scalar(select(func.count()).select_from(Evse).where(
                Evse.location_pk == location.id, Evse.status != "REMOVED"))
            result.details.append(f"Public since {_when(location.first_seen_at)}, with {evses} EVSE(s); "
                                  f"last changed {_when(location.changed_at)}.")
        self._skipped_versions(result, location.changed_at)
        return result

    def for_evse(self, evse: Evse, location: Location) -> Whereabouts:
        feed = self.feeds[location.feed_id]
        ref = f"{location.ocpi_id}/{evse.uid}"
        result = Whereabouts("published", "evse", ref, feed.name, "Published")
        result.findings = self.findings_about(ref)
        if evse.evse_id:
            result.details.append(f"EVSE id {evse.evse_id}, at location {location.ocpi_id}.")
        if self._location_state(location, result):
            return result
        if evse.status == "REMOVED":
            until = evse.status_changed_at + self.removed_window
            result.state = "removed"
            result.headline = f"Removed by you: status REMOVED since {_when(evse.status_changed_at)}"
            result.details.append(
                f"It is published with status REMOVED until {_when(until)}, so consumers learn of the removal."
                if until > self.now else f"It left the publication on {_when(until)}.")
            return result
        result.public_path = (f"/ocpi/2.3.0/locations/{location.country_code}/{location.party_id}/"
                              f"{location.ocpi_id}/{evse.uid}")
        result.details.append(f"Status {evse.status} (since {_when(evse.status_changed_at)}).")
        self._skipped_versions(result, location.changed_at)
        return result

    # -- objects only the findings or the raw documents know of --------------------------

    def evse_refs_in_raw(self, query: str) -> list[tuple[int, str]]:
        """(feed id, "<location id>/<uid>") of EVSEs with this EVSE id inside the stored raw
        documents: EVSEs dropped from an otherwise stored location."""
        wanted = normalized_evse_id(query)
        refs = []
        rows = self.session.execute(
            select(Location.feed_id, Location.ocpi_id, Location.raw)
            .where(Location.feed_id.in_(list(self.feeds)),
                   cast(Location.raw, Text).like(f"%{_like_escape(query)}%", escape="\\"))
            .limit(MAX_RESULTS)).all()
        for feed_id, location_id, raw in rows:
            raw = json.loads(raw) if isinstance(raw, str) else raw
            for evse in raw.get("evses") or [] if isinstance(raw, dict) else []:
                evse_id = evse.get("evse_id") if isinstance(evse, dict) else None
                if isinstance(evse_id, str) and normalized_evse_id(evse_id) == wanted:
                    refs.append((feed_id, f"{location_id}/{evse.get('uid')}"))
        return refs

    def skipped(self, object_id: str, findings: list[Finding]) -> Whereabouts:
        feed = self.feeds.get(findings[0].feed_id) if findings else None
        object_type = "evse" if "/" in object_id else "location"
        result = Whereabouts("skipped", object_type, object_id, feed.name if feed else None,
                             "Skipped because of a finding", findings=findings)
        if not any(f.severity == "error" for f in findings):
            result.headline = "Received, but not stored"
            result.details.append("No current finding explains it; it may have been fixed since. "
                                  "The next harvest will tell.")
        else:
            result.details.append("NAP received it but could not store it. Fix what the finding says; "
                                  "the next harvest publishes it.")
        return result

    # -- the question ----------------------------------------------------------------------

    def locate(self, query: str) -> list[Whereabouts]:
        query = query.strip()
        if not query or not self.feeds:
            return []
        folded, feed_ids = query.lower(), list(self.feeds)
        results: list[Whereabouts] = []
        for location in self.session.scalars(
                select(Location).where(Location.feed_id.in_(feed_ids), func.lower(Location.ocpi_id) == folded)
                .order_by(Location.id).limit(MAX_RESULTS)):
            results.append(self.for_location(location))
        for evse, location in self.session.execute(
                select(Evse, Location).join(Location, Location.id == Evse.location_pk)
                .where(Location.feed_id.in_(feed_ids),
                       or_(func.lower(Evse.uid) == folded,
                           EVSE_KEY == normalized_evse_id(query)))
                .order_by(Evse.id).limit(MAX_RESULTS)).all():
            results.append(self.for_evse(evse, location))
        if results:
            return results
        # Not stored: skipped objects are named by findings, by id or by "<location>/<uid>".
        by_object: dict[str, list[Finding]] = {}
        folded_id = func.lower(Finding.object_id)
        for finding in self._findings(or_(folded_id == query.lower(),
                                          folded_id.like(f"%/{_like_escape(query.lower())}", escape="\\"))):
            by_object.setdefault(finding.object_id, []).append(finding)
        for _feed_id, ref in self.evse_refs_in_raw(query):
            by_object.setdefault(ref, []).extend(self.findings_about(ref))
        results = [self.skipped(object_id, findings) for object_id, findings in by_object.items()]
        if not results:
            names = ", ".join(feed.name for feed in self.feeds.values())
            results.append(Whereabouts(
                "never_received", "unknown", query, None, "Never received",
                [f"No location, EVSE uid or EVSE id {query!r} is among what NAP received from {names}, and no "
                 "current finding names it.",
                 "Check the id, and that your Locations endpoint serves the object. After the first full harvest "
                 "NAP asks only for objects changed since the last one (date_from), so an object's last_updated "
                 "must change whenever the object does."]))
        return results
