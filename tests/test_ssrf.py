"""The SSRF guard: CPO-supplied URLs reach only addresses NAP may fetch.

Checked by mutation: with the address check removed, the refusal tests and the loopback
harvest test fail. The redirect and pinning tests were not mutated (that would send
traffic to a link-local address or to DNS); they fail by construction if a redirect is
fetched without the guard (the error would not name the link-local address) or if the
connection resolved the name again (cpo.invalid has no DNS entry)."""
from __future__ import annotations


import httpx
import pytest
from flask import Flask, redirect

from harvesters.ocpi_client import ClientLimits, HarvestError, OcpiClient
from nap.url_guard import GuardedTransport, OutboundPolicy, UrlRefused
from tests.harvest_helpers import register_and_harvest, stored_locations
from tests.settings_helpers import replace


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:9/ocpi/versions", "loopback"),
    ("http://localhost:9/ocpi/versions", "loopback"),
    ("http://10.1.2.3/ocpi/versions", "private"),
    ("http://192.168.0.10/ocpi/versions", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]:9/ocpi/versions", "loopback"),
    ("http://[::ffff:127.0.0.1]:9/", "loopback"),
    ("http://224.0.0.1/", "multicast"),
    ("http://0.0.0.0:9/", "unspecified"),
])
def test_internal_addresses_are_refused_before_any_connection(url, reason):
    with pytest.raises(UrlRefused, match=reason):
        OutboundPolicy().check(httpx.URL(url))


def test_only_http_and_https():
    with pytest.raises(UrlRefused, match="only http and https"):
        OutboundPolicy().check(httpx.URL("file:///etc/passwd"))


def test_a_loopback_cpo_is_refused_unless_allow_listed(demo_cpo, sessions, settings):
    cpo = demo_cpo(locations=3)
    run = register_and_harvest(sessions, replace(settings, outbound_allow=()), cpo)
    assert run.status == "failed" and "loopback" in run.error and "NAP_OUTBOUND_ALLOW" in run.error
    assert stored_locations(sessions) == {}


def test_redirects_are_checked_again(live_server):
    app = Flask(__name__)
    app.add_url_rule("/go", "go", lambda: redirect("http://169.254.169.254/latest/meta-data/"))
    server = live_server(app)
    client = OcpiClient("t", ClientLimits(allowed_networks=("127.0.0.0/8",), attempts=1))
    with pytest.raises(HarvestError, match="link-local"):
        client.get(f"{server.url}/go")


def test_the_connection_goes_to_the_checked_address(demo_cpo):
    """The name is resolved once, by the guard; the connection uses that address. A
    resolver answering 127.0.0.1 for a name that has no DNS entry proves it."""
    cpo = demo_cpo(locations=2)
    port = httpx.URL(cpo.url).port
    checked = []

    def resolver(host, _port):
        checked.append(host)
        return ["127.0.0.1"]

    transport = GuardedTransport(OutboundPolicy(("127.0.0.0/8",), resolver=resolver))
    with OcpiClient(cpo.token, ClientLimits(attempts=1), transport=transport) as client:
        endpoints = client.discover(f"http://cpo.invalid:{port}/ocpi/versions")
    assert endpoints.version == "2.3.0"
    assert set(checked) == {"cpo.invalid"}  # every request, details included, resolved by the guard


def _policy_resolving_to(address: str, allowed: tuple[str, ...] = ()) -> OutboundPolicy:
    """A policy whose resolver answers `address` for any name: only the guard's decision
    is tested, nothing is sent anywhere."""
    return OutboundPolicy(allowed, resolver=lambda _host, _port: [address])


@pytest.mark.parametrize("address", [
    "100.100.100.200",         # shared address space 100.64.0.0/10: a cloud metadata address
    "100.64.0.1",
    "::ffff:100.100.100.200",  # the same, IPv4-mapped
    "2002:a9fe:a9fe::1",       # 6to4 (2002::/16), embedding 169.254.169.254
    "2002:808:808::1",         # 6to4 embedding a global address: the whole prefix is refused
    "fec0::1",                 # deprecated site-local fec0::/10
    "64:ff9b::a9fe:a9fe",      # NAT64, embedding 169.254.169.254
    "2001:db8::1",             # documentation
    "198.18.0.1",              # benchmarking
    "192.0.2.1",               # documentation (TEST-NET-1)
    "::a9fe:a9fe",             # deprecated IPv4-compatible form
])
def test_addresses_that_are_not_global_are_refused(address):
    with pytest.raises(UrlRefused, match="NAP_OUTBOUND_ALLOW"):
        _policy_resolving_to(address).check(httpx.URL("http://cpo.example/ocpi/versions"))


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_global_addresses_pass_the_guard(address):
    assert _policy_resolving_to(address).check(httpx.URL("https://cpo.example/ocpi/versions")) == address


def test_a_non_global_network_passes_when_allow_listed():
    policy = _policy_resolving_to("100.100.100.200", allowed=("100.64.0.0/10",))
    assert policy.check(httpx.URL("http://cpo.example/")) == "100.100.100.200"


def _self_signed_certificate(directory, host_name: str):
    """A certificate for `host_name` only (no IP address in it), signed by its own key."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cpo.crt", directory / "cpo.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_an_https_cpo_named_by_host_is_paged_by_its_name(tmp_path):
    """A TLS CPO whose certificate names only cpo.test, reached through a resolver that maps
    cpo.test to 127.0.0.1, with relative Links: every page after the first must go to
    https://cpo.test too (Host header and SNI cpo.test, the certificate checked against
    that name), not to the bare address the guard connected to."""
    import ssl
    import threading

    from werkzeug.serving import make_server

    from demo_cpo.fleet import generate_fleet
    from demo_cpo.server import DemoOptions, create_app

    cert_file, key_file = _self_signed_certificate(tmp_path, "cpo.test")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    app = create_app(generate_fleet(locations=5, seed=1), DemoOptions(page_limit=2, relative_links=True))
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=server_context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        resolved = []

        def resolver(host, _port):
            resolved.append(host)
            assert host == "cpo.test"  # nothing else is ever looked up, let alone reached
            return ["127.0.0.1"]

        trust = ssl.create_default_context(cafile=str(cert_file))  # this test's certificate only
        transport = GuardedTransport(OutboundPolicy(("127.0.0.0/8",), resolver=resolver), verify=trust)
        with OcpiClient("demo-token", ClientLimits(attempts=1), transport=transport) as client:
            endpoints = client.discover(f"https://cpo.test:{server.server_port}/ocpi/versions")
            assert endpoints.locations_url == f"https://cpo.test:{server.server_port}/ocpi/2.3.0/locations"
            pages = list(client.pages(endpoints.locations_url, limit=2))
        assert [len(page.objects) for page in pages] == [2, 2, 1]
        assert not any(page.offset_paging for page in pages)
        assert len({location["id"] for page in pages for location in page.objects}) == 5
        lists = [r["query"] for r in app.config["REQUEST_LOG"] if r["path"].endswith("/locations")]
        assert [q.get("offset") for q in lists] == ["0", "2", "4"]
        assert set(resolved) == {"cpo.test"}
    finally:
        server.shutdown()
        server.server_close()
