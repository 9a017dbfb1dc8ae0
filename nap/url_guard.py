"""Outbound URL guard against SSRF: every URL a CPO gives us (versions, version details,
`Link` next pages, redirects) and every push subscriber's endpoint could point NAP at its
own network.

Each connection's host is resolved once, every resolved address is checked, and the
connection goes to the checked address, so a DNS answer that changes between check and
connect (rebinding) cannot sneak through. The request keeps its URL: the Host header, TLS
SNI and certificate check use the name, and relative next-page links resolve against it.
Refused: non-http(s) schemes and every address that is not global: loopback, private,
link-local (cloud metadata 169.254.169.254 among them), shared address space
(100.64.0.0/10, with the metadata address 100.100.100.200), multicast, reserved,
unspecified, site-local, documentation and benchmarking ranges, and the IPv6 forms that
embed an IPv4 address (IPv4-mapped addresses are judged by the address they embed; 6to4,
NAT64, Teredo and IPv4-compatible ranges are refused whole), unless an administrator
allow-listed the network (NAP_OUTBOUND_ALLOW, e.g. 127.0.0.0/8 for the demo).
"""
from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from typing import Callable, Iterable

import httpcore
import httpx

Resolver = Callable[[str, int], list[str]]


class UrlRefused(httpx.TransportError):
    """The URL is not one NAP may fetch; the message says why."""


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise httpx.ConnectError(f"cannot resolve {host}: {error}") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


# Ranges refused by name, whatever this Python's `is_global` says of them (its tables
# changed between releases): each is either not globally routable or embeds an IPv4
# address that would decide where the packets really go.
_NAMED_RANGES = tuple((reason, ipaddress.ip_network(network)) for reason, network in (
    ("shared address space", "100.64.0.0/10"),  # carrier-grade NAT; 100.100.100.200 is cloud metadata
    ("6to4", "2002::/16"),                      # deprecated (RFC 7526); embeds an IPv4 address
    ("site-local", "fec0::/10"),                # deprecated (RFC 3879)
    ("NAT64", "64:ff9b::/96"),                  # embeds an IPv4 address
    ("NAT64", "64:ff9b:1::/48"),
    ("Teredo", "2001::/32"),                    # embeds an IPv4 address
    ("IPv4-compatible", "::/96"),               # deprecated; embeds an IPv4 address
    ("discard-only", "100::/64"),
))


def _forbidden_reason(address: ipaddress._BaseAddress) -> str | None:
    """Why NAP must not connect to `address`, or None for a global address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for reason, flag in (("loopback", address.is_loopback), ("link-local", address.is_link_local),
                         ("multicast", address.is_multicast), ("unspecified", address.is_unspecified),
                         ("private", address.is_private), ("reserved", address.is_reserved)):
        if flag:
            return reason
    for reason, network in _NAMED_RANGES:
        if address.version == network.version and address in network:
            return reason
    if not address.is_global:
        return "non-global"
    return None


class OutboundPolicy:
    def __init__(self, allowed_networks: Iterable[str] = (), resolver: Resolver = system_resolver):
        self.allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
        self.resolver = resolver

    def _allowed(self, address: ipaddress._BaseAddress) -> bool:
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            candidates.append(address.ipv4_mapped)
        return any(candidate.version == network.version and candidate in network
                   for candidate in candidates for network in self.allowed)

    def refuses(self, address: ipaddress._BaseAddress) -> bool:
        """Whether a connection to `address` would be refused: not global, and not in the
        networks the operator allowed."""
        return _forbidden_reason(address) is not None and not self._allowed(address)

    def check_url(self, url: httpx.URL) -> None:
        """UrlRefused unless `url` is an http(s) URL with a host (its address is checked
        when a connection is made, see `address_for`)."""
        if url.scheme not in ("http", "https"):
            raise UrlRefused(f"refused {url}: only http and https URLs are fetched")
        if not url.host:
            raise UrlRefused(f"refused {url}: no host")

    def check(self, url: httpx.URL) -> str:
        """The address to connect to for `url`, or UrlRefused."""
        self.check_url(url)
        return self.address_for(url.host, url.port or (443 if url.scheme == "https" else 80), str(url))

    def address_for(self, host: str, port: int, what: str | None = None) -> str:
        """`host` resolved once, every address checked: the one to connect to, or UrlRefused."""
        what = what or f"{host}:{port}"
        addresses = self.resolver(host, port)
        if not addresses:
            raise UrlRefused(f"refused {what}: {host} has no address")
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])
            reason = _forbidden_reason(address)
            if reason and not self._allowed(address):
                raise UrlRefused(f"refused {what}: {host} resolves to {address}, a {reason} address "
                                 f"(an administrator can allow-list it with NAP_OUTBOUND_ALLOW)")
        return addresses[0]


class _CheckedAddressBackend(httpcore.NetworkBackend):
    """Opens each TCP connection to the address the policy checked for its host name. The
    request itself is untouched: its URL, Host header, TLS SNI and certificate check keep
    the name the CPO gave, and so does `response.url` (relative Links join onto it)."""

    def __init__(self, policy: OutboundPolicy):
        self.policy = policy
        self._backend = httpcore.SyncBackend()
        self.request = threading.local()  # the URL being fetched, to name it when refused

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        address = self.policy.address_for(host, port, getattr(self.request, "url", None))
        return self._backend.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                         socket_options=socket_options)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise UrlRefused("refused: Unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport that connects only to checked addresses (no proxies: a proxy
    would resolve the names itself)."""

    def __init__(self, policy: OutboundPolicy, *, verify: ssl.SSLContext | str | bool = True, cert=None,
                 trust_env: bool = True, http1: bool = True, http2: bool = False,
                 limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20,
                                                     keepalive_expiry=5.0),
                 retries: int = 0, socket_options=None):
        super().__init__(verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2,
                         limits=limits, retries=retries, socket_options=socket_options)
        self.policy = policy
        self._pool.close()
        self._backend = _CheckedAddressBackend(policy)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env),
            max_connections=limits.max_connections, max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, http1=http1, http2=http2, retries=retries,
            socket_options=socket_options, network_backend=self._backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.policy.check_url(request.url)
        self._backend.request.url = str(request.url)
        try:
            return super().handle_request(request)
        finally:
            self._backend.request.url = None
