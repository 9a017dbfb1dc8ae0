"""Delta latency of Germany's AFIR profile (issue #17): from a CPO's EVSE status PATCH to the
subscriber's receipt of the deltaPush that carries it. Target: p99 <= 2 s at 500 PATCH/s.

1. The subscriber: an HTTPS server on 127.0.0.1 with a CA of its own, in this process. It
   answers 204 at once, then notes when the push arrived and, for a deltaPush, which
   charging point statuses it carries. It is registered with NAP's CLI
   (`nap subscribers add --kind status`, profile de-afir/01-00-00, that CA as --ca-bundle).
2. NAP's delivery loop (exporters/push/loop.py, 0.1 s ticks) in a process of its own, as
   `nap worker` runs it but without the harvests (a re-harvest of the fleet would load the
   machine). The production settings: a delta at most once a second.
3. Once the first snapshotPush arrived: the paced PATCH load of bench/push.py (open loop,
   `rate`/s, bench/loadgen.py) to NAP's OCPI receiver under gunicorn.

Latency of one status change: the receipt of the first delta carrying that charging point
with that status, minus the moment NAP's receiver stored the change (evse_status_history
.received_at): one machine, one clock. A change overtaken by a later PATCH of the same EVSE
before a delta carried it is "superseded" (not counted); any other change no delta
carried is "missed".

    python -m bench.de_afir_push loop    (the delivery loop; NAP_DATABASE_URL etc. from the environment)
"""
from __future__ import annotations

import bisect
import gzip
import ipaddress
import os
import random
import signal
import ssl
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson

from bench.common import BIN, PYTHON, WORK, BenchError, Database, Service, check, free_port, log, percentile, \
    run_load, run_measured
from bench.harvest import nap_env
from bench.push import PREFIX

SUBSCRIBER = "bench-de-afir"
PROFILE = "de-afir/01-00-00"
# After the load: how long deliveries may take to carry its last changes.
DRAIN_SECONDS = 10.0


# -- the subscriber ----------------------------------------------------------------------------


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """(CA file, server certificate file, server key file): a CA and a certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(timezone.utc)

    def certificate(name: str, key, issuer: x509.Name, issuer_key, ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
                critical=True)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench subscriber CA")])
    ca = certificate("bench subscriber CA", ca_key, ca_name, ca_key, True)
    server = certificate("127.0.0.1", server_key, ca_name, ca_key, False)
    directory.mkdir(parents=True, exist_ok=True)
    files = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return files


def delta_statuses(document: dict) -> dict[str, str]:
    """Charging point idG -> status value (lower case) in a status publication."""
    found = {}
    for payload in document["messageContainer"]["payload"]:
        publication = payload["aegiEnergyInfrastructureStatusPublication"]
        for site in publication.get("energyInfrastructureSiteStatus", ()):
            for station in site.get("energyInfrastructureStationStatus", ()):
                for point in station.get("refillPointStatus", ()):
                    status = point["aegiElectricChargingPointStatus"]
                    found[status["reference"]["idG"]] = status["status"]["value"].lower()
    return found


class Subscriber:
    """Receipts: (time.time() at arrival, exchange protocol, {point idG: status} of a delta)."""

    def __init__(self, directory: Path) -> None:
        self.ca_file, cert_file, key_file = _certificates(directory)
        self.receipts: list[tuple[float, str, dict[str, str]]] = []
        self.failures = 0
        self.lock = threading.Lock()
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                arrived = time.time()
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.wfile.flush()
                subscriber.record(arrived, body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}/datex/push"

    def record(self, arrived: float, body: bytes) -> None:
        try:
            document = orjson.loads(gzip.decompress(body))
            exchange = document["messageContainer"]["exchangeInformation"]["exchangeContext"][
                "codedExchangeProtocol"]["value"]
            statuses = delta_statuses(document) if exchange == "deltaPush" else {}
        except (OSError, ValueError, KeyError, TypeError):
            with self.lock:
                self.failures += 1
            return
        with self.lock:
            self.receipts.append((arrived, exchange, statuses))

    def of(self, exchange: str) -> list[tuple[float, str, dict[str, str]]]:
        with self.lock:
            return [receipt for receipt in self.receipts if receipt[1] == exchange]

    def __enter__(self) -> Subscriber:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- matching changes to deltas -------------------------------------------------------------------


def point_key(point_id: str) -> tuple[str, str] | None:
    """(location id, EVSE uid) of a charging point idG "CC*PID*LOCATION#evse:UID"."""
    site, marker, uid = point_id.partition("#evse:")
    return (site.rsplit("*", 1)[-1], uid) if marker else None


def latencies(changes: list[tuple[str, str, str, float]],
              receipts: list[tuple[float, str, dict[str, str]]]) -> tuple[list[float], int, int]:
    """(seconds from each change to the first delta carrying it, superseded, missed) for
    `changes` (location id, EVSE uid, OCPI status, received_at as a POSIX time)."""
    carried: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for arrived, _, statuses in sorted(receipts, key=lambda receipt: receipt[0]):
        for point_id, status in statuses.items():
            key = point_key(point_id)
            if key is not None:
                carried.setdefault(key, []).append((arrived, status))
    later: dict[tuple[str, str], list[float]] = {}
    for location_id, uid, _, received in changes:
        later.setdefault((location_id, uid), []).append(received)
    found, superseded, missed = [], 0, 0
    for location_id, uid, status, received in changes:
        deliveries = carried.get((location_id, uid), [])
        start = bisect.bisect_left(deliveries, (received, ""))
        match = next((arrived for arrived, carried_status in deliveries[start:] if carried_status == status.lower()),
                     None)
        if match is not None:
            found.append(match - received)
        elif any(other > received for other in later[(location_id, uid)]):
            superseded += 1
        else:
            missed += 1
    return found, superseded, missed


def stored_changes(db: Database, since: datetime) -> list[tuple[str, str, str, float]]:
    """The status changes NAP's receiver stored after `since`: (location id, EVSE uid,
    status, received_at as a POSIX time)."""
    from sqlalchemy import select

    from nap.store.db import session_factory
    from nap.store.tables import EvseStatusChange, Location

    with session_factory(db.url)() as session:
        rows = session.execute(select(Location.ocpi_id, EvseStatusChange.evse_uid, EvseStatusChange.new_status,
                                      EvseStatusChange.received_at)
                               .join(Location, Location.id == EvseStatusChange.location_pk)
                               .where(EvseStatusChange.received_at > since, EvseStatusChange.via == "push")).all()
    return [(location_id, uid, status, received.timestamp()) for location_id, uid, status, received in rows]


# -- the benchmark ----------------------------------------------------------------------------------


def _wait(condition, timeout: float, what: str, service: Service) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if service.proc.poll() is not None:
            raise BenchError(f"the delivery loop exited before {what}:\n{service.log_tail()}")
        if time.monotonic() > deadline:
            raise BenchError(f"no {what} within {timeout:.0f} s:\n{service.log_tail()}")
        time.sleep(0.1)


def changing_targets(db: Database, seed: int = 17) -> list[list[str]]:
    """[location id, EVSE uid] of the EVSEs not CHARGING now, in random order: the load's
    first pass sets CHARGING (bench/loadgen.py), so each of its PATCHes is a change,
    whatever the push benchmark left behind; a second pass sets AVAILABLE again."""
    targets = [[location_id, uid] for location_id, uid in db.query(
        "SELECT l.ocpi_id, e.uid FROM evses e JOIN locations l ON l.id = e.location_pk "
        "WHERE e.status <> 'CHARGING' ORDER BY e.id")]
    random.Random(seed).shuffle(targets)
    return targets


def run(db: Database, nap_base: str, token: str, seconds: float, rate: float, timeout: float) -> dict:
    env = nap_env(db)
    with Subscriber(WORK / "de-afir-push-pki") as subscriber:
        check(run_measured([str(BIN / "nap"), "subscribers", "add", "--name", SUBSCRIBER, "--url", subscriber.url,
                            "--kind", "status", "--profile", PROFILE, "--ca-bundle", str(subscriber.ca_file)],
                           env, 120), "nap subscribers add")
        try:
            with Service("de-afir-delivery-loop", [PYTHON, "-m", "bench.de_afir_push", "loop"], env) as loop:
                log("de-afir push: waiting for the subscriber's first snapshotPush")
                started = time.monotonic()
                _wait(lambda: subscriber.of("snapshotPush"), timeout, "first snapshotPush", loop)
                snapshot_seconds = time.monotonic() - started
                load_began = datetime.now(timezone.utc)
                load = changing_targets(db)
                log(f"de-afir push: snapshot after {snapshot_seconds:.1f} s; {rate:.0f} PATCH/s for {seconds:.0f} s")
                patches = run_load("de-afir-push", {
                    "kind": "patch", "targets": load, "token": token, "receiver_prefix": PREFIX, "mode": "open",
                    "rate": rate, "concurrency": 32, "warmup": 2.0, "duration": seconds, "base": nap_base,
                    "offset": 0})
                changes = stored_changes(db, load_began)
                deadline = time.monotonic() + DRAIN_SECONDS
                while time.monotonic() < deadline:
                    found, superseded, missed = latencies(changes, subscriber.receipts)
                    if not missed:
                        break
                    time.sleep(0.5)
                if loop.proc.poll() is not None:
                    raise BenchError(f"the delivery loop exited during the load:\n{loop.log_tail()}")
        finally:
            check(run_measured([str(BIN / "nap"), "subscribers", "remove", SUBSCRIBER], env, 120),
                  "nap subscribers remove")
    found, superseded, missed = latencies(changes, subscriber.receipts)
    if not found:
        raise RuntimeError(f"de-afir push: no delta carried any of the {len(changes)} changes")
    deltas = subscriber.of("deltaPush")
    result = {
        "changes": len(changes), "delivered": len(found), "superseded": superseded, "missed": missed,
        "latency_ms": {name: percentile([value * 1000 for value in found], q)
                       for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))},
        "deltas": len(deltas), "snapshots": len(subscriber.of("snapshotPush")),
        "unreadable_pushes": subscriber.failures, "first_snapshot_seconds": snapshot_seconds,
        "patch": {"rps": patches["rps"], "target_rps": rate, "errors": patches["errors"],
                  "latency_ms": patches["latency_ms"]},
    }
    log(f"de-afir push: {len(found)} of {len(changes)} changes delivered ({superseded} superseded, {missed} missed), "
        f"p50 {result['latency_ms']['p50']:.0f} ms, p99 {result['latency_ms']['p99']:.0f} ms, "
        f"{len(deltas)} deltas; PATCH {patches['rps']:.0f}/s")
    return result


def _loop() -> None:
    """The worker's delivery loop alone, until SIGTERM."""
    from exporters.push.loop import DeliveryLoop
    from nap.config import load_settings
    from nap.store.db import session_factory

    settings = load_settings()
    loop = DeliveryLoop(session_factory(settings.database_url), settings)
    signal.signal(signal.SIGTERM, lambda *_: loop.stopping.set())
    profile_to = os.environ.get("BENCH_PROFILE_LOOP")  # a file for cProfile's stats: where a delta's time goes
    if not profile_to:
        loop.run()
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.runcall(loop.run)
    profiler.dump_stats(profile_to)


if __name__ == "__main__":
    if sys.argv[1:] != ["loop"]:
        raise SystemExit(__doc__)
    _loop()
