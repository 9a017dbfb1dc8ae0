"""gunicorn settings for `gunicorn -c deploy/gunicorn.conf.py wsgi:app`."""
import multiprocessing
import os

bind = os.environ.get("NAP_BIND", "127.0.0.1:8080")
# The API is I/O bound on the database: two workers per core is the usual start.
workers = int(os.environ.get("NAP_WORKERS", multiprocessing.cpu_count() * 2))
timeout = 120
graceful_timeout = 20
accesslog = "-"
