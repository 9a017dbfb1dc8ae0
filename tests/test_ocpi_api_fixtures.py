"""Shared fixture of the publication API tests (this module has no tests of its own).

Harvesting takes a while, and most API tests only read. So for each database (SQLite and
PostgreSQL) one demo CPO is harvested once per test session, with a fleet bent to cover
what the API must handle: CPO input that needed normalizing (EVSE.parking as plain ids,
numeric coordinates), publish=false locations, REMOVED EVSEs old and new, 2.3.0-only and
extension enum values, an MCS-only EVSE. Tests that change data use conftest's fresh
per-test databases instead.
"""
from __future__ import annotations

import base64
import copy
import re
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select, update
from werkzeug.serving import WSGIRequestHandler, make_server

from exporters.consumers import add_consumer
from nap.config import Settings
from demo_cpo.fleet import generate_fleet
from demo_cpo.server import DemoOptions, create_app as create_demo_app
from nap.store.db import get_engine, session_factory
from nap.store.migrate import upgrade
from nap.store.tables import Evse, Location
from tests.conftest import postgres_database
from tests.harvest_helpers import register_and_harvest, stored_locations, stored_tariffs

LOCATIONS = 40
MAX_LIMIT = 25  # the server maximum page size of the shared NAP (X-Limit)
CC, PARTY = "DE", "ABC"

# Fleet indices and what was done to them.
PARKING_AS_IDS = 0  # EVSE.parking given as plain parking ids, coordinates as numbers
PRIVATE_SHARED = 1  # publish=false, publish_allowed_to lists RFID-0001 (RFID) and group FLEET-7
PRIVATE_NOBODY = 2  # publish=false, nobody listed
OLD_REMOVED = 3  # EVSE 0 REMOVED three days ago
NEW_REMOVED = 4  # EVSE 0 REMOVED just now
EXTENSIONS = 5  # 2.3.0-only and extension enum values
MCS_ONLY = 6  # EVSE 0 has only an MCS connector
J3400 = 7  # EVSE 0 connector 0 is SAE_J3400
ALL_REMOVED = 8  # every EVSE REMOVED (just now)


def location_id(index: int) -> str:
    return f"LOC{index + 1:06d}"


def token_header(token: str) -> dict:
    """As an OCPI 2.2+ client sends it: Base64 of the token."""
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class Server:
    """A WSGI app on a loopback port, stopped quickly (short poll interval)."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def bend_fleet(fleet) -> None:
    """Give the generated (valid, plain) fleet the cases the API tests need."""
    locations = fleet.locations
    loc = locations[PARKING_AS_IDS]
    loc["evses"][0]["parking"] = [ref["parking_id"] for ref in loc["evses"][0]["parking"]]
    loc["coordinates"] = {"latitude": float(loc["coordinates"]["latitude"]),
                          "longitude": float(loc["coordinates"]["longitude"])}

    locations[PRIVATE_SHARED]["publish"] = False
    locations[PRIVATE_SHARED]["publish_allowed_to"] = [{"uid": "RFID-0001", "type": "RFID"}, {"group_id": "FLEET-7"}]
    locations[PRIVATE_NOBODY]["publish"] = False

    for index in (OLD_REMOVED, NEW_REMOVED):
        locations[index]["evses"][0]["status"] = "REMOVED"
    for evse in locations[ALL_REMOVED]["evses"]:
        evse["status"] = "REMOVED"

    loc = locations[EXTENSIONS]
    evse = loc["evses"][0]
    evse["parking_restrictions"] = ["EV_ONLY", "TAXIS", "EMPLOYEES"]  # TAXIS, EMPLOYEES: 2.3.0 only
    evse["capabilities"] = evse.get("capabilities", []) + ["SOLAR_CANOPY"]  # an OpenEnum extension
    loc["facilities"] = ["CAFE", "EV_LOUNGE"]
    loc["images"] = [{"url": "https://img.example/a.jpg", "category": "LOCATION", "type": "jpeg"},
                     {"url": "https://img.example/b.jpg", "category": "AERIAL", "type": "jpeg"}]
    loc["energy_mix"] = {"is_green_energy": True, "environ_impact": [
        {"category": "CARBON_DIOXIDE", "amount": 0.0}, {"category": "WATER_USE", "amount": 2.5}]}
    plug = copy.deepcopy(evse["connectors"][0])
    plug.update(id="99", standard="HYPERPLUG_X")
    evse["connectors"].append(plug)

    mcs = copy.deepcopy(locations[MCS_ONLY]["evses"][0]["connectors"][0])
    mcs.update(id="1", standard="MCS", format="CABLE", power_type="DC", max_voltage=1250, max_amperage=1000,
               max_electric_power=1_000_000)
    locations[MCS_ONLY]["evses"][0]["connectors"] = [mcs]

    locations[J3400]["evses"][0]["connectors"][0]["standard"] = "SAE_J3400"


@dataclass
class Published:
    """The shared, read-only data set and the servers around it."""

    database_url: str
    settings: Settings
    sessions: object
    nap: Server
    cpo: Server
    consumer_token: str  # holds RFID-0001 (written in lower case: uid is a CiString)
    stranger_token: str  # holds tokens no location lists
    locations: dict[str, dict] = field(default_factory=dict)  # stored, normalized documents by id
    tariffs: dict[str, dict] = field(default_factory=dict)
    raw_locations: dict[str, dict] = field(default_factory=dict)  # as the CPO served them
    _extra: list = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.nap.url}{path}"

    def nap_with(self, **overrides) -> Server:
        """Another NAP process on the same database, with other settings."""
        from nap.app import create_app

        server = Server(create_app(Settings(**{**self.settings.__dict__, **overrides})))
        self._extra.append(server)
        return server


def fetch_all(url: str, headers: dict | None = None, params: dict | None = None) -> tuple[list, list]:
    """Walk a paginated OCPI list by its Link headers: (objects, responses)."""
    objects, responses = [], []
    with httpx.Client(timeout=10) as client:
        while url:
            response = client.get(url, headers=headers, params=params)
            assert response.status_code == 200, response.text
            assert response.json()["status_code"] == 1000
            objects += response.json()["data"]
            responses.append(response)
            link = response.headers.get("Link")
            url, params = (re.match(r'^<([^>]+)>; rel="next"$', link).group(1), None) if link else (None, None)
            assert len(responses) < 100
    return objects, responses


def _raw_from_cpo(cpo: Server, token: str) -> dict[str, dict]:
    objects, _ = fetch_all(f"{cpo.url}/ocpi/2.3.0/locations", token_header(token), {"limit": 100})
    return {obj["id"]: obj for obj in objects}


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def published(request, tmp_path_factory):
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('published') / 'nap.sqlite3'}"
            upgrade(url)
            stack.callback(lambda: get_engine(url).dispose())
        else:
            url = stack.enter_context(postgres_database())
        settings = Settings(database_url=url, harvest_page_limit=50, api_max_limit=MAX_LIMIT,
                            api_rate_limit_per_minute=0, api_consumer_rate_limit_per_minute=0,
                            outbound_allow=("127.0.0.0/8",))
        sessions = session_factory(url)

        fleet = generate_fleet(locations=LOCATIONS, seed=7, country_code=CC, party_id=PARTY)
        bend_fleet(fleet)
        options = DemoOptions(seed=7)
        cpo = Server(create_demo_app(fleet, options))
        stack.callback(cpo.stop)
        cpo.token = options.token
        cpo.versions_url = f"{cpo.url}/ocpi/versions"
        run = register_and_harvest(sessions, settings, cpo)
        assert run.status == "success", run.error

        now = datetime.now(timezone.utc)
        with sessions.begin() as session:
            old = session.scalar(select(Location.id).where(Location.ocpi_id == location_id(OLD_REMOVED)))
            # Time passing: this removal happened three days ago.
            session.execute(update(Evse).where(Evse.location_pk == old, Evse.status == "REMOVED")
                            .values(status_changed_at=now - timedelta(hours=72)))
            _, consumer_token = add_consumer(session, "navigator", 100_000, [{"uid": "rfid-0001", "type": "RFID"}])
            _, stranger_token = add_consumer(session, "stranger", None, [
                {"uid": "RFID-0001", "type": "APP_USER"}, {"group_id": "FLEET-8"}])

        from nap.app import create_app

        nap = Server(create_app(settings))
        stack.callback(nap.stop)
        data = Published(url, settings, sessions, nap, cpo, consumer_token, stranger_token,
                         stored_locations(sessions), stored_tariffs(sessions), _raw_from_cpo(cpo, options.token))
        stack.callback(lambda: [server.stop() for server in data._extra])
        yield data
