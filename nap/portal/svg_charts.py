"""Charts drawn on the server as inline SVG: no script and no library, nothing loaded from
anywhere. Colours are presentation attributes, not style attributes, which the pages'
Content-Security-Policy (style-src 'self') would block.

Each drawn mark carries its figure in data-* attributes and a <title>, so that a reader
with a screen reader, and a test, can read what the bar shows."""
from __future__ import annotations

from markupsafe import Markup, escape

# Colour-blind-safe (Okabe-Ito): operational, out of order, unknown.
COLOURS = {"operational": "#009E73", "out_of_order": "#D55E00", "unknown": "#999999", "evses": "#0072B2"}
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 240, 44, 28, 10


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.1f} %"


def _axis(max_label: str) -> list[str]:
    plot_bottom = HEIGHT - BOTTOM
    return [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{plot_bottom}" stroke="#333"/>',
        f'<line x1="{LEFT}" y1="{plot_bottom}" x2="{WIDTH}" y2="{plot_bottom}" stroke="#333"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end" font-size="11">{escape(max_label)}</text>',
        f'<text x="{LEFT - 4}" y="{plot_bottom}" text-anchor="end" font-size="11">0</text>',
    ]


def availability_chart(points: list[tuple[str, object]], title: str) -> Markup:
    """Stacked bars, one per period, of the shares operational, out of order and unknown
    (each bar is 100 % of the period's in-service time). `points`: (label, Figures)."""
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
             f'data-chart="availability" aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    parts += _axis("100 %")
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(points), 1)
    bar = max(slot * 0.8, 1)
    for index, (label, figures) in enumerate(points):
        x = LEFT + index * slot + (slot - bar) / 2
        y = TOP + plot_height
        whole = figures.in_service_seconds
        for name in ("operational", "out_of_order", "unknown"):
            seconds = getattr(figures, f"{name}_seconds")
            if not whole or not seconds:
                continue
            height = plot_height * seconds / whole
            y -= height
            parts.append(
                f'<rect x="{x:.2f}" y="{y:.2f}" width="{bar:.2f}" height="{height:.2f}" fill="{COLOURS[name]}" '
                f'data-period="{escape(label)}" data-state="{name}" data-share="{seconds / whole:.6f}">'
                f"<title>{escape(label)}: {name.replace('_', ' ')} {_percent(seconds / whole)}</title></rect>")
        if index == 0 or index == len(points) - 1 or len(points) <= 12:
            parts.append(f'<text x="{x + bar / 2:.2f}" y="{HEIGHT - 10}" text-anchor="middle" font-size="10">'
                         f"{escape(label)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def distribution_chart(counts: list[int], title: str) -> Markup:
    """A histogram: how many EVSEs had an operational share in each tenth."""
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
             f'data-chart="distribution" aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    top = max(counts, default=0) or 1
    parts += _axis(str(top))
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(counts), 1)
    bins = len(counts)
    for index, count in enumerate(counts):
        low, high = 100 * index // bins, 100 * (index + 1) // bins
        label = f"{low}–{high} %"
        x = LEFT + index * slot + slot * 0.1
        height = plot_height * count / top
        parts.append(f'<rect x="{x:.2f}" y="{TOP + plot_height - height:.2f}" width="{slot * 0.8:.2f}" '
                     f'height="{height:.2f}" fill="{COLOURS["evses"]}" data-bin="{label}" data-evses="{count}">'
                     f"<title>{count} EVSE(s) operational {label} of the time</title></rect>")
        parts.append(f'<text x="{x + slot * 0.4:.2f}" y="{HEIGHT - 10}" text-anchor="middle" font-size="10">'
                     f"{label}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
