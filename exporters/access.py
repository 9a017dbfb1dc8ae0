"""Who may read the public API how often: installed on each public blueprint.

Before a view runs: the Authorization header (optional) is resolved to an Audience and the
client's token bucket is charged; an unknown token is refused with 401, an exhausted bucket
with 429 and Retry-After. After it: rate-limit headers and CORS, so that web apps may call
the API from any origin (the data is public; no cookies are involved).
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, Response, current_app, g, request

from exporters.consumers import ANONYMOUS, Audience, UnknownToken, audience_for
from exporters.rate_limit import TokenBuckets
from nap.web import db_session, settings

# render_error(message, http_status, ocpi_status_code) -> Response, in the blueprint's format.
ErrorRenderer = Callable[[str, int, int], Response]

EXPOSED_HEADERS = ("Link, X-Total-Count, X-Limit, ETag, Last-Modified, Retry-After, "
                   "X-RateLimit-Limit, X-RateLimit-Remaining")


def current_audience() -> Audience:
    return g.get("nap_audience", ANONYMOUS)


def client_address() -> str:
    """The client's IP: the TCP peer, or, behind `api_trusted_proxies` reverse proxies, the
    address the outermost trusted proxy saw (entries further left can be forged)."""
    hops = settings().api_trusted_proxies
    route = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    route.append(request.remote_addr or "unknown")
    if hops <= 0:
        return route[-1]
    return route[max(0, len(route) - 1 - hops)]


def _buckets() -> TokenBuckets:
    return current_app.extensions["nap.rate_limit"]


def install_access_control(blueprint: Blueprint, render_error: ErrorRenderer) -> None:
    @blueprint.record_once
    def _create_buckets(state) -> None:
        # One set of buckets per app (and so per test), shared by all public blueprints.
        state.app.extensions.setdefault("nap.rate_limit", TokenBuckets())

    @blueprint.before_request
    def _identify_and_limit():
        if request.method == "OPTIONS":  # CORS preflight: no data, no charge
            return None
        try:
            audience = audience_for(db_session(), request.headers.get("Authorization"))
        except UnknownToken as error:
            response = render_error(f"{error}; send no Authorization header to read anonymously", 401, 2000)
            response.headers["WWW-Authenticate"] = 'Token realm="NAP"'
            return response
        g.nap_audience = audience
        if audience.anonymous:
            key, limit = f"ip:{client_address()}", settings().api_rate_limit_per_minute
        else:
            key = f"consumer:{audience.consumer_id}"
            limit = audience.rate_limit_per_minute or settings().api_consumer_rate_limit_per_minute
        decision = _buckets().take(key, limit)
        g.nap_rate = decision
        if not decision.allowed:
            hint = "" if not audience.anonymous else "; registered consumers get a higher limit"
            response = render_error(
                f"rate limit exceeded: {decision.limit} requests per minute; retry in {decision.retry_after} s{hint}",
                429, 2000)
            response.headers["Retry-After"] = str(decision.retry_after)
            return response
        return None

    @blueprint.after_request
    def _access_headers(response: Response) -> Response:
        decision = g.get("nap_rate")
        if decision is not None and decision.limit:
            response.headers["X-RateLimit-Limit"] = str(decision.limit)
            response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Headers"] = "Authorization, If-None-Match, If-Modified-Since"
            response.headers["Access-Control-Max-Age"] = "86400"
        return response
