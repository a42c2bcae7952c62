"""Manager reports: every figure is an SQL aggregate over the referrals a filter selects.

Definitions are in docs/reports.md. The public functions return plain dataclasses of raw counts (one
function per figure or table); the small-count rule and the formatting live in ``tables.py``.

How it stays fast: the figures count rows of two tables, never joined to needs, clients or attempts:
``referral``, which keeps what they need of its need, client and attempts, and ``referral_refusal``,
its standing refusals (both kept in step by ``referrals.services``). Every figure is a branch of one
``UNION ALL`` that reads its table with the filter's conditions; each branch returns the same columns
(``_row``): figure name, key, label, detail, party, reason and up to four numbers. Each breakdown has a
covering index that starts with what it groups by (migration 6fe56adf551c), so SQLite reads the rows
already grouped, without a sort; on SQLite the local month and the days to acceptance and to delivery
have expression indexes too. The whole dashboard runs as two such statements at once
(``STATEMENTS``); a single table (the CSV export) runs only its own branch. A statement depends on the
shape of the filter only (its values are bound parameters) and is built once per shape.

The SQL is SQLAlchemy Core and portable to PostgreSQL (window functions, materialized CTEs; two
dialect-specific expressions, compiled below for SQLite and PostgreSQL).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from types import SimpleNamespace
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CTE,
    CompoundSelect,
    Date,
    Engine,
    Float,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from directory.accounts.models import User
from directory.catalog.cache import term_labels
from directory.catalog.models import Organization, Service, TaxonomyTerm
from directory.catalog.services import stale_services
from directory.extensions import db
from directory.i18n import district_name, local_name
from directory.referrals.models import Referral, Refusal
from directory.referrals.rules import ACTIVE_STATUSES, STALE_AFTER

FINAL_STATUSES = ("delivered", "refused")
MAX_ATTEMPT_BUCKET = 10  # the persistence curve puts the 10th attempt and later ones together
DIMENSIONS = ("resource", "organization", "category", "district", "caseworker", "month")
REFUSAL_GROUPS = ("party", "reason")
REFUSAL_PLACES = ("resource", "category")


@dataclass(frozen=True)
class ReportFilter:
    """What a report covers. Dates are local (``timezone``) days, both ends included, on referral.created_at.

    ``today`` and ``now`` date the workload (follow-ups due, stale referrals); ``locale`` chooses the
    language of category names. ``min_clients``: a selection that concerns fewer clients shows no figure
    (the small-cell rule, ``tables.withheld``).
    """

    start: date | None = None
    end: date | None = None
    category: str | None = None  # a taxonomy code; its sub-categories are included
    district: str | None = None
    organization_id: str | None = None
    caseworker_id: int | None = None
    subcategories: bool = False  # group by the need's own category instead of its top-level branch
    timezone: str = "Asia/Shanghai"
    today: date | None = None
    now: datetime | None = None
    locale: str = "zh"
    min_clients: int = 5

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The UTC instants where the local date range starts (included) and ends (excluded)."""
        zone = ZoneInfo(self.timezone)

        def utc(day: date) -> datetime:
            return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)

        return (
            utc(self.start) if self.start else None,
            utc(self.end + timedelta(days=1)) if self.end else None,
        )


# --- result rows ---------------------------------------------------------------------------------
# The rows of the tables are named tuples (a page makes thousands of them; a frozen dataclass costs ten
# times more to make), the single figures frozen dataclasses.


@dataclass(frozen=True)
class Overview:
    referrals: int
    final: int
    successes: int
    needs_closed: int
    needs_met: int
    needs_met_after_refusal: int


class RateRow(NamedTuple):
    key: str
    label: str
    referrals: int
    final: int
    successes: int
    detail: str = ""  # the organization of a resource


class CountRow(NamedTuple):
    key: str
    count: int


class RefusalRow(NamedTuple):
    """Refusals at one resource (or category) by one party for one reason; ``total``: all its refusals."""

    key: str
    label: str
    detail: str
    party: str
    reason: str
    count: int
    total: int


class CurvePoint(NamedTuple):
    attempt: int  # MAX_ATTEMPT_BUCKET stands for "that many or more"
    successes: int
    cumulative: int


@dataclass(frozen=True)
class Curve:
    final: int
    points: list[CurvePoint]


@dataclass(frozen=True)
class Persistence:
    final: int
    successes: int
    attempts_on_final: int
    successes_after_refusal: int


@dataclass(frozen=True)
class Medians:
    to_acceptance: float | None
    accepted: int
    to_service: float | None
    delivered: int


class WorkloadRow(NamedTuple):
    key: str
    label: str
    open: int
    due_today: int
    overdue: int
    stale: int


# --- dialect-specific expressions ----------------------------------------------------------------


def _sql_function(name: str, type_, doc: str, sqlite: str, default: str) -> type[FunctionElement]:
    """An SQL function written one way for SQLite and another for PostgreSQL (``{0}``, ``{1}``: its
    arguments, compiled)."""
    function = type(name, (FunctionElement,), {"type": type_, "inherit_cache": True, "__doc__": doc})

    def render(template: str):
        def compile_(element, compiler, **kw):
            return template.format(*(compiler.process(c, **kw) for c in element.clauses))

        return compile_

    compiles(function, "sqlite")(render(sqlite))
    compiles(function)(render(default))
    return function


days_between = _sql_function(
    "days_between",
    Float(),
    "Days (fractional) from the first timestamp to the second.",
    sqlite="(julianday({1}) - julianday({0}))",
    default="(EXTRACT(EPOCH FROM ({1}) - ({0})) / 86400.0)",
)


class local_month(FunctionElement):  # noqa: N801 (an SQL function)
    """'YYYY-MM' of a UTC timestamp in a time zone (the zone is rendered as a literal).

    SQLite has no zone database: it gets the zone's present offset (Asia/Shanghai has had no DST since
    1991), taken when the expression is made. Zone and offset are part of the statement's cache key, so
    the compiled statement is cached like any other.
    """

    type = String()
    inherit_cache = True
    _traverse_internals = [
        *FunctionElement._traverse_internals,
        ("zone", InternalTraversal.dp_string),
        ("offset_minutes", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, column, zone: str):
        if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", zone):
            raise ValueError(f"bad time zone name {zone!r}")
        self.zone = zone
        offset = datetime.now(ZoneInfo(zone)).utcoffset() or timedelta(0)
        self.offset_minutes = int(offset.total_seconds() // 60)
        super().__init__(column)


@compiles(local_month, "sqlite")
def _month_sqlite(element, compiler, **kw):
    (column,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"strftime('%Y-%m', {column}, '{element.offset_minutes:+d} minutes')"


@compiles(local_month)
def _month_default(element, compiler, **kw):
    (column,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"to_char(({column}) AT TIME ZONE '{element.zone}', 'YYYY-MM')"


# --- building blocks -----------------------------------------------------------------------------

VALUES = 4


def _row(figure: str, *, key=None, label=None, detail=None, party=None, reason=None, values=()) -> list:
    """The columns every branch returns, in order; what a figure has not is NULL (typed, for PostgreSQL)."""
    texts = {"key": key, "label": label, "detail": detail, "party": party, "reason": reason}
    numbers = [*values, *([None] * (VALUES - len(values)))]
    return [
        cast(literal(figure), String).label("figure"),
        *(cast(v if v is not None else null(), String).label(name) for name, v in texts.items()),
        *(cast(v if v is not None else null(), Float).label(f"n{i + 1}") for i, v in enumerate(numbers)),
    ]


def _sum_if(condition) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _category_codes(code) -> Select:
    """The code and every code below it (the taxonomy is at most three deep)."""
    term, parent, grand = TaxonomyTerm, aliased(TaxonomyTerm), aliased(TaxonomyTerm)
    return (
        select(term.code)
        .outerjoin(parent, parent.id == term.parent_id)
        .outerjoin(grand, grand.id == parent.parent_id)
        .where(or_(term.code == code, parent.code == code, grand.code == code))
    )


def _category_key(query: Select, code, f: ReportFilter) -> tuple[Select, ColumnElement]:
    """The category to group by: the code itself (sub-categories) or its top-level branch's code."""
    if f.subcategories:
        return query, code
    term, parent, grand = aliased(TaxonomyTerm), aliased(TaxonomyTerm), aliased(TaxonomyTerm)
    query = (
        query.outerjoin(term, term.code == code)
        .outerjoin(parent, parent.id == term.parent_id)
        .outerjoin(grand, grand.id == parent.parent_id)
    )
    return query, func.coalesce(grand.code, parent.code, code)


# The statements read only the shape of a filter (which parts it has, the zone, sub-categories); its values
# are bound parameters (``_parameters``), so one statement serves every filter of its shape and is built
# and compiled once (``_statement``).


def _in_range(table, f: ReportFilter) -> ColumnElement[bool]:
    start = table.created_at >= bindparam("start") if f.start else true()
    return and_(start, table.created_at < bindparam("end") if f.end else true())


def _filters(table, f: ReportFilter) -> list[ColumnElement[bool]]:
    """The filter's conditions on a table with the referral's dimensions (Referral or Refusal)."""
    conditions = []
    if f.category:
        conditions.append(table.category.in_(_category_codes(bindparam("category"))))
    if f.district:
        conditions.append(table.district == bindparam("district"))
    if f.organization_id:
        conditions.append(table.organization_id == bindparam("organization_id"))
    if f.caseworker_id is not None:
        conditions.append(table.caseworker_id == bindparam("caseworker_id"))
    return conditions


def _shape(f: ReportFilter) -> tuple:
    """What the statements of a filter depend on (besides the figures): not its values."""
    present = (f.start, f.end, f.category, f.district, f.organization_id)
    workload = f.today is not None and f.now is not None
    offset = datetime.now(ZoneInfo(f.timezone)).utcoffset()  # see local_month
    return (*(bool(v) for v in present), f.caseworker_id is not None, f.subcategories, f.timezone, offset, workload)


def _parameters(f: ReportFilter) -> dict:
    start, end = f.bounds()
    values = {
        "start": start,
        "end": end,
        "category": f.category,
        "district": f.district,
        "organization_id": f.organization_id,
        "caseworker_id": f.caseworker_id,
        "today": f.today,
        "stale_before": f.now - STALE_AFTER if f.now is not None else None,
    }
    return {name: value for name, value in values.items() if value is not None}


def _referral(f: ReportFilter, *conditions, dated: bool = True) -> list[ColumnElement[bool]]:
    """The conditions that select referrals: the filter's, the date range (unless ``dated`` is False: the
    workload is about today), and the figure's own."""
    dates = [_in_range(Referral, f)] if dated else []
    return [*dates, *_filters(Referral, f), *conditions]


def _is_final() -> ColumnElement[bool]:
    """The referral has an outcome: delivered, refused, or its need closed while it was still active (final
    and unsuccessful)."""
    return or_(Referral.status.in_(FINAL_STATUSES), Referral.need_status != "open")


def _final() -> ColumnElement:
    return case((_is_final(), 1), else_=0)


def _success() -> ColumnElement:
    return case((Referral.status == "delivered", 1), else_=0)


# --- the referral family: overview, needs, success breakdowns, workload --------------------------


def _labelled(query: Select, by: str, key):
    """Join a grouped subquery's key to what names it: (query, label, detail)."""
    if by == "resource":
        query = query.outerjoin(Service, Service.id == key).outerjoin(
            Organization, Organization.id == Service.organization_id
        )
        return query, Service.name, Organization.name
    if by == "organization":
        return query.outerjoin(Organization, Organization.id == key), Organization.name, None
    if by == "caseworker":
        return query.outerjoin(User, User.id == key), User.display_name, None
    return query, None, None


def _rates(key, f: ReportFilter, name: str):
    """Referrals, final outcomes and successes per value of ``key`` (a subquery: k, n, final, success)."""
    return (
        select(
            key.label("k"),
            func.count().label("n"),
            func.sum(_final()).label("final"),
            func.sum(_success()).label("success"),
        )
        .where(*_referral(f))
        .group_by(key)
        .subquery(name)
    )


def _by_resource(f: ReportFilter) -> CTE:
    """Referrals, final outcomes and successes per resource, with its organization: the organization
    breakdown sums these rows instead of grouping the referrals again."""
    r = Referral
    return (
        select(
            r.service_id.label("k"),
            r.organization_id,
            func.count().label("n"),
            func.sum(_final()).label("final"),
            func.sum(_success()).label("success"),
        )
        .where(*_referral(f))
        .group_by(r.service_id, r.organization_id)
        .cte("by_resource")
        .prefix_with("MATERIALIZED")
    )


def _success_branch(by: str, f: ReportFilter, by_resource: Callable[[], CTE]) -> Select:
    """Referrals, final outcomes and successes per value of a dimension (grouped first, named after)."""
    if by == "resource":
        grouped = by_resource()
    elif by == "organization":
        r = by_resource().c
        sums = (func.sum(r.n).label("n"), func.sum(r.final).label("final"), func.sum(r.success).label("success"))
        grouped = select(r.organization_id.label("k"), *sums).group_by(r.organization_id).subquery("by_organization")
    elif by == "month":
        grouped = _rates(local_month(Referral.created_at, f.timezone), f, "by_month")
    else:
        grouped = _rates(getattr(Referral, "caseworker_id" if by == "caseworker" else by), f, f"by_{by}")
    g = grouped.c
    if by == "category":
        query, key = _category_key(select().select_from(grouped), g.k, f)
        sums = (func.sum(g.n), func.sum(g.final), func.sum(g.success))
        return query.add_columns(*_row(f"success_{by}", key=key, values=sums)).group_by(key)
    query, label, detail = _labelled(select().select_from(grouped), by, g.k)
    values = (g.n, g.final, g.success)
    return query.add_columns(*_row(f"success_{by}", key=g.k, label=label, detail=detail, values=values))


def _totals(f: ReportFilter) -> CTE:
    """The selected referrals' totals, in one pass, for the overview and persistence rows: referrals, final
    outcomes, successes, standing attempts on the final ones, successes after a refusal."""
    r = Referral
    return (
        select(
            func.count().label("n"),
            func.coalesce(func.sum(_final()), 0).label("final"),
            func.coalesce(func.sum(_success()), 0).label("success"),
            func.coalesce(func.sum(case((_is_final(), r.attempt_count), else_=0)), 0).label("attempts"),
            _sum_if(and_(r.status == "delivered", r.refused_before_delivery == true())).label("after_refusal"),
        )
        .where(*_referral(f))
        .cte("totals")
        .prefix_with("MATERIALIZED")
    )


def _referral_branches(f: ReportFilter, totals: Callable[[], CTE]) -> dict[str, Callable[[], Select]]:
    r = Referral

    def overview() -> Select:
        t = totals().c
        return select(*_row("overview", values=(t.n, t.final, t.success)))

    def needs() -> Select:
        # A need's referrals all carry its status: grouped by need, over the closed needs only.
        per_need = (
            select(
                r.need_id,
                func.max(r.need_status).label("status"),
                func.max(case((r.status == "refused", 1), else_=0)).label("refused"),
            )
            .where(*_referral(f, r.need_status != "open"))
            .group_by(r.need_id)
            .subquery("per_need")
        )
        n = per_need.c
        met = n.status == "met"
        values = (func.count(), _sum_if(met), _sum_if(and_(met, n.refused == 1)))
        return select(*_row("needs", values=values)).select_from(per_need)

    def workload() -> Select:
        # The caseworker's queue: needs still open; active, or a follow-up due by today.
        if f.today is None or f.now is None:
            raise ValueError("the workload needs today and now")
        active = r.status.in_(sorted(ACTIVE_STATUSES))
        today = bindparam("today", type_=Date)
        in_queue = and_(r.need_status == "open", or_(active, r.next_follow_up <= today))
        grouped = (
            select(
                r.caseworker_id.label("k"),
                _sum_if(active).label("open"),
                _sum_if(r.next_follow_up == today).label("due"),
                _sum_if(r.next_follow_up < today).label("overdue"),
                _sum_if(and_(active, r.last_activity_at <= bindparam("stale_before"))).label("stale"),
            )
            .where(*_referral(f, in_queue, dated=False))
            .group_by(r.caseworker_id)
            .subquery("workload")
        )
        g = grouped.c
        query, label, _ = _labelled(select().select_from(grouped), "caseworker", g.k)
        return query.add_columns(*_row("workload", key=g.k, label=label, values=(g.open, g.due, g.overdue, g.stale)))

    branches: dict[str, Callable[[], Select]] = {"overview": overview, "needs": needs, "workload": workload}
    by_resource = cache(lambda: _by_resource(f))  # built once, when a branch needs it
    for by in DIMENSIONS:
        branches[f"success_{by}"] = lambda by=by: _success_branch(by, f, by_resource)
    return branches


REFERRAL_FIGURES = ("overview", "needs", "workload", *(f"success_{by}" for by in DIMENSIONS))


# --- the attempt family: persistence, medians, refusals ------------------------------------------


def _median_branch(figure: str, days, conditions: list) -> Select:
    """The median of the days of the referrals ``conditions`` select and how many values it has, in SQL:
    the middle value, or the mean of the two middle values, read with ORDER BY … LIMIT … OFFSET.

    On SQLite an index on the days themselves (migration 6fe56adf551c) hands them over in order: the
    middle is found by skipping half of them, without sorting.
    """
    where = [*conditions, days.is_not(None)]
    counted = select(func.count().label("n")).select_from(Referral).where(*where).cte(f"{figure}_count")
    n = select(counted.prefix_with("MATERIALIZED").c.n).scalar_subquery()  # counted once, read three times
    middle = select(days.label("v")).where(*where).order_by(days).limit(2 - n % 2).offset((n - 1) // 2)
    middle = middle.subquery(f"{figure}_middle")
    return select(*_row(figure, values=(func.avg(middle.c.v), n)))


def _refusal_counts(f: ReportFilter) -> SimpleNamespace:
    """Standing refusals of the selected referrals (``referral_refusal``, which has the referral's
    dimensions: no join), counted per party and reason and per resource (``by_resource``) or per need
    category (``by_category``): two small tables the refusal figures roll up."""
    rows = select(Refusal).where(_in_range(Refusal, f), *_filters(Refusal, f)).subquery("refused")

    def counted(column, name: str) -> CTE:
        columns = (column, rows.c.refused_by, rows.c.refusal_reason)
        return select(*columns, func.count().label("n")).group_by(*columns).cte(name).prefix_with("MATERIALIZED")

    return SimpleNamespace(
        by_resource=counted(rows.c.service_id, "refusals_by_resource"),
        by_category=counted(rows.c.category, "refusals_by_category"),
    )


def _refusal_place_branch(counts: SimpleNamespace, by: str, f: ReportFilter, top: int | None = None) -> Select:
    """Refusals per resource (or category) × party × reason, with the resource's (category's) total and
    how many such rows there are. With ``top``, only the rows of the places with the ``top`` largest
    totals (ties included): at a large scale thousands of rows, of which the page shows the first."""
    if by == "category":
        r = counts.by_category
        query, key = _category_key(select().select_from(r), r.c.category, f)
    else:
        r = counts.by_resource
        query, key = select().select_from(r), r.c.service_id
    grouped = (
        query.add_columns(key.label("k"), r.c.refused_by, r.c.refusal_reason, func.sum(r.c.n).label("n"))
        .group_by(key, r.c.refused_by, r.c.refusal_reason)
        .subquery(f"refusals_{by}")
    )
    g = grouped.c
    query, label, detail = _labelled(select().select_from(grouped), by, g.k)
    total = func.sum(g.n).over(partition_by=g.k)
    rows = query.add_columns(
        *_row(
            f"refusals_at_{by}",
            key=g.k,
            label=label,
            detail=detail,
            party=g.refused_by,
            reason=g.refusal_reason,
            values=(g.n, total, func.count().over()),
        )
    )
    if top is None:
        return rows
    rows = rows.subquery(f"refusals_at_{by}_rows")
    place = func.dense_rank().over(order_by=rows.c.n2.desc()).label("place")  # by total, ties together
    ranked = select(*rows.c, place).subquery(f"refusals_at_{by}_ranked")
    return select(*(ranked.c[column.name] for column in rows.c)).where(ranked.c.place <= top)


def _attempt_branches(
    f: ReportFilter, totals: Callable[[], CTE], top_places: int | None = None
) -> dict[str, Callable[[], Select]]:
    r = Referral
    refusals = _refusal_counts(f)

    def persistence() -> Select:
        t = totals().c
        return select(*_row("persistence", values=(t.final, t.success, t.attempts, t.after_refusal)))

    def curve() -> Select:
        at = r.delivered_at_attempt
        bucket = case((at > MAX_ATTEMPT_BUCKET, MAX_ATTEMPT_BUCKET), else_=at)
        grouped = (
            select(bucket.label("k"), func.count().label("n"))
            # delivered_at is set with delivered_at_attempt: the condition lets SQLite read the index on
            # the days to the service, which holds the attempt too (migration 6fe56adf551c)
            .where(*_referral(f, r.status == "delivered", at.is_not(None), r.delivered_at.is_not(None)))
            .group_by(bucket)
            .subquery("curve")
        )
        cumulative = func.sum(grouped.c.n).over(order_by=grouped.c.k)
        return select(*_row("curve", key=grouped.c.k, values=(grouped.c.n, cumulative)))

    # The conditions match the SQLite indexes' (partial, on the days: see _median_branch).
    def median_acceptance() -> Select:
        days = days_between(r.created_at, r.accepted_at)
        return _median_branch("median_acceptance", days, _referral(f, r.accepted_at.is_not(None)))

    def median_service() -> Select:
        days = days_between(r.created_at, r.delivered_at)
        delivered = _referral(f, r.status == "delivered", r.delivered_at.is_not(None))
        return _median_branch("median_service", days, delivered)

    def by_party_or_reason(column_name: str) -> Callable[[], Select]:
        def branch() -> Select:
            r = refusals.by_category
            column = r.c[column_name]
            name = "refusals_party" if column_name == "refused_by" else "refusals_reason"
            return select(*_row(name, key=column, values=(func.sum(r.c.n),))).group_by(column)

        return branch

    return {
        "persistence": persistence,
        "curve": curve,
        "median_acceptance": median_acceptance,
        "median_service": median_service,
        "refusals_party": by_party_or_reason("refused_by"),
        "refusals_reason": by_party_or_reason("refusal_reason"),
        **{
            f"refusals_at_{by}": (lambda by=by: _refusal_place_branch(refusals, by, f, top_places))
            for by in REFUSAL_PLACES
        },
    }


ATTEMPT_FIGURES = (
    "persistence",
    "curve",
    "median_acceptance",
    "median_service",
    "refusals_party",
    "refusals_reason",
    *(f"refusals_at_{by}" for by in REFUSAL_PLACES),
)
FIGURES = REFERRAL_FIGURES + ATTEMPT_FIGURES


# --- running -------------------------------------------------------------------------------------

Rows = dict[str, list]


# The whole dashboard runs as two statements side by side, each on its own connection (a core each);
# the groups balance their cost at 200,000 referrals (bench/reports_bench.py). A figure or table on its
# own (a CSV export) is one statement on the session's connection.
STATEMENTS = (
    (
        "overview",
        "needs",
        "workload",
        "persistence",
        "curve",
        "median_acceptance",
        "median_service",
        "success_resource",
        "success_organization",
    ),
    (
        "success_category",
        "success_district",
        "success_caseworker",
        "success_month",
        "refusals_party",
        "refusals_reason",
        "refusals_at_resource",
        "refusals_at_category",
    ),
)


_STATEMENTS: dict[tuple, CompoundSelect] = {}


def _statement(f: ReportFilter, names: Iterable[str], top_places: int | None = None) -> CompoundSelect:
    """The UNION ALL of the named figures' branches, for filters of this one's shape (run it with
    ``_parameters(f)``). Made once per shape and figures: building it takes longer than some figures."""
    names = tuple(names)
    key = (_shape(f), names, top_places)
    statement = _STATEMENTS.get(key)
    if statement is None:
        totals = cache(lambda: _totals(f))  # the overview and persistence rows share one pass
        branches = {**_referral_branches(f, totals), **_attempt_branches(f, totals, top_places)}
        statement = union_all(*(branches[name]() for name in names))
        if len(_STATEMENTS) > 512:  # shapes × figure sets: a few dozen in practice
            _STATEMENTS.clear()
        _STATEMENTS[key] = statement
    return statement


def _collect(result, found: Rows) -> Rows:
    for row in result:
        found[row.figure].append(row)
    return found


def _run_on(engine: Engine, statement, parameters: dict) -> list:
    with engine.connect() as connection:
        return list(connection.execute(statement, parameters))


def figures(f: ReportFilter, names: Iterable[str] = FIGURES, top_places: int | None = None) -> Rows:
    """The named figures, rows by figure name. When they span both ``STATEMENTS`` groups, the two
    statements run at once on two connections (each a consistent snapshot of its own). With
    ``top_places``, the refusals per resource (category) hold only the rows of the places with the most
    refusals (``_refusal_place_branch``)."""
    names = tuple(names)
    unknown = set(names) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown figures {sorted(unknown)}")
    parts = [part for part in ([n for n in group if n in names] for group in STATEMENTS) if part]
    found: Rows = defaultdict(list)
    in_memory = db.engine.url.database in (None, "", ":memory:")  # another connection sees another database
    parameters = _parameters(f)
    if len(parts) < 2 or in_memory:
        return _collect(db.session.execute(_statement(f, names, top_places), parameters), found)
    statements = [_statement(f, part, top_places) for part in parts]
    engine = db.engine
    with ThreadPoolExecutor(max_workers=len(statements)) as pool:
        for rows in pool.map(lambda statement: _run_on(engine, statement, parameters), statements):
            _collect(rows, found)
    return found


def _int(value) -> int:
    return int(value or 0)


@dataclass(frozen=True)
class Names:
    """What the rows are named in the UI's language (``i18n.local_name``): categories by their code, and
    in English the English names of services, organizations and districts where they have one."""

    locale: str = "zh"
    terms: dict[str, str] = field(default_factory=dict)
    services: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # id → its, its org's
    organizations: dict[str, str | None] = field(default_factory=dict)

    def label(self, by: str, key: str, label: str | None) -> str:
        if by == "category":
            return label or self.terms.get(key, key)
        if by == "district":
            return district_name(label or key, self.locale)
        alternate = {"resource": self.services.get(key, (None, None))[0], "organization": self.organizations.get(key)}
        return local_name(label or key, alternate.get(by), self.locale)

    def detail(self, by: str, key: str, detail: str | None) -> str:
        """The organization of a resource."""
        if by != "resource":
            return detail or ""
        return local_name(detail, self.services.get(key, (None, None))[1], self.locale)


def row_names(locale: str) -> Names:
    """The names of the report rows in ``locale`` (the listings' English names are read in English only)."""
    if locale != "en":
        return Names(locale, term_labels(locale))
    rows = db.session.execute(
        select(Service.id, Service.alternate_name, Organization.id, Organization.alternate_name).join(
            Organization, Organization.id == Service.organization_id
        )
    )
    services, organizations = {}, {}
    for service_id, alternate, organization_id, organization_alternate in rows:
        services[service_id] = (alternate, organization_alternate)
        organizations[organization_id] = organization_alternate
    return Names(locale, term_labels(locale), services, organizations)


def _name(row, by: str, found: Names | None) -> str:
    if found is None:
        return row.label or row.key or ""
    return found.label(by, row.key or "", row.label)


# --- reading the rows: one function per figure or table ------------------------------------------


def _one(rows: Rows, name: str):
    found = rows.get(name) or []
    return found[0] if found else None


def read_overview(rows: Rows) -> Overview:
    o, n = _one(rows, "overview"), _one(rows, "needs")
    counts = [_int(getattr(r, c, 0)) if r is not None else 0 for r in (o, n) for c in ("n1", "n2", "n3")]
    return Overview(*counts)


def read_success(rows: Rows, by: str, labels: Names | None = None) -> list[RateRow]:
    """Rows most final outcomes first (months in order)."""
    found = [
        RateRow(
            row.key or "",
            _name(row, by, labels),
            _int(row.n1),
            _int(row.n2),
            _int(row.n3),
            labels.detail(by, row.key or "", row.detail) if labels else row.detail or "",
        )
        for row in rows.get(f"success_{by}", [])
    ]
    if by == "month":
        return sorted(found, key=lambda r: r.key)
    return sorted(found, key=lambda r: (-r.final, -r.referrals, r.label, r.key))


def read_workload(rows: Rows) -> list[WorkloadRow]:
    found = [
        WorkloadRow(row.key or "", row.label or "", _int(row.n1), _int(row.n2), _int(row.n3), _int(row.n4))
        for row in rows.get("workload", [])
    ]
    return sorted(found, key=lambda r: (r.label, r.key))


def read_refusals(rows: Rows, by: str) -> list[CountRow]:
    found = [CountRow(row.key or "", _int(row.n1)) for row in rows.get(f"refusals_{by}", [])]
    return sorted(found, key=lambda r: (-r.count, r.key))


def read_refusals_at(rows: Rows, by: str, labels: Names | None = None) -> list[RefusalRow]:
    """Places with the most refusals first; within one, the most frequent party and reason first.

    Thousands of rows at a large scale (resource × party × reason): read by position, one pass."""
    found = []
    for _, key, label, detail, party, reason, n1, n2, _, _ in rows.get(f"refusals_at_{by}", []):
        key = key or ""
        if labels is not None:
            label, detail = labels.label(by, key, label), labels.detail(by, key, detail)
        name = label or key
        found.append(RefusalRow(key, name, detail or "", party or "", reason or "", int(n1 or 0), int(n2 or 0)))
    found.sort(key=lambda r: (-r.total, r.label, r.key, -r.count, r.party, r.reason))
    return found


def read_refusal_rows(rows: Rows, by: str) -> int:
    """How many rows the refusals per resource (category) table has in all (also when only the rows of
    the top places were read)."""
    row = _one(rows, f"refusals_at_{by}")
    return _int(row[8]) if row is not None else 0


def read_persistence(rows: Rows) -> Persistence:
    p = _one(rows, "persistence")
    if p is None:
        return Persistence(0, 0, 0, 0)
    return Persistence(_int(p.n1), _int(p.n2), _int(p.n3), _int(p.n4))


def read_curve(rows: Rows) -> Curve:
    points = sorted(
        (CurvePoint(int(float(row.key)), _int(row.n1), _int(row.n2)) for row in rows.get("curve", [])),
        key=lambda p: p.attempt,
    )
    return Curve(read_persistence(rows).final, points)


def read_medians(rows: Rows) -> Medians:
    def median(name: str) -> tuple[float | None, int]:
        row = _one(rows, name)
        if row is None or row.n1 is None:
            return None, 0
        return float(row.n1), _int(row.n2)

    return Medians(*median("median_acceptance"), *median("median_service"))


def overview(f: ReportFilter) -> Overview:
    """Selected referrals, those with a final outcome, successes; needs (with a selected referral)
    closed, met, and met with a refused referral among the selected ones."""
    return read_overview(figures(f, ("overview", "needs")))


def success_by(f: ReportFilter, by: str) -> list[RateRow]:
    """Referrals, final outcomes and successes per resource, organization, category, district,
    caseworker or month (local)."""
    return read_success(figures(f, (f"success_{by}",)), by, row_names(f.locale))


def workload(f: ReportFilter) -> list[WorkloadRow]:
    """Per caseworker, needs still open, date range not applied: open referrals (active status),
    follow-ups due today and overdue (any status, as the caseworker's queue), stale (active, no
    activity for 14 days)."""
    return read_workload(figures(f, ("workload",)))


def refusals_by(f: ReportFilter, by: str) -> list[CountRow]:
    """Standing refusals by who refused (provider, client, family) or by reason."""
    return read_refusals(figures(f, (f"refusals_{by}",)), by)


def refusals_at(f: ReportFilter, by: str) -> list[RefusalRow]:
    """Which doors close and why: refusals per resource (or category) × party × reason."""
    return read_refusals_at(figures(f, (f"refusals_at_{by}",)), by, row_names(f.locale))


def attempt_curve(f: ReportFilter) -> Curve:
    """Successes by the standing attempt that delivered, and cumulatively (÷ final referrals)."""
    return read_curve(figures(f, ("curve", "persistence")))


def persistence(f: ReportFilter) -> Persistence:
    """Final referrals, successes, standing attempts on final referrals, successes after a refusal."""
    return read_persistence(figures(f, ("persistence",)))


def median_days(f: ReportFilter) -> Medians:
    """Median days from referral to the first accepted (or delivered) attempt, and to delivery."""
    return read_medians(figures(f, ("median_acceptance", "median_service")))


def clients_in_scope(f: ReportFilter, up_to: int) -> int:
    """How many clients the filter's referrals concern, counted up to ``up_to`` (stops there: cheap)."""
    clients = select(Referral.client_id).where(*_referral(f)).distinct().limit(up_to).subquery()
    return db.session.scalar(select(func.count()).select_from(clients), _parameters(f)) or 0


def stale_listings(today: date) -> int:
    """Active services not verified in 12 months (or never): the /manage/stale list."""
    listed = stale_services(today).order_by(None).with_only_columns(Service.id).subquery()
    return db.session.scalar(select(func.count()).select_from(listed)) or 0


# --- the whole dashboard -------------------------------------------------------------------------


@dataclass
class Dashboard:
    overview: Overview
    success: dict[str, list[RateRow]]
    refusals: dict[str, list[CountRow]]
    refusals_at: dict[str, list[RefusalRow]]
    curve: Curve
    persistence: Persistence
    medians: Medians
    workload: list[WorkloadRow]
    stale_listings: int
    refusal_rows: dict[str, int] = field(default_factory=dict)  # rows of each refusals_at table, in all
    clients: int = 0  # clients the selected referrals concern, counted up to min_clients
    min_clients: int = 5
    timings: dict[str, float] = field(default_factory=dict)


def dashboard(
    f: ReportFilter,
    names: Iterable[str] = FIGURES,
    clock: Callable[[], float] | None = None,
    with_stale: bool = True,
    top_places: int | None = None,
) -> Dashboard:
    """Everything the /reports page shows (or only the ``names`` figures): one statement for the
    figures, one count of stale listings; with ``clock`` (time.perf_counter) both are timed. With
    ``top_places`` the refusals per resource (category) are the first rows only: those of the places
    with the ``top_places`` largest totals (ties included); ``refusal_rows`` counts them all."""
    timings: dict[str, float] = {}

    def timed(name: str, fn, *args):
        started = clock() if clock else 0.0
        value = fn(*args)
        if clock:
            timings[name] = clock() - started
        return value

    names = tuple(names)
    rows = timed("figures", figures, f, names, top_places)
    stale = timed("stale_listings", stale_listings, f.today) if with_stale and f.today is not None else 0
    clients = timed("clients_in_scope", clients_in_scope, f, f.min_clients)
    labels = row_names(f.locale)
    return Dashboard(
        overview=read_overview(rows),
        success={by: read_success(rows, by, labels) for by in DIMENSIONS},
        refusals={by: read_refusals(rows, by) for by in REFUSAL_GROUPS},
        refusals_at={by: read_refusals_at(rows, by, labels) for by in REFUSAL_PLACES},
        curve=read_curve(rows),
        persistence=read_persistence(rows),
        medians=read_medians(rows),
        workload=read_workload(rows),
        stale_listings=stale,
        refusal_rows={by: read_refusal_rows(rows, by) for by in REFUSAL_PLACES},
        clients=clients,
        min_clients=f.min_clients,
        timings=timings,
    )
