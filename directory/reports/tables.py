"""The report tables as shown on the page and exported as CSV: headers, cells, and the data of the chart.

One builder per table, used by both the page and the CSV export, so both follow the same rules:

- the small-cell rule (``shown_count``), for every figure a manager sees, key figures included: a count
  from 1 to 4 is shown as "<5", any larger count rounded to the nearest 5, and rates, ratios and charts
  are computed from the counts as shown ("—" when one of them is hidden), so that neither one view nor
  the difference of two filtered views picks out a client; medians of fewer than 5 referrals are
  hidden; and a selection that concerns fewer than 5 clients shows no figure at all (``withheld``);
- no client identifier anywhere: the figures are counts; caseworkers are named (managers supervise them).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from directory.referrals.labels import REFUSAL_REASON_LABELS, REFUSER_LABELS
from directory.reports import queries
from directory.reports.queries import MAX_ATTEMPT_BUCKET, CurvePoint, Dashboard, RateRow, RefusalRow

SMALL = 5  # counts below this (but above 0) are hidden; a selection of fewer clients is withheld
ROUNDING = 5  # shown counts are rounded to a multiple of this
CHART_BARS = 15  # a bar chart draws this many first rows (charts.bar_chart)
HIDDEN_COUNT = "<5"
NO_RATE = "—"


def shown_count(n: int) -> int | None:
    """What a manager may see of a count: 0 stays 0; 1 to 4 is hidden (None); a larger count is rounded
    to the nearest multiple of 5 (7 → 5, 8 → 10), so that subtracting two views leaves a range, never
    one client."""
    if n <= 0:
        return 0
    if n < SMALL:
        return None
    return (2 * n + ROUNDING) // (2 * ROUNDING) * ROUNDING


def shown_ratio(numerator: int, denominator: int) -> float | None:
    """A ratio of two counts as shown (None when either is hidden or the denominator is 0)."""
    top, bottom = shown_count(numerator), shown_count(denominator)
    return None if top is None or not bottom else top / bottom


def count_cell(n: int) -> str:
    shown = shown_count(n)
    return HIDDEN_COUNT if shown is None else str(shown)


def rate_cell(numerator: int, denominator: int) -> str:
    """A percentage with one decimal, of the counts as shown; "—" when one is hidden or nothing to divide."""
    ratio = shown_ratio(numerator, denominator)
    return NO_RATE if ratio is None else f"{100 * ratio:.1f}%"


def _ratio_cell(numerator: int, denominator: int) -> str:
    ratio = shown_ratio(numerator, denominator)
    return NO_RATE if ratio is None else f"{ratio:.2f}"


def _days_cell(days: float | None, among: int) -> str:
    """A median number of days; hidden when it is the median of fewer than 5 referrals."""
    return NO_RATE if days is None or among < SMALL else f"{days:.1f}"


@dataclass(frozen=True)
class Bar:
    """One bar (or point) of a chart: its label, its value (None when hidden) and the text shown."""

    label: str
    value: float | None
    text: str


@dataclass(frozen=True)
class Link:
    """Where a row leads: the report with these filters set (over the page's own), at this table.
    Filters only, never a record: the next level is a breakdown under the same small-cell rule."""

    params: dict[str, str]
    anchor: str


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)  # column indexes holding figures
    chart: list[Bar] = field(default_factory=list)
    chart_kind: str = "bar"  # "bar" or "line"
    chart_percent: bool = False
    chart_title: str = ""  # when the chart shows something else than the table's title says
    data_labels: bool = False  # a line chart writes each point's value beside it
    note: str = ""
    all_rows: int | None = None  # when ``rows`` are the first of more (the page); None: all of them
    links: list[Link | None] = field(default_factory=list)  # per row: its first cell leads there

    @property
    def row_count(self) -> int:
        return len(self.rows) if self.all_rows is None else self.all_rows

    def first(self, limit: int | None, all_rows: int) -> Table:
        """The table with its first ``limit`` rows (None: unchanged), knowing it has ``all_rows``."""
        if limit is not None:
            self.rows, self.all_rows, self.links = self.rows[:limit], all_rows, self.links[:limit]
        return self

    def link(self, index: int) -> Link | None:
        return self.links[index] if index < len(self.links) else None


def _rate_value(numerator: int, denominator: int) -> float | None:
    return shown_ratio(numerator, denominator)


def _count_value(n: int) -> float | None:
    shown = shown_count(n)
    return None if shown is None else float(shown)


# --- success -------------------------------------------------------------------------------------

DIMENSION_TITLES = {
    "resource": _l("Success rate by resource"),
    "organization": _l("Success rate by organization"),
    "category": _l("Success rate by category"),
    "district": _l("Success rate by district"),
    "caseworker": _l("Success rate by caseworker"),
    "month": _l("Success rate by month"),
}
DIMENSION_HEADERS = {
    "resource": _l("Resource"),
    "organization": _l("Organization"),
    "category": _l("Category"),
    "district": _l("District"),
    "caseworker": _l("Caseworker"),
    "month": _l("Month"),
}


def _place(row: RateRow | RefusalRow, by: str) -> str:
    return row.label or (str(_l("Unknown")) if by in ("district", "category") else "")


def _first(rows: Sequence, limit: int | None) -> Sequence:
    return rows if limit is None else rows[: max(limit, CHART_BARS)]


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of a month written 'YYYY-MM'."""
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def fill_months(rows: Sequence[RateRow]) -> list[RateRow]:
    """The months in order with the months between them that have no referral (0 referrals), so that a
    chart of months spaces them evenly and shows every one."""
    found = {row.key: row for row in rows if row.key}
    if not found:
        return list(rows)
    first, last = month_bounds(min(found))[0], month_bounds(max(found))[0]
    months, day = [], first
    while day <= last:
        key = f"{day.year:04d}-{day.month:02d}"
        months.append(found.get(key) or RateRow(key, key, 0, 0, 0))
        day = month_bounds(key)[1] + timedelta(days=1)
    return months


# A breakdown row leads to the resources of that category (district, organization …): the same report
# filtered by it, at the success rate by resource.
DRILL = {"category": "category", "organization": "organization", "district": "district", "caseworker": "caseworker"}
NEXT_LEVEL = "success_resource"


def drill_link(by: str, key: str) -> Link | None:
    """Where a row of the ``by`` breakdown leads: its resources (a month: that month's)."""
    if not key:
        return None
    if by == "month":
        start, end = month_bounds(key)
        return Link({"start": start.isoformat(), "end": end.isoformat()}, NEXT_LEVEL)
    if by in DRILL:
        return Link({DRILL[by]: key}, NEXT_LEVEL)
    return None


def success_table(by: str, rows: Sequence[RateRow], subcategories: bool = False, limit: int | None = None) -> Table:
    """The table; with ``limit``, only its first rows (and enough for the chart)."""
    if by == "month":
        rows = fill_months(rows)
    columns = [str(DIMENSION_HEADERS[by])]
    if by == "resource":
        columns.append(str(_l("Organization")))
    if by == "category" and subcategories:
        columns[0] = str(_l("Sub-category"))
    first = len(columns)
    columns += [
        str(_l("Referrals")),
        str(_l("With a final outcome")),
        str(_l("Got the service")),
        str(_l("Success rate")),
    ]
    cells, bars, links = [], [], []
    for row in _first(rows, limit):
        name = _place(row, by)
        lead = [name, row.detail] if by == "resource" else [name]
        rate = rate_cell(row.successes, row.final)
        cells.append([*lead, count_cell(row.referrals), count_cell(row.final), count_cell(row.successes), rate])
        bars.append(Bar(name, _rate_value(row.successes, row.final), rate))
        links.append(drill_link(by, row.key))
    return Table(
        name=f"success_{by}",
        title=str(DIMENSION_TITLES[by]),
        columns=columns,
        rows=cells,
        numeric=set(range(first, len(columns))),
        chart=bars,
        chart_kind="line" if by == "month" else "bar",
        chart_percent=True,
        links=links,
    ).first(limit, len(rows))


# --- overall figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyFigure:
    """A key figure: its label, its kind ("count", "rate", "ratio", "days": how its change is written),
    how it is read from a dashboard (the cell and the value it shows, None when hidden) and the
    breakdown it leads to (a table's name)."""

    label: str
    kind: str
    read: Callable[[Dashboard], tuple[str, float | None]]
    breakdown: str | None = None


def _count_figure(n: int) -> tuple[str, float | None]:
    return count_cell(n), _count_value(n)


def _rate_figure(numerator: int, denominator: int) -> tuple[str, float | None]:
    ratio = shown_ratio(numerator, denominator)
    return rate_cell(numerator, denominator), None if ratio is None else 100 * ratio


def _ratio_figure(numerator: int, denominator: int) -> tuple[str, float | None]:
    return _ratio_cell(numerator, denominator), shown_ratio(numerator, denominator)


def _days_figure(days: float | None, among: int) -> tuple[str, float | None]:
    cell = _days_cell(days, among)
    return cell, None if cell == NO_RATE else days


KEY_FIGURES = (
    KeyFigure(_l("Referrals"), "count", lambda d: _count_figure(d.overview.referrals), "success_organization"),
    KeyFigure(
        _l("Referrals with a final outcome"), "count", lambda d: _count_figure(d.overview.final), "success_resource"
    ),
    KeyFigure(
        _l("Referrals where the client got the service"),
        "count",
        lambda d: _count_figure(d.overview.successes),
        "success_resource",
    ),
    KeyFigure(
        _l("Referral success rate"),
        "rate",
        lambda d: _rate_figure(d.overview.successes, d.overview.final),
        "success_category",
    ),
    KeyFigure(_l("Needs closed"), "count", lambda d: _count_figure(d.overview.needs_closed), "success_category"),
    KeyFigure(_l("Needs met"), "count", lambda d: _count_figure(d.overview.needs_met), "success_category"),
    KeyFigure(
        _l("Need fulfilment rate"),
        "rate",
        lambda d: _rate_figure(d.overview.needs_met, d.overview.needs_closed),
        "success_category",
    ),
    KeyFigure(
        _l("Attempts per success"),
        "ratio",
        lambda d: _ratio_figure(d.persistence.attempts_on_final, d.persistence.successes),
        "curve",
    ),
    KeyFigure(
        _l("Successes after at least one refusal"),
        "rate",
        lambda d: _rate_figure(d.persistence.successes_after_refusal, d.persistence.successes),
        "curve",
    ),
    KeyFigure(
        _l("Needs met after a refused referral"),
        "rate",
        lambda d: _rate_figure(d.overview.needs_met_after_refusal, d.overview.needs_met),
        "refusals_at_resource",
    ),
    KeyFigure(
        _l("Median days from referral to acceptance"),
        "days",
        lambda d: _days_figure(d.medians.to_acceptance, d.medians.accepted),
        "success_resource",
    ),
    KeyFigure(
        _l("Median days from referral to the service"),
        "days",
        lambda d: _days_figure(d.medians.to_service, d.medians.delivered),
        "success_resource",
    ),
)


def change_cell(kind: str, now: float | None, before: float | None) -> str:
    """The change from the previous period, of the values as shown ("—" when either is hidden): counts
    and days as a signed difference, rates in percentage points."""
    if now is None or before is None:
        return NO_RATE
    diff = now - before
    if abs(diff) < 0.005:
        return "0"
    if kind == "rate":
        return str(_l("%(points)s pts", points=f"{diff:+.1f}"))
    return f"{diff:+.0f}" if kind == "count" else f"{diff:+.2f}" if kind == "ratio" else f"{diff:+.1f}"


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period just before [start, end], as long: whole calendar months give the same number of
    months before (November → October, a quarter → the quarter before), any other range as many days."""
    if start.day == 1 and end == month_bounds(f"{end.year:04d}-{end.month:02d}")[1]:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        index = start.year * 12 + start.month - 1 - months
        return date(index // 12, index % 12 + 1, 1), start - timedelta(days=1)
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def quick_periods(today: date) -> list[tuple[str, date, date]]:
    """Periods a manager compares most (each with the one before it): last month, the last 3 and 12
    whole months."""
    this_month = date(today.year, today.month, 1)
    periods = []
    for label, months in ((_l("Last month"), 1), (_l("Last 3 months"), 3), (_l("Last 12 months"), 12)):
        index = this_month.year * 12 + this_month.month - 1 - months
        start = date(index // 12, index % 12 + 1, 1)
        periods.append((str(label), start, this_month - timedelta(days=1)))
    return periods


def previous_range(start: date | None, end: date | None) -> tuple[date, date] | None:
    """``previous_period`` of a date range; None without one, or when the period before would begin
    before the calendar does (a range of a thousand years)."""
    if start is None or end is None:
        return None
    try:
        return previous_period(start, end)
    except (OverflowError, ValueError):
        return None


def previous_filter(f: queries.ReportFilter) -> queries.ReportFilter | None:
    """The same selection over the previous period; None without a date range (nothing to compare)."""
    before = previous_range(f.start, f.end)
    return None if before is None else replace(f, start=before[0], end=before[1])


def overview_table(d: Dashboard, previous: Dashboard | None = None, period: tuple[date, date] | None = None) -> Table:
    """The key figures; with the ``previous`` period's dashboard, each one beside the same figure then and
    the change (nothing of a previous period that concerns too few clients is shown)."""
    compare = previous is not None
    hidden_before = compare and withheld(previous)
    rows, links = [], []
    for figure in KEY_FIGURES:
        cell, value = figure.read(d)
        row = [str(figure.label), cell]
        if compare:
            before_cell, before = (NO_RATE, None) if hidden_before else figure.read(previous)
            row += [before_cell, change_cell(figure.kind, value, before)]
        rows.append(row)
        links.append(Link({}, figure.breakdown) if figure.breakdown else None)
    columns = [str(_l("Figure")), str(_l("Value"))]
    note = ""
    if compare:
        columns = [str(_l("Figure")), str(_l("This period")), str(_l("Previous period")), str(_l("Change"))]
        if period is not None:
            note = str(
                _l("Previous period: %(start)s to %(end)s.", start=period[0].isoformat(), end=period[1].isoformat())
            )
        if hidden_before:
            note += " " + withheld_note(previous)
    return Table(
        name="overview",
        title=str(_l("Key figures")),
        columns=columns,
        rows=rows,
        numeric=set(range(1, len(columns))),
        note=note.strip(),
        links=links,
    )


# --- persistence ---------------------------------------------------------------------------------


def fill_attempts(points: Sequence[CurvePoint]) -> list[CurvePoint]:
    """Every attempt number from 1 to the last one with a success ("10+" at most), those without a success
    with 0 and the cumulative count so far: the chart's x-axis is the attempt number."""
    found = {p.attempt: p for p in points}
    filled, cumulative = [], 0
    for attempt in range(1, max(found, default=0) + 1):
        point = found.get(attempt)
        cumulative = point.cumulative if point else cumulative
        filled.append(point or CurvePoint(attempt, 0, cumulative))
    return filled


def curve_table(d: Dashboard) -> Table:
    final = d.curve.final
    cells, bars = [], []
    for point in fill_attempts(d.curve.points):
        n = f"{point.attempt}+" if point.attempt >= MAX_ATTEMPT_BUCKET else str(point.attempt)
        share = rate_cell(point.cumulative, final)
        cells.append([n, count_cell(point.successes), count_cell(point.cumulative), share])
        bars.append(Bar(n, _rate_value(point.cumulative, final), share))
    return Table(
        name="curve",
        title=str(_l("Success by attempt number")),
        columns=[
            str(_l("Attempt")),
            str(_l("Successes at this attempt")),
            str(_l("Successes by this attempt")),
            str(_l("Share of final referrals served by this attempt")),
        ],
        rows=cells,
        numeric={1, 2, 3},
        chart=bars,
        chart_kind="line",
        chart_percent=True,
        chart_title=str(_l("Share of final referrals served by attempt number")),
        data_labels=True,
        note=str(
            _l(
                "Of %(final)s referrals with a final outcome. Attempts counted in the order they happened; "
                "corrected entries are left out.",
                final=count_cell(final),
            )
        ),
    )


# --- refusals ------------------------------------------------------------------------------------


def party_label(code: str) -> str:
    return str(REFUSER_LABELS.get(code, code or _l("Unknown")))


def reason_label(code: str) -> str:
    return str(REFUSAL_REASON_LABELS.get(code, code or _l("Unknown")))


def refusals_table(by: str, rows: Sequence[queries.CountRow]) -> Table:
    total = sum(r.count for r in rows)
    name = party_label if by == "party" else reason_label
    cells, bars = [], []
    for row in rows:
        label = name(row.key)
        cells.append([label, count_cell(row.count), rate_cell(row.count, total)])
        bars.append(Bar(label, _count_value(row.count), count_cell(row.count)))
    return Table(
        name=f"refusals_{by}",
        title=str(_l("Refusals by who refused") if by == "party" else _l("Refusals by reason")),
        columns=[
            str(_l("Who refused") if by == "party" else _l("Reason")),
            str(_l("Refusals")),
            str(_l("Share of refusals")),
        ],
        rows=cells,
        numeric={1, 2},
        chart=bars,
    )


def _once(label: Callable[[str], str]) -> Callable[[str], str]:
    """``label``, translated once per code (a table of thousands of rows has a handful of codes)."""
    known: dict[str, str] = {}

    def get(code: str) -> str:
        if code not in known:
            known[code] = label(code)
        return known[code]

    return get


def refusals_at_table(
    by: str, rows: Sequence[RefusalRow], limit: int | None = None, all_rows: int | None = None
) -> Table:
    """The table; with ``limit``, only its first rows, and the chart's places (a place has many rows).
    ``all_rows``: how many rows the table has when ``rows`` are its first (queries.dashboard's
    ``top_places``)."""
    lead = [str(_l("Resource")), str(_l("Organization"))] if by == "resource" else [str(_l("Category"))]
    cells, bars, seen = [], [], set()
    party, reason = _once(party_label), _once(reason_label)
    for i, row in enumerate(rows):
        place = _place(row, by)
        if limit is None or i < limit:
            first = [place, row.detail] if by == "resource" else [place]
            cells.append([*first, party(row.party), reason(row.reason), count_cell(row.count), count_cell(row.total)])
        elif len(seen) >= CHART_BARS:
            break
        if row.key not in seen:
            seen.add(row.key)
            bars.append(Bar(place, _count_value(row.total), count_cell(row.total)))
    return Table(
        name=f"refusals_at_{by}",
        title=str(_l("Which resources refuse, and why") if by == "resource" else _l("Refusals by category")),
        columns=[*lead, str(_l("Who refused")), str(_l("Reason")), str(_l("Refusals")), str(_l("All refusals here"))],
        rows=cells,
        numeric={len(lead) + 2, len(lead) + 3},
        chart=bars,
        all_rows=None if limit is None else all_rows if all_rows is not None else len(rows),
    )


# --- workload ------------------------------------------------------------------------------------


def workload_table(d: Dashboard, limit: int | None = None) -> Table:
    cells, bars = [], []
    for row in _first(d.workload, limit):
        cells.append(
            [
                row.label,
                count_cell(row.open),
                count_cell(row.due_today),
                count_cell(row.overdue),
                count_cell(row.stale),
            ]
        )
        bars.append(Bar(row.label, _count_value(row.overdue), count_cell(row.overdue)))
    return Table(
        name="workload",
        title=str(_l("Workload by caseworker")),
        columns=[
            str(_l("Caseworker")),
            str(_l("Open referrals")),
            str(_l("Follow-ups due today")),
            str(_l("Follow-ups overdue")),
            str(_l("No activity for 14 days")),
        ],
        rows=cells,
        numeric={1, 2, 3, 4},
        chart=bars,
        note=str(_l("Needs still open; the date range does not apply. The chart shows overdue follow-ups.")),
    ).first(limit, len(d.workload))


# --- all tables ----------------------------------------------------------------------------------

Builder = Callable[[Dashboard, bool, int | None], Table]  # (dashboard, sub-categories, rows shown)


def _success_builder(by: str) -> Builder:
    return lambda d, sub, limit: success_table(by, d.success[by], sub, limit)


def _refusals_builder(by: str) -> Builder:
    return lambda d, sub, limit: refusals_table(by, d.refusals[by])


def _refusals_at_builder(by: str) -> Builder:
    return lambda d, sub, limit: refusals_at_table(by, d.refusals_at[by], limit, d.refusal_rows.get(by))


# name → (the figures it needs, its builder), in the order of the page
TABLES: dict[str, tuple[tuple[str, ...], Builder]] = {
    "overview": (
        ("overview", "needs", "persistence", "median_acceptance", "median_service"),
        lambda d, sub, limit: overview_table(d),
    ),
    **{f"success_{by}": ((f"success_{by}",), _success_builder(by)) for by in queries.DIMENSIONS},
    "curve": (("curve", "persistence"), lambda d, sub, limit: curve_table(d)),
    **{f"refusals_{by}": ((f"refusals_{by}",), _refusals_builder(by)) for by in queries.REFUSAL_GROUPS},
    **{f"refusals_at_{by}": ((f"refusals_at_{by}",), _refusals_at_builder(by)) for by in queries.REFUSAL_PLACES},
    "workload": (("workload",), lambda d, sub, limit: workload_table(d, limit)),
}
# The tables the page shows the first rows of (the others are short: months, attempts, parties, reasons).
PAGED = (
    *(f"success_{by}" for by in queries.DIMENSIONS if by != "month"),
    *(f"refusals_at_{by}" for by in queries.REFUSAL_PLACES),
    "workload",
)


def withheld(d: Dashboard) -> bool:
    """True when the selection concerns fewer clients than ``REPORT_MIN_CLIENTS`` (default 5): then no
    figure is shown (page and CSV), as any of them would describe those few people."""
    return d.clients < d.min_clients


def withheld_note(d: Dashboard) -> str:
    return str(
        _l(
            "Fewer than %(n)s clients match this selection, so no figures are shown: they would describe "
            "those few people. Widen the selection (dates, category, district, organization or caseworker).",
            n=d.min_clients,
        )
    )


def _withhold(table: Table, d: Dashboard) -> Table:
    table.rows, table.chart, table.all_rows, table.note, table.links = [], [], None, withheld_note(d), []
    return table


@dataclass(frozen=True)
class Previous:
    """The previous period's key figures, to set beside the selection's."""

    dashboard: Dashboard
    start: date
    end: date


def previous(f: queries.ReportFilter) -> Previous | None:
    """The key figures of the same selection over the previous period (``previous_period``); None
    without a date range."""
    before = previous_filter(f)
    if before is None:
        return None
    data = queries.dashboard(before, TABLES["overview"][0], with_stale=False)
    return Previous(data, before.start, before.end)


def _overview(d: Dashboard, before: Previous | None) -> Table:
    if before is None:
        return overview_table(d)
    return overview_table(d, before.dashboard, (before.start, before.end))


def all_tables(
    d: Dashboard, subcategories: bool = False, limit: int | None = None, before: Previous | None = None
) -> dict[str, Table]:
    """Every table; with ``limit``, the ``PAGED`` ones hold their first rows only (the page shows those,
    the CSV export builds the whole table): thousands of rows are never made into cells for nothing.
    With ``before``, the key figures beside the previous period's."""
    built = {name: build(d, subcategories, limit if name in PAGED else None) for name, (_, build) in TABLES.items()}
    built["overview"] = _overview(d, before)
    return {name: _withhold(table, d) for name, table in built.items()} if withheld(d) else built


def some_tables(
    d: Dashboard, names: Sequence[str], limit: int | None = None, before: Previous | None = None
) -> dict[str, Table]:
    """The named tables only (a monthly summary's), their first ``limit`` rows; with ``before``, the key
    figures beside the previous period's."""
    built = {name: TABLES[name][1](d, False, limit) for name in names}
    if "overview" in built:
        built["overview"] = _overview(d, before)
    return {name: _withhold(table, d) for name, table in built.items()} if withheld(d) else built


def one_table(name: str, f: queries.ReportFilter) -> Table:
    """Compute only what one table needs (the CSV export; the key figures with the previous period's)."""
    needed, build = TABLES[name]
    data = queries.dashboard(f, needed, with_stale=False)
    table = _overview(data, previous(f)) if name == "overview" else build(data, f.subcategories, None)
    return _withhold(table, data) if withheld(data) else table
