"""Location pages served as the stored JSON text (exporters.ocpi.sources.document_jsons):
the text splicing, the one-parameter id lists, that every page equals the decoded documents
with the publication rules applied, and that the ETag still follows each EVSE row."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select, update

from exporters.consumers import ANONYMOUS, Audience
from nap.ocpi.paging import Window
from exporters.ocpi.sources import LocationSource
from exporters.publication import Publication
from nap.app import create_app
from nap.jsonutil import loads
from nap.store.documents import assemble_locations, execute_keyed, location_jsons, splice_list
from nap.store.tables import Evse, Location
from tests.harvest_helpers import register_and_harvest
from tests.test_ocpi_api_fixtures import PRIVATE_SHARED, location_id

pytest_plugins = ["tests.test_ocpi_api_fixtures"]


# -- splice_list ------------------------------------------------------------------------------


@pytest.mark.parametrize("stored", [
    '{"id":"A","n":1}',  # as orjson writes it (SQLite)
    '{"n": 1, "id": "A", "x": {"y": [1, 2]}}',  # as PostgreSQL prints jsonb
    "{}", "{ }", '{"id":"Ä €","s":"}"}',
])
@pytest.mark.parametrize("items", [[], ['{"a":1}'], ['{"a": 1}', "[]", '"x"']])
def test_splice_list_gives_what_decoding_and_setting_the_key_gives(stored, items):
    expected = {**json.loads(stored), "evses": [json.loads(item) for item in items]}
    spliced = splice_list(stored, "evses", items)
    assert json.loads(spliced) == expected
    assert list(json.loads(spliced)) == list(expected)  # the key comes last


def test_splice_list_replaces_a_key_already_there_in_its_place():
    spliced = splice_list('{"evses":[1],"id":"A"}', "evses", ['{"uid":"1"}'])
    assert spliced.count('"evses"') == 1
    assert list(json.loads(spliced).items()) == [("evses", [{"uid": "1"}]), ("id", "A")]


# -- one parameter for a page's ids -------------------------------------------------------------


def _location_ids(in_keys):
    return select(Location.id).where(in_keys(Location.id)).order_by(Location.id)


def test_execute_keyed_selects_exactly_the_given_ids(published):
    with published.sessions() as session:
        all_ids = session.scalars(select(Location.id).order_by(Location.id)).all()
        # A few keys go as an IN list, many as one parameter (an array, or JSON on SQLite).
        for found in (all_ids[3:9] + [all_ids[-1]], all_ids[1:-1:2] + [all_ids[-1]]):
            wanted = [*found, 10**9]
            assert execute_keyed(session, _location_ids, wanted).scalars().all() == sorted(found)
        assert execute_keyed(session, _location_ids, []).scalars().all() == []


# -- equal to the decoded documents ----------------------------------------------------------


def _decoded(session, publication: Publication, snapshot) -> list[dict]:
    """The old way: the rows' documents decoded and assembled, the rules applied."""
    rows = session.execute(select(Location.id, Location.data).where(Location.id.in_(snapshot.ids))
                           .order_by(Location.id)).all()
    served = []
    for row, document in zip(rows, assemble_locations(session, rows)):
        document["evses"] = [evse for evse in document["evses"]
                             if (row.id, evse["uid"]) not in snapshot.hidden_evses]
        served.append(publication.apply_to_location(document))
    return served


@pytest.mark.parametrize("audience", ["anonymous", "token holder"])
def test_served_text_decodes_to_the_documents_with_the_rules_applied(published, audience):
    held = Audience(consumer_id=1, publish_tokens=({"uid": "RFID-0001", "type": "RFID"},))
    with published.sessions() as session:
        publication = Publication(session, ANONYMOUS if audience == "anonymous" else held,
                                  datetime.now(timezone.utc), published.settings.removed_evse_visible_hours)
        source = LocationSource(session, publication)
        snapshot = source.page(Window(0, 100, None, None))
        assert snapshot.hidden_evses  # the EVSE REMOVED three days ago
        served = [loads(text) for text in source.document_jsons(snapshot)]
        expected = _decoded(session, publication, snapshot)
        assert served == expected
        assert [list(doc) for doc in served] == [list(doc) for doc in expected]  # key order too
        assert source.documents(snapshot) == expected
        private = [doc for doc in served if doc["id"] == location_id(PRIVATE_SHARED)]
        assert len(private) == (1 if audience == "token holder" else 0)
        assert all("publish_allowed_to" not in doc for doc in served if doc["publish"])


def test_location_jsons_keeps_the_order_asked_and_skips_unknown_ids(published):
    with published.sessions() as session:
        ids = session.scalars(select(Location.id).order_by(Location.id.desc()).limit(5)).all()
        stored = location_jsons(session, [*ids, 10**9])
        assert [item.location_pk for item in stored] == ids
        rows = session.execute(select(Location.id, Location.data).where(Location.id.in_(ids))).all()
        by_id = {row.id: document for row, document in zip(rows, assemble_locations(session, rows))}
        for item in stored:
            assert loads(splice_list(item.location, "evses", [text for _uid, text in item.evses])) == \
                by_id[item.location_pk]
            assert [uid for uid, _text in item.evses] == [evse["uid"] for evse in by_id[item.location_pk]["evses"]]


def test_a_public_location_never_shows_publish_allowed_to(sessions, settings, demo_cpo, live_server):
    """apply_to_location drops the field from public locations: the text path must notice it."""
    assert register_and_harvest(sessions, settings, demo_cpo(locations=3)).status == "success"
    with sessions.begin() as session:
        row = session.scalars(select(Location).order_by(Location.id)).first()
        row.data = {**row.data, "publish_allowed_to": [{"uid": "SECRET-1"}]}
    nap = live_server(create_app(settings))
    response = httpx.get(f"{nap.url}/ocpi/2.3.0/locations")
    assert response.status_code == 200 and "SECRET-1" not in response.text
    assert len(response.json()["data"]) == 3
    assert all("publish_allowed_to" not in doc for doc in response.json()["data"])


# -- the ETag follows every EVSE row ------------------------------------------------------------


def test_an_evse_status_change_alone_changes_the_page_etag(sessions, settings, demo_cpo, live_server):
    assert register_and_harvest(sessions, settings, demo_cpo(locations=5)).status == "success"
    nap = live_server(create_app(settings))
    page = f"{nap.url}/ocpi/2.3.0/locations?limit=3"
    first = httpx.get(page)
    assert httpx.get(page, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    with sessions.begin() as session:
        evse_pk, status = session.execute(select(Evse.id, Evse.status).order_by(Evse.id)).first()
        # Only the EVSE row, as a pushed status does: the location row stays as it was.
        session.execute(update(Evse).where(Evse.id == evse_pk).values(
            status="CHARGING" if status != "CHARGING" else "AVAILABLE",
            status_changed_at=datetime.now(timezone.utc)))
    again = httpx.get(page, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and again.headers["ETag"] != first.headers["ETag"]


def test_a_removed_evse_leaving_the_publication_changes_the_etag(sessions, settings, demo_cpo, live_server):
    assert register_and_harvest(sessions, settings, demo_cpo(locations=3)).status == "success"
    with sessions.begin() as session:
        evse_pk = session.scalar(select(Evse.id).order_by(Evse.id))
        session.execute(update(Evse).where(Evse.id == evse_pk).values(
            status="REMOVED", status_changed_at=datetime.now(timezone.utc) - timedelta(hours=10)))
    visible = live_server(create_app(settings.__class__(**{**settings.__dict__, "removed_evse_visible_hours": 48})))
    gone = live_server(create_app(settings.__class__(**{**settings.__dict__, "removed_evse_visible_hours": 5})))
    shown, hidden = (httpx.get(f"{nap.url}/ocpi/2.3.0/locations") for nap in (visible, gone))
    assert shown.headers["ETag"] != hidden.headers["ETag"]
    count = sum(len(doc["evses"]) for doc in shown.json()["data"])
    assert sum(len(doc["evses"]) for doc in hidden.json()["data"]) == count - 1


@pytest.mark.parametrize("version", ["2.3.0", "2.2.1"])
def test_a_stale_conditional_request_gets_the_same_page_as_a_plain_one(published, version):
    """Plain requests read the EVSE texts with the index columns; conditional ones, which may
    end in a 304, read them only once the copy proved stale. Both serve the same."""
    path = published.url(f"/ocpi/{version}/locations?limit=20&offset=1")
    plain = httpx.get(path)
    for headers in ({"If-None-Match": 'W/"stale"'},
                    {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}):
        stale = httpx.get(path, headers=headers)
        assert stale.status_code == 200 and stale.headers["ETag"] == plain.headers["ETag"]
        assert stale.json()["data"] == plain.json()["data"]
    assert any(len(doc["evses"]) for doc in plain.json()["data"])


def test_fingerprint_rows_hash_each_value_as_before():
    """add_rows() hashes what one update per value did (ETags survive the change of method)."""
    import hashlib

    from exporters.http_caching import FORMAT_REVISION, Fingerprint

    moment = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone.utc)
    rows = [(1, "AVAILABLE", moment, moment.replace(tzinfo=None), False), (2, None, "x", 0.5, True), ()]
    expected = hashlib.sha256(FORMAT_REVISION.encode())
    for part in ("header", 7, None, *[part for row in rows for part in row]):
        expected.update(b"\x1f")
        expected.update((part.isoformat() if isinstance(part, datetime) else "" if part is None
                         else str(part)).encode())
    fingerprint = Fingerprint("header", 7, None).add_rows(rows)
    assert fingerprint.etag() == expected.hexdigest()[:32]
