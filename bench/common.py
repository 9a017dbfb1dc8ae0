"""Shared plumbing of the benchmarks: child processes measured for wall time and peak RSS,
loopback ports, readiness checks, the throwaway databases, percentiles."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: nap, gunicorn
PYTHON = sys.executable
RESULTS = REPO / "bench" / "results"
# Scratch space and database names are per run, so that two runs on one machine (a
# developer's and CI's, say) never touch each other's files or databases.
RUN_ID = str(os.getpid())
WORK = RESULTS / "work" / RUN_ID


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A benchmark could not run (not: it ran and missed a target)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Wait until `url` answers (any HTTP status), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{proc.args!r} exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s")


def bench_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NAP_DATABASE_URL", None)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update({key: str(value) for key, value in extra.items()})
    if env.get("NAP_DATABASE_URL", "").startswith("postgresql") and not env.get("NAP_TOKEN_KEYS"):
        # Without it NAP refuses to store a CPO token on PostgreSQL (nap/store/secrets.py).
        env["NAP_TOKEN_KEYS"] = _BENCH_TOKEN_KEY
    return env


def _token_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


_BENCH_TOKEN_KEY = _token_key()  # one per bench run, shared by all its processes


@dataclass
class Measured:
    returncode: int
    wall_seconds: float
    peak_rss_mb: float  # the child's own high-water mark (getrusage of exactly that child)
    cpu_seconds: float  # user + system
    stdout: str
    stderr: str

    def json(self) -> dict:
        """The last line of stdout that parses as a JSON object."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    continue
        raise BenchError(f"no JSON result in the output:\n{self.stdout[-2000:]}\n{self.stderr[-2000:]}")


def run_measured(cmd: list[str], env: dict[str, str], timeout: float, cwd: Path = REPO) -> Measured:
    """Run a child to completion; its peak RSS comes from wait4's rusage of that very child,
    taken by bench/peak_rss.py (see there why not by this process), so neither this
    process nor other children count."""
    out_path = WORK / f"child-{os.getpid()}-{time.monotonic_ns()}.out"
    err_path = out_path.with_suffix(".err")
    rss_path = out_path.with_suffix(".rss")
    WORK.mkdir(parents=True, exist_ok=True)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen([PYTHON, "-m", "bench.peak_rss", str(rss_path), *cmd], env=env, cwd=cwd,
                                stdout=out, stderr=err, start_new_session=True)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                os.wait4(proc.pid, 0)
                raise BenchError(f"{' '.join(cmd)} did not finish within {timeout:.0f} s: killed")
            time.sleep(0.02)
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = out_path.read_text(errors="replace"), err_path.read_text(errors="replace")
    peak_rss = float(rss_path.read_text()) if rss_path.exists() else usage.ru_maxrss / 1024
    for path in (out_path, err_path, rss_path):
        path.unlink(missing_ok=True)
    return Measured(proc.returncode, wall, peak_rss, usage.ru_utime + usage.ru_stime, stdout, stderr)


def check(measured: Measured, what: str) -> Measured:
    if measured.returncode != 0:
        raise BenchError(f"{what} failed (exit {measured.returncode}):\n{measured.stdout[-3000:]}\n"
                         f"{measured.stderr[-3000:]}")
    return measured


class Service:
    """A long-running child (demo CPO, gunicorn) in its own process group, stopped by pid."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path = REPO):
        WORK.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = WORK / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.started = time.monotonic()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# NAP's production settings (worker class, threads, keep-alive): the benchmarks measure what
# we deploy; only the worker count, the address and the shutdown grace are set here.
GUNICORN_CONF = REPO / "deploy" / "gunicorn.conf.py"


# The process group (master and workers) of the gunicorn serving each base URL, for
# bench/cpu.py's accounting.
GUNICORN_GROUPS: dict[str, int] = {}


def gunicorn(name: str, app: str, port: int, env: dict[str, str], workers: int) -> Service:
    cmd = [str(BIN / "gunicorn"), "-c", str(GUNICORN_CONF), "-w", str(workers), "-b", f"127.0.0.1:{port}",
           "--timeout", "120", "--graceful-timeout", "5", app]
    service = Service(name, cmd, env)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 60, service.proc)
    except BenchError:
        service.stop()
        raise BenchError(f"{name} did not start:\n{service.log_tail()}") from None
    GUNICORN_GROUPS[f"http://127.0.0.1:{port}"] = service.proc.pid  # its own session: pgid == pid
    return service


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by nearest rank on sorted data."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(min(rank, len(ordered))) - 1]


# -- databases ---------------------------------------------------------------------------------


def _admin(url: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


class Database:
    """A throwaway NAP database for one engine and size."""

    def __init__(self, engine: str, label: str, postgres_admin_url: str | None):
        self.engine = engine
        if engine == "sqlite":
            self.path = WORK / f"nap-{label}.sqlite3"
            self.url = f"sqlite:///{self.path}"
        elif engine == "postgresql":
            if not postgres_admin_url:
                raise BenchError("PostgreSQL needs --postgres-url (or NAP_TEST_POSTGRES_URL); "
                                 "scripts/test-postgres.sh starts PostgreSQL and prints one")
            self.admin_url = postgres_admin_url
            self.name = f"nap_bench_{label}_{RUN_ID}".replace("-", "_")
            self.url = postgres_admin_url.rsplit("/", 1)[0] + f"/{self.name}"
        else:
            raise BenchError(f"unknown engine {engine!r}")

    def create(self) -> None:
        if self.engine == "sqlite":
            WORK.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            _admin(self.admin_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            _admin(self.admin_url, f"CREATE DATABASE {self.name}")

    def drop(self) -> None:
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            _admin(self.admin_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def settle(self) -> None:
        """What autovacuum does to a database soon after a bulk load, done at once so the
        loads that follow measure the steady state (statistics, visibility map for
        index-only scans) rather than whichever moment autovacuum happens to pick."""
        if self.engine == "postgresql":
            _admin(self.url, "VACUUM ANALYZE")

    def query(self, statement: str, **params) -> list[tuple]:
        from sqlalchemy import create_engine, text

        from nap.store.db import _normalize_url

        engine = create_engine(_normalize_url(self.url))
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(statement), params)]
        finally:
            engine.dispose()


def run_load(name: str, spec: dict, timeout: float | None = None) -> dict:
    """Run bench/loadgen.py with `spec` in its own process; its result, plus the load
    generator's own CPU time (it shares the two cores with the server under test)."""
    WORK.mkdir(parents=True, exist_ok=True)
    spec_path = WORK / f"load-{name}.json"
    spec_path.write_text(json.dumps(spec))
    limit = timeout or float(spec.get("warmup", 0)) + float(spec["duration"]) + 180
    measured = check(run_measured([PYTHON, "-m", "bench.loadgen", str(spec_path)], bench_env(), limit),
                     f"load generator ({name})")
    spec_path.unlink()
    result = measured.json()
    result["loadgen_cpu_seconds"] = measured.cpu_seconds
    return result


def start_demo_server(name: str, evses: int, *extra: str) -> tuple["Service", str, dict]:
    """bench/demo_server.py sized to `evses` (with `extra` options) in a process of its own:
    the service, its versions URL and the fleet it reports."""
    port = free_port()
    service = Service(name, [PYTHON, "-m", "bench.demo_server", "--port", str(port), "--evses", str(evses),
                             "--page-limit", "1000", *extra], bench_env())
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        for line in service.log_tail(100_000).splitlines():
            if line.startswith("{"):
                versions_url = f"http://127.0.0.1:{port}/ocpi/versions"
                wait_http(versions_url, 60, service.proc)
                return service, versions_url, json.loads(line)
        if service.proc.poll() is not None:
            break
        time.sleep(0.2)
    service.stop()
    raise BenchError(f"the demo CPO {name} did not start:\n{service.log_tail()}")
