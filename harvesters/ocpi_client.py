"""HTTP client for a CPO's OCPI sender interface: versions, version details, and
paginated lists, with the limits and retries that keep one bad CPO from hurting NAP."""
from __future__ import annotations

import base64
import ipaddress
import json
import logging
import re
import uuid
from dataclasses import dataclass, replace
from typing import Any, Iterator

import httpx

from harvesters.answer_waits import AnswerWaits
from harvesters.json_limits import nesting_exceeds
from nap.config import Settings
from nap.jsonutil import parse_lenient
from nap.ocpi.versions import HARVESTED
from nap.retry import doubling, with_retries
from nap.url_guard import GuardedTransport, OutboundPolicy, UrlRefused

log = logging.getLogger(__name__)


class HarvestError(Exception):
    """The CPO could not be harvested; the message says why in words a CPO understands."""


class CredentialsRejected(HarvestError):
    """The CPO answered 401/403: the feed needs new credentials."""


class _Retryable(Exception):
    """A try that may go better later: a network error, a timeout, 429 (with the wait its
    Retry-After asks for, if any) or 5xx."""

    def __init__(self, problem: str, wait: float | None = None):
        super().__init__(problem)
        self.wait = wait


@dataclass(frozen=True)
class Endpoints:
    version: str
    locations_url: str | None
    tariffs_url: str | None
    credentials_url: str | None
    # For the CPO, when its feed's URL is not the versions endpoint (discover): what NAP
    # made of it, and what it cannot reach that way.
    note: str | None = None


# A version in a URL's path ("/ocpi/cpo/2.2.1/locations", "/v2.1.1/"): 2.2.1 before 2.2.
_VERSION_IN_PATH = re.compile(r"/v?(" + "|".join(re.escape(v) for v in HARVESTED) + r")(?=/|$)")


def _version_in(url: str) -> str | None:
    found = _VERSION_IN_PATH.search(httpx.URL(url).path)
    return found.group(1) if found else None


def _is_version_details(answer: Any) -> bool:
    return isinstance(answer, dict) and isinstance(answer.get("endpoints"), list)


def _looks_like_locations(answer: Any) -> bool:
    """A list of OCPI Locations, not of versions: objects with coordinates or EVSEs, none
    with a version and a URL."""
    objects = [item for item in answer if isinstance(item, dict)] if isinstance(answer, list) else []
    return (any("coordinates" in item or "evses" in item for item in objects)
            and not any("version" in item and "url" in item for item in objects))


def _version_of_locations(objects: list) -> str:
    """The OCPI version a list of Locations is written in, by its shape: 2.3.0 brought
    parking places, 2.2 the party on every object, 2.1.1 had neither. Real 2.2 feeds keep
    2.1.1's names beside (a location's `type`, a connector's `voltage`): the 2.2.1
    normalizer repairs those (harvesters/normalize/repairs/keys.py), so the party decides."""
    locations = [item for item in objects if isinstance(item, dict)]
    if any("parking_places" in item for item in locations):
        return "2.3.0"
    if any("country_code" in item and "party_id" in item for item in locations):
        return "2.2.1"
    return "2.1.1"


@dataclass
class Page:
    objects: list[Any]
    byte_count: int
    total_count: int | None
    bare_list: bool  # the CPO sent a JSON list without the OCPI envelope
    offset_paging: bool = False  # no Link header although objects remained: we paged by offset
    mended_link: str | None = None  # how its Link was mended to reach the next page (_next_page_url)


def _setting(name: str) -> Any:
    return Settings.model_fields[name].get_default(call_default_factory=True)


@dataclass
class ClientLimits:
    """What one client may spend on one CPO. The settings' limits, from_settings(); a
    client built without settings gets their defaults."""
    timeout_seconds: float = _setting("http_timeout_seconds")
    max_page_bytes: int = _setting("harvest_max_page_bytes")
    max_pages: int = _setting("harvest_max_pages")
    attempts: int = _setting("retry_attempts")
    backoff_seconds: float = _setting("retry_backoff_seconds")
    max_retry_after_seconds: float = 60.0
    max_redirects: int = 5
    max_json_depth: int = _setting("harvest_max_json_depth")  # OCPI objects nest about 8 deep
    max_objects_per_page: int = _setting("harvest_max_objects_per_page")
    allowed_networks: tuple[str, ...] = _setting("outbound_allow")  # loopback/private networks an administrator allows

    @classmethod
    def from_settings(cls, settings: Settings) -> "ClientLimits":
        return cls(timeout_seconds=settings.http_timeout_seconds, max_page_bytes=settings.harvest_max_page_bytes,
                   max_pages=settings.harvest_max_pages, attempts=settings.retry_attempts,
                   backoff_seconds=settings.retry_backoff_seconds, max_json_depth=settings.harvest_max_json_depth,
                   max_objects_per_page=settings.harvest_max_objects_per_page,
                   allowed_networks=settings.outbound_allow)


def authorization_header(token: str, plain: bool) -> str:
    # OCPI 2.2 introduced Base64 encoding of the token in the header; 2.1.1 sends it plain.
    if plain:
        return f"Token {token}"
    return "Token " + base64.b64encode(token.encode()).decode()


def routing_headers(own: tuple[str, str], to: tuple[str, str] | None) -> dict[str, str]:
    """OCPI 2.2 and later: a request to a functional module (Locations, Tariffs; never
    versions or credentials) names the party it comes from and the one it is for
    (transport_and_format, "Message Routing Headers"), which a platform serving several
    parties routes by. `to` None: no party to name (the CPO's own server answers for all)."""
    headers = {"OCPI-from-country-code": own[0], "OCPI-from-party-id": own[1]}
    if to is not None:
        headers.update({"OCPI-to-country-code": to[0], "OCPI-to-party-id": to[1]})
    return headers


# Neither the token nor the header may appear in it: the HTTP library's own text quotes them.
_UNSENDABLE = ("the request to {url} could not be sent: a header (the token, say) holds characters an HTTP header "
               "cannot carry")


def _fits_a_header(token: str) -> bool:
    """Whether the token can go plain into a header: visible ASCII only (no space, no
    control character, nothing beyond ASCII); its Base64 form always can."""
    return all(33 <= ord(character) <= 126 for character in token)


def _token_form(plain: bool) -> str:
    return "plain" if plain else "Base64-encoded"


class OcpiClient:
    def __init__(self, token: str, limits: ClientLimits | None = None, transport=None,
                 waits: AnswerWaits | None = None):
        self.token = token
        self.limits = limits or ClientLimits()
        self.version: str | None = None
        # How the token goes into the header: None follows the version (plain for 2.1.1,
        # Base64 from 2.2 on), True or False once the CPO has shown which it takes (request).
        self.plain_token: bool | None = None
        self._refused_forms: set[bool] = set()
        # OCPI 2.2+ message routing headers for the functional modules' lists (routing_headers).
        self.routing: dict[str, str] = {}
        self.waits = waits or AnswerWaits()  # the run's, when the worker watches it
        self._policy = OutboundPolicy(self.limits.allowed_networks)
        # Every request, redirects included, goes through the SSRF guard.
        self._http = httpx.Client(
            timeout=self.limits.timeout_seconds, follow_redirects=True, max_redirects=self.limits.max_redirects,
            transport=transport or GuardedTransport(self._policy),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "OcpiClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------------

    def _send(self, url: str, params: dict | None, method: str, body: Any,
              extra: dict[str, str]) -> tuple[httpx.Response, bytes]:
        headers = {"Accept": "application/json", **extra}  # Authorization among them (request)
        with self._http.stream(method, url, params=params, headers=headers, json=body) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > self.limits.max_page_bytes:
                    raise HarvestError(
                        f"response from {url} exceeds the limit of {self.limits.max_page_bytes} bytes"
                    )
            return response, bytes(body)

    def sends_plain_token(self) -> bool:
        return self.plain_token if self.plain_token is not None else self.version == "2.1.1"

    def get(self, url: str, params: dict | None = None) -> tuple[httpx.Response, bytes]:
        return self.request("GET", url, params)

    def request(self, method: str, url: str, params: dict | None = None, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[httpx.Response, bytes]:
        """`_request`, with the token in the other form when the CPO refuses it in this one.

        OCPI 2.2 and later want the token Base64-encoded in the header, 2.1.1 plain; "many
        OCPI 2.1.1 and 2.2 implementations do not Base64 encode" it, and the spec leaves
        compatibility to "trial and error" (transport_and_format). So a refused token is sent
        once more in the other form, and the form that is taken is kept for the client's
        later requests. Refused in both forms, it is refused (CredentialsRejected)."""
        while True:
            plain = self.sends_plain_token()
            if plain and not _fits_a_header(self.token):
                # Only its Base64 form can be sent: the plain one counts as refused.
                self._refused_forms.add(True)
                if False in self._refused_forms:
                    raise HarvestError(_UNSENDABLE.format(url=url))
                self.plain_token = False
                continue
            try:
                return self._request(method, url, params, body,
                                     {**(headers or {}), "Authorization": authorization_header(self.token, plain)})
            except CredentialsRejected:
                self._refused_forms.add(plain)
                if (not plain) in self._refused_forms:
                    raise
                log.info("%s refused the %s token; sending it %s", url, _token_form(plain), _token_form(not plain))
                self.plain_token = not plain

    def _request(self, method: str, url: str, params: dict | None, body: Any,
                 headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
        """A request with retries (nap/retry.py): network errors, timeouts and 5xx back off
        exponentially with jitter, 429 waits for Retry-After; nothing retries forever.

        OCPI 2.2 and later: every request SHALL carry a unique X-Request-ID and an
        X-Correlation-ID (transport_and_format, "Unique message IDs"), and some CPOs refuse
        one without them. Each try gets its own request id; the tries of one request share
        their correlation id, so that the CPO sees a retry as part of the same exchange. An
        error names the request id, for the CPO to find it in its logs."""
        exchange = {**headers, "X-Correlation-ID": str(uuid.uuid4())}
        try:
            with self.waits.waiting():
                return with_retries(
                    lambda: self._attempt(method, url, params, body, exchange), attempts=self.limits.attempts,
                    retry_on=_Retryable, backoff=self._delay,
                    on_retry=lambda attempt, problem, delay: self._retrying(url, problem, delay))
        except _Retryable as problem:
            raise HarvestError(f"{url} failed after {self.limits.attempts} attempts: {problem}") from None

    def _retrying(self, url: str, problem: Exception, delay: float) -> None:
        log.info("retrying %s in %.2fs after %s", url, delay, problem)
        self.waits.retried()

    def _attempt(self, method: str, url: str, params: dict | None, body: Any,
                 headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
        """One try: the answer, a refusal (raised as HarvestError or CredentialsRejected), or
        a _Retryable problem."""
        request_id = str(uuid.uuid4())
        try:
            response, body_bytes = self._send(url, params, method, body, {**headers, "X-Request-ID": request_id})
        except UrlRefused as error:
            raise HarvestError(str(error)) from None
        except httpx.TooManyRedirects:
            raise HarvestError(f"{url} redirects more than {self.limits.max_redirects} times") from None
        except (httpx.LocalProtocolError, UnicodeEncodeError):
            raise HarvestError(_UNSENDABLE.format(url=url)) from None
        except httpx.TransportError as error:
            raise _Retryable(f"{type(error).__name__}: {error}") from None
        sent = f" (X-Request-ID {request_id})"
        if response.status_code in (401, 403):
            raise CredentialsRejected(f"{url} answered HTTP {response.status_code}: credentials rejected{sent}")
        if response.status_code == 429:
            raise _Retryable(f"HTTP 429 Too Many Requests{sent}", self._retry_after(response))
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}{sent}")
        if response.status_code >= 400:
            raise HarvestError(f"{url} answered HTTP {response.status_code}{_ocpi_message(body_bytes)}{sent}")
        return response, body_bytes

    def _delay(self, attempt: int, problem: BaseException) -> float:
        wait = problem.wait if isinstance(problem, _Retryable) else None
        return wait or doubling(self.limits.backoff_seconds, jitter=True)(attempt, problem)

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After", "")
        try:
            return min(float(value), self.limits.max_retry_after_seconds)
        except ValueError:
            return None

    def get_payload(self, url: str, params: dict | None = None, method: str = "GET", body: Any = None,
                    headers: dict[str, str] | None = None) -> tuple[Any, httpx.Response, int, bool]:
        """The `data` of an OCPI response (or a bare JSON body), with the response."""
        response, body = self.request(method, url, params, body, headers)
        if nesting_exceeds(body, self.limits.max_json_depth):
            raise HarvestError(f"{url} answered JSON nested deeper than {self.limits.max_json_depth} levels")
        try:
            document = parse_lenient(body)
        except (ValueError, RecursionError) as error:
            kind = response.headers.get("content-type", "unknown content type")
            raise HarvestError(f"{url} did not answer JSON ({kind}): {error}") from None
        if isinstance(document, dict) and "status_code" in document:
            status = document.get("status_code")
            if not isinstance(status, int) or not 1000 <= status < 2000:
                raise HarvestError(
                    f"{url} answered OCPI status {status}: {document.get('status_message', '')}"
                )
            return document.get("data"), response, len(body), False
        if isinstance(document, dict) and "data" in document:
            return document["data"], response, len(body), False
        return document, response, len(body), True

    # -- OCPI ----------------------------------------------------------------------------

    def discover(self, versions_url: str) -> Endpoints:
        """The CPO's endpoints, from the URL its feed was registered with: its OCPI versions
        endpoint. Many CPOs hand out another URL: one version's details, or the Locations
        list itself (as they publish open data). That is taken for what it answers, and
        Endpoints.note tells the CPO so."""
        # Before the version is known, the token goes Base64-encoded, and plain if refused
        # (request): 2.1.1 servers take it plain.
        answer, *_ = self.get_payload(versions_url)
        if _is_version_details(answer):
            return self._details_given(versions_url, answer)
        if _looks_like_locations(answer):
            return self._locations_given(versions_url, answer)
        if not isinstance(answer, list):
            raise HarvestError(f"{versions_url} did not list OCPI versions")
        offered = {str(v.get("version")): v.get("url") for v in answer if isinstance(v, dict)}
        chosen = next((v for v in HARVESTED if v in offered and offered[v]), None)
        if chosen is None:
            raise HarvestError(f"no common OCPI version: the CPO offers {sorted(offered)}, NAP speaks {list(HARVESTED)}")
        self.version = chosen
        details, *_ = self.get_payload(offered[chosen])
        return self._endpoints(chosen, details)

    def _details_given(self, url: str, details: dict) -> Endpoints:
        stated = str(details.get("version"))
        version = stated if stated in HARVESTED else _version_in(url)
        if version is None:
            raise HarvestError(f"{url} answered the details of OCPI {stated}; NAP speaks {list(HARVESTED)}")
        self.version = version
        return replace(self._endpoints(version, details),
                       note=f"the feed's URL is the details of OCPI {version}, not the versions endpoint: NAP "
                            "reads that version's endpoints, and does not see a newer version the CPO may offer")

    def _locations_given(self, url: str, first_page: list) -> Endpoints:
        version = _version_in(url) or _version_of_locations(first_page)
        self.version = version
        return Endpoints(version, url, None, None,
                         note=f"the feed's URL is a Locations list (read as OCPI {version}), not the versions "
                              "endpoint: NAP harvests its locations but cannot find the CPO's tariffs, nor "
                              "register with it; give the versions endpoint to have them")

    def _endpoints(self, version: str, details: Any) -> Endpoints:
        endpoints = details.get("endpoints", []) if isinstance(details, dict) else []
        found: dict[str, str] = {}
        credentials: dict[str, str] = {}
        for endpoint in endpoints:
            if not isinstance(endpoint, dict):
                continue
            # 2.2+ lists a role per endpoint; we read what the CPO sends (SENDER). The
            # credentials module works both ways, and servers list it as SENDER or as
            # RECEIVER (the spec's own version_details_example2.json): either will do,
            # SENDER first when both are there.
            role = endpoint.get("role", "SENDER")
            if endpoint.get("identifier") == "credentials" and role in ("SENDER", "RECEIVER"):
                if endpoint.get("url"):
                    credentials.setdefault(role, endpoint["url"])
                continue
            if role != "SENDER":
                continue
            found.setdefault(str(endpoint.get("identifier")), endpoint.get("url"))
        return Endpoints(version, found.get("locations"), found.get("tariffs"),
                         credentials.get("SENDER") or credentials.get("RECEIVER"))

    def pages(self, url: str, *, limit: int, date_from: str | None = None) -> Iterator[Page]:
        """Every page of a paginated list, following `Link: <...>; rel="next"`.

        Per OCPI transport_and_format: when X-Total-Count grows while we crawl, only the last
        page differs and nothing needs redoing; when it shrinks (objects moved out of the
        window), the page is fetched again with the offset lowered by the difference, so no
        object slips between two pages. A server that sends no Link although objects remain
        is paged on by offset (a warning says so)."""
        params: dict = {"offset": 0, "limit": limit}
        if date_from:
            params["date_from"] = date_from
        # The URL's own query (an open data URL's key, say) stays on every page: the paging
        # parameters go beside it (httpx would drop it for `params`), and a Link that leaves
        # it out gets it back.
        own_query = _without_paging(httpx.URL(url).params)
        next_url: str = str(httpx.URL(url).copy_with(params=own_query).copy_merge_params(params))
        previous_total: int | None = None
        received = 0
        seen_requests: set[str] = {_request_key(next_url)}
        for _ in range(self.limits.max_pages):
            data, response, size, bare = self.get_payload(next_url, None, headers=self.routing)
            total = _int_header(response, "X-Total-Count")
            if previous_total is not None and total is not None and total < previous_total:
                lowered = _with_offset(response.url, _offset_of(response.url) - (previous_total - total))
                if lowered is not None:
                    data, response, size, bare = self.get_payload(lowered, None, headers=self.routing)
                    total = _int_header(response, "X-Total-Count")
            previous_total = total
            if data is None:
                data = []
            if not isinstance(data, list):
                raise HarvestError(f"{next_url} answered {type(data).__name__} where a list was expected")
            if len(data) > self.limits.max_objects_per_page:
                raise HarvestError(f"{next_url} answered {len(data)} objects in one page; "
                                   f"the limit is {self.limits.max_objects_per_page}")
            received += len(data)
            link = response.links.get("next", {}).get("url")
            guessed = False
            if not link and data and total is not None and received < total:
                link = str(_with_offset(response.url, _offset_of(response.url) + len(data)))
                guessed = True
            following, mended = _next_page_url(response.url, link, self._policy) if link else (None, None)
            if following is not None:
                following = _with_missing_params(following, own_query)
            yield Page(data, size, total, bare, offset_paging=guessed, mended_link=mended)
            if not following or not data:
                return
            next_url = str(following)
            key = _request_key(next_url)
            if key in seen_requests:
                raise HarvestError(f"pagination loops: {next_url} was already fetched")
            seen_requests.add(key)
        raise HarvestError(f"more than {self.limits.max_pages} pages: stopped")


# OCPI's own list parameters: NAP sets them, and a Link carries them for the next page.
_PAGING = frozenset({"offset", "limit", "date_from", "date_to"})


def _without_paging(params: httpx.QueryParams) -> httpx.QueryParams:
    return httpx.QueryParams([(key, value) for key, value in params.multi_items() if key.lower() not in _PAGING])


def _with_missing_params(url: httpx.URL, params: httpx.QueryParams) -> httpx.URL:
    """`url` with those of `params` (the feed URL's own, paging left out) it lacks, by name
    whatever its case."""
    present = {key.lower() for key in url.params.keys()}
    for key, value in params.multi_items():
        if key.lower() not in present:
            url = url.copy_add_param(key, value)
    return url


def _request_key(url: str) -> str:
    """A URL as a page request: its parameters in order, so that the same page asked with
    them in another order is the same request."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(params=sorted(parsed.params.multi_items())))


def _internal_host(host: str, policy: OutboundPolicy) -> bool:
    """A host only the CPO's own network knows: localhost, a name of one label (a
    container's, a machine's), or an address the SSRF guard refuses (loopback, private,
    link-local and the like, unless the operator allowed its network)."""
    if host == "localhost" or host.endswith(".localhost") or ("." not in host and ":" not in host):
        return True
    try:
        return policy.refuses(ipaddress.ip_address(host))
    except ValueError:  # a name: the guard judges its addresses when it connects
        return False


def _next_page_url(page: httpx.URL, link: str, policy: OutboundPolicy) -> tuple[httpx.URL, str | None]:
    """The next page's URL from the page's Link, and how it was mended, if it was (the
    reason names no page, so that a feed's pages share one finding). A server behind a
    proxy that does not pass its public address on writes its Links on its own:
    - from https down to http: kept on https, so that the token never goes in clear;
    - on a host only its network knows (localhost, 10.0.0.5, "backend:8080"): taken on the
      page's own origin, with the Link's path and query.
    Any other Link is followed as it is (through the SSRF guard, as every request)."""
    target = page.join(link)
    if target.host != page.host and _internal_host(target.host, policy):
        return (target.copy_with(scheme=page.scheme, host=page.host, port=page.port),
                f"the Links to the next page name a host only the CPO's network knows ({target.host}); "
                "followed on the address the pages come from")
    if page.scheme == "https" and target.scheme == "http":
        port = page.port if target.host == page.host else (None if target.port == 80 else target.port)
        return (target.copy_with(scheme="https", port=port),
                f"the Links to the next page go from https down to http ({target.host}); followed on https")
    return target, None


def _ocpi_message(body: bytes) -> str:
    """The status_message of an OCPI error body, to make the error say why."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    if isinstance(document, dict) and document.get("status_message"):
        return f" ({document.get('status_code')}: {str(document['status_message'])[:300]})"
    return ""


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _offset_of(url: httpx.URL) -> int:
    value = url.params.get("offset", "0")
    return int(value) if value.isdigit() else 0


def _with_offset(url: httpx.URL, offset: int) -> httpx.URL | None:
    if offset < 0:
        return None
    return url.copy_set_param("offset", str(max(offset, 0)))
