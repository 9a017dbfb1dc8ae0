"""A small HTTP load generator, run as a process of its own so that its CPU shows apart:

    python -m bench.loadgen SPEC.json     (prints one JSON line of results)

It talks HTTP/1.1 with the standard library's http.client (lighter than httpx, so more of
the two cores is left to the server), to loopback only, and stops by itself: after
`warmup + duration` seconds or `max_requests` requests, whichever comes first.

SPEC keys:
  base          "http://127.0.0.1:PORT" (loopback only)
  mode          "closed": `concurrency` clients each send the next request as soon as the
                previous one is answered (measures capacity);
                "open": requests are scheduled at `rate` per second whatever the server
                does, sent by a pool of `concurrency` threads; latency counts from the
                scheduled moment, so a server that falls behind shows it (no coordinated
                omission)
  duration, warmup, max_requests, concurrency, rate
  accept_encoding  "gzip" (default, as real consumers send) or "identity"
  offset        where in `paths` / `targets` to begin (a second load goes on where the first stopped)
  kind          "get": `paths`, taken in turn;
                "patch": `targets` [[location_id, evse_uid], ...] under `receiver_prefix`,
                `token` (sent as `Token base64(token)`); each body sets an EVSE status and a
                fresh last_updated (RFC 3339, milliseconds, increasing)
  cpu_groups    {name: process group id}: report the CPU time each group, PostgreSQL, the
                load generator and the machine spent in the measured window, per request
                answered (bench/cpu.py), as `cpu_ms_per_request`
  probe         (patch only) {"targets": [...], "interval": 1.0, "timeout": 5.0}: during the
                load, PATCH a probe EVSE, then poll /ocpi/2.3.0/locations?date_from=..&date_to=..
                until the change shows; the delay counts from the PATCH's answer.
"""
from __future__ import annotations

import base64
import http.client
import json
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

from bench import cpu as bench_cpu

STATUSES = ("CHARGING", "AVAILABLE")


def _now_text() -> tuple[str, datetime]:
    now = datetime.now(timezone.utc)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z", now


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)

    def rank(q: float) -> float:  # nearest rank
        return ordered[min(len(ordered) - 1, max(0, int(-(-len(ordered) * q // 100)) - 1))]

    return {"p50": rank(50), "p90": rank(90), "p99": rank(99), "max": ordered[-1],
            "mean": sum(ordered) / len(ordered)}


class Client:
    """One keep-alive-when-possible HTTP connection (gunicorn's sync workers close it)."""

    def __init__(self, base: str, accept_encoding: str):
        parts = urlsplit(base)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("the load generator only talks to loopback")
        self.host, self.port = parts.hostname, parts.port
        self.accept_encoding = accept_encoding
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, bytes]:
        all_headers = {"Accept-Encoding": self.accept_encoding, **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=all_headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.conn.close()
                return response.status, data
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class Load:
    def __init__(self, spec: dict):
        self.spec = spec
        self.lock = threading.Lock()
        self.counter = 0
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.sent = 0
        self.measured_sent = 0
        self.error_samples: list[str] = []
        self.not_sent = 0  # open loop: scheduled requests still unsent when time was up
        kind = spec["kind"]
        if kind == "get":
            self.items = spec["paths"]
        elif kind == "patch":
            self.items = spec["targets"]
            self.auth = "Token " + base64.b64encode(spec["token"].encode()).decode()
            self.prefix = spec["receiver_prefix"]
        else:
            raise SystemExit(f"unknown kind {kind!r}")
        self.duration = float(spec["duration"])
        self.warmup = float(spec.get("warmup", 0))
        self.max_requests = int(spec.get("max_requests", 10**9))
        self.offset = int(spec.get("offset", 0))  # where in `paths`/`targets` to begin
        self.grace = float(spec.get("grace", 5.0))
        self.start = 0.0

    def _next(self) -> int | None:
        """The next request's number; None once `max_requests` requests were sent after the
        warmup (requests during the warmup do not count)."""
        with self.lock:
            if time.monotonic() >= self.start + self.warmup:
                if self.measured_sent >= self.max_requests:
                    return None
                self.measured_sent += 1
            self.counter += 1
            return self.counter - 1

    def _send(self, client: Client, index: int) -> tuple[int, bytes]:
        index += self.offset
        item = self.items[index % len(self.items)]
        if self.spec["kind"] == "get":
            return client.request("GET", item)
        location_id, evse_uid = item
        stamp, _ = _now_text()
        # Each pass over the targets flips the status, so every PATCH is a real change.
        status = STATUSES[(index // len(self.items)) % 2]
        body = json.dumps({"status": status, "last_updated": stamp}).encode()
        return client.request("PATCH", f"{self.prefix}/{location_id}/{evse_uid}", body,
                              {"Authorization": self.auth})

    def _record(self, began: float, ended: float, status: int, body: bytes) -> None:
        ok = 200 <= status < 300 and (self.spec["kind"] == "get" or b'"status_code":1000' in body)
        with self.lock:
            self.sent += 1
            if began >= self.start + self.warmup:
                self.latencies.append((ended - began) * 1000)
                if not ok:
                    key = str(status) if status >= 300 else f"{status}/ocpi-error"
                    self.errors[key] = self.errors.get(key, 0) + 1
                    if len(self.error_samples) < 5:
                        self.error_samples.append(body[:300].decode("utf-8", "replace"))

    def closed_worker(self) -> None:
        client = Client(self.spec["base"], self.spec.get("accept_encoding", "gzip"))
        end = self.start + self.warmup + self.duration
        while time.monotonic() < end:
            index = self._next()
            if index is None:
                return
            began = time.monotonic()
            try:
                status, body = self._send(client, index)
            except OSError:
                status, body = 599, b""
            self._record(began, time.monotonic(), status, body)

    def open_worker(self) -> None:
        client = Client(self.spec["base"], self.spec.get("accept_encoding", "gzip"))
        rate = float(self.spec["rate"])
        end = self.start + self.warmup + self.duration
        while True:
            index = self._next()
            if index is None:
                return
            scheduled = self.start + index / rate
            if scheduled >= end:
                return
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif time.monotonic() > end + self.grace:
                # The server fell this far behind: the rest of the schedule is counted as not
                # sent (an error) instead of stretching the run.
                with self.lock:
                    self.not_sent += 1
                continue
            try:
                status, body = self._send(client, index)
            except OSError:
                status, body = 599, b""
            self._record(scheduled, time.monotonic(), status, body)

    def probe(self, result: dict) -> None:
        spec = self.spec["probe"]
        client = Client(self.spec["base"], "identity")
        delays: list[float] = []
        missed = 0
        end = self.start + self.warmup + self.duration  # probes start only while the load runs
        next_at = self.start + self.warmup
        k = 0
        while True:
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if time.monotonic() >= end:
                break
            location_id, evse_uid = spec["targets"][k % len(spec["targets"])]
            status = STATUSES[(k // len(spec["targets"])) % 2]
            stamp, moment = _now_text()
            body = json.dumps({"status": status, "last_updated": stamp}).encode()
            code, answer = client.request("PATCH", f"{self.prefix}/{location_id}/{evse_uid}", body,
                                          {"Authorization": self.auth})
            answered = time.monotonic()
            if code != 200 or b'"status_code":1000' not in answer:
                missed += 1
            else:
                window = (f"/ocpi/2.3.0/locations?date_from={quote(stamp)}"
                          f"&date_to={quote(_text(moment + timedelta(milliseconds=1)))}&limit=100")
                seen = None
                while time.monotonic() - answered < float(spec["timeout"]):
                    code, page = client.request("GET", window)
                    if code == 200 and _shows(page, location_id, evse_uid, status, moment):
                        seen = time.monotonic()
                        break
                    time.sleep(0.02)
                if seen is None:
                    missed += 1
                else:
                    delays.append((seen - answered) * 1000)
            k += 1
            next_at += float(spec["interval"])
        result["probe"] = {"probes": k, "visible": len(delays), "missed": missed,
                           "delay_ms": _percentiles(delays)}

    def run(self) -> dict:
        mode = self.spec["mode"]
        worker = self.closed_worker if mode == "closed" else self.open_worker
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(int(self.spec["concurrency"]))]
        result: dict = {}
        if self.spec.get("probe"):
            threads.append(threading.Thread(target=self.probe, args=(result,), daemon=True))
        cpu = time.process_time()
        self.start = time.monotonic() + 0.05
        cpu_groups = self.spec.get("cpu_groups")
        window_cpu: dict = {}
        if cpu_groups is not None:
            meter = threading.Timer(self.start + self.warmup - time.monotonic(),
                                    lambda: window_cpu.update(before=bench_cpu.snapshot(cpu_groups)))
            meter.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.warmup + self.duration + 120)
        elapsed = time.monotonic() - self.start - self.warmup
        measured = len(self.latencies)
        if cpu_groups is not None:
            meter.join()
            result["cpu_ms_per_request"] = bench_cpu.per_request_ms(window_cpu["before"],
                                                                    bench_cpu.snapshot(cpu_groups), measured)
            result["cpu_cores"] = bench_cpu.usable_cores()
        window = min(elapsed, self.duration) if mode == "open" else elapsed
        result.update({
            "mode": mode, "requests": measured, "errors": self.errors, "seconds": window,
            "rps": measured / window if window > 0 else 0.0,
            "latency_ms": _percentiles(self.latencies),
            "client_cpu_seconds": time.process_time() - cpu,
        })
        if self.error_samples:
            result["error_samples"] = self.error_samples
        if mode == "open":
            result["target_rps"] = float(self.spec["rate"])
            if self.not_sent:
                self.errors["not sent in time"] = self.not_sent
        return result


def _shows(page: bytes, location_id: str, evse_uid: str, status: str, moment: datetime) -> bool:
    try:
        locations = json.loads(page).get("data") or []
    except ValueError:
        return False
    for location in locations:
        if location.get("id") != location_id:
            continue
        for evse in location.get("evses", []):
            if evse.get("uid") == evse_uid:
                return evse.get("status") == status and _parse(evse["last_updated"]) == moment
    return False


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    print(json.dumps(Load(spec).run()), flush=True)


if __name__ == "__main__":
    main()
