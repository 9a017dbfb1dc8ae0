"""The OCPI receiver: what a CPO's pushes (PUT, PATCH) do to the store.

Semantics (OCPI 2.2.1/2.3.0 mod_locations, mod_tariffs, transport_and_format):
- A CPO writes only under the country_code/party_id pairs registered for its feed.
- PUT creates or replaces a Location, EVSE, Connector or Tariff; PATCH changes part of one
  and must carry `last_updated`. Pushing an EVSE or Connector sets the parents'
  `last_updated` too.
- An update older than what the store holds is ignored (and logged): pushes and pulls
  converge by `last_updated`.
- EVSEs are never deleted; a CPO sets their status to REMOVED.
Every change is validated as a whole 2.3.0 Location (the same normalizer as the harvester)
before it is written; a rejected push changes nothing and becomes a finding. This is the
general path; the commonest push, an EVSE status PATCH, is written by
nap/store/evse_status.py before it gets here, and only what that path leaves (a refusal
to explain, an unknown object, an invalid field) comes this way.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nap.jsonutil import dumps_bytes
from nap.ocpi.findings import ObjectFinding
from harvesters.normalize import FeedIdentity, normalize_object
from nap.parties import CLAIMED, claim_of, verified_parties
from nap.ocpi.ids import id_key, same_id
from nap.ocpi.values import parse_datetime
from nap.store.documents import assemble_locations
from nap.store.rows import prepare_location, prepare_tariff
from nap.store.tables import Feed, Finding, Location, LocationSource, Tariff
from nap.store.writer import FeedWriter

log = logging.getLogger(__name__)


class PushRejected(Exception):
    def __init__(self, status_code: int, http_status: int, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.http_status = http_status
        self.message = message


@dataclass(frozen=True)
class PushingFeed:
    """What a push needs of its feed (not the whole Feed row: that would decrypt the token
    NAP presents to the CPO on every push, for nothing)."""

    id: int
    name: str
    status: str


@dataclass(frozen=True)
class PushOutcome:
    applied: bool
    message: str


def ignored(level: str, feed_name: str, object_id: str, pushed_time: Any, stored_time: Any) -> PushOutcome:
    """An update older than the stored object: logged, and answered as such."""
    log.info("push of %s %s/%s ignored: last_updated %s is older than the stored %s",
             level, feed_name, object_id, pushed_time, stored_time)
    return PushOutcome(False, IGNORED)


IGNORED = "ignored: older than the stored object"


def _later(a: Any, b: Any) -> bool:
    """True when timestamp a is strictly later than b (unparseable counts as not later)."""
    try:
        return parse_datetime(a) > parse_datetime(b)
    except ValueError:
        return False


class Receiver:
    def __init__(self, session: Session, feed: Feed | PushingFeed, version: str, now: datetime,
                 parties: set[tuple[str, str]] | None = None):
        self.session = session
        self.feed = feed
        self.version = version
        self.now = now
        self._parties = parties  # the feed's country_code/party_id pairs, when already loaded

    # -- access ------------------------------------------------------------------------

    def _authorize(self, country_code: str, party_id: str) -> tuple[str, str]:
        pair = (country_code.upper(), party_id.upper())
        if self._parties is None:
            self._parties = verified_parties(self.session, self.feed.id)
        if pair not in self._parties:
            # transport_and_format allows 404 for objects of parties the client is not.
            pending = claim_of(self.session, self.feed.id, *pair)
            if pending is not None and pending.state == CLAIMED:
                raise PushRejected(2000, 404, f"{pair[0]}/{pair[1]} is claimed by your feed but not verified yet by"
                                              " the access point's administrators; nothing was stored")
            raise PushRejected(2000, 404, f"{pair[0]}/{pair[1]} is not a party registered for your feed")
        return pair

    def _location_row(self, pair: tuple[str, str], location_id: str, lock: bool = False) -> Location | None:
        query = select(Location).where(Location.country_code == pair[0], Location.party_id == pair[1],
                                       Location.id_key == id_key(location_id), Location.feed_id == self.feed.id)
        if lock:
            query = query.with_for_update()  # concurrent pushes to one location take turns
        return self.session.scalars(query).one_or_none()

    def _candidate(self, pair: tuple[str, str], location_id: str, lock: bool = False) -> LocationSource | None:
        """The feed's own copy of a location several sources describe (nap/store/sources.py):
        what it pushes changes is that copy, and the published row is merged again."""
        query = select(LocationSource).where(
            LocationSource.feed_id == self.feed.id, LocationSource.country_code == pair[0],
            LocationSource.party_id == pair[1], LocationSource.id_key == id_key(location_id))
        if lock:
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def _own_location(self, pair, location_id: str, lock: bool = False) -> Location | LocationSource | None:
        return self._candidate(pair, location_id, lock) or self._location_row(pair, location_id, lock)

    def _stored_location(self, pair, location_id: str, lock: bool = False) -> tuple[Location | LocationSource, dict]:
        row = self._own_location(pair, location_id, lock)
        if isinstance(row, LocationSource):
            return row, copy.deepcopy(row.document)
        if row is None:
            raise PushRejected(2003, 404, f"unknown location {pair[0]}/{pair[1]}/{location_id}")
        return row, assemble_locations(self.session, [row])[0]

    # -- reading -----------------------------------------------------------------------

    def get_location(self, country_code, party_id, location_id, evse_uid=None, connector_id=None) -> dict:
        pair = self._authorize(country_code, party_id)
        _, document = self._stored_location(pair, location_id)
        if evse_uid is None:
            return document
        evse = _find(document["evses"], "uid", evse_uid, f"unknown EVSE {evse_uid}")
        if connector_id is None:
            return evse
        return _find(evse["connectors"], "id", connector_id, f"unknown connector {connector_id}")

    def get_tariff(self, country_code, party_id, tariff_id) -> dict:
        pair = self._authorize(country_code, party_id)
        row = self._tariff_row(pair, tariff_id, lock=False)  # a read takes no lock
        if row is None or row.removed_at is not None:
            raise PushRejected(2000, 404, f"unknown tariff {pair[0]}/{pair[1]}/{tariff_id}")
        return row.data

    # -- writing locations ---------------------------------------------------------------

    def put_location(self, country_code, party_id, location_id, evse_uid, connector_id, body) -> PushOutcome:
        return self._change_location("PUT", country_code, party_id, location_id, evse_uid, connector_id, body)

    def patch_location(self, country_code, party_id, location_id, evse_uid, connector_id, body) -> PushOutcome:
        if not isinstance(body, dict) or "last_updated" not in body:
            raise PushRejected(2001, 400, "a PATCH must contain last_updated")
        return self._change_location("PATCH", country_code, party_id, location_id, evse_uid, connector_id, body)

    def _change_location(self, method, country_code, party_id, location_id, evse_uid, connector_id, body):
        if not isinstance(body, dict):
            raise PushRejected(2001, 400, "the body must be a JSON object")
        pair = self._authorize(country_code, party_id)
        level = "connector" if connector_id is not None else "evse" if evse_uid is not None else "location"
        _check_ids(level, body, location_id, evse_uid, connector_id, pair, method)
        if level == "location" and method == "PUT":
            row = self._own_location(pair, location_id, lock=True)
            document, raw = dict(body), body
            document.setdefault("country_code", pair[0])
            document.setdefault("party_id", pair[1])
            if row is not None and _later(row.last_updated, _timestamp(body)):
                return self._ignored(level, location_id, row.last_updated, body)
            return self._write(pair, location_id, document, raw, focus=None)
        row, stored = self._stored_location(pair, location_id, lock=True)
        change = _change_at(level, method, body, evse_uid, connector_id)
        current = change.target(stored)
        if current is not None and _later(current.get("last_updated"), _timestamp(body)):
            return self._ignored(level, location_id, current.get("last_updated"), body)
        if current is None and method == "PATCH":
            raise PushRejected(2003, 404, f"unknown {level} {evse_uid if level == 'evse' else connector_id} "
                               f"at location {location_id}: PUT it first")
        candidate = change.apply(copy.deepcopy(stored))
        stored_raw = getattr(row, "raw", None)  # a source's copy keeps its normalized document only
        raw = change.apply(copy.deepcopy(stored_raw)) if isinstance(stored_raw, dict) and level != "location" \
            else candidate
        return self._write(pair, location_id, candidate, raw, focus=evse_uid)

    def _write(self, pair, location_id, document: dict, raw: Any, focus: str | None) -> PushOutcome:
        result = normalize_object("location", document, self._schema_version(), FeedIdentity(*pair))
        evse_reference = f"{location_id}/{focus}"
        rejected = [f for f in result.findings if f.severity == "error"
                    and (focus is None or f.object_type == "location" or f.object_id == evse_reference
                         or (f.object_id or "").startswith(evse_reference + "/"))]
        if not result.ok or rejected or result.discarded:
            # A harvest publishes what it can read, with warnings; a push is answered, so a
            # value NAP could not read (and would have replaced or left out) is refused.
            rejected = rejected or [ObjectFinding("location", location_id, name, reason)
                                    for name, reason in result.discarded] or result.findings
            self._record_findings(rejected)
            reasons = "; ".join(f"{f.field}: {f.reason}" for f in rejected[:5])
            raise PushRejected(2001, 400, f"invalid object: {reasons}")
        writer = FeedWriter(self.session, self.feed.id, self.now, self._parties, via="push")
        writer.write_locations([prepare_location(result.document, dumps_bytes(raw))])
        if writer.findings:  # its party is not the feed's: nothing was written
            raise PushRejected(2000, 404, writer.findings[0].reason)
        self._record_findings([f for f in result.findings if f.severity == "warning"])
        return PushOutcome(True, "stored")

    def _schema_version(self) -> str:
        # Stored documents are 2.3.0; 2.2.1 pushes of locations are a subset of 2.3.0.
        return "2.3.0" if self.version == "2.3.0" else "2.2.1"

    def _ignored(self, level, object_id, stored_time, body) -> PushOutcome:
        return ignored(level, self.feed.name, object_id, body.get("last_updated"), stored_time)

    def _record_findings(self, findings: list[ObjectFinding]) -> None:
        for f in findings:
            self.session.add(Finding(feed_id=self.feed.id, run_id=None, object_type=f.object_type,
                                     object_id=f.object_id and f.object_id[:200], field=f.field and f.field[:200],
                                     severity=f.severity, reason=f"push: {f.reason}", created_at=self.now))

    # -- writing tariffs -----------------------------------------------------------------

    def _tariff_row(self, pair, tariff_id, lock: bool = True) -> Tariff | None:
        query = select(Tariff).where(Tariff.country_code == pair[0], Tariff.party_id == pair[1],
                                     Tariff.id_key == id_key(tariff_id), Tariff.feed_id == self.feed.id)
        return self.session.scalars(query.with_for_update() if lock else query).one_or_none()

    def put_tariff(self, country_code, party_id, tariff_id, body) -> PushOutcome:
        if not isinstance(body, dict):
            raise PushRejected(2001, 400, "the body must be a JSON object")
        pair = self._authorize(country_code, party_id)
        _check_ids("tariff", body, tariff_id, None, None, pair, "PUT")
        row = self._tariff_row(pair, tariff_id)
        if row is not None and row.removed_at is None and _later(row.last_updated, _timestamp(body)):
            return self._ignored("tariff", tariff_id, row.last_updated, body)
        result = normalize_object("tariff", body, self._schema_version(), FeedIdentity(*pair))
        if not result.ok or result.discarded:
            # As for locations: a value NAP could not read (and replaced or left out) is refused.
            rejected = ([ObjectFinding("tariff", tariff_id, name, reason) for name, reason in result.discarded]
                        if result.ok else result.findings)
            self._record_findings(rejected)
            reasons = "; ".join(f"{f.field}: {f.reason}" for f in rejected[:5])
            raise PushRejected(2001, 400, f"invalid tariff: {reasons}")
        writer = FeedWriter(self.session, self.feed.id, self.now, self._parties, via="push")
        writer.write_tariffs([prepare_tariff(result.document, result.raw)])
        if writer.findings:
            raise PushRejected(2000, 404, writer.findings[0].reason)
        return PushOutcome(True, "stored")

    def delete_tariff(self, country_code, party_id, tariff_id) -> PushOutcome:
        pair = self._authorize(country_code, party_id)
        row = self._tariff_row(pair, tariff_id)
        if row is None or row.removed_at is not None:
            raise PushRejected(2000, 404, f"unknown tariff {pair[0]}/{pair[1]}/{tariff_id}")
        self.session.execute(update(Tariff).where(Tariff.id == row.id).values(removed_at=self.now, changed_at=self.now))
        return PushOutcome(True, "removed")


@dataclass
class _Change:
    """Where in a Location document a push lands, and how it is applied there."""

    target: Callable[[dict], dict | None]
    apply: Callable[[dict], dict]


def _timestamp(body: dict) -> Any:
    return body.get("last_updated")


def _find(items: list[dict], key: str, value: str, message: str) -> dict:
    found = _find_or_none(items, key, value)
    if found is None:
        raise PushRejected(2003, 404, message)
    return found


def _find_or_none(items, key, value):
    """The EVSE (by uid) or connector (by id) named `value`: ids are CiStrings."""
    return next((item for item in items or [] if isinstance(item, dict) and same_id(str(item.get(key)), value)),
                None)


def _touch(obj: dict, when: Any) -> None:
    """Parents take the pushed child's last_updated when it is later than theirs."""
    if when is not None and (obj.get("last_updated") is None or _later(when, obj["last_updated"])):
        obj["last_updated"] = when


def _merge_evses(location: dict, patch_evses: Any) -> None:
    # A PATCH of a Location with `evses` updates the EVSEs it names (by uid) and adds new
    # ones; it cannot remove any (PATCH "is not suitable to remove information").
    if not isinstance(patch_evses, list):
        location["evses"] = patch_evses
        return
    for evse in patch_evses:
        current = _find_or_none(location["evses"], "uid", str(evse.get("uid"))) if isinstance(evse, dict) else None
        if current is None:
            location["evses"].append(evse)
        else:
            current.update(evse)


def _change_at(level: str, method: str, body: dict, evse_uid: str | None, connector_id: str | None) -> _Change:
    when = _timestamp(body)

    def merge(target: dict) -> None:
        if method == "PUT":
            target.clear()
        for key, value in body.items():
            if key == "evses" and method == "PATCH" and level == "location":
                _merge_evses(target, value)
            else:
                target[key] = value

    if level == "location":
        return _Change(target=lambda doc: doc, apply=lambda doc: (merge(doc), doc)[1])

    def evse_of(doc: dict) -> dict | None:
        return _find_or_none(doc.get("evses"), "uid", evse_uid)

    if level == "evse":
        def apply(doc: dict) -> dict:
            evse = evse_of(doc)
            if evse is None:
                doc.setdefault("evses", []).append(evse := {})
            merge(evse)
            evse.setdefault("uid", evse_uid)
            _touch(doc, when)
            return doc
        return _Change(target=evse_of, apply=apply)

    def connector_of(doc: dict) -> dict | None:
        evse = evse_of(doc)
        return _find_or_none(evse.get("connectors"), "id", connector_id) if evse else None

    def apply_connector(doc: dict) -> dict:
        evse = evse_of(doc)
        if evse is None:
            raise PushRejected(2003, 404, f"unknown EVSE {evse_uid}: PUT it first")
        connector = connector_of(doc)
        if connector is None:
            evse.setdefault("connectors", []).append(connector := {})
        merge(connector)
        connector.setdefault("id", connector_id)
        _touch(evse, when)
        _touch(doc, when)
        return doc

    return _Change(target=connector_of, apply=apply_connector)


def _check_ids(level, body, object_id, evse_uid, connector_id, pair, method) -> None:
    """The ids in the body must match the URL (transport_and_format: else 2001)."""
    expected = {"location": ("id", object_id), "tariff": ("id", object_id),
                "evse": ("uid", evse_uid), "connector": ("id", connector_id)}[level]
    field, value = expected
    if field in body and not same_id(str(body[field]), value):
        raise PushRejected(2001, 400, f"{field} {body[field]!r} in the body differs from {value!r} in the URL")
    if level in ("location", "tariff"):
        for key, url_value in (("country_code", pair[0]), ("party_id", pair[1])):
            if key in body and str(body[key]).upper() != url_value:
                raise PushRejected(2001, 400, f"{key} {body[key]!r} in the body differs from {url_value!r} in the URL")
    if method == "PUT" and field not in body:
        body[field] = value
