"""/downloads: the dated bulk snapshots for regulators (HTML and JSON), and their files.
In production nginx may serve the export directory itself; this keeps a single-node
install complete."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, jsonify, render_template_string, send_from_directory

from exporters.bulk import list_snapshots
from nap.web import settings

blueprint = Blueprint("downloads", __name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Downloads · National Access Point</title></head>
<body><main>
<h1>Bulk downloads</h1>
<p>Complete daily snapshots of every published charging point: DATEX II 3.7 table and status
publications (generic and AFIR profiles), a CSV of the AFIR Art. 20 fields, SHA-256 sums and a
manifest naming the source feeds and their licences. Also as <a href="/downloads.json">JSON</a>.</p>
{% for snapshot in snapshots %}
<section><h2>{{ snapshot.date }}</h2>
<p>Generated {{ snapshot.generated_at }} from {{ snapshot.feeds|length }} feed(s):
{% for feed in snapshot.feeds %}{{ feed.name }} ({{ feed.licence }}){% if not loop.last %}, {% endif %}{% endfor %}.</p>
<table><thead><tr><th scope="col">File</th><th scope="col">Bytes</th><th scope="col">SHA-256</th></tr></thead><tbody>
{% for file in snapshot.files %}<tr><td><a href="/downloads/{{ snapshot.date }}/{{ file.name }}">{{ file.name }}</a></td>
<td>{{ file.size }}</td><td><code>{{ file.sha256 }}</code></td></tr>{% endfor %}
<tr><td><a href="/downloads/{{ snapshot.date }}/SHA256SUMS">SHA256SUMS</a></td><td></td><td></td></tr>
<tr><td><a href="/downloads/{{ snapshot.date }}/manifest.json">manifest.json</a></td><td></td><td></td></tr>
</tbody></table></section>
{% else %}<p>No snapshot has been made yet.</p>{% endfor %}
</main></body></html>"""


def _export_dir() -> Path:
    return Path(settings().export_dir).resolve()


@blueprint.get("/downloads")
def downloads_page():
    return render_template_string(PAGE, snapshots=list_snapshots(_export_dir()))


@blueprint.get("/downloads.json")
def downloads_json():
    return jsonify(snapshots=list_snapshots(_export_dir()))


@blueprint.get("/downloads/<day>/<name>")
def download_file(day: str, name: str):
    if day.startswith(".") or name.startswith("."):
        abort(404)  # temporary and replaced snapshots are not for download
    return send_from_directory(_export_dir() / day, name, max_age=3600)
