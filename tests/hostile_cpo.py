"""A CPO that misbehaves on demand, for fault and limit tests: it serves valid versions
and version details, and a Locations list whose body is whatever the test sets."""
from __future__ import annotations

import base64
import gzip
import json

from flask import Flask, Response, request

from demo_cpo.fleet import generate_fleet


def _envelope(data) -> bytes:
    return json.dumps({"data": data, "status_code": 1000, "status_message": "Success",
                       "timestamp": "2026-01-01T00:00:00Z"}).encode()


def hostile_cpo(locations: int = 5) -> Flask:
    app = Flask(__name__)
    app.config["MODE"] = "good"
    fleet = generate_fleet(locations=locations)
    bodies = {
        "good": lambda: (_envelope(fleet.locations), {}),
        "html": lambda: (b"<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"}),
        "truncated": lambda: (_envelope(fleet.locations)[:-200], {}),
        "garbage": lambda: (bytes(range(256)) * 40, {"Content-Type": "application/octet-stream"}),
        "deep": lambda: (b'{"data": ' + b"[" * 200 + b"]" * 200 + b', "status_code": 1000}', {}),
        "too_many": lambda: (_envelope([{"id": str(n)} for n in range(20_001)]), {}),
        # 1 MB of zeros inflating to 100 MB: only the inflated size may count.
        "gzip_bomb": lambda: (gzip.compress(b'{"data": ["' + b"0" * 100_000_000 + b'"]}', 1),
                              {"Content-Encoding": "gzip"}),
    }

    @app.get("/ocpi/versions")
    def versions():
        return Response(_envelope([{"version": "2.3.0", "url": request.url_root + "ocpi/2.3.0"}]),
                        mimetype="application/json")

    @app.get("/ocpi/2.3.0")
    def details():
        return Response(_envelope({"version": "2.3.0", "endpoints": [
            {"identifier": "locations", "role": "SENDER", "url": request.url_root + "ocpi/2.3.0/locations"}]}),
            mimetype="application/json")

    @app.get("/ocpi/2.3.0/locations")
    def locations():
        app.config.setdefault("LOG", []).append(app.config["MODE"])
        if app.config["MODE"] == "rate_limited_once":
            # One 429 with Retry-After, then normal answers.
            app.config["MODE"] = "good"
            response = Response(b'{"status_code": 2000, "status_message": "slow down"}', status=429,
                                mimetype="application/json")
            response.headers["Retry-After"] = "1"
            return response
        body, headers = bodies[app.config["MODE"]]()
        response = Response(body, mimetype="application/json")
        response.headers.update(headers)
        return response

    app.config["TOKEN"] = "hostile"
    app.config["TOKEN_HEADER"] = "Token " + base64.b64encode(b"hostile").decode()
    return app
