"""The wheel: what installing NAP ships. Built from a copy of the checkout, installed without
dependencies into a fresh virtualenv and run from outside the checkout, it must migrate a
database and serve the portal's map and its static files from the installed package alone.

The dependencies come from the development virtualenv's site-packages on PYTHONPATH: a
PYTHONPATH entry does not run that directory's .pth files, so NAP's editable install (which
would import NAP from the checkout) stays out. The build runs without build isolation, on
the setuptools `make` installs, so that the test needs no package index."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

from tests.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent
# Folders of the checkout the build never reads; copying them would only cost time.
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".hypothesis",
                                     ".pytest_cache", ".import_linter_cache", "var", "artifacts", "results")


def _files_under(folder: Path) -> set[str]:
    """The repository paths of the files in a folder of the checkout (no bytecode)."""
    return {path.relative_to(REPO).as_posix() for path in folder.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    for requirement in tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]:
        wanted = Requirement(requirement)
        assert version(wanted.name) in wanted.specifier, \
            f"the build needs {requirement} in {sys.prefix} (`make` installs it)"
    source = tmp_path_factory.mktemp("checkout") / "nap"
    shutil.copytree(REPO, source, ignore=NOT_SOURCES)
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(out), str(source)], capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stdout + build.stderr
    # The package configuration is complete: setuptools warns about nothing.
    assert "Warning" not in build.stderr, build.stderr
    (built,) = out.glob("nap-*.whl")
    return built


def test_the_wheel_holds_the_product_its_migrations_templates_and_static_files_and_no_tools(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"nap", "harvesters", "exporters"}  # neither demo_cpo nor bench nor tests
    wanted = set()
    for folder in ("nap/migrations", "nap/portal/templates", "nap/portal/static"):
        wanted |= _files_under(REPO / folder)
    # Every data file of the product's packages, wherever it lies.
    for package in top_level:
        wanted |= {name for name in _files_under(REPO / package) if not name.endswith((".py", ".pyc"))}
    assert {"nap/migrations/script.py.mako", "nap/portal/static/vendor/leaflet/leaflet.js",
            "nap/portal/templates/portal/map.html", "exporters/datex2/de_afir/shapes.json"} <= wanted
    assert any(name.startswith("nap/migrations/versions/0001_") for name in wanted)
    assert wanted - names == set()


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed (no pip of its own: the tests' pip
    installs into it). Returns its bin directory."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=False)
    python = home / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                              str(wheel)], capture_output=True, text=True, timeout=120)
    assert install.returncode == 0, install.stdout + install.stderr
    return home / "bin"


def _environment(database_url: str) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith("NAP_") and name not in ("PYTHONPATH", "PROMETHEUS_MULTIPROC_DIR")}
    environment.update(PYTHONPATH=sysconfig.get_paths()["purelib"], NAP_DATABASE_URL=database_url,
                       NAP_LOG_FORMAT="text")
    return environment


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_installed_wheel_migrates_a_database_and_serves_the_map_and_its_static_files(installed, tmp_path):
    environment = _environment(f"sqlite:///{tmp_path / 'nap.sqlite3'}")

    def nap(*args: str, **options) -> subprocess.CompletedProcess:
        return subprocess.run([str(installed / "nap"), *args], cwd=tmp_path, env=environment, capture_output=True,
                              text=True, timeout=60, **options)

    where = subprocess.run([str(installed / "python"), "-c", "import nap; print(nap.__file__)"], cwd=tmp_path,
                           env=environment, capture_output=True, text=True, timeout=60)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout + where.stderr
    upgraded = nap("db", "upgrade")
    assert upgraded.returncode == 0 and "database schema is current" in upgraded.stdout, upgraded.stderr
    # An installed NAP has no checkout whose deploy/gunicorn.conf.py `nap serve` could load.
    unconfigured = nap("serve")
    assert unconfigured.returncode != 0 and "pass --config" in unconfigured.stderr, unconfigured.stderr

    port = _free_port()
    server = subprocess.Popen([str(installed / "nap"), "serve", "--port", str(port), "--workers", "1",
                               "--config", str(REPO / "deploy" / "gunicorn.conf.py")],
                              cwd=tmp_path, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"

        def map_page() -> httpx.Response | None:
            if server.poll() is not None:
                raise AssertionError(f"nap serve ended: {server.stderr.read().decode()[-3000:]}")
            try:
                return httpx.get(f"{base}/map", timeout=5)
            except httpx.TransportError:
                return None

        page = wait_until(map_page, timeout=30, what="nap serve to answer")
        assert page.status_code == 200, page.text[:500]
        scripts = re.findall(r'src="([^"]*leaflet\.js)"', page.text)
        assert scripts, page.text[:2000]
        script = httpx.get(base + scripts[0], timeout=5)
        assert script.status_code == 200 and script.content == \
            (REPO / "nap/portal/static/vendor/leaflet/leaflet.js").read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()
