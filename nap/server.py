"""`nap serve`: the app under gunicorn with deploy/gunicorn.conf.py, the one gunicorn
configuration (production runs `gunicorn -c deploy/gunicorn.conf.py wsgi:app`, and the
benchmarks start it so too); the command line only overrides the address and workers."""
from __future__ import annotations

from pathlib import Path

from gunicorn.app.base import Application

from nap.app import create_app
from nap.config import load_settings

# The checkout's deploy/gunicorn.conf.py. An installed wheel holds no deploy/: there,
# `nap serve --config` names the file.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"


class NapGunicorn(Application):
    """gunicorn with one configuration file, then the overrides; no command line of its own."""

    def __init__(self, config: Path, overrides: dict):
        self.config = config
        self.overrides = overrides
        super().__init__()

    def load_config(self):
        self.load_config_from_file(str(self.config))
        for key, value in self.overrides.items():
            self.cfg.set(key, value)

    def load(self):
        # Called in each worker after the fork (preload_app is off): each gets its own pool.
        return create_app()


def gunicorn_application(host: str | None, port: int | None, workers: int | None,
                         config: Path = DEFAULT_CONFIG) -> NapGunicorn:
    """The application `nap serve` runs: the configuration file, with a given host or port
    replacing that part of its bind address (NAP_BIND) and given workers its count."""
    overrides: dict = {}
    if host is not None or port is not None:
        configured_host, _, configured_port = load_settings().bind.rpartition(":")
        overrides["bind"] = [f"{host or configured_host}:{port or configured_port}"]
    if workers is not None:
        overrides["workers"] = workers
    return NapGunicorn(config, overrides)


def serve_with_gunicorn(host: str | None, port: int | None, workers: int | None,
                        config: Path = DEFAULT_CONFIG) -> None:
    gunicorn_application(host, port, workers, config).run()
