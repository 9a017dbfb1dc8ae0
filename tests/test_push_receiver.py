"""CPO pushes over real HTTP: PUT/PATCH semantics, ordering, authorization, and what the
public API and the DATEX II status publication show afterwards."""
from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.engine import make_url

from nap.app import create_app
from nap.feeds import add_feed, get_feed, issue_push_token
from nap.ocpi.ids import id_key
from nap.ocpi.values import format_datetime
from nap.store.status_history import push_freshness
from nap.store.tables import EvseStatusChange, Finding, Location, Tariff
from tests.harvest_helpers import harvest, register_and_harvest, stored_locations
from tests.settings_helpers import replace
from tests.tcp_proxy import TcpProxy
from tests.xsd import validate


def auth(token: str) -> dict:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def later(seconds: int = 0) -> str:
    return format_datetime(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=seconds))


@pytest.fixture
def pushing(demo_cpo, nap_server, sessions, settings):
    """A harvested demo CPO (DE/ABC) with a push token, and NAP serving."""
    cpo = demo_cpo(locations=8)
    assert register_and_harvest(sessions, settings, cpo, country_code="DE", party_id="ABC").status == "success"
    with sessions.begin() as session:
        token = issue_push_token(session, get_feed(session, "demo"))
    location = cpo.app.config["FLEET"].locations[0]

    class Pushing:
        base = f"{nap_server.url}/ocpi/2.3.0/receiver/locations/DE/ABC"
        public = f"{nap_server.url}/ocpi/2.3.0/locations/DE/ABC"
        headers = auth(token)
        location_id = location["id"]
        evse_uid = location["evses"][0]["uid"]
        nap = nap_server
        demo = cpo

        def evse(self):
            return httpx.get(f"{self.public}/{self.location_id}/{self.evse_uid}").json()["data"]

    return Pushing()


def test_an_evse_status_patch_is_published_at_once(pushing, sessions):
    stamp = later(1)
    response = httpx.patch(f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}",
                           json={"status": "CHARGING", "last_updated": stamp}, headers=pushing.headers)
    assert response.status_code == 200 and response.json()["status_code"] == 1000
    assert pushing.evse()["status"] == "CHARGING"
    location = httpx.get(f"{pushing.public}/{pushing.location_id}").json()["data"]
    assert location["last_updated"] == stamp  # the parent takes the child's last_updated
    listed = httpx.get(f"{pushing.nap.url}/ocpi/2.3.0/locations", params={"date_from": stamp}).json()["data"]
    assert [loc["id"] for loc in listed] == [pushing.location_id]

    status = httpx.get(f"{pushing.nap.url}/datex2/v3.7/energy-infrastructure/status")
    assert validate(status.content) == []
    document = etree.fromstring(status.content)
    values = [s.xpath("string(*[local-name()='status'])") for s in document.xpath(
        "//*[local-name()='refillPointStatus']") if s.xpath(
        "string(*[local-name()='reference']/@id)").endswith(f"#evse:{pushing.evse_uid}")
        and pushing.location_id in s.xpath("string(*[local-name()='reference']/@id)")]
    assert values == ["charging"]

    with sessions() as session:
        history = session.scalars(select(EvseStatusChange).where(EvseStatusChange.via == "push")).all()
        assert [(h.evse_uid, h.new_status) for h in history] == [(pushing.evse_uid, "CHARGING")]
        freshness = push_freshness(session, history[0].feed_id, datetime.now(timezone.utc) - timedelta(hours=1))
        assert freshness.samples == 1 and freshness.p95_seconds is not None


def test_an_older_update_is_ignored(pushing):
    url = f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}"
    assert httpx.patch(url, json={"status": "CHARGING", "last_updated": later(10)}, headers=pushing.headers).status_code == 200
    answer = httpx.patch(url, json={"status": "AVAILABLE", "last_updated": later(5)}, headers=pushing.headers)
    assert answer.status_code == 200 and "ignored" in answer.json()["status_message"]
    assert pushing.evse()["status"] == "CHARGING"


def test_a_later_pull_never_overwrites_a_newer_push(pushing, sessions, settings):
    url = f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}"
    httpx.patch(url, json={"status": "BLOCKED", "last_updated": later(60)}, headers=pushing.headers)
    run = harvest(sessions, settings)  # the demo CPO still serves its older copy
    assert run.status == "success"
    assert pushing.evse()["status"] == "BLOCKED"


def test_unknown_objects_and_bad_requests_get_ocpi_errors(pushing):
    patch = {"status": "CHARGING", "last_updated": later()}
    unknown_location = httpx.patch(f"{pushing.base}/NOPE/{pushing.evse_uid}", json=patch, headers=pushing.headers)
    assert unknown_location.status_code == 404 and unknown_location.json()["status_code"] == 2003
    unknown_evse = httpx.patch(f"{pushing.base}/{pushing.location_id}/NOPE", json=patch, headers=pushing.headers)
    assert unknown_evse.status_code == 404 and unknown_evse.json()["status_code"] == 2003
    no_timestamp = httpx.patch(f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}",
                               json={"status": "CHARGING"}, headers=pushing.headers)
    assert no_timestamp.status_code == 400 and no_timestamp.json()["status_code"] == 2001
    wrong_id = httpx.put(f"{pushing.base}/{pushing.location_id}", json={"id": "OTHER"}, headers=pushing.headers)
    assert wrong_id.status_code == 400 and wrong_id.json()["status_code"] == 2001
    assert pushing.evse()["status"] != "CHARGING"


def test_put_adds_a_location_an_evse_and_a_connector(pushing):
    location = {**pushing.demo.app.config["FLEET"].locations[1]}
    location.update(id="NEW-1", last_updated=later(), evses=location["evses"][:1])
    assert httpx.put(f"{pushing.base}/NEW-1", json=location, headers=pushing.headers).json()["status_code"] == 1000
    published = httpx.get(f"{pushing.public}/NEW-1").json()["data"]
    assert published["name"] == location["name"] and len(published["evses"]) == 1

    evse = {**location["evses"][0], "uid": "NEW-EVSE", "evse_id": "DE*ABC*E999*1", "last_updated": later(1)}
    assert httpx.put(f"{pushing.base}/NEW-1/NEW-EVSE", json=evse, headers=pushing.headers).json()["status_code"] == 1000
    connector = {**evse["connectors"][0], "id": "9", "last_updated": later(2)}
    assert httpx.put(f"{pushing.base}/NEW-1/NEW-EVSE/9", json=connector, headers=pushing.headers).status_code == 200
    published = httpx.get(f"{pushing.public}/NEW-1").json()["data"]
    assert [e["uid"] for e in published["evses"]] == [location["evses"][0]["uid"], "NEW-EVSE"]
    assert [c["id"] for c in published["evses"][1]["connectors"]][-1] == "9"
    assert published["last_updated"] == connector["last_updated"]

    removed = httpx.patch(f"{pushing.base}/NEW-1/NEW-EVSE", json={"status": "REMOVED", "last_updated": later(3)},
                          headers=pushing.headers)
    assert removed.status_code == 200
    back = httpx.get(f"{pushing.base}/NEW-1/NEW-EVSE", headers=pushing.headers).json()["data"]
    assert back["status"] == "REMOVED"  # never deleted


def test_an_invalid_push_changes_nothing_and_becomes_a_finding(pushing, sessions):
    before = stored_locations(sessions)[pushing.location_id]
    evse = {**before["evses"][0], "last_updated": later(5)}
    evse["connectors"] = [{**evse["connectors"][0], "format": "PLUG"}]
    answer = httpx.put(f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}", json=evse, headers=pushing.headers)
    assert answer.status_code == 400 and answer.json()["status_code"] == 2001
    assert "format" in answer.json()["status_message"]
    assert stored_locations(sessions)[pushing.location_id] == before
    with sessions() as session:
        assert session.scalars(select(Finding).where(Finding.object_type == "push")).first() is not None


def test_a_cpo_cannot_write_another_cpos_objects(pushing, sessions):
    with sessions.begin() as session:
        feed_b = add_feed(session, name="cpo-b", versions_url="https://cpo-b.example/ocpi/versions",
                          token="b", country_code="DE", party_id="BBB")
        token_b = issue_push_token(session, feed_b)
    url = f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}"
    patch = {"status": "OUTOFORDER", "last_updated": later(30)}
    as_b = httpx.patch(url, json=patch, headers=auth(token_b))
    assert as_b.status_code == 404 and "not a party registered for your feed" in as_b.json()["status_message"]
    b_own_url = f"{pushing.nap.url}/ocpi/2.3.0/receiver/locations/DE/BBB/{pushing.location_id}/{pushing.evse_uid}"
    assert httpx.patch(b_own_url, json=patch, headers=auth(token_b)).status_code == 404  # B has no such object
    anonymous = httpx.patch(url, json=patch)
    assert anonymous.status_code == 401
    forged = httpx.patch(url, json=patch, headers=auth("not-a-token"))
    assert forged.status_code == 401
    assert pushing.evse()["status"] != "OUTOFORDER"


def test_tariffs_are_put_read_and_deleted(pushing):
    tariff = {**pushing.demo.app.config["FLEET"].tariffs[0], "id": "PUSHED", "last_updated": later()}
    url = f"{pushing.nap.url}/ocpi/2.3.0/receiver/tariffs/DE/ABC/PUSHED"
    assert httpx.put(url, json=tariff, headers=pushing.headers).json()["status_code"] == 1000
    assert httpx.get(url, headers=pushing.headers).json()["data"]["elements"] == tariff["elements"]
    assert httpx.get(f"{pushing.nap.url}/ocpi/2.3.0/tariffs/DE/ABC/PUSHED").status_code == 200
    assert httpx.delete(url, headers=pushing.headers).json()["status_code"] == 1000
    assert httpx.get(f"{pushing.nap.url}/ocpi/2.3.0/tariffs/DE/ABC/PUSHED").status_code == 404


def test_the_221_receiver_takes_221_objects(pushing):
    url = f"{pushing.nap.url}/ocpi/2.2.1/receiver/locations/DE/ABC/{pushing.location_id}/{pushing.evse_uid}"
    answer = httpx.patch(url, json={"status": "RESERVED", "last_updated": later(2)}, headers=pushing.headers)
    assert answer.status_code == 200
    assert pushing.evse()["status"] == "RESERVED"


def test_an_invalid_status_patch_is_refused_with_the_reason(pushing):
    url = f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}"
    answer = httpx.patch(url, json={"status": "BROKEN", "last_updated": later(5)}, headers=pushing.headers)
    assert answer.status_code == 400 and answer.json()["status_code"] == 2001
    assert "status" in answer.json()["status_message"]
    assert pushing.evse()["status"] != "BROKEN"
    # A PATCH of an EVSE with its connectors goes the general way and is checked whole.
    connectors = pushing.evse()["connectors"]
    connectors[0]["max_voltage"] = 123
    answer = httpx.patch(url, json={"connectors": connectors, "last_updated": later(6)}, headers=pushing.headers)
    assert answer.status_code == 200
    assert pushing.evse()["connectors"][0]["max_voltage"] == 123


# -- the EVSE PATCH fast path (nap/store/evse_status.py: one statement on PostgreSQL, one
# -- transaction elsewhere): what it must keep -------------------------------------------


def _set_feed_status(sessions, status: str) -> None:
    with sessions.begin() as session:
        get_feed(session, "demo").status = status


def test_a_suspended_feed_and_a_replaced_token_stop_status_pushes_at_once(pushing, sessions):
    url = f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}"
    for status in ("suspended", "pending"):
        _set_feed_status(sessions, status)
        refused = httpx.patch(url, json={"status": "OUTOFORDER", "last_updated": later(1)}, headers=pushing.headers)
        assert refused.status_code == 403 and refused.json()["status_code"] == 2000
        assert pushing.evse()["status"] != "OUTOFORDER"
    _set_feed_status(sessions, "active")
    assert httpx.patch(url, json={"status": "OUTOFORDER", "last_updated": later(2)},
                       headers=pushing.headers).json()["status_code"] == 1000
    assert pushing.evse()["status"] == "OUTOFORDER"
    with sessions.begin() as session:
        new_token = issue_push_token(session, get_feed(session, "demo"))  # revokes the old one
    revoked = httpx.patch(url, json={"status": "CHARGING", "last_updated": later(3)}, headers=pushing.headers)
    assert revoked.status_code == 401 and revoked.json()["status_code"] == 2000
    assert pushing.evse()["status"] == "OUTOFORDER"
    assert httpx.patch(url, json={"status": "CHARGING", "last_updated": later(4)},
                       headers=auth(new_token)).json()["status_code"] == 1000
    assert pushing.evse()["status"] == "CHARGING"


def test_an_ignored_status_push_is_logged_and_leaves_no_trace(pushing, sessions, caplog):
    url = f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}"
    assert httpx.patch(url, json={"status": "CHARGING", "last_updated": later(10)},
                       headers=pushing.headers).json()["status_code"] == 1000
    before = stored_locations(sessions)[pushing.location_id]
    with sessions() as session:
        history = session.query(EvseStatusChange).count()
    with caplog.at_level("INFO", logger="harvesters.receiver"):
        answer = httpx.patch(url, json={"status": "AVAILABLE", "last_updated": later(5)}, headers=pushing.headers)
    assert answer.status_code == 200 and answer.json()["status_message"] == "ignored: older than the stored object"
    assert any("ignored" in record.getMessage() and pushing.location_id in record.getMessage()
               for record in caplog.records)
    assert stored_locations(sessions)[pushing.location_id] == before
    with sessions() as session:
        assert session.query(EvseStatusChange).count() == history


def test_a_fast_patch_of_other_evse_fields_updates_them_and_the_parent(pushing, sessions):
    from nap.store.tables import Evse as EvseRow
    from nap.store.tables import Location

    etag = httpx.get(f"{pushing.public}/{pushing.location_id}").headers["ETag"]
    status_before = pushing.evse()["status"]
    stamp = later(7)
    # Lower-case country_code/party_id in the URL address the same party.
    url = f"{pushing.nap.url}/ocpi/2.3.0/receiver/locations/de/abc/{pushing.location_id}/{pushing.evse_uid}"
    answer = httpx.patch(url, json={"evse_id": "DE*ABC*E777*1", "floor_level": "-2", "last_updated": stamp},
                         headers=pushing.headers)
    assert answer.status_code == 200 and answer.json()["status_code"] == 1000
    evse = pushing.evse()
    assert (evse["evse_id"], evse["floor_level"], evse["status"], evse["last_updated"]) == (
        "DE*ABC*E777*1", "-2", status_before, stamp)
    assert httpx.get(f"{pushing.public}/{pushing.location_id}").json()["data"]["last_updated"] == stamp
    again = httpx.get(f"{pushing.public}/{pushing.location_id}", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag  # caches see the change
    with sessions() as session:
        row = session.query(EvseRow).filter_by(uid=pushing.evse_uid).join(
            Location, Location.id == EvseRow.location_pk).filter(Location.ocpi_id == pushing.location_id).one()
        assert (row.evse_id, row.status) == ("DE*ABC*E777*1", status_before)
        # No status change, no status history row.
        assert session.query(EvseStatusChange).filter_by(via="push").count() == 0


def test_concurrent_status_pushes_take_turns(pushing, sessions):
    """Pushes racing for one EVSE (and its location) lose nothing: every stored change is
    in the history with the status it really replaced, and the latest push wins."""
    import random
    import threading

    url = f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}"
    base = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=1)
    rng = random.Random(5)
    pushes = [(base + timedelta(milliseconds=17 * n), rng.choice(["AVAILABLE", "CHARGING", "BLOCKED", "RESERVED"]))
              for n in range(48)]
    rng.shuffle(pushes)  # they arrive out of order: older ones must be ignored
    answers: list[str] = []

    def push(mine):
        with httpx.Client(headers=pushing.headers) as client:
            for moment, status in mine:
                body = client.patch(url, json={"status": status, "last_updated": format_datetime(moment)}).json()
                answers.append(body["status_message"] if body["status_code"] == 1000 else f"error {body}")

    threads = [threading.Thread(target=push, args=(pushes[k::6],)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == len(pushes) and all(a in ("stored", "ignored: older than the stored object")
                                               for a in answers), answers
    latest_moment, latest_status = max(pushes)
    evse = pushing.evse()
    assert (evse["status"], evse["last_updated"]) == (latest_status, format_datetime(latest_moment))
    assert httpx.get(f"{pushing.public}/{pushing.location_id}").json()["data"]["last_updated"] == \
        format_datetime(latest_moment)
    with sessions() as session:
        history = session.scalars(select(EvseStatusChange).where(
            EvseStatusChange.via == "push", EvseStatusChange.evse_uid == pushing.evse_uid)
            .order_by(EvseStatusChange.id)).all()
    assert history and history[-1].new_status == latest_status
    for before, after in zip(history, history[1:]):
        assert after.old_status == before.new_status  # each change saw the one before it
        assert after.cpo_time > before.cpo_time  # stored in last_updated order
    assert all(change.old_status != change.new_status for change in history)


def test_a_status_push_is_recorded_whole_in_the_history(pushing, sessions):
    from nap.store.tables import Location

    old_status = pushing.evse()["status"]
    new_status = "OUTOFORDER" if old_status != "OUTOFORDER" else "AVAILABLE"
    pushed = datetime.now(timezone.utc).replace(microsecond=123000) + timedelta(seconds=3)
    before = datetime.now(timezone.utc)
    answer = httpx.patch(f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}",
                         json={"status": new_status, "last_updated": format_datetime(pushed)}, headers=pushing.headers)
    after = datetime.now(timezone.utc)
    assert answer.json()["status_code"] == 1000
    with sessions() as session:
        change = session.scalars(select(EvseStatusChange).where(EvseStatusChange.via == "push")).one()
        location = session.scalars(select(Location).where(Location.ocpi_id == pushing.location_id)).one()
        feed = get_feed(session, "demo")
        assert (change.feed_id, change.location_pk, change.evse_uid, change.old_status, change.new_status,
                change.cpo_time) == (feed.id, location.id, pushing.evse_uid, old_status, new_status, pushed)
        assert before <= change.received_at <= after
        # changed_at moves with the push: ETags and the DATEX II deltas see it.
        assert before <= location.changed_at <= after and location.last_updated == pushed
        # Written by the fast path, which leaves the location's document as it is (the general
        # path, which rewrites the location, stores its content hash instead).
        assert location.content_hash == "pushed"


# -- hostile input: always an OCPI error envelope, never a 500 ------------------------------


BAD_DATES = ["not a date", "99999-01-01T00:00:00Z"]


@pytest.mark.parametrize("stamp", BAD_DATES)
def test_a_bad_date_is_refused_after_authentication(pushing, stamp):
    """Fails without the fix: PostgreSQL's fast path parsed the date before it checked the
    token (500 with any token); the general path failed on 99999-01-01 too."""
    url = f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}"
    patch = {"status": "CHARGING", "last_updated": stamp}
    forged = httpx.patch(url, json=patch, headers=auth("not-a-token"))
    assert forged.status_code == 401 and forged.json()["status_code"] == 2000
    answer = httpx.patch(url, json=patch, headers=pushing.headers)
    assert answer.status_code == 400 and answer.json()["status_code"] == 2001
    location = httpx.get(f"{pushing.base}/{pushing.location_id}", headers=pushing.headers).json()["data"]
    for put_url, body in ((f"{pushing.base}/{pushing.location_id}", {**location, "last_updated": stamp}),
                          (url, {**location["evses"][0], "last_updated": stamp})):
        answer = httpx.put(put_url, json=body, headers=pushing.headers)
        assert answer.status_code == 400 and answer.json()["status_code"] == 2001, answer.text
    tariff = {**pushing.demo.app.config["FLEET"].tariffs[0], "id": "T-BAD", "last_updated": stamp}
    answer = httpx.put(f"{pushing.nap.url}/ocpi/2.3.0/receiver/tariffs/DE/ABC/T-BAD", json=tariff,
                       headers=pushing.headers)
    assert answer.status_code == 400 and answer.json()["status_code"] == 2001, answer.text
    assert pushing.evse()["status"] != "CHARGING"


def test_deeply_nested_json_is_refused(pushing):
    """Fails without the limit: Flask's get_json raised RecursionError (500)."""
    for depth in (100_000, 40):
        body = b"[" * depth + b"]" * depth
        for method, url in (("PATCH", f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}"),
                            ("PUT", f"{pushing.base}/{pushing.location_id}"),
                            ("PUT", f"{pushing.nap.url}/ocpi/2.3.0/receiver/tariffs/DE/ABC/T1")):
            answer = httpx.request(method, url, content=body,
                                   headers={**pushing.headers, "Content-Type": "application/json"})
            assert answer.status_code == 400 and answer.json()["status_code"] == 2001, (depth, method, answer.text)
            assert "deep" in answer.json()["status_message"]


def _raw(pushing, method: str, url: str, body: str):
    return httpx.request(method, url, content=body.encode(),
                         headers={**pushing.headers, "Content-Type": "application/json"})


def test_nul_and_invalid_unicode_are_refused_on_both_databases(pushing, sessions):
    """Fails without the fix: a lone surrogate answered 500; a NUL in an id was stored on
    SQLite and answered 503 after five retries on PostgreSQL."""
    location = httpx.get(f"{pushing.base}/{pushing.location_id}", headers=pushing.headers).json()["data"]
    evse_url = f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}"
    stamp = later(5)
    bodies = [
        ("PATCH", evse_url, '{"status": "CHARGING", "last_updated": "%s", "evse_id": "\\ud800"}' % stamp),
        ("PATCH", evse_url, '{"status": "CHARGING", "last_updated": "%s", "directions": '
                            '[{"language": "en", "text": "a\\u0000b"}]}' % stamp),
        ("PUT", f"{pushing.base}/{pushing.location_id}",
         json.dumps({**location, "name": "x", "last_updated": stamp}).replace('"name": "x"', '"name": "\\udfff"')),
        ("PUT", f"{pushing.base}/NUL", json.dumps({**location, "id": "NUL\u0000", "last_updated": stamp})),
        ("PUT", f"{pushing.base}/{pushing.location_id}", b'{"id": "\xff\xfe"}'.decode("latin-1")),
    ]
    for method, url, body in bodies:
        answer = _raw(pushing, method, url, body)
        assert answer.status_code == 400 and answer.json()["status_code"] == 2001, (body[:80], answer.text)
    # Ids in the URL: %00 and bytes that are no UTF-8.
    for url in (f"{pushing.base}/NUL%00", f"{pushing.base}/{pushing.location_id}/E%00",
                f"{pushing.base}/{pushing.location_id}/%ED%A0%80", f"{pushing.base}/BAD%FF"):
        patch = {"status": "CHARGING", "last_updated": later(6)}
        for method, body in (("PATCH", patch), ("PUT", {**location, "last_updated": later(6)})):
            answer = httpx.request(method, url, json=body, headers=pushing.headers)
            assert answer.status_code == 400 and answer.json()["status_code"] == 2001, (url, method, answer.text)
    for url in (f"{pushing.base}/NUL%00", f"{pushing.nap.url}/ocpi/2.3.0/receiver/tariffs/DE/ABC/T%00"):
        for method in ("GET", "DELETE") if "tariffs" in url else ("GET",):
            answer = httpx.request(method, url, headers=pushing.headers)
            assert answer.status_code == 400 and answer.json()["status_code"] == 2001, (url, method, answer.text)
    answer = httpx.put(f"{pushing.nap.url}/ocpi/2.3.0/receiver/tariffs/DE/ABC/T%00",
                       json={**pushing.demo.app.config["FLEET"].tariffs[0], "last_updated": later()},
                       headers=pushing.headers)
    assert answer.status_code == 400 and answer.json()["status_code"] == 2001, answer.text
    assert set(stored_locations(sessions)) == {loc["id"] for loc in pushing.demo.app.config["FLEET"].locations}
    assert pushing.evse()["status"] != "CHARGING"


def test_a_status_patch_during_a_database_outage_answers_503_and_the_first_one_after_it_is_stored(
        database_url, pushing, settings, live_server):
    """Fails without the fix: PostgreSQL's one-statement fast path answered 500. Its pool
    pings no connection before use: without dropping the pool's idle connections when one
    is found dead, the first PATCH after a restart met a dead one at each of its five
    attempts and answered 503 (checked by taking engine.dispose() out)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("an embedded SQLite database cannot be down")
    url = make_url(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    proxy = TcpProxy(url.host, url.port or 5432).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    nap = live_server(create_app(replace(settings, database_url=proxied)))
    evse_url = f"{nap.url}/ocpi/2.3.0/receiver/locations/DE/ABC/{pushing.location_id}/{pushing.evse_uid}"
    stamps = iter(range(1, 100))

    def patch(status: str, stamped: bool = True) -> httpx.Response:
        body = {"status": status, **({"last_updated": later(next(stamps))} if stamped else {})}
        return httpx.patch(evse_url, json=body, headers=pushing.headers, timeout=30)

    def fill_the_pool() -> None:
        # Concurrent PATCHes leave the pool as many connections as it keeps (five).
        with ThreadPoolExecutor(8) as pool:
            assert [answer.status_code for answer in pool.map(lambda _: patch("CHARGING"), range(8))] == [200] * 8

    fill_the_pool()
    proxy.cut()
    try:
        for stamped in (True, False):
            down = patch("BLOCKED", stamped)
            assert down.status_code == 503 and down.json()["status_code"] == 3000, down.text
        proxy.start()
        assert patch("AVAILABLE").status_code == 200
        fill_the_pool()
        proxy.cut()  # a restart between two PATCHes: every connection the pool kept is dead
        proxy.start()
        answer = patch("BLOCKED")
        assert answer.status_code == 200 and answer.json()["status_message"] == "stored", answer.text
        assert pushing.evse()["status"] == "BLOCKED"
    finally:
        proxy.cut()


def test_a_body_beyond_the_limit_is_refused_with_an_ocpi_envelope(pushing, settings, live_server, sessions):
    """Fails without the limit: a 30 MB location name was stored and published."""
    assert 0 < settings.max_request_bytes <= 10 * 1024 * 1024  # on by default
    location = httpx.get(f"{pushing.base}/{pushing.location_id}", headers=pushing.headers).json()["data"]
    huge = {**location, "name": "N" * (30 * 1024 * 1024), "last_updated": later(5)}
    answer = httpx.put(f"{pushing.base}/{pushing.location_id}", json=huge, headers=pushing.headers, timeout=60)
    assert answer.status_code == 413 and answer.json()["status_code"] == 2001, answer.text[:300]
    assert stored_locations(sessions)[pushing.location_id]["name"] == location["name"]

    nap = live_server(create_app(replace(settings, max_request_bytes=64 * 1024)))
    base = f"{nap.url}/ocpi/2.3.0/receiver"
    big = "x" * (100 * 1024)
    pushes = [("PUT", f"{base}/locations/DE/ABC/{pushing.location_id}", {**location, "name": big}),
              ("PATCH", f"{base}/locations/DE/ABC/{pushing.location_id}/{pushing.evse_uid}",
               {"status": "CHARGING", "last_updated": later(6), "floor_level": big}),
              ("PUT", f"{base}/tariffs/DE/ABC/T-BIG", {"id": "T-BIG", "x": big})]
    for method, url, body in pushes:
        answer = httpx.request(method, url, json=body, headers=pushing.headers)
        assert answer.status_code == 413 and answer.json()["status_code"] == 2001, (method, url, answer.text[:300])
        assert "NAP_MAX_REQUEST_BYTES" in answer.json()["status_message"]
        forged = httpx.request(method, url, json=body, headers=auth("not-a-token"))
        assert forged.status_code == 401  # the token is checked first
    small = {"status": "CHARGING", "last_updated": later(7)}
    assert httpx.patch(f"{base}/locations/DE/ABC/{pushing.location_id}/{pushing.evse_uid}", json=small,
                       headers=pushing.headers).status_code == 200


def test_a_text_beyond_nap_limit_is_refused_and_one_beyond_ocpi_length_kept(pushing, sessions):
    """Fails without the limit: a 100 kB name (well within NAP_MAX_REQUEST_BYTES) was stored
    and published. A value NAP leaves out is refused in a push (2001); one only longer than
    OCPI's length is stored, with a warning."""
    location = httpx.get(f"{pushing.base}/{pushing.location_id}", headers=pushing.headers).json()["data"]
    url = f"{pushing.base}/{pushing.location_id}"
    answer = httpx.put(url, json={**location, "name": "N" * 100_000, "last_updated": later(5)}, headers=pushing.headers)
    message = answer.json()["status_message"]
    assert answer.status_code == 400 and answer.json()["status_code"] == 2001, message[:300]
    assert message.startswith("invalid object: name: left out") and "NAP_MAX_TEXT_LENGTH" in message, message[:300]
    assert len(message) < 1000
    assert stored_locations(sessions)[pushing.location_id]["name"] == location["name"]

    uid = "U" * 40
    evse = {**location["evses"][0], "uid": uid, "last_updated": later(6)}
    answer = httpx.put(f"{url}/{uid}", json=evse, headers=pushing.headers)
    assert answer.status_code == 400 and answer.json()["status_code"] == 2001, answer.text[:300]
    assert "CiString(36)" in answer.json()["status_message"]
    assert uid not in [e["uid"] for e in stored_locations(sessions)[pushing.location_id]["evses"]]

    address = "Rua Helios Seelinger, 155 - Barra da Tijuca, Rio de Janeiro - RJ"
    answer = httpx.put(url, json={**location, "address": address, "last_updated": later(7)}, headers=pushing.headers)
    assert answer.status_code == 200 and answer.json()["status_code"] == 1000, answer.text[:300]
    assert stored_locations(sessions)[pushing.location_id]["address"] == address
    with sessions() as session:
        found = session.scalars(select(Finding).where(Finding.run_id.is_(None)).order_by(Finding.id)).all()
    refusals = [f.reason for f in found if f.object_type == "push"]
    assert len(refusals) == 2 and "NAP_MAX_TEXT_LENGTH" in refusals[0] and "CiString(36)" in refusals[1], refusals
    assert [f.reason for f in found if f.field == "address"] == ["push: 64 characters, longer than OCPI's string(45); kept"]


def test_a_last_updated_in_the_future_is_refused_with_a_finding(pushing, sessions):
    """A push dated 9999-12-31 would make every later, honest push 'older' and ignored."""
    future = "9999-12-31T00:00:00Z"
    location = httpx.get(f"{pushing.base}/{pushing.location_id}", headers=pushing.headers).json()["data"]
    evse = location["evses"][0]
    connector = evse["connectors"][0]
    evse_url = f"{pushing.base}/{pushing.location_id}/{pushing.evse_uid}"
    connector_url = f"{evse_url}/{connector['id']}"
    pushes = [("PUT", f"{pushing.base}/{pushing.location_id}", {**location, "last_updated": future}),
              ("PATCH", f"{pushing.base}/{pushing.location_id}", {"name": "Future", "last_updated": future}),
              ("PUT", evse_url, {**evse, "last_updated": future}),
              ("PATCH", evse_url, {"status": "CHARGING", "last_updated": future}),
              ("PUT", connector_url, {**connector, "last_updated": future}),
              ("PATCH", connector_url, {"max_voltage": 231, "last_updated": future}),
              ("PUT", f"{pushing.nap.url}/ocpi/2.3.0/receiver/tariffs/DE/ABC/T-FUTURE",
               {**pushing.demo.app.config["FLEET"].tariffs[0], "id": "T-FUTURE", "last_updated": future})]
    before = stored_locations(sessions)[pushing.location_id]
    for method, url, body in pushes:
        with sessions() as session:
            findings_before = session.query(Finding).count()
        answer = httpx.request(method, url, json=body, headers=pushing.headers)
        assert answer.status_code == 400 and answer.json()["status_code"] == 2001, (method, url, answer.text)
        assert "future" in answer.json()["status_message"], answer.text
        with sessions() as session:
            assert session.query(Finding).count() > findings_before, (method, url)
    assert stored_locations(sessions)[pushing.location_id] == before
    honest = httpx.patch(evse_url, json={"status": "BLOCKED", "last_updated": later(5)}, headers=pushing.headers)
    assert honest.status_code == 200 and honest.json()["status_message"] == "stored"
    assert pushing.evse()["status"] == "BLOCKED"


def _twin(identifier: str) -> str:
    """The same CiString in another case."""
    twin = identifier.swapcase()
    assert twin != identifier
    return twin


def test_a_push_to_a_case_twin_updates_the_one_object(pushing, sessions):
    # OCPI ids are CiStrings: l1 and L1 name one location, EVSE, connector and tariff.
    twin_id = _twin(pushing.location_id)
    location = {**stored_locations(sessions)[pushing.location_id], "id": twin_id, "name": "Twin name",
                "last_updated": later(5)}
    answer = httpx.put(f"{pushing.base}/{twin_id}", json=location, headers=pushing.headers)
    assert answer.json()["status_code"] == 1000
    with sessions() as session:
        rows = session.execute(select(Location.ocpi_id, Location.removed_at).where(
            Location.id_key == id_key(pushing.location_id))).all()
    assert rows == [(twin_id, None)]  # one object, as the CPO spelled it last
    assert len(stored_locations(sessions)) == 8
    for spelling in (pushing.location_id, twin_id):
        published = httpx.get(f"{pushing.public}/{spelling}").json()["data"]
        assert (published["id"], published["name"]) == (twin_id, "Twin name")

    # An EVSE named in the other case: the general path finds it (status and an EVSE PUT).
    twin_uid = _twin(pushing.evse_uid)
    patched = httpx.patch(f"{pushing.base}/{pushing.location_id}/{twin_uid}",
                          json={"status": "OUTOFORDER", "last_updated": later(10)}, headers=pushing.headers)
    assert patched.json()["status_code"] == 1000
    evses = httpx.get(f"{pushing.public}/{twin_id}").json()["data"]["evses"]
    assert [e["status"] for e in evses if id_key(e["uid"]) == id_key(pushing.evse_uid)] == ["OUTOFORDER"]
    connector_id = evses[0]["connectors"][0]["id"]
    evse = {**evses[0], "uid": twin_uid, "last_updated": later(15)}
    assert httpx.put(f"{pushing.base}/{twin_id}/{twin_uid}", json=evse,
                     headers=pushing.headers).json()["status_code"] == 1000
    evses = httpx.get(f"{pushing.public}/{twin_id}").json()["data"]["evses"]
    assert len([e for e in evses if id_key(e["uid"]) == id_key(pushing.evse_uid)]) == 1
    assert httpx.get(f"{pushing.public}/{twin_id}/{pushing.evse_uid}/{connector_id}").status_code == 200

    tariff = {**pushing.demo.app.config["FLEET"].tariffs[0], "id": "Pushed-T", "last_updated": later()}
    url = f"{pushing.nap.url}/ocpi/2.3.0/receiver/tariffs/DE/ABC"
    assert httpx.put(f"{url}/Pushed-T", json=tariff, headers=pushing.headers).json()["status_code"] == 1000
    twin_tariff = {**tariff, "id": "PUSHED-t", "last_updated": later(5)}
    assert httpx.put(f"{url}/PUSHED-t", json=twin_tariff, headers=pushing.headers).json()["status_code"] == 1000
    with sessions() as session:
        assert session.scalars(select(Tariff.ocpi_id).where(Tariff.id_key == "pushed-t")).all() == ["PUSHED-t"]
    assert httpx.get(f"{pushing.nap.url}/ocpi/2.3.0/tariffs/de/abc/pushed-T").json()["data"]["id"] == "PUSHED-t"
    assert httpx.delete(f"{url}/pushed-t", headers=pushing.headers).json()["status_code"] == 1000
