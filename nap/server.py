"""Running the app under gunicorn from `nap serve`, with the same settings as wsgi.py."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from nap.app import create_app


class _NapGunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app()


def serve_with_gunicorn(host: str, port: int, workers: int) -> None:
    # NAP logs each request itself (JSON, with its request id): no gunicorn access log.
    # Threaded workers, as deploy/gunicorn.conf.py explains: requests waiting on the
    # database leave the core to another (4 threads stay below the pool size of 5). The
    # worker answers a request beyond gunicorn's header limits with an OCPI envelope.
    _NapGunicorn({"bind": f"{host}:{port}", "workers": workers,
                  "worker_class": "nap.gunicorn_worker.OcpiThreadWorker", "threads": 4,
                  "timeout": 120, "graceful_timeout": 10}).run()
