"""/downloads: the dated bulk snapshots for regulators (HTML and JSON), and their files.
In production nginx may serve the export directory itself; this keeps a single-node
install complete."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, jsonify, render_template_string, send_from_directory

from exporters.archive import HISTORY_URL_PATH, history_dir, list_history_archive
from exporters.bulk import list_snapshots
from nap.web import settings

blueprint = Blueprint("downloads", __name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Downloads · National Access Point</title></head>
<body><main>
<h1>Bulk downloads</h1>
<p>Complete daily snapshots of every published charging point: DATEX II 3.7 table and status
publications (generic and AFIR profiles, gzipped XML), Germany's AFIR profile (gzipped JSON),
a CSV of the AFIR Art. 20 fields, SHA-256 sums and a manifest naming the source feeds and their
licences. Also as <a href="/downloads.json">JSON</a>.
Published under <a href="{{ licence }}">{{ licence }}</a>, each feed also under the licence its CPO states.
Every dataset NAP offers is described in the <a href="/catalogue">data catalogue</a> (DCAT-AP, mobilityDCAT-AP).</p>
<section><h2>EVSE status history archive</h2>
<p>Every EVSE status change NAP received, one Parquet file per UTC day, kept after the live history is pruned.</p>
<table><thead><tr><th scope="col">File</th><th scope="col">Bytes</th><th scope="col">SHA-256</th></tr></thead><tbody>
{% for file in status_history %}<tr><td><a href="{{ file.url }}">{{ file.name }}</a></td><td>{{ file.size }}</td>
<td><code>{{ file.sha256 }}</code></td></tr>
{% else %}<tr><td colspan="3">No day has been archived yet.</td></tr>{% endfor %}
</tbody></table></section>
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
    return render_template_string(PAGE, snapshots=list_snapshots(_export_dir()), licence=settings().data_licence,
                                  status_history=list_history_archive(_export_dir()))


@blueprint.get("/downloads.json")
def downloads_json():
    return jsonify(snapshots=list_snapshots(_export_dir()), licence=settings().data_licence,
                   status_history=list_history_archive(_export_dir()), catalogue="/catalogue")


@blueprint.get(f"{HISTORY_URL_PATH}/<name>")
def download_history_day(name: str):
    if name.startswith("."):
        abort(404)  # a file being written is not for download
    return send_from_directory(history_dir(_export_dir()), name, max_age=3600)


@blueprint.get("/downloads/<day>/<name>")
def download_file(day: str, name: str):
    if day.startswith(".") or name.startswith("."):
        abort(404)  # temporary and replaced snapshots are not for download
    # A .gz file is served as what it is: guessed, it would go out as Content-Encoding: gzip,
    # and clients would store it unpacked, unlike its listed size and SHA-256.
    mimetype = "application/gzip" if name.endswith(".gz") else None
    return send_from_directory(_export_dir() / day, name, max_age=3600, mimetype=mimetype)
