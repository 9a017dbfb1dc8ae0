"""A harvested CPO that pushes EVSE statuses to NAP's OCPI receiver over HTTP."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import httpx

from nap.feeds import get_feed, issue_push_token
from nap.ocpi.values import format_datetime
from tests.harvest_helpers import register_and_harvest


class Cpo:
    """The harvested demo CPO DE/ABC, pushing EVSE statuses to NAP's receiver over HTTP."""

    def __init__(self, nap_url: str, token: str, location: dict):
        self.base = f"{nap_url}/ocpi/2.3.0/receiver/locations/DE/ABC"
        self.headers = {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}
        self.location_id = location["id"]
        self.evse_uids = [evse["uid"] for evse in location["evses"]]
        self.pushed = 0

    def push_status(self, evse_uid: str, status: str) -> None:
        # Each push a second later by the CPO's clock: NAP ignores an update older than the stored one.
        self.pushed += 1
        stamp = format_datetime(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=self.pushed))
        answer = httpx.patch(f"{self.base}/{self.location_id}/{evse_uid}", headers=self.headers,
                             json={"status": status, "last_updated": stamp})
        assert answer.status_code == 200 and answer.json()["status_code"] == 1000, answer.text

    def point_id(self, statuses: dict[str, str], evse_uid: str) -> str:
        matches = [point for point in statuses if point.endswith(f"#evse:{evse_uid}") and self.location_id in point]
        assert len(matches) == 1, (evse_uid, sorted(statuses))
        return matches[0]


def harvested_cpo(demo, nap_url: str, sessions, settings) -> Cpo:
    """The demo CPO `demo` registered as DE/ABC and harvested, with a push token, pushing
    to one of its locations with two EVSEs or more."""
    assert register_and_harvest(sessions, settings, demo, country_code="DE", party_id="ABC").status == "success"
    with sessions.begin() as session:
        token = issue_push_token(session, get_feed(session, "demo"))
    location = next(loc for loc in demo.app.config["FLEET"].locations if len(loc["evses"]) >= 2)
    return Cpo(nap_url, token, location)
