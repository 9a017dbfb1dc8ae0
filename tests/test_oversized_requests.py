"""Requests too large to read (issue #15): a request line or headers beyond the limits of
gunicorn (as deployed: deploy/gunicorn.conf.py) or of nginx in front of it
(deploy/nginx/compose.conf with deploy/nginx/ocpi-limits.conf) are answered with an OCPI
envelope, status 2000, HTTP 414 or 431, not with an HTML page; requests within the limits
reach NAP. Real gunicorn and (where Debian's nginx is installed) real nginx on loopback.
The same nginx passes a client's request ids through to NAP."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nap.store.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own process group: gunicorn's workers too
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def gunicorn(tmp_path):
    """NAP under gunicorn with deploy/gunicorn.conf.py, one worker, on a SQLite database."""
    url = f"sqlite:///{tmp_path / 'nap.sqlite3'}"
    upgrade(url)
    port = _free_port()
    env = {**os.environ, "NAP_DATABASE_URL": url, "NAP_BIND": f"127.0.0.1:{port}", "NAP_WORKERS": "1"}
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
                                    "wsgi:app"], cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        _wait(f"http://127.0.0.1:{port}/health", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def _raw(base: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as it is (httpx would refuse some of these) and read the answer whole."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


def _get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: nap.test", *headers, "Connection: close", "", ""]
    return "\r\n".join(lines).encode()


def _assert_envelope(answer: tuple[int, dict[str, str], bytes], http_status: int) -> dict:
    status, headers, body = answer
    assert status == http_status and headers.get("content-type", "").startswith("application/json"), (status, headers,
                                                                                                      body[:300])
    document = httpx.Response(200, content=body).json()
    assert document["status_code"] == 2000 and document["status_message"] and document["timestamp"], document
    return document


def test_gunicorn_answers_a_request_beyond_its_limits_with_an_ocpi_envelope(gunicorn):
    """Fails without nap.gunicorn_worker: gunicorn answered with an HTML page."""
    too_long_id = "L" * 5000  # gunicorn reads request lines of up to 4094 bytes
    _assert_envelope(_raw(gunicorn, _get(f"/ocpi/2.3.0/locations/DE/ABC/{too_long_id}")), 414)
    _assert_envelope(_raw(gunicorn, _get("/ocpi/versions", "X-Padding: " + "p" * 9000)), 431)  # 8190 a header
    _assert_envelope(_raw(gunicorn, _get("/ocpi/versions", *(f"X-Many-{n}: x" for n in range(150)))), 431)
    # Within the limits, the request reaches NAP, which answers as usual.
    status, headers, body = _raw(gunicorn, _get("/ocpi/2.3.0/locations/DE/ABC/L1", "X-Padding: " + "p" * 6000))
    assert status == 404 and httpx.Response(200, content=body).json()["status_code"] == 2003, body[:300]
    # Connections after a refused request are served as before.
    assert httpx.get(f"{gunicorn}/ocpi/versions").json()["status_code"] == 1000


@pytest.fixture
def nginx(gunicorn, tmp_path):
    """deploy/nginx/compose.conf, as docker-compose runs it, in front of the gunicorn above."""
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    port = _free_port()
    server = (REPO / "deploy" / "nginx" / "compose.conf").read_text()
    replacements = {"listen 80;": f"listen 127.0.0.1:{port};",
                    "http://api:8080": gunicorn,
                    "/etc/nginx/snippets/nap-ocpi-limits.conf": str(REPO / "deploy" / "nginx" / "ocpi-limits.conf"),
                    "/var/lib/nap/exports/": f"{tmp_path}/"}
    for old, new in replacements.items():
        assert old in server, old
        server = server.replace(old, new)
    (tmp_path / "server.conf").write_text(server)
    temp = {name: tmp_path / name for name in ("client", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
        path.chmod(0o777)  # nginx's workers may run as another user
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path {temp['client']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {tmp_path}/server.conf;
}}
""")
    configuration = ["-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")]
    checked = subprocess.run([NGINX, "-t", *configuration], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    log = tmp_path / "nginx.out"
    with log.open("wb") as output:
        process = subprocess.Popen([NGINX, *configuration, "-g", "daemon off;"], stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(f"http://127.0.0.1:{port}/health", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def test_nginx_answers_a_request_beyond_its_limits_with_an_ocpi_envelope(nginx):
    """Fails without deploy/nginx/ocpi-limits.conf: nginx answered with its HTML pages
    (414, and 400 for a header too large)."""
    _assert_envelope(_raw(nginx, _get("/ocpi/2.3.0/locations/DE/ABC/" + "L" * 9000)), 414)
    _assert_envelope(_raw(nginx, _get("/ocpi/versions", "X-Padding: " + "p" * 9000)), 431)
    _assert_envelope(_raw(nginx, _get("/ocpi/versions", *(f"X-Big-{n}: {'b' * 7000}" for n in range(5)))), 431)
    # Off the OCPI paths (the portal: a browser's cookies) nginx's own page stays.
    status, headers, body = _raw(nginx, _get("/portal/", "Cookie: " + "c" * 9000))
    assert status == 400 and headers["content-type"] == "text/html" and b"Cookie Too Large" in body, body[:300]
    # Between gunicorn's request line limit and nginx's, gunicorn's envelope answers.
    _assert_envelope(_raw(nginx, _get("/ocpi/2.3.0/locations/DE/ABC/" + "L" * 5000)), 414)
    # Within every limit, NAP answers.
    status, _headers, body = _raw(nginx, _get("/ocpi/2.3.0/locations/DE/ABC/L1", "X-Padding: " + "p" * 6000))
    assert status == 404 and httpx.Response(200, content=body).json()["status_code"] == 2003, body[:300]


def test_nginx_passes_the_clients_request_ids_through(nginx):
    """OCPI: a response carries its request's X-Request-ID and X-Correlation-ID. Fails with
    nginx setting X-Request-ID to its own id whatever the client sent (deploy/nginx before)."""
    answer = httpx.get(f"{nginx}/ocpi/versions", headers={"X-Request-ID": "cpo-req-1", "X-Correlation-ID": "cpo-c-1"})
    assert answer.headers["X-Request-ID"] == "cpo-req-1" and answer.headers["X-Correlation-ID"] == "cpo-c-1"
    # Without one, nginx's own id (32 hex digits), the one in its access log.
    generated = httpx.get(f"{nginx}/ocpi/versions").headers["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0 and generated != "cpo-req-1"
