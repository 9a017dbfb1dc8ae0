"""gunicorn settings: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`, and `nap serve`
(nap/server.py), which loads this file: NAP has one gunicorn configuration.

The benchmarks (bench/common.py) start gunicorn with this file too, so that they measure
what we deploy. The address, workers and threads are NAP settings (NAP_BIND, NAP_WORKERS,
NAP_THREADS in nap/config.py, with their defaults)."""
import os

from nap.config import load_settings

_settings = load_settings()

bind = _settings.bind
# One worker per core; its threads (below) cover the time requests wait on the database,
# for which sync workers would need two per core. On 2 cores, 8 clients pushing EVSE
# statuses back to back: 2 workers x 4 threads about 800-870 PATCH/s, 3 x 4 about 700-790,
# 4 x 2 about 300-600 (more processes only compete for the same cores).
workers = _settings.workers
# Threads in each worker: while one request waits on the database (a push's commit, above
# all), another computes, and keep-alive connections stay open (sync workers close every
# connection, so each request would pay a TCP handshake). Each thread holds at most one
# database connection at a time: keep `threads` at or below the engine's pool_size
# (5, nap/store/db.py) so that no request waits for a connection. Status PATCHes take
# theirs from a second pool of that size (nap.store.db.unpinged_engine): a worker keeps up
# to 10 connections open, which PostgreSQL's max_connections must allow for.
# gunicorn's gthread worker, but a request line or headers beyond gunicorn's limits
# (limit_request_line, limit_request_fields, limit_request_field_size: gunicorn's defaults,
# 4094 bytes, 100 headers, 8190 bytes) are answered with an OCPI envelope, not HTML.
worker_class = "nap.gunicorn_worker.OcpiThreadWorker"
threads = _settings.threads
timeout = 120
graceful_timeout = 20
keepalive = 5
accesslog = None  # NAP logs each request itself, as JSON with its request id
# Workers import the app after forking: each gets its own database pool.
preload_app = False


def child_exit(server, worker):
    # Prometheus multiprocess mode: forget the metrics files of a dead worker. The variable
    # is prometheus_client's own (nap/observability/metrics.py), not a NAP setting.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
