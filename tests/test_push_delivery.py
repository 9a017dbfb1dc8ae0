"""Push delivery to subscribers of Germany's AFIR DATEX II profile (exporters/push/), the way
the Mobilithek takes data: each test's subscriber is a real HTTPS server on loopback with a
CA of its own, which requires a client certificate signed by that CA (mutual TLS). Status
changes come in through NAP's OCPI push receiver over HTTP, and the delivery loops run for
real in threads."""
from __future__ import annotations

import gzip
import json
import ssl
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from exporters.push.engine import OVERLAP, TABLE_CHECK_EVERY, deliver_due
from exporters.push.kinds import DeliveryKind
from exporters.push.loop import DeliveryLoop
from exporters.push.subscribers import NewSubscriber, SubscriberError, add_subscriber, rotate_secrets
from exporters.push.transport import check_url
from nap.cli import main as nap_cli
from nap.store.leases import Leases
from nap.store.tables import EvseStatusChange, PushDelivery, PushSubscriber, Tariff
from nap.url_guard import UrlRefused
from tests.de_afir_schema import validate_status, validate_table
from tests.portal_fixtures import PortalClient, add_user
from tests.settings_helpers import replace
from tests.status_push import Cpo, harvested_cpo
from tests.waiting import clock_past, wait_until

AUTH_HEADER = ("X-Api-Key", "s3cret-subscriber-key")
STATUSES = ("AVAILABLE", "CHARGING", "BLOCKED", "OUTOFORDER", "RESERVED")


# --- a CA, the subscriber's server certificate and NAP's client certificate ---------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool = False, ip: str | None = None,
                 client: bool = False) -> x509.Certificate:
    now = datetime.now(timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    if ip:
        import ipaddress

        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                                        critical=False)
    if not ca:
        usage = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH if client else x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class Pki:
    def __init__(self, directory: Path):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _certificate("Subscriber test CA", ca_key, _name("Subscriber test CA"), ca_key, ca=True)
        server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        server = _certificate("127.0.0.1", server_key, ca.subject, ca_key, ip="127.0.0.1")
        client = _certificate("nap-push-client", client_key, ca.subject, ca_key, client=True)
        self.ca_pem = _pem(ca)
        self.client_cert_pem, self.client_key_pem = _pem(client), _key_pem(client_key)
        self.server_cert_file, self.server_key_file = directory / "server.pem", directory / "server.key"
        self.ca_file = directory / "ca.pem"
        self.server_cert_file.write_text(_pem(server))
        self.server_key_file.write_text(_key_pem(server_key))
        self.ca_file.write_text(self.ca_pem)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


# --- the subscriber: HTTPS, client certificate required -----------------------------------

class Receipt:
    def __init__(self, path: str, headers: dict, document: dict, client_subject: str):
        self.path, self.headers, self.document, self.client_subject = path, headers, document, client_subject

    @property
    def exchange(self) -> str:
        """snapshotPush, deltaPush, or "table" for a static publication."""
        if "messageContainer" not in self.document:
            return "table"
        context = self.document["messageContainer"]["exchangeInformation"]["exchangeContext"]
        return context["codedExchangeProtocol"]["value"]

    def statuses(self) -> dict[str, str]:
        """Charging point id -> status value, in lower case."""
        found = {}
        for payload in self.document["messageContainer"]["payload"]:
            publication = payload["aegiEnergyInfrastructureStatusPublication"]
            for site in publication.get("energyInfrastructureSiteStatus", []):
                for station in site.get("energyInfrastructureStationStatus", []):
                    for point in station.get("refillPointStatus", []):
                        status = point["aegiElectricChargingPointStatus"]
                        # Lower case, as OCPI's names compare with DATEX II's (OUTOFORDER, outOfOrder).
                        found[status["reference"]["idG"]] = status["status"]["value"].lower()
        return found


class Receiver:
    """An HTTPS server on 127.0.0.1 with its own CA, requiring a client certificate signed
    by it; records every POST. stop() closes the port (the subscriber is down), start()
    opens it again on the same port."""

    def __init__(self, pki: Pki):
        self.pki, self.port = pki, 0
        self.receipts: list[Receipt] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/datex/push"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                subject = dict(item[0] for item in self.connection.getpeercert()["subject"])["commonName"]
                with receiver.lock:
                    receiver.receipts.append(Receipt(self.path, dict(self.headers), json.loads(body), subject))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.server_cert_file, self.pki.server_key_file)
        context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no connection
        context.load_verify_locations(self.pki.ca_file)
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.server.handle_error = lambda request, address: None  # a refused handshake is not news
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def of(self, exchange: str) -> list[Receipt]:
        with self.lock:
            return [receipt for receipt in self.receipts if receipt.exchange == exchange]


@pytest.fixture
def receiver(pki):
    server = Receiver(pki)
    yield server
    server.stop()


# --- NAP with a harvested CPO that pushes statuses ---------------------------------------

@pytest.fixture
def push_settings(settings):
    # Retries at once, so that a catch-up takes a fraction of a second, not the default 5 s.
    return replace(settings, push_retry_seconds=0.1, push_retry_max_seconds=0.3)


@pytest.fixture
def cpo(demo_cpo, nap_server, sessions, push_settings) -> Cpo:
    return harvested_cpo(demo_cpo(locations=3), nap_server.url, sessions, push_settings)


def subscribe(sessions, settings, pki: Pki, receiver: Receiver, name: str = "mobilithek", kind: str = "status",
              **overrides) -> None:
    new = NewSubscriber(name=name, url=receiver.url, kind=kind, auth_header_name=AUTH_HEADER[0],
                        auth_header_value=AUTH_HEADER[1], client_cert_pem=pki.client_cert_pem,
                        client_key_pem=pki.client_key_pem, ca_bundle_pem=pki.ca_pem, **overrides)
    with sessions.begin() as session:
        add_subscriber(session, settings, new, datetime.now(timezone.utc))


@pytest.fixture
def loops(sessions, push_settings):
    """Start delivery loops (each its own lease holder, as separate workers are); all are
    stopped at the end."""
    started: list[DeliveryLoop] = []

    def start(holder: str = "worker-1") -> DeliveryLoop:
        loop = DeliveryLoop(sessions, push_settings, leases=Leases(sessions, holder=holder)).start()
        started.append(loop)
        return loop

    yield start
    for loop in started:
        loop.stop()


def deliveries(sessions) -> list[PushDelivery]:
    with sessions() as session:
        return list(session.scalars(select(PushDelivery).order_by(PushDelivery.id)))


def _cli(settings, *args: str):
    env = {"NAP_DATABASE_URL": settings.database_url, "NAP_OUTBOUND_ALLOW": ",".join(settings.outbound_allow)}
    return CliRunner().invoke(nap_cli, ["subscribers", *args], env=env, catch_exceptions=False)


# --- the tests ------------------------------------------------------------------------------

def test_a_pushed_status_reaches_the_subscriber_as_a_delta_within_two_seconds(
        cpo, receiver, pki, sessions, push_settings, loops, nap_server):
    # The harvest's statuses out of the overlap window, so that the delta holds only the push.
    with sessions() as session:
        clock_past(max(session.scalar(select(func.max(EvseStatusChange.received_at))),
                       session.scalar(select(func.max(Tariff.changed_at)))) + OVERLAP)
    subscribe(sessions, push_settings, pki, receiver)
    loops()
    snapshot = wait_until(lambda: receiver.of("snapshotPush"), timeout=10, what="the first snapshot")[0]
    assert validate_status(snapshot.document) == []
    point = cpo.point_id(snapshot.statuses(), cpo.evse_uids[0])
    new_status = "BLOCKED" if snapshot.statuses()[point] != "blocked" else "CHARGING"
    # What travelled: gzip JSON, the auth header, NAP's client certificate.
    assert snapshot.headers["Content-Type"] == "application/json"
    assert snapshot.headers[AUTH_HEADER[0]] == AUTH_HEADER[1]
    assert snapshot.client_subject == "nap-push-client" and snapshot.path == "/datex/push"

    cpo.push_status(cpo.evse_uids[0], new_status)
    # Within 2 s of NAP taking the push (the loop ticks ten times a second).
    delta = wait_until(lambda: [r for r in receiver.of("deltaPush") if point in r.statuses()], timeout=2.0,
                       what="a deltaPush with the pushed status")[0]
    assert delta.statuses()[point] == new_status.lower()
    assert validate_status(delta.document) == []
    assert list(delta.statuses()) == [point]  # a delta: only what changed

    # The deliveries are recorded, with their lag, and shown to the operators.
    recorded = wait_until(lambda: [d for d in deliveries(sessions) if d.kind == DeliveryKind.DELTA],
                          timeout=5, what="the delta's record")
    assert recorded[0].ok and recorded[0].http_status == 204 and recorded[0].size > 0
    assert 0 <= recorded[0].lag_seconds < 2.0
    listed = _cli(push_settings, "deliveries", "mobilithek")
    assert listed.exit_code == 0 and "\tmobilithek\tdelta\tok 204\t" in listed.output \
        and "\tmobilithek\tsnapshot\tok 204\t" in listed.output
    metrics = httpx.get(f"{nap_server.url}/metrics").text
    assert 'nap_push_deliveries_total{kind="delta",outcome="ok",subscriber="mobilithek"}' in metrics
    assert 'nap_push_delivery_lag_seconds_bucket{le="2.0",subscriber="mobilithek"}' in metrics
    assert 'nap_push_seconds_since_last_success{subscriber="mobilithek"}' in metrics
    assert AUTH_HEADER[1] not in metrics


def test_a_subscriber_down_for_a_while_gets_a_snapshot_with_everything_it_missed(
        cpo, receiver, pki, sessions, push_settings, loops):
    subscribe(sessions, push_settings, pki, receiver)
    loops()
    first = wait_until(lambda: receiver.of("snapshotPush"), timeout=10, what="the first snapshot")[0]
    receiver.stop()
    # While it is down, every EVSE of the location changes, one after the other.
    expected = {}
    for n, uid in enumerate(cpo.evse_uids):
        point = cpo.point_id(first.statuses(), uid)
        status = next(s for s in STATUSES[n % len(STATUSES):] + STATUSES if s.lower() != first.statuses()[point])
        cpo.push_status(uid, status)
        expected[point] = status.lower()
    wait_until(lambda: len([d for d in deliveries(sessions) if not d.ok]) >= 2, timeout=10,
               what="deliveries failing while the subscriber is down")
    receiver.start()
    catch_up = wait_until(lambda: receiver.of("snapshotPush")[1:], timeout=10, what="the catch-up snapshot")[0]
    assert validate_status(catch_up.document) == []
    assert {point: catch_up.statuses()[point] for point in expected} == expected
    # The first good delivery after the failures is that snapshot, never a delta. (Its
    # record is committed once the subscriber has answered: wait for it.)
    record = wait_until(lambda: (r := deliveries(sessions)) and r[-1].ok and r, timeout=5,
                        what="the catch-up's record")
    first_failure = next(i for i, d in enumerate(record) if not d.ok)
    after = [d for d in record[first_failure:] if d.ok]
    assert after[0].kind == DeliveryKind.SNAPSHOT
    assert [d.attempt for d in record[first_failure:first_failure + 2]] == [1, 2]
    assert "ConnectError" in record[first_failure].error and AUTH_HEADER[1] not in record[first_failure].error


def test_a_delta_leaves_out_what_the_last_one_carried_and_keeps_what_committed_late(cpo, receiver, pki, sessions,
                                                                                  push_settings):
    settings = replace(push_settings, push_min_interval_seconds=0)
    subscribe(sessions, settings, pki, receiver)
    assert [d.kind for d in deliver_due(sessions, settings)] == [DeliveryKind.SNAPSHOT]
    statuses = receiver.of("snapshotPush")[0].statuses()
    first, second = (cpo.point_id(statuses, uid) for uid in cpo.evse_uids[:2])
    # The harvest's statuses, received just before the snapshot, are not sent again either.
    cpo.push_status(cpo.evse_uids[0], "OUTOFORDER")
    assert [d.kind for d in deliver_due(sessions, settings)] == [DeliveryKind.DELTA]
    assert list(receiver.of("deltaPush")[-1].statuses()) == [first]
    # Another change, well within OVERLAP of that delivery: the next delta holds it alone.
    cpo.push_status(cpo.evse_uids[1], "OUTOFORDER")
    assert [d.kind for d in deliver_due(sessions, settings)] == [DeliveryKind.DELTA]
    assert list(receiver.of("deltaPush")[-1].statuses()) == [second]
    # A change received before that delivery and committed after it (a slow transaction's)
    # is in the next one.
    with sessions.begin() as session:
        watermark = session.scalar(select(PushSubscriber.watermark))
        seen = session.scalar(select(EvseStatusChange).where(EvseStatusChange.evse_uid == cpo.evse_uids[0])
                              .order_by(EvseStatusChange.id.desc()).limit(1))
        session.add(EvseStatusChange(feed_id=seen.feed_id, location_pk=seen.location_pk, evse_uid=seen.evse_uid,
                                     old_status="AVAILABLE", new_status="OUTOFORDER", cpo_time=watermark,
                                     received_at=watermark - OVERLAP / 2, via="push"))
    assert [d.kind for d in deliver_due(sessions, settings)] == [DeliveryKind.DELTA]
    assert list(receiver.of("deltaPush")[-1].statuses()) == [first]
    assert deliver_due(sessions, settings) == []


def test_two_workers_deliver_each_message_once(cpo, receiver, pki, sessions, push_settings, loops):
    subscribe(sessions, push_settings, pki, receiver)
    loops("worker-1"), loops("worker-2")
    snapshot = wait_until(lambda: receiver.of("snapshotPush"), timeout=10, what="the first snapshot")[0]
    points = [cpo.point_id(snapshot.statuses(), uid) for uid in cpo.evse_uids]
    for round_ in range(3):
        for uid, point in zip(cpo.evse_uids, points):
            status = STATUSES[(round_ + 1) % len(STATUSES)]
            cpo.push_status(uid, status)
            wait_until(lambda: any(r.statuses().get(point) == status.lower() for r in receiver.of("deltaPush")),
                       timeout=5, what=f"{status} of {uid} delivered")
    # Each delivery the database records reached the subscriber exactly once: as many
    # receipts as successful deliveries, one initial snapshot, not one per worker.
    wait_until(lambda: len(receiver.receipts) == len([d for d in deliveries(sessions) if d.ok]), timeout=5,
               what="the records to catch up with the receipts")
    assert len(receiver.of("snapshotPush")) == 1
    assert all(d.ok for d in deliveries(sessions))
    documents = [json.dumps(r.document, sort_keys=True) for r in receiver.receipts]
    assert len(set(documents)) == len(documents)


def test_a_table_subscriber_gets_the_table_at_start_and_again_only_when_it_changed(
        cpo, receiver, pki, sessions, push_settings):
    settings = replace(push_settings, push_table_period_seconds=0)
    subscribe(sessions, settings, pki, receiver, name="static", kind="table")

    def table_changes() -> None:  # as a harvest that changed the table does: another version
        with sessions.begin() as session:
            session.scalar(select(PushSubscriber).where(PushSubscriber.name == "static")).table_version = "old"

    start = datetime.now(timezone.utc)
    [delivered] = deliver_due(sessions, settings, start)
    assert delivered.ok and delivered.kind == DeliveryKind.TABLE and delivered.items > 0
    [table] = receiver.of("table")
    assert validate_table(table.document) == []
    assert deliver_due(sessions, settings, start + timedelta(seconds=1)) == []  # the same version is not sent again
    table_changes()
    # The version was compared a second ago; each process compares it every TABLE_CHECK_EVERY.
    assert deliver_due(sessions, settings, start + timedelta(seconds=2)) == []
    later = start + timedelta(seconds=1) + TABLE_CHECK_EVERY
    assert [d.kind for d in deliver_due(sessions, settings, later)] == [DeliveryKind.TABLE]
    # With a period, a changed table waits for it.
    table_changes()
    waiting = replace(push_settings, push_table_period_seconds=3600)
    assert deliver_due(sessions, waiting, later + 2 * TABLE_CHECK_EVERY) == []
    assert len(receiver.of("table")) == 2


def test_a_subscriber_limited_to_other_cpos_gets_none_of_this_ones_changes(cpo, receiver, pki, sessions,
                                                                           push_settings):
    subscribe(sessions, push_settings, pki, receiver, name="abc", parties=("DE*ABC",))
    subscribe(sessions, push_settings, pki, receiver, name="xyz", parties=("FR*XYZ",))
    first = deliver_due(sessions, push_settings)
    assert sorted((d.subscriber, d.kind, d.items > 0) for d in first) == [
        ("abc", DeliveryKind.SNAPSHOT, True), ("xyz", DeliveryKind.SNAPSHOT, False)]
    abc_snapshot = next(r for r in receiver.of("snapshotPush") if r.statuses())
    point = cpo.point_id(abc_snapshot.statuses(), cpo.evse_uids[1])
    cpo.push_status(cpo.evse_uids[1], "OUTOFORDER")
    [delta] = wait_until(lambda: deliver_due(sessions, push_settings), timeout=5, what="the next delivery")
    assert (delta.subscriber, delta.kind) == ("abc", DeliveryKind.DELTA)
    assert receiver.of("deltaPush")[-1].statuses()[point] == "outoforder"
    assert len(receiver.receipts) == 3  # nothing went to xyz: none of its CPOs changed
    assert [validate_status(r.document) for r in receiver.receipts] == [[], [], []]  # the empty snapshot too


def test_a_document_that_cannot_be_made_is_a_failed_delivery_tried_again_later(receiver, pki, sessions,
                                                                              push_settings, monkeypatch):
    import exporters.push.engine as engine

    def broken(*args, **kwargs):
        raise RuntimeError("no document today")

    monkeypatch.setattr(engine, "status_document", broken)
    # A backoff no busy machine can outlast between the two ticks below.
    patient = replace(push_settings, push_retry_seconds=60, push_retry_max_seconds=120)
    subscribe(sessions, patient, pki, receiver)
    [failed] = deliver_due(sessions, patient)
    assert not failed.ok and "could not make the document (RuntimeError)" in failed.error
    assert deliver_due(sessions, patient) == []  # backing off, not at every tick
    with sessions() as session:
        assert session.scalar(select(PushSubscriber)).next_attempt_at is not None
    assert receiver.receipts == []


REFUSED_URLS = ("https://127.0.0.1:8443/push", "https://localhost/push", "https://10.0.0.7/push",
                "https://169.254.169.254/latest", "https://[::1]/push", "https://100.100.100.200/push",
                "https://[::ffff:10.0.0.7]/push", "http://198.51.100.7/push", "file:///etc/passwd")


def test_a_subscriber_url_to_an_address_not_allowed_is_refused(settings, sessions):
    guarded = replace(settings, outbound_allow=())
    for url in REFUSED_URLS:
        # The guard's decision, asked without a request: nothing leaves for these addresses.
        with pytest.raises(UrlRefused):
            check_url(guarded, url)
        with pytest.raises(SubscriberError, match="refused"), sessions.begin() as session:
            add_subscriber(session, guarded, NewSubscriber(name="evil", url=url, kind="status"),
                           datetime.now(timezone.utc))
    refused = _cli(guarded, "add", "--name", "evil", "--url", REFUSED_URLS[0], "--kind", "status")
    assert refused.exit_code != 0 and "loopback" in refused.output
    assert "evil" not in _cli(guarded, "list").output
    check_url(settings, "https://127.0.0.1:8443/push")  # allow-listed (NAP_OUTBOUND_ALLOW=127.0.0.0/8)


def test_the_guard_is_asked_again_at_every_delivery(receiver, pki, sessions, push_settings):
    subscribe(sessions, push_settings, pki, receiver)  # allowed when registered (127.0.0.0/8)...
    guarded = replace(push_settings, outbound_allow=())  # ...no longer when delivered
    [failed] = deliver_due(sessions, guarded)
    assert not failed.ok and "loopback" in failed.error and failed.http_status is None
    assert receiver.receipts == []
    with sessions() as session:
        subscriber = session.scalar(select(PushSubscriber))
        assert subscriber.failures == 1 and subscriber.needs_snapshot and subscriber.next_attempt_at is not None


def test_registration_refuses_bad_secrets_and_keeps_them_encrypted(settings, sessions, pki, receiver):
    def new(**fields) -> NewSubscriber:
        return NewSubscriber(**{"name": "m", "url": receiver.url, "kind": "status", **fields})

    for wrong in (new(client_cert_pem=pki.client_cert_pem), new(client_cert_pem="junk", client_key_pem="junk"),
                  new(ca_bundle_pem="not a CA"), new(auth_header_name="X-Key"),
                  new(auth_header_name="Bad Header", auth_header_value="v"),
                  new(auth_header_name="X-Key", auth_header_value="a\r\nInjected: 1"), new(kind="both"),
                  new(profile="de-afir/99"), new(parties=("DE-ABC",))):
        with pytest.raises(SubscriberError), sessions.begin() as session:
            add_subscriber(session, settings, wrong, datetime.now(timezone.utc))
    subscribe(sessions, settings, pki, receiver, parties=("de*abc", "FR*XYZ"))
    with sessions() as session:
        raw = session.connection().exec_driver_sql(
            "SELECT auth_header_value, client_key_pem, parties FROM push_subscribers").one()
    assert raw[0].startswith("fernet:") and raw[1].startswith("fernet:")
    assert AUTH_HEADER[1] not in raw[0] and "PRIVATE KEY" not in raw[1]
    with sessions.begin() as session:  # `nap tokens rotate` re-encrypts them (same key here: new ciphertexts)
        assert rotate_secrets(session) == 3
    with sessions() as session:
        rotated = session.connection().exec_driver_sql("SELECT auth_header_value FROM push_subscribers").scalar()
        assert rotated != raw[0] and session.scalar(select(PushSubscriber.auth_header_value)) == AUTH_HEADER[1]
    listed = _cli(settings, "list").output
    assert "mobilithek" in listed and "cpos=DE*ABC,FR*XYZ" in listed and AUTH_HEADER[1] not in listed


def test_the_command_line_adds_lists_disables_and_removes_a_subscriber(settings, sessions, pki, receiver, tmp_path):
    files = {"cert": pki.client_cert_pem, "key": pki.client_key_pem, "ca": pki.ca_pem, "secret": AUTH_HEADER[1] + "\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    added = _cli(settings, "add", "--name", "cli", "--url", receiver.url, "--kind", "table", "--cpo", "DE*ABC",
                 "--client-cert", str(tmp_path / "cert"), "--client-key", str(tmp_path / "key"),
                 "--ca-bundle", str(tmp_path / "ca"), "--auth-header-name", AUTH_HEADER[0],
                 "--auth-header-value-file", str(tmp_path / "secret"))
    assert added.exit_code == 0, added.output
    with sessions() as session:
        subscriber = session.scalar(select(PushSubscriber).where(PushSubscriber.name == "cli"))
        assert (subscriber.auth_header_value, subscriber.client_key_pem) == (AUTH_HEADER[1], pki.client_key_pem.strip())
    assert "cli\ttable\tde-afir/01-00-00\tenabled" in _cli(settings, "list").output
    assert _cli(settings, "disable", "cli").exit_code == 0
    assert "\tdisabled\t" in _cli(settings, "list").output
    assert _cli(settings, "remove", "cli").exit_code == 0 and "cli" not in _cli(settings, "list").output
    assert _cli(settings, "remove", "cli").exit_code != 0


def test_the_admin_page_lists_subscribers_and_deliveries_and_adds_one(
        receiver, pki, sessions, push_settings, nap_server):
    subscribe(sessions, push_settings, pki, receiver)
    deliver_due(sessions, push_settings)
    add_user(sessions, "admin@nap.example", role="admin")
    portal = PortalClient(nap_server.url)
    try:
        assert portal.login("admin@nap.example").status_code == 302
        page = portal.get("/admin/subscribers")
        assert page.status_code == 200 and "mobilithek" in page.text and receiver.url in page.text
        assert "snapshot" in page.text and "204" in page.text and AUTH_HEADER[1] not in page.text
        refused = portal.post("/admin/subscribers", {"name": "x", "url": "https://10.1.2.3/", "kind": "table"})
        assert refused.status_code == 400 and "10.1.2.3" in refused.text
        without_csrf = portal.post("/admin/subscribers", {"name": "y", "url": receiver.url, "kind": "table"},
                                   csrf=False)
        assert without_csrf.status_code == 400
        added = portal.post("/admin/subscribers", {
            "name": "static", "url": receiver.url, "kind": "table", "client_cert_pem": pki.client_cert_pem,
            "client_key_pem": pki.client_key_pem, "ca_bundle_pem": pki.ca_pem, "cpos": "DE*ABC"})
        assert added.status_code == 302
        with sessions() as session:
            static = session.scalar(select(PushSubscriber).where(PushSubscriber.name == "static"))
            assert static.kind == "table" and static.parties == ["DE*ABC"] and static.enabled
        portal.get("/admin/subscribers")
        assert portal.post(f"/admin/subscribers/{static.id}/disable").status_code == 302
        with sessions() as session:
            assert not session.get(PushSubscriber, static.id).enabled
        assert [d.subscriber for d in deliver_due(sessions, push_settings)] == []  # disabled: nothing
    finally:
        portal.close()
