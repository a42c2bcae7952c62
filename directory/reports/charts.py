"""Server-rendered SVG charts: horizontal bars and a line, no JavaScript.

The Content-Security-Policy forbids inline styles, so everything is drawn with SVG presentation
attributes (fill, stroke, font-size …), never ``style=""``. Every text is escaped. A hidden value (a
small count, a rate on too few referrals) gets no bar or point, only its text ("<5", "—").

Nothing is cut off: a bar's label wraps onto as many lines as it needs (the row grows), the x-axis
labels of a line are all drawn when they fit and thinned evenly when they do not, and a month axis
shows the month with its year under the first month and every January. Every chart has a text
equivalent for screen readers (``<desc>``, read with the title: each label with its value), and the
table beside it holds the same figures.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

from markupsafe import Markup, escape

from directory.reports.tables import CHART_BARS, Bar

WIDTH = 420
LABEL_WIDTH = 150
VALUE_WIDTH = 50
LINE_HEIGHT = 14
BAR_HEIGHT = 14
ROW_GAP = 8
FONT_SIZE = 12
FONT = f'font-family="sans-serif" font-size="{FONT_SIZE}"'
SMALL_FONT = 'font-family="sans-serif" font-size="11"'
INK, MUTED, BAR_FILL, GRID = "#1b1f24", "#4a5560", "#0d5e7e", "#d5dbe0"
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """A generous estimate of a text's width in a sans-serif font: CJK and other wide characters a full
    em, Latin letters and digits about 0.62 em (a wide Latin letter such as W fits too)."""
    width = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            width += 1.0
        elif char in " .,:;'!|il()[]-":
            width += 0.36
        else:
            width += 0.62
    return width * size


def wrap(text: str, width: float, size: float = FONT_SIZE) -> list[str]:
    """``text`` in lines no wider than ``width``: Latin text breaks at spaces (a word longer than the line
    is split), Chinese between any two characters."""
    lines: list[str] = []
    line = ""
    for token in re.findall(r"[A-Za-z0-9][^\s\u3000-\u9fff\uff00-\uffef]*\s*|\s+|.", text.strip()):
        candidate = line + token
        if not line or text_width(candidate.rstrip(), size) <= width:
            line = candidate
            continue
        lines.append(line.rstrip())
        line = token.lstrip()
        while text_width(line.rstrip(), size) > width and len(line.rstrip()) > 1:  # a word longer than a line
            cut = len(line)
            while cut > 1 and text_width(line[:cut], size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def _description(bars: Sequence[Bar]) -> str:
    return "; ".join(f"{bar.label}: {bar.text}" for bar in bars) or "—"


def _svg(chart_id: str, title: str, height: float, body: list[str], description: str) -> Markup:
    cid = escape(chart_id)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="100%" role="img" aria-labelledby="{cid}-title" aria-describedby="{cid}-desc">'
        f'<title id="{cid}-title">{escape(title)}</title><desc id="{cid}-desc">{escape(description)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 (every part escaped above)


def _lines(x: float, first_y: float, lines: Sequence[str], anchor: str, attributes: str) -> str:
    """One <text> of several lines (tspans), each line under the one before."""
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{first_y + i * LINE_HEIGHT:.1f}">{escape(line)}</tspan>' for i, line in enumerate(lines)
    )
    return f'<text text-anchor="{anchor}" dominant-baseline="middle" {attributes}>{spans}</text>'


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], percent: bool = False, limit: int = CHART_BARS) -> Markup:
    """One horizontal bar per row (the first ``limit``); rates on a 0–100 % scale, counts on 0–max. The
    labels wrap (a long name takes two or three lines and its row grows)."""
    bars = list(bars)[:limit]
    values = [b.value for b in bars if b.value is not None]
    top = 1.0 if percent else max(values, default=0.0) or 1.0
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    body = []
    y = 6.0
    for bar in bars:
        lines = wrap(bar.label, LABEL_WIDTH - 10)
        row = max(BAR_HEIGHT, len(lines) * LINE_HEIGHT)
        middle = y + row / 2
        body.append(
            _lines(
                LABEL_WIDTH - 6,
                middle - (len(lines) - 1) * LINE_HEIGHT / 2,
                lines,
                "end",
                f'class="chart-label" fill="{INK}" {FONT}',
            )
        )
        length = 0.0
        if bar.value is not None:
            length = max(0.0, min(1.0, bar.value / top)) * span
            body.append(
                f'<rect x="{LABEL_WIDTH}" y="{middle - BAR_HEIGHT / 2:.1f}" width="{length:.1f}" '
                f'height="{BAR_HEIGHT}" fill="{BAR_FILL}"><title>{escape(bar.label)}: {escape(bar.text)}</title></rect>'
            )
        color = INK if bar.value is not None else MUTED
        body.append(
            f'<text class="chart-value" x="{LABEL_WIDTH + length + 4:.1f}" y="{middle:.1f}" '
            f'dominant-baseline="middle" fill="{color}" {FONT}>{escape(bar.text)}</text>'
        )
        y += row + ROW_GAP
    return _svg(chart_id, title, y, body, _description(bars))


def _ticks(labels: Sequence[str]) -> list[list[str]]:
    """The x-axis label of each point, as lines: a month ('2026-03') shows as its number, with its year
    under every January and under the first month (unless it is a December: January's year follows
    it, and two years side by side would not fit); any other label as it is."""
    ticks = []
    for i, label in enumerate(labels):
        month = MONTH.match(label)
        if month:
            year, number = month.groups()
            ticks.append([number, year] if number == "01" or (i == 0 and number != "12") else [number])
        else:
            ticks.append([label])
    return ticks


def _widest(ticks: Sequence[Sequence[str]]) -> float:
    """The room an x label takes: its widest first line and a gap (a year under a month is drawn at most
    once a year)."""
    return max((text_width(tick[0]) for tick in ticks if tick), default=0.0) + 6


def _every(ticks: Sequence[Sequence[str]], step: float) -> int:
    """Draw every n-th x label: 1 when all fit side by side, else the smallest n that makes them fit."""
    return 1 if step <= 0 else max(1, math.ceil(_widest(ticks) / step))


def line_chart(
    chart_id: str, title: str, points: Sequence[Bar], percent: bool = True, data_labels: bool = False
) -> Markup:
    """A line through the shown points (broken where a value is hidden), one x position per point, in
    order; every x label drawn when they fit, else evenly thinned (the first and last always).
    ``data_labels``: each point's text written beside it."""
    points = list(points)
    ticks = _ticks([p.label for p in points])
    tick_lines = max((len(t) for t in ticks), default=1)
    left, right, top_margin = 44, 22, 20
    bottom = 18 + tick_lines * LINE_HEIGHT
    height = 200 + bottom
    plot_w, plot_h = WIDTH - left - right, height - top_margin - bottom
    values = [p.value for p in points if p.value is not None]
    top = 1.0 if percent else max(values, default=0.0) or 1.0
    grid: list[str] = []
    for fraction in (0.0, 0.5, 1.0):
        y = top_margin + plot_h * (1 - fraction)
        tick = f"{fraction * 100:.0f}%" if percent else f"{fraction * top:.0f}"
        grid.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        grid.append(
            f'<text x="{left - 6}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{MUTED}" {FONT}>{tick}</text>'
        )
    step = plot_w / (len(points) - 1) if len(points) > 1 else 0.0
    every = _every(ticks, step)
    labelled = set(range(0, len(points), every))
    if points and (len(points) - 1 - max(labelled)) * step >= _widest(ticks):  # the last one, if it fits
        labelled.add(len(points) - 1)
    body: list[str] = []
    runs: list[list[tuple[float, float]]] = [[]]
    for i, point in enumerate(points):
        x = left + (i * step if len(points) > 1 else plot_w / 2)
        if i in labelled:
            body.append(
                _lines(x, height - bottom + 14, ticks[i], "middle", f'class="chart-label" fill="{MUTED}" {FONT}')
            )
        if point.value is None:
            runs.append([])
            continue
        y = top_margin + plot_h * (1 - max(0.0, min(1.0, point.value / top)))
        runs[-1].append((x, y))
        body.append(
            f'<circle class="chart-point" data-label="{escape(point.label)}" cx="{x:.1f}" cy="{y:.1f}" r="3.5" '
            f'fill="{BAR_FILL}"><title>{escape(point.label)}: {escape(point.text)}</title></circle>'
        )
        if data_labels:
            above = y - 9 if y - 9 > top_margin - 8 else y + 13
            body.append(
                f'<text class="chart-data" x="{x:.1f}" y="{above:.1f}" text-anchor="middle" '
                f'dominant-baseline="middle" fill="{INK}" {SMALL_FONT}>{escape(point.text)}</text>'
            )
    lines = [
        f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in run)}" fill="none" '
        f'stroke="{BAR_FILL}" stroke-width="2"/>'
        for run in runs
        if len(run) > 1
    ]
    return _svg(chart_id, title, height, [*grid, *lines, *body], _description(points))


def chart_for(table) -> Markup | None:
    """The chart of a report table, or None when it has none (or nothing to draw)."""
    if not table.chart:
        return None
    title = table.chart_title or table.title
    if table.chart_kind == "line":
        return line_chart(
            f"chart-{table.name}", title, table.chart, percent=table.chart_percent, data_labels=table.data_labels
        )
    return bar_chart(f"chart-{table.name}", title, table.chart, percent=table.chart_percent)
