"""The API baseline: a trivial Flask app under the same gunicorn and the same load as NAP.

    gunicorn -w 2 -b 127.0.0.1:PORT bench.trivial_app:app

Every path and method answers a small OCPI-like JSON envelope at once: what remains is the
cost of HTTP, gunicorn, Flask routing and the load generator itself.
"""
from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/", defaults={"path": ""}, methods=["GET", "PATCH", "PUT", "POST"])
@app.route("/<path:path>", methods=["GET", "PATCH", "PUT", "POST"])
def anything(path: str):
    return jsonify(status_code=1000, status_message="Success", timestamp="2025-01-01T00:00:00Z")
