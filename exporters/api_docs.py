"""A readable HTML page generated from the OpenAPI document: self-contained (no scripts, no
CDN), so it works offline and can never disagree with /openapi.json."""
from __future__ import annotations

import re
from html import escape

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #ccc}h3{font-family:monospace;font-size:1.05rem;
margin-top:2rem}code{background:#f3f3f3;padding:0 .2em}table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f7f7f7}
.method{color:#fff;background:#2a7;padding:0 .4em;border-radius:3px;margin-right:.5em}nav li{font-family:monospace}
"""


def _inline(text: str) -> str:
    """The little Markdown the descriptions use: `code` and **bold**."""
    html = escape(text)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{_inline(' '.join(block.split()))}</p>" for block in text.split("\n\n") if block.strip())


def _anchor(method: str, path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-")


def _parameters(parameters: list[dict]) -> str:
    if not parameters:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
        f"<td>{'yes' if p.get('required') else 'no'}</td><td>{_inline(p.get('description', ''))}</td></tr>"
        for p in parameters)
    return f"<table><tr><th>Parameter</th><th>In</th><th>Required</th><th>Description</th></tr>{rows}</table>"


def _responses(responses: dict) -> str:
    rows = []
    for status, response in responses.items():
        headers = ", ".join(f"<code>{escape(name)}</code>" for name in response.get("headers", {}))
        rows.append(f"<tr><td>{escape(status)}</td><td>{_inline(response.get('description', ''))}</td>"
                    f"<td>{headers}</td></tr>")
    return f"<table><tr><th>Status</th><th>Meaning</th><th>Headers</th></tr>{''.join(rows)}</table>"


def render_docs_page(document: dict) -> str:
    info = document["info"]
    operations_by_tag: dict[str, list] = {tag["name"]: [] for tag in document.get("tags", [])}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for tag in operation.get("tags", ["Other"]):
                operations_by_tag.setdefault(tag, []).append((method, path, operation))
    descriptions = {tag["name"]: tag.get("description", "") for tag in document.get("tags", [])}
    server = document.get("servers", [{}])[0].get("url", "")

    nav, sections = [], []
    for tag, operations in operations_by_tag.items():
        if not operations:
            continue
        nav.append(f"<li><strong>{escape(tag)}</strong><ul>" + "".join(
            f'<li><a href="#{_anchor(m, p)}">{escape(m.upper())} {escape(p)}</a></li>' for m, p, _ in operations)
            + "</ul></li>")
        body = [f"<h2>{escape(tag)}</h2>", _paragraphs(descriptions.get(tag, ""))]
        for method, path, operation in operations:
            body.append(f'<h3 id="{_anchor(method, path)}"><span class="method">{escape(method.upper())}</span>'
                        f"{escape(path)}</h3>")
            body.append(f"<p><strong>{_inline(operation.get('summary', ''))}</strong></p>")
            body.append(_paragraphs(operation.get("description", "")))
            body.append(_parameters(operation.get("parameters", [])))
            body.append(_responses(operation.get("responses", {})))
        sections.append("".join(body))

    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(info['title'])}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(info['title'])}</h1>{_paragraphs(info.get('description', ''))}"
        f"<p>Base URL: <code>{escape(server)}</code>. Machine-readable: "
        f"<a href=\"/openapi.json\">/openapi.json</a> (OpenAPI {escape(document['openapi'])}).</p>"
        f"<nav><ul>{''.join(nav)}</ul></nav>{''.join(sections)}</body></html>"
    )
