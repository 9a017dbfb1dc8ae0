"""One HTTPS POST of a document to a subscriber, through the same SSRF guard as the CPO
feeds (nap/url_guard.py): the endpoint's address is checked at every delivery, not only at
registration, since a name can resolve elsewhere later.

The subscriber's server certificate is checked against its own CA bundle when it has one,
else the system's CAs; NAP presents the subscriber's client certificate when it has one
(mutual TLS, as the Mobilithek asks). The certificate and key are held encrypted in the
database; `ssl` loads a chain only from files, so they are written to a private temporary
directory for the moment of loading and removed at once.
"""
from __future__ import annotations

import os
import ssl
import tempfile
from dataclasses import dataclass

import httpx

from nap.config import Settings
from nap.url_guard import GuardedTransport, OutboundPolicy, UrlRefused

USER_AGENT = "NAP push delivery"
# Of the subscriber's answer to a failed push, this much is kept in the delivery record.
ERROR_BODY_CHARS = 200


@dataclass(frozen=True)
class Endpoint:
    url: str
    auth_header_name: str | None = None
    auth_header_value: str | None = None
    client_cert_pem: str | None = None
    client_key_pem: str | None = None
    ca_bundle_pem: str | None = None


@dataclass(frozen=True)
class Answer:
    ok: bool
    http_status: int | None
    error: str | None


def policy(settings: Settings) -> OutboundPolicy:
    return OutboundPolicy(settings.outbound_allow)


def check_url(settings: Settings, url: str) -> None:
    """UrlRefused unless NAP may push to `url`: HTTPS, and an address the guard allows."""
    parsed = httpx.URL(url)
    if parsed.scheme != "https":
        raise UrlRefused(f"refused {url}: subscribers are reached over HTTPS only")
    policy(settings).check(parsed)


def tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    """ssl.SSLError or ValueError when the PEM texts are not a certificate and its key."""
    context = ssl.create_default_context(cadata=endpoint.ca_bundle_pem) if endpoint.ca_bundle_pem \
        else ssl.create_default_context()
    if endpoint.client_cert_pem:
        with tempfile.TemporaryDirectory(prefix="nap-push-") as directory:  # mode 700
            cert_file, key_file = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
            for path, text in ((cert_file, endpoint.client_cert_pem), (key_file, endpoint.client_key_pem or "")):
                with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                    handle.write(text)
            context.load_cert_chain(cert_file, key_file if endpoint.client_key_pem else None)
    return context


def post(settings: Settings, endpoint: Endpoint, body: bytes) -> Answer:
    """POST the gzip-compressed JSON `body`; any 2xx answer is a delivery."""
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "User-Agent": USER_AGENT}
    if endpoint.auth_header_name and endpoint.auth_header_value:
        headers[endpoint.auth_header_name] = endpoint.auth_header_value
    try:
        check_url(settings, endpoint.url)
        transport = GuardedTransport(policy(settings), verify=tls_context(endpoint))
        with httpx.Client(transport=transport, timeout=settings.push_timeout_seconds,
                          follow_redirects=False) as client:
            response = client.post(endpoint.url, content=body, headers=headers)
    except UrlRefused as error:
        return Answer(False, None, str(error))
    except (httpx.HTTPError, ssl.SSLError, OSError, ValueError) as error:
        # The error's class says most (ConnectError, ReadTimeout...); its text never holds
        # the auth header, which only travels in the request.
        return Answer(False, None, f"{type(error).__name__}: {error}"[:500])
    if 200 <= response.status_code < 300:
        return Answer(True, response.status_code, None)
    text = response.text[:ERROR_BODY_CHARS].strip()
    return Answer(False, response.status_code, f"HTTP {response.status_code}" + (f": {text}" if text else ""))
