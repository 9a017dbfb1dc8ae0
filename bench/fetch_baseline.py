"""The harvest baseline: fetch and JSON-parse the same pages the harvester reads, and do
nothing else with them. Same HTTP client library (httpx), same page size, same Link
following, same token; no validation, no database.

    python -m bench.fetch_baseline --versions-url URL --token T --limit 1000

Prints one JSON line: pages, objects, bytes, seconds.
"""
from __future__ import annotations

import argparse
import base64
import json
import time

import httpx


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args()
    headers = {"Authorization": "Token " + base64.b64encode(args.token.encode()).decode(),
               "Accept": "application/json"}
    started = time.monotonic()
    pages = objects = size = 0
    with httpx.Client(headers=headers, timeout=60) as client:
        versions = json.loads(client.get(args.versions_url).content)["data"]
        details_url = next(v["url"] for v in versions if v["version"] == "2.3.0")
        endpoints = json.loads(client.get(details_url).content)["data"]["endpoints"]
        urls = {e["identifier"]: e["url"] for e in endpoints if e.get("role", "SENDER") == "SENDER"}
        for module in ("tariffs", "locations"):
            url: str | None = urls[module]
            params: dict | None = {"offset": 0, "limit": args.limit}
            while url:
                response = client.get(url, params=params)
                response.raise_for_status()
                body = response.content
                data = json.loads(body)["data"]
                pages += 1
                objects += len(data)
                size += len(body)
                link = response.links.get("next", {}).get("url")
                url = str(response.url.join(link)) if link and data else None
                params = None
    seconds = time.monotonic() - started
    print(json.dumps({"pages": pages, "objects": objects, "bytes": size, "seconds": seconds}))


if __name__ == "__main__":
    main()
