"""gunicorn settings: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

The benchmarks (bench/common.py) start gunicorn with this file too, so that they measure
what we deploy."""
import multiprocessing
import os

bind = os.environ.get("NAP_BIND", "127.0.0.1:8080")
# The API waits on the database more than it computes: two workers per core to start with.
workers = int(os.environ.get("NAP_WORKERS", multiprocessing.cpu_count() * 2))
# Threads in each worker: while one request waits on the database (a push's commit, above
# all), another computes, and keep-alive connections stay open (sync workers close every
# connection, so each request paid a TCP handshake). Measured on 2 cores: EVSE status
# PATCHes went from about 300/s with sync workers to over 500/s (bench/README.md). Each
# thread holds at most one database connection at a time: keep `threads` at or below the
# engine's pool_size (5, nap/store/db.py) so that no request waits for a connection.
worker_class = "gthread"
threads = int(os.environ.get("NAP_THREADS", 4))
timeout = 120
graceful_timeout = 20
keepalive = 5
accesslog = None  # NAP logs each request itself, as JSON with its request id
# Workers import the app after forking: each gets its own database pool.
preload_app = False


def child_exit(server, worker):
    # Prometheus multiprocess mode: forget the metrics files of a dead worker.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
