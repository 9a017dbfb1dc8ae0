"""gunicorn settings: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`."""
import multiprocessing
import os

bind = os.environ.get("NAP_BIND", "127.0.0.1:8080")
# The API waits on the database more than it computes: two workers per core to start with.
workers = int(os.environ.get("NAP_WORKERS", multiprocessing.cpu_count() * 2))
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
