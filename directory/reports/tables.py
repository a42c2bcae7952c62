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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from directory.referrals.labels import REFUSAL_REASON_LABELS, REFUSER_LABELS
from directory.reports import queries
from directory.reports.queries import MAX_ATTEMPT_BUCKET, Dashboard, RateRow, RefusalRow

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
    note: str = ""
    all_rows: int | None = None  # when ``rows`` are the first of more (the page); None: all of them

    @property
    def row_count(self) -> int:
        return len(self.rows) if self.all_rows is None else self.all_rows

    def first(self, limit: int | None, all_rows: int) -> Table:
        """The table with its first ``limit`` rows (None: unchanged), knowing it has ``all_rows``."""
        if limit is not None:
            self.rows, self.all_rows = self.rows[:limit], all_rows
        return self


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


def success_table(by: str, rows: Sequence[RateRow], subcategories: bool = False, limit: int | None = None) -> Table:
    """The table; with ``limit``, only its first rows (and enough for the chart)."""
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
    cells, bars = [], []
    for row in _first(rows, limit):
        name = _place(row, by)
        lead = [name, row.detail] if by == "resource" else [name]
        rate = rate_cell(row.successes, row.final)
        cells.append([*lead, count_cell(row.referrals), count_cell(row.final), count_cell(row.successes), rate])
        bars.append(Bar(name, _rate_value(row.successes, row.final), rate))
    return Table(
        name=f"success_{by}",
        title=str(DIMENSION_TITLES[by]),
        columns=columns,
        rows=cells,
        numeric=set(range(first, len(columns))),
        chart=bars,
        chart_kind="line" if by == "month" else "bar",
        chart_percent=True,
    ).first(limit, len(rows))


# --- overall figures -----------------------------------------------------------------------------


def overview_table(d: Dashboard) -> Table:
    o, p, m = d.overview, d.persistence, d.medians
    rows = [
        (_l("Referrals"), count_cell(o.referrals)),
        (_l("Referrals with a final outcome"), count_cell(o.final)),
        (_l("Referrals where the client got the service"), count_cell(o.successes)),
        (_l("Referral success rate"), rate_cell(o.successes, o.final)),
        (_l("Needs closed"), count_cell(o.needs_closed)),
        (_l("Needs met"), count_cell(o.needs_met)),
        (_l("Need fulfilment rate"), rate_cell(o.needs_met, o.needs_closed)),
        (_l("Attempts per success"), _ratio_cell(p.attempts_on_final, p.successes)),
        (_l("Successes after at least one refusal"), rate_cell(p.successes_after_refusal, p.successes)),
        (_l("Needs met after a refused referral"), rate_cell(o.needs_met_after_refusal, o.needs_met)),
        (_l("Median days from referral to acceptance"), _days_cell(m.to_acceptance, m.accepted)),
        (_l("Median days from referral to the service"), _days_cell(m.to_service, m.delivered)),
    ]
    return Table(
        name="overview",
        title=str(_l("Key figures")),
        columns=[str(_l("Figure")), str(_l("Value"))],
        rows=[[str(label), value] for label, value in rows],
        numeric={1},
    )


# --- persistence ---------------------------------------------------------------------------------


def curve_table(d: Dashboard) -> Table:
    final = d.curve.final
    cells, bars = [], []
    for point in d.curve.points:
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
    table.rows, table.chart, table.all_rows, table.note = [], [], None, withheld_note(d)
    return table


def all_tables(d: Dashboard, subcategories: bool = False, limit: int | None = None) -> dict[str, Table]:
    """Every table; with ``limit``, the ``PAGED`` ones hold their first rows only (the page shows those,
    the CSV export builds the whole table): thousands of rows are never made into cells for nothing."""
    built = {name: build(d, subcategories, limit if name in PAGED else None) for name, (_, build) in TABLES.items()}
    return {name: _withhold(table, d) for name, table in built.items()} if withheld(d) else built


def one_table(name: str, f: queries.ReportFilter) -> Table:
    """Compute only what one table needs (the CSV export)."""
    needed, build = TABLES[name]
    data = queries.dashboard(f, needed, with_stale=False)
    table = build(data, f.subcategories, None)
    return _withhold(table, data) if withheld(data) else table
