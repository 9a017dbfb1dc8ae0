"""The demo CPO: a small but real OCPI Sender (CPO) server for tests, benchmarks and the demo.

It speaks exactly one OCPI version (DemoOptions.ocpi_version) and serves a Fleet generated in 2.3.0 shape,
converted on the fly by ``versions.to_version``. Modules: versions, credentials, locations, tariffs (SENDER).
``DemoOptions.version_details`` serves a given version-details document instead (a spec example, a
third-party server's), its URLs on the demo's host and its paths served by the demo's modules.

State that tests read or change lives in ``app.config``:
  FLEET               the Fleet being served; mutate it (or use ``touch_location``) to simulate changes
  OPTIONS             the DemoOptions
  REQUEST_LOG         one dict per request: {method, path, query (dict), status}
  REVOKED             set True to answer every request with 401
  BROKEN_IDS          ids of the locations served deliberately invalid; BROKEN_FLAWS maps id -> flaw name
  CLIENT_CREDENTIALS  the credentials object the client POSTed/PUT (None before registration)
  TOKEN_C             the token issued by the credentials handshake (None before registration)

Authentication: before any credentials handshake the configured ``token`` is accepted everywhere (static
token use, as many NAP connections are set up). A POST to credentials with that token (TOKEN_A) issues a
TOKEN_C; from then on only TOKEN_C is accepted. DELETE unregisters and returns to the initial state.
From 2.2 on the header carries the Base64 of the token, in 2.1.1 the token itself; on the version-specific
URLs the server insists on the right form. ``/ocpi/versions`` accepts both, because a client cannot know
the version before it has read that endpoint.

Pagination (transport_and_format, "Pagination"): offset, limit (capped at page_limit), date_from
(inclusive), date_to (exclusive); headers X-Total-Count (count after the date filters), X-Limit (the
limit applied to this request) and a Link rel="next" with every filter of the request when more remain.
Objects are ordered by their position in the fleet (creation order, oldest first, as the spec advises).
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import urlencode, urlsplit

import httpx
from flask import Flask, Response, request

from .fleet import FLEET_END, Fleet, make_location, ocpi_timestamp, restamp, touch_evse_status
from nap.ocpi.downgrade import to_version
from nap.ocpi.versions import CONVERTIBLE

MODULES = ("credentials", "locations", "tariffs")
ROLES_221 = {"CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP"}
ROLES_230 = {"CPO", "EMSP", "NAP", "NSP", "OTHER", "SCSP"}  # 2.3.0 dropped HUB (hubs now use hub_party_id)
_MISSING = object()
# transport_and_format, "Unique message IDs" (OCPI 2.2 and later).
REQUEST_ID_HEADERS = ("X-Request-ID", "X-Correlation-ID")


def _party_header(headers, direction: str) -> str | None:
    country, party = (headers.get(f"OCPI-{direction}-country-code"), headers.get(f"OCPI-{direction}-party-id"))
    return f"{country}/{party}" if country or party else None


def _fails(request_number: int, rate: float, seed: int) -> bool:
    """Whether list request `request_number` (from 1) is answered 503: `rate` of them, spread
    evenly, so that a few requests see the rate too (drawn at random, a quarter of four
    requests was none at all a third of the time, and a flaky CPO's runs could go clean)."""
    if rate <= 0:
        return False
    phase = random.Random(f"{seed}/fail").random() / rate
    return math.floor((request_number + phase) * rate) > math.floor((request_number - 1 + phase) * rate)


@dataclass
class DemoOptions:
    ocpi_version: str = "2.3.0"  # "2.3.0" | "2.2.1" | "2.1.1"
    token: str = "demo-token"  # the token the NAP must present (TOKEN_A in handshake mode, or a static token)
    page_limit: int = 100  # server maximum page size (X-Limit)
    # Fraction of list requests answered HTTP 503, spread evenly (_fails): a CPO failing a
    # quarter of its requests fails one in every four, from a phase the seed picks.
    fail_rate: float = 0.0
    slow_ms: int = 0  # delay per list request
    broken_objects: int = 0  # number of locations served deliberately invalid, deterministic
    grow_while_paging: int = 0  # after the first page is served, this many new locations appear
    seed: int = 1
    # Spec: on credentials POST/PUT the server must fetch the client's versions with TOKEN_B. Off by default
    # because tests often register with a URL nobody serves.
    verify_client_versions: bool = False
    # Serve the fleet's objects exactly as given, in whatever version is configured: for
    # replaying real operators' feeds and spec examples, quirks included.
    verbatim: bool = False
    # A version-details document to serve instead of the generated one (the spec's
    # version_details_example*.json, a third-party server's): each endpoint's URL keeps its
    # path and query on the demo's own scheme and host, and every path of a module the demo
    # has (credentials, locations, tariffs) is served by that module, whatever its role.
    version_details: dict | None = None
    # Link rel="next" as a relative reference (path and query only), as some servers send it.
    relative_links: bool = False
    # Link rel="next" on this origin ("http://backend:8080") instead of the request's, as a
    # server behind a proxy that does not pass its public address on writes it.
    link_origin: str | None = None
    # Serve as a roaming hub (OCPI 2.3.0 credentials: `hub_party_id`, the hub's own
    # country code and party id as one five-character string, and a CPO role for every
    # party the fleet holds; fleet.generate_hub_fleet makes such a fleet).
    hub_party_id: str | None = None
    # Refuse a request without X-Request-ID and X-Correlation-ID (HTTP 400, OCPI 2001), as
    # some CPOs do: OCPI 2.2 and later say every request SHALL carry both.
    require_request_ids: bool = False
    # Take the token only as it is, never Base64-encoded, on every endpoint and in every
    # version: "many OCPI 2.1.1 and 2.2 implementations do not Base64 encode" it
    # (transport_and_format).
    plain_token: bool = False


def create_app(fleet: Fleet, options: DemoOptions) -> Flask:
    if options.ocpi_version not in CONVERTIBLE:
        raise ValueError(f"ocpi_version must be one of {CONVERTIBLE}, not {options.ocpi_version!r}")
    if options.page_limit < 1:
        raise ValueError("page_limit must be at least 1")

    app = Flask(__name__)
    app.url_map.strict_slashes = False  # '/locations/' as in the 2.2.1 examples works as well
    broken_flaws = _choose_broken(fleet, options)
    app.config.update(
        FLEET=fleet,
        OPTIONS=options,
        REQUEST_LOG=[],
        REVOKED=False,
        BROKEN_IDS=list(broken_flaws),
        BROKEN_FLAWS=broken_flaws,
        CLIENT_CREDENTIALS=None,
        CLIENT_VERSIONS=None,
        TOKEN_C=None,
        GROWN=False,
    )
    cpo = _CpoServer(app, options)
    app.extensions["demo_cpo"] = cpo
    cpo.register_routes()
    return app


def touch_location(app: Flask, index: int, when: datetime | str) -> dict:
    """Change something visible (an EVSE status) in location ``index`` and bump its last_updated."""
    cpo: _CpoServer = app.extensions["demo_cpo"]
    with cpo.lock:
        return touch_evse_status(app.config["FLEET"].locations[index], when)


# ---------------------------------------------------------------------------------------------------------
# Deliberately broken locations: realistic flaws a validator must catch, in any version's shape.


def _flaw_latitude_not_a_number(loc, version):
    loc["coordinates"]["latitude"] = "abc"


def _flaw_latitude_out_of_range(loc, version):
    loc["coordinates"]["latitude"] = "123.456789"  # 3 integer digits: fails the regex and the range


def _flaw_longitude_decimal_comma(loc, version):
    loc["coordinates"]["longitude"] = loc["coordinates"]["longitude"].replace(".", ",")  # locale bug


def _flaw_coordinates_missing(loc, version):
    del loc["coordinates"]


def _flaw_address_missing(loc, version):
    del loc["address"]


def _flaw_country_alpha2(loc, version):
    loc["country"] = "DE"  # ISO 3166-1 alpha-2 where alpha-3 is required


def _flaw_last_updated_missing(loc, version):
    del loc["last_updated"]


def _flaw_evse_uid_missing(loc, version):
    del loc["evses"][0]["uid"]


def _flaw_evse_id_malformed(loc, version):
    evse = loc["evses"][0]
    evse["evse_id"] = evse["evse_id"].replace("*E", "*", 1)  # the 'E' marker of an EVSE ID is missing


def _flaw_evse_status_unknown(loc, version):
    loc["evses"][0]["status"] = "FAULTED"  # an OCPP status leaked into OCPI (Status is a closed enum)


def _flaw_evse_without_connectors(loc, version):
    loc["evses"][0]["connectors"] = []  # cardinality + (at least one)


def _flaw_power_type_unknown(loc, version):
    loc["evses"][0]["connectors"][0]["power_type"] = "AC"  # PowerType is a closed enum in every version


def _flaw_voltage_as_text(loc, version):
    connector = loc["evses"][0]["connectors"][0]
    key = "voltage" if version == "2.1.1" else "max_voltage"
    connector[key] = str(connector[key])  # int required


FLAWS = {f.__name__.removeprefix("_flaw_"): f for f in (
    _flaw_latitude_not_a_number, _flaw_evse_uid_missing, _flaw_power_type_unknown, _flaw_coordinates_missing,
    _flaw_latitude_out_of_range, _flaw_evse_id_malformed, _flaw_evse_status_unknown, _flaw_country_alpha2,
    _flaw_longitude_decimal_comma, _flaw_voltage_as_text, _flaw_evse_without_connectors, _flaw_address_missing,
    _flaw_last_updated_missing,
)}


def _choose_broken(fleet: Fleet, options: DemoOptions) -> dict[str, str]:
    """Deterministically pick which locations are served broken and how: {location id: flaw name}."""
    count = min(max(options.broken_objects, 0), len(fleet.locations))
    indices = sorted(random.Random(f"{options.seed}/broken").sample(range(len(fleet.locations)), count))
    names = list(FLAWS)
    return {fleet.locations[i]["id"]: names[n % len(names)] for n, i in enumerate(indices)}


# ---------------------------------------------------------------------------------------------------------
# Time and query parsing

# types.asciidoc DateTime: RFC 3339 in UTC, 'Z' optional, fractional seconds allowed; '+00:00' is not allowed.
_DATETIME = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?Z?$")


@lru_cache(maxsize=200_000)
def _epoch(value: str) -> float | None:
    """Seconds since 1970 for an OCPI DateTime, None if it is not one. Cached: the same few thousand
    timestamps are compared on every list request."""
    match = _DATETIME.match(value) if isinstance(value, str) else None
    if not match:
        return None
    try:
        moment = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return moment.timestamp() + float(match.group(2) or 0)


class _BadRequest(Exception):
    pass


def _int_param(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise _BadRequest(f"{name} must be a non-negative integer, got {raw!r}")
    return int(raw)


def _date_param(name: str) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    moment = _epoch(raw)
    if moment is None:
        raise _BadRequest(f"{name} must be an OCPI DateTime like 2024-01-31T12:00:00Z, got {raw!r}")
    return moment


# ---------------------------------------------------------------------------------------------------------


class _CpoServer:
    def __init__(self, app: Flask, options: DemoOptions):
        self.app = app
        self.options = options
        self.version = options.ocpi_version
        self.lock = threading.RLock()
        self.list_requests = 0
        self.tokens_issued = 0
        self._location_index: dict[str, int] = {}
        fleet: Fleet = app.config["FLEET"]
        owner = (fleet.tariffs or fleet.locations or [{}])[0]
        self.country_code = owner.get("country_code", "DE")
        self.party_id = owner.get("party_id", "ABC")

    # --- plumbing -------------------------------------------------------------------------------------

    @property
    def config(self):
        return self.app.config

    def register_routes(self) -> None:
        app = self.app
        app.before_request(self.authenticate)
        app.after_request(self.finish_response)
        for code in (404, 405):
            app.register_error_handler(code, self.http_error)
        app.register_error_handler(_BadRequest, lambda e: self.envelope(None, 2001, str(e), http_status=400))

        app.add_url_rule("/ocpi/versions", "versions", self.versions)
        app.add_url_rule("/ocpi/<version>", "version_details", self.version_details)
        app.add_url_rule("/ocpi/<version>/credentials", "credentials", self.credentials,
                         methods=["GET", "POST", "PUT", "DELETE"])
        app.add_url_rule("/ocpi/<version>/locations", "locations", self.list_locations)
        app.add_url_rule("/ocpi/<version>/locations/<location_id>", "location", self.get_location)
        app.add_url_rule("/ocpi/<version>/locations/<location_id>/<evse_uid>", "evse", self.get_location)
        app.add_url_rule("/ocpi/<version>/locations/<location_id>/<evse_uid>/<connector_id>", "connector",
                         self.get_location)
        app.add_url_rule("/ocpi/<version>/tariffs", "tariffs", self.list_tariffs)
        self.register_document_routes()

    def register_document_routes(self) -> None:
        """The paths a given version-details document names, for the modules the demo has."""
        document = self.options.version_details
        if document is None:
            return
        handlers = {"credentials": (self.credentials, ["GET", "POST", "PUT", "DELETE"]),
                    "locations": (self.list_locations, ["GET"]), "tariffs": (self.list_tariffs, ["GET"])}
        seen = set()
        for number, endpoint in enumerate(document.get("endpoints") or []):
            handler = handlers.get(endpoint.get("identifier"))
            path = urlsplit(str(endpoint.get("url") or "")).path
            if handler is None or not path or path in seen:
                continue
            seen.add(path)
            self.app.add_url_rule(path, f"document_{number}_{endpoint['identifier']}", handler[0],
                                  methods=handler[1], defaults={"version": self.version})

    def envelope(self, data=_MISSING, status_code=1000, message="Success", http_status=200, headers=None):
        body = {}
        if data is not _MISSING and data is not None:
            body["data"] = data
        body.update(status_code=status_code, status_message=message, timestamp=ocpi_timestamp(time.time()))
        try:
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate in a verbatim object (tests replay such feeds): escaped, as
            # the JSON serializers of real back ends write it.
            text = json.dumps(body, separators=(",", ":")).encode("ascii")
        response = Response(text, status=http_status, mimetype="application/json")
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    def http_error(self, error):
        return self.envelope(None, 2000, error.name, http_status=error.code)

    def finish_response(self, response: Response) -> Response:
        # transport_and_format: the response carries the request's X-Request-ID and X-Correlation-ID.
        for header in REQUEST_ID_HEADERS:
            response.headers[header] = request.headers.get(header) or str(uuid.uuid4())
        self.config["REQUEST_LOG"].append({
            "method": request.method,
            "path": request.path,
            "query": request.args.to_dict(),
            "status": response.status_code,
            # As the client sent them (None: it sent none).
            "request_id": request.headers.get("X-Request-ID"),
            "correlation_id": request.headers.get("X-Correlation-ID"),
            # The routing headers, "CC/PID" (None: not sent).
            "ocpi_from": _party_header(request.headers, "from"),
            "ocpi_to": _party_header(request.headers, "to"),
        })
        return response

    # --- authentication -------------------------------------------------------------------------------

    def accepted_tokens(self) -> set[str]:
        token_c = self.config["TOKEN_C"]
        return {token_c} if token_c else {self.options.token}

    def presented_tokens(self, version_agnostic: bool) -> set[str]:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Token "):
            return set()
        raw = header[len("Token "):].strip()
        decoded = _base64_text(raw)
        if self.options.plain_token:
            return {raw}
        if version_agnostic:
            return {raw} | ({decoded} if decoded else set())
        if self.version == "2.1.1":
            return {raw}  # 2.1.1 sends the token as is
        return {decoded} if decoded else set()  # 2.2+: Base64 of the UTF-8 token (RFC 4648 section 4)

    def authenticate(self):
        if self.options.require_request_ids and not all(request.headers.get(name) for name in REQUEST_ID_HEADERS):
            return self.envelope(None, 2001, "Missing X-Request-ID or X-Correlation-ID header", http_status=400)
        if self.config["REVOKED"]:
            return self.unauthorized("Credentials token revoked")
        if request.endpoint is None:
            return None  # unknown URL or method: let the 404/405 handlers answer
        versions_endpoint = request.endpoint == "versions"
        if not self.presented_tokens(versions_endpoint) & self.accepted_tokens():
            return self.unauthorized("Invalid or missing credentials token")
        version = (request.view_args or {}).get("version")
        if version is not None and version != self.version:
            return self.envelope(None, 3002, f"Unsupported version {version}", http_status=404)
        return None

    def unauthorized(self, message: str):
        return self.envelope(None, 2001, message, http_status=401, headers={"WWW-Authenticate": "Token"})

    # --- versions module ------------------------------------------------------------------------------

    def base_url(self) -> str:
        return request.url_root.rstrip("/") + "/ocpi"

    def rebased(self, url: str) -> str:
        """`url` on the demo's own scheme and host."""
        parts = urlsplit(url)
        return request.url_root.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")

    def versions(self):
        return self.envelope([{"version": self.version, "url": f"{self.base_url()}/{self.version}"}])

    def version_details(self, version):
        document = self.options.version_details
        if document is not None:
            return self.envelope({**document, "endpoints": [
                {**endpoint, "url": self.rebased(endpoint["url"])} if isinstance(endpoint.get("url"), str)
                else endpoint for endpoint in document.get("endpoints") or []]})
        endpoints = []
        for module in MODULES:
            endpoint = {"identifier": module}
            if version != "2.1.1":
                endpoint["role"] = "SENDER"  # InterfaceRole exists from 2.2 on
            endpoint["url"] = f"{self.base_url()}/{version}/{module}"
            endpoints.append(endpoint)
        return self.envelope({"version": version, "endpoints": endpoints})

    # --- credentials module ---------------------------------------------------------------------------

    def own_credentials(self, token: str) -> dict:
        business = {"name": f"{self.party_id} Ladenetz GmbH",
                    "website": f"https://www.{self.party_id.lower()}-laden.example"}
        url = f"{self.base_url()}/versions"
        if self.version == "2.1.1":
            return {"token": token, "url": url, "business_details": business,
                    "party_id": self.party_id, "country_code": self.country_code}
        if self.options.hub_party_id:
            parties = sorted({(loc["country_code"], loc["party_id"]) for loc in self.config["FLEET"].locations})
            credentials = {"token": token, "url": url, "roles": [
                {"role": "CPO", "business_details": {"name": f"{party_id} Ladenetz GmbH"}, "party_id": party_id,
                 "country_code": country_code} for country_code, party_id in parties]}
            if self.version == "2.3.0":
                credentials["hub_party_id"] = self.options.hub_party_id
            return credentials
        return {"token": token, "url": url, "roles": [
            {"role": "CPO", "business_details": business, "party_id": self.party_id,
             "country_code": self.country_code}]}

    def credentials(self, version):
        registered = self.config["TOKEN_C"] is not None
        if request.method == "GET":
            return self.envelope(self.own_credentials(next(iter(self.accepted_tokens()))))
        if request.method == "DELETE":
            if not registered:
                return self.envelope(None, 2000, "Not registered", http_status=405)
            with self.lock:
                self.config.update(TOKEN_C=None, CLIENT_CREDENTIALS=None, CLIENT_VERSIONS=None)
            return self.envelope()
        # POST registers, PUT updates an existing registration (credentials.asciidoc: otherwise 405).
        if request.method == "POST" and registered:
            return self.envelope(None, 2000, "Already registered, use PUT", http_status=405)
        if request.method == "PUT" and not registered:
            return self.envelope(None, 2000, "Not registered yet, use POST", http_status=405)
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return self.envelope(None, 2001, "Request body is not valid JSON", http_status=400)
        problems = _credentials_problems(body, self.version)
        if problems:
            return self.envelope(None, 2001, "; ".join(problems))
        client_versions = None
        if self.options.verify_client_versions:
            client_versions, failure = self.fetch_client_versions(body)
            if failure:
                return self.envelope(None, 3001, failure)
        with self.lock:
            if (self.config["TOKEN_C"] is not None) != registered:  # a concurrent request got there first
                return self.envelope(None, 2000, "Registration changed meanwhile, try again", http_status=405)
            self.tokens_issued += 1
            token_c = str(uuid.UUID(int=random.Random(f"{self.options.seed}/token/{self.tokens_issued}")
                                    .getrandbits(128), version=4))
            self.config.update(TOKEN_C=token_c, CLIENT_CREDENTIALS=body, CLIENT_VERSIONS=client_versions)
        return self.envelope(self.own_credentials(token_c))

    def fetch_client_versions(self, body: dict) -> tuple[dict | None, str | None]:
        """GET the client's versions and our version's details with TOKEN_B, as registration requires."""
        token_b = body["token"]
        header = token_b if self.version == "2.1.1" else base64.b64encode(token_b.encode()).decode()
        headers = {"Authorization": f"Token {header}"}
        try:
            with httpx.Client(timeout=5.0) as client:
                versions = client.get(body["url"], headers=headers).raise_for_status().json()["data"]
                match = [v for v in versions if v.get("version") == self.version]
                if not match:
                    return None, f"Client does not offer OCPI {self.version}"
                details = client.get(match[0]["url"], headers=headers).raise_for_status().json()["data"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as error:
            return None, f"Unable to use the client's API: {error}"
        return {"versions": versions, "details": details}, None

    # --- functional modules ---------------------------------------------------------------------------

    def routing_headers(self) -> dict:
        """OCPI-from/to headers that 2.2+ require on functional-module responses."""
        if self.version == "2.1.1":
            return {}
        headers = {"OCPI-from-country-code": self.country_code, "OCPI-from-party-id": self.party_id}
        to_country = request.headers.get("OCPI-from-country-code")
        to_party = request.headers.get("OCPI-from-party-id")
        client = self.config["CLIENT_CREDENTIALS"]
        if not (to_country and to_party) and client and client.get("roles"):
            to_country, to_party = client["roles"][0].get("country_code"), client["roles"][0].get("party_id")
        if to_country and to_party:
            headers.update({"OCPI-to-country-code": to_country, "OCPI-to-party-id": to_party})
        return headers

    def list_locations(self, version):
        return self.paginated(self.config["FLEET"].locations, self.render_location, grows=True)

    def list_tariffs(self, version):
        return self.paginated(self.config["FLEET"].tariffs, self.render_tariff, grows=False)

    def paginated(self, objects: list[dict], render, grows: bool):
        options = self.options
        with self.lock:
            self.list_requests += 1
            request_number = self.list_requests
        if options.slow_ms:
            time.sleep(options.slow_ms / 1000)
        if _fails(request_number, options.fail_rate, options.seed):
            return self.envelope(None, 3000, "Service temporarily unavailable", http_status=503,
                                 headers={"Retry-After": "1"})

        offset = _int_param("offset", 0)
        limit = min(_int_param("limit", options.page_limit), options.page_limit)
        date_from, date_to = _date_param("date_from"), _date_param("date_to")
        with self.lock:
            if date_from is None and date_to is None:
                matching = list(objects)  # a snapshot: growth or edits during this request do not shift it
            else:
                matching = [o for o in objects if _in_window(o, date_from, date_to)]
        page = matching[offset:offset + limit]
        headers = {"X-Total-Count": str(len(matching)), "X-Limit": str(limit), **self.routing_headers()}
        if page and offset + len(page) < len(matching):
            query = {k: request.args[k] for k in ("date_from", "date_to") if request.args.get(k)}
            query.update(offset=offset + len(page), limit=limit)
            base = request.path if options.relative_links else request.base_url
            if options.link_origin:
                base = options.link_origin.rstrip("/") + request.path
            headers["Link"] = f'<{base}?{urlencode(query)}>; rel="next"'
        response = self.envelope([render(o) for o in page], headers=headers)
        if grows and options.grow_while_paging and offset == 0 and not self.config["GROWN"]:
            self.grow(options.grow_while_paging)
        return response

    def grow(self, count: int) -> None:
        """New locations are commissioned while a client pages: they are appended (newest last)."""
        with self.lock:
            self.config["GROWN"] = True
            locations = self.config["FLEET"].locations
            first = len(locations)
            for n in range(count):
                location = make_location(first + n, self.options.seed, self.country_code, self.party_id)
                locations.append(restamp(location, ocpi_timestamp(FLEET_END.timestamp() + 60 * (n + 1))))

    def render_location(self, location: dict) -> dict:
        if self.options.verbatim:
            return location
        flaw = self.config["BROKEN_FLAWS"].get(location.get("id") if isinstance(location, dict) else None)
        if self.version == "2.3.0" and not flaw:
            return location  # already in 2.3.0 shape; serialised as is
        rendered = to_version(location, "location", self.version)
        if flaw:
            FLAWS[flaw](rendered, self.version)
        return rendered

    def render_tariff(self, tariff: dict) -> dict:
        if self.options.verbatim or self.version == "2.3.0":
            return tariff
        return to_version(tariff, "tariff", self.version)

    def find_location(self, location_id: str) -> dict | None:
        locations = self.config["FLEET"].locations
        with self.lock:
            index = self._location_index.get(location_id)
            if index is None or index >= len(locations) or locations[index].get("id") != location_id:
                self._location_index = {loc.get("id"): i for i, loc in enumerate(locations)}
                index = self._location_index.get(location_id)
            return None if index is None else locations[index]

    def get_location(self, version, location_id, evse_uid=None, connector_id=None):
        location = self.find_location(location_id)
        if location is None:
            return self.envelope(None, 2003, f"Unknown Location {location_id}", http_status=404)
        found = self.render_location(location)
        if evse_uid is not None:
            found = next((e for e in found.get("evses", []) if e.get("uid") == evse_uid), None)
            if found is None:
                return self.envelope(None, 2003, f"Unknown EVSE {evse_uid}", http_status=404)
            if connector_id is not None:
                found = next((c for c in found.get("connectors", []) if c.get("id") == connector_id), None)
                if found is None:
                    return self.envelope(None, 2003, f"Unknown Connector {connector_id}", http_status=404)
        return self.envelope(found, headers=self.routing_headers())


def _in_window(obj: dict, date_from: float | None, date_to: float | None) -> bool:
    moment = _epoch(obj.get("last_updated"))
    if moment is None:
        return False
    return (date_from is None or moment >= date_from) and (date_to is None or moment < date_to)


def _base64_text(raw: str) -> str | None:
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _credentials_problems(body, version: str) -> list[str]:
    """What is wrong with a client's Credentials object (empty list: nothing)."""
    if not isinstance(body, dict):
        return ["the body must be a Credentials object"]
    problems = []
    token = body.get("token")
    if not (isinstance(token, str) and 0 < len(token) <= 64 and all("!" <= ch <= "~" for ch in token)):
        problems.append("token: 1 to 64 printable ASCII characters without whitespace")
    url = body.get("url")
    if not (isinstance(url, str) and url.startswith(("http://", "https://")) and len(url) <= 255):
        problems.append("url: the URL of the client's versions endpoint")
    if version == "2.1.1":
        problems += _party_problems(body, "")
        return problems
    roles = body.get("roles")
    if not (isinstance(roles, list) and roles):
        problems.append("roles: at least one CredentialsRole")
        return problems
    allowed = ROLES_230 if version == "2.3.0" else ROLES_221
    for n, role in enumerate(roles):
        if not isinstance(role, dict):
            problems.append(f"roles[{n}]: must be a CredentialsRole object")
            continue
        if role.get("role") not in allowed:
            problems.append(f"roles[{n}].role: one of {sorted(allowed)}")
        problems += _party_problems(role, f"roles[{n}].")
    return problems


def _party_problems(obj: dict, prefix: str) -> list[str]:
    problems = []
    if not (isinstance(obj.get("party_id"), str) and len(obj["party_id"]) == 3):
        problems.append(f"{prefix}party_id: 3 characters")
    if not (isinstance(obj.get("country_code"), str) and len(obj["country_code"]) == 2):
        problems.append(f"{prefix}country_code: 2 characters")
    details = obj.get("business_details")
    if not (isinstance(details, dict) and isinstance(details.get("name"), str) and details["name"]):
        problems.append(f"{prefix}business_details.name: required")
    return problems
