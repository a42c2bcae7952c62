"""Server-rendered SVG charts: horizontal bars and a line, no JavaScript.

The Content-Security-Policy forbids inline styles, so everything is drawn with SVG presentation
attributes (fill, stroke, font-size …), never ``style=""``. Every text is escaped. A hidden value (a
small count, a rate on too few referrals) gets no bar or point, only its text ("<5", "—"); the table
beside the chart is its accessible equivalent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from directory.reports.tables import CHART_BARS, Bar

WIDTH = 420
LABEL_WIDTH = 130
VALUE_WIDTH = 56
ROW_HEIGHT = 22
BAR_HEIGHT = 14
FONT = 'font-family="sans-serif" font-size="12"'
INK, MUTED, BAR_FILL, GRID = "#1b1f24", "#4a5560", "#0d5e7e", "#d5dbe0"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(chart_id: str, title: str, height: float, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="100%" role="img" aria-labelledby="{escape(chart_id)}-title">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 (every part escaped above)


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], percent: bool = False, limit: int = CHART_BARS) -> Markup:
    """One horizontal bar per row (the first ``limit``); rates on a 0–100 % scale, counts on 0–max."""
    bars = list(bars)[:limit]
    values = [b.value for b in bars if b.value is not None]
    top = 1.0 if percent else max(values, default=0.0) or 1.0
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    body = []
    for i, bar in enumerate(bars):
        y = 6 + i * ROW_HEIGHT
        middle = y + BAR_HEIGHT / 2
        label, text = escape(bar.label), escape(bar.text)
        body.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{middle:.1f}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{INK}" {FONT}>{escape(_short(bar.label, 10))}<title>{label}</title></text>'
        )
        length = 0.0
        if bar.value is not None:
            length = max(0.0, min(1.0, bar.value / top)) * span
            body.append(
                f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="{BAR_FILL}">'
                f"<title>{label}: {text}</title></rect>"
            )
        color = INK if bar.value is not None else MUTED
        body.append(
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{middle:.1f}" dominant-baseline="middle" '
            f'fill="{color}" {FONT}>{text}</text>'
        )
    return _svg(chart_id, title, 12 + len(bars) * ROW_HEIGHT, body)


def line_chart(chart_id: str, title: str, points: Sequence[Bar], percent: bool = True) -> Markup:
    """A line through the shown points (broken where a value is hidden), x labels thinned to about 12."""
    points = list(points)
    height, left, right, top_margin, bottom = 220, 44, 12, 12, 34
    plot_w, plot_h = WIDTH - left - right, height - top_margin - bottom
    values = [p.value for p in points if p.value is not None]
    top = 1.0 if percent else max(values, default=0.0) or 1.0
    body: list[str] = []
    for fraction in (0.0, 0.5, 1.0):
        y = top_margin + plot_h * (1 - fraction)
        tick = f"{fraction * 100:.0f}%" if percent else f"{fraction * top:.0f}"
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(
            f'<text x="{left - 6}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{MUTED}" {FONT}>{tick}</text>'
        )
    step = plot_w / max(1, len(points) - 1) if len(points) > 1 else 0.0
    every = max(1, math.ceil(len(points) / 12))
    runs: list[list[tuple[float, float]]] = [[]]
    for i, point in enumerate(points):
        x = left + (i * step if len(points) > 1 else plot_w / 2)
        if i % every == 0 or i == len(points) - 1:
            anchor = "end" if i == len(points) - 1 and i else "start" if i == 0 and len(points) > 1 else "middle"
            body.append(
                f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="{anchor}" fill="{MUTED}" {FONT}>'
                f"{escape(_short(point.label, 8))}</text>"
            )
        if point.value is None:
            runs.append([])
            continue
        y = top_margin + plot_h * (1 - max(0.0, min(1.0, point.value / top)))
        runs[-1].append((x, y))
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{BAR_FILL}">'
            f"<title>{escape(point.label)}: {escape(point.text)}</title></circle>"
        )
    lines = [
        f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in run)}" fill="none" '
        f'stroke="{BAR_FILL}" stroke-width="2"/>'
        for run in runs
        if len(run) > 1
    ]
    grid = body[:6]  # three grid lines and their ticks, drawn first
    return _svg(chart_id, title, height, [*grid, *lines, *body[6:]])


def chart_for(table) -> Markup | None:
    """The chart of a report table, or None when it has none (or nothing to draw)."""
    if not table.chart:
        return None
    title = table.title
    if table.chart_kind == "line":
        return line_chart(f"chart-{table.name}", title, table.chart, percent=table.chart_percent)
    return bar_chart(f"chart-{table.name}", title, table.chart, percent=table.chart_percent)
