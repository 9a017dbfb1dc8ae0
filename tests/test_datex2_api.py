"""The DATEX II endpoints over real HTTP: both profiles valid against the XSD, status
deltas holding exactly the EVSEs that changed, conditional GETs, gzip, nothing to say."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import httpx
from lxml import etree

from exporters.datex2.validate import validate
from nap.demo_cpo.server import touch_location
from nap.ocpi.values import format_datetime
from tests.harvest_helpers import harvest, register_and_harvest

BASE = "/datex2/v3.7/energy-infrastructure"


def refill_point_statuses(content: bytes) -> dict[str, str]:
    document = etree.fromstring(content)
    return {
        s.xpath("string(*[local-name()='reference']/@id)"): s.xpath("string(*[local-name()='status'])")
        for s in document.xpath("//*[local-name()='refillPointStatus']")
    }


def test_status_snapshot_and_delta_in_both_profiles(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=15)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    time.sleep(0.01)
    since = format_datetime(datetime.now(timezone.utc))
    time.sleep(0.01)
    changed = [touch_location(cpo.app, i, datetime.now(timezone.utc)) for i in (2, 9)]
    assert harvest(sessions, settings).status == "success"
    for profile in ("generic", "afir"):
        snapshot = httpx.get(f"{nap_server.url}{BASE}/status", params={"profile": profile})
        assert snapshot.status_code == 200 and validate(snapshot.content) == []
        total_evses = sum(len(loc["evses"]) for loc in cpo.app.config["FLEET"].locations)
        assert len(refill_point_statuses(snapshot.content)) == total_evses

        delta = httpx.get(f"{nap_server.url}{BASE}/status", params={"profile": profile, "since": since})
        assert delta.status_code == 200 and validate(delta.content) == []
        statuses = refill_point_statuses(delta.content)
        expected = {f"DE*ABC*{loc['id']}#evse:{loc['evses'][0]['uid']}" for loc in changed}
        assert set(statuses) == expected
    later = format_datetime(datetime.now(timezone.utc))
    nothing = httpx.get(f"{nap_server.url}{BASE}/status", params={"since": later})
    assert nothing.status_code == 204


def test_conditional_gets_and_gzip(demo_cpo, nap_server, sessions, settings):
    cpo = demo_cpo(locations=5)
    assert register_and_harvest(sessions, settings, cpo).status == "success"
    url = f"{nap_server.url}{BASE}/table"
    time.sleep(1.1)  # Last-Modified is sent once the second of the last change has passed
    first = httpx.get(url, headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip"
    assert validate(first.content) == []  # httpx inflated it
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert httpx.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    touch_location(cpo.app, 0, datetime.now(timezone.utc))
    assert harvest(sessions, settings).status == "success"
    changed = httpx.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_an_empty_store_answers_no_content(nap_server):
    for kind in ("table", "status"):
        response = httpx.get(f"{nap_server.url}{BASE}/{kind}")
        assert response.status_code == 204
    assert httpx.get(f"{nap_server.url}{BASE}/table", params={"profile": "nope"}).status_code == 400
