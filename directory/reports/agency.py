"""An agency's own figures: the referrals its organization received, how many it accepted, how fast it
answered, why referrals were refused, and how many clients got the service; overall, by service and by
month, under the same small-cell rule as the manager reports (``tables.shown_count``, medians of fewer
than 5 hidden, no figure at all for a selection of fewer than ``REPORT_MIN_CLIENTS`` clients).

One organization's referrals are few (hundreds to a few thousand a year): they are read with their
attempts and counted here, in plain functions of plain rows (``count``, ``first_answer``). Nothing that
names a client is read beyond the client's id, used only to count distinct clients.

Definitions (docs/reports.md):
- **received**: referrals made to the organization (``referral.created_at`` in the period);
- **accepted**: those with a standing accepted (or delivered) attempt (``referral.accepted_at``);
- **acceptance rate**: accepted ÷ received;
- **response time**: hours from the referral to its first standing *answer from the provider* (an attempt
  by party "provider" with a decision: accepted, waitlisted, needs documents, refused, delivered), the
  median over the answered referrals;
- **delivered share**: referrals where the client got the service ÷ received;
- **refusal reasons**: standing refusals of its referrals, by who refused and why.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from directory.catalog.models import Organization, Service
from directory.extensions import db
from directory.i18n import local_name
from directory.referrals.models import Attempt, Referral, Refusal
from directory.referrals.rules import DECISIVE, effective_attempts
from directory.reports import tables
from directory.reports.queries import RateRow, ReportFilter
from directory.reports.tables import (
    NO_RATE,
    SMALL,
    Bar,
    Link,
    Table,
    change_cell,
    count_cell,
    rate_cell,
    shown_count,
    shown_ratio,
)


@dataclass(frozen=True)
class AgencyFilter:
    organization_id: str
    start: date | None = None
    end: date | None = None
    service_id: str | None = None  # one of its services
    timezone: str = "Asia/Shanghai"
    locale: str = "zh"
    min_clients: int = 5

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The UTC instants where the local date range starts (included) and ends (excluded)."""
        return ReportFilter(start=self.start, end=self.end, timezone=self.timezone).bounds()


@dataclass(frozen=True)
class Received:
    """One referral the agency received, as its figures need it."""

    service_id: str
    month: str  # local 'YYYY-MM'
    client_id: str
    accepted: bool
    delivered: bool
    hours_to_answer: float | None  # None: not answered by the provider yet


@dataclass
class Counts:
    received: int = 0
    accepted: int = 0
    delivered: int = 0
    hours: list[float] = field(default_factory=list)

    def add(self, referral: Received) -> None:
        self.received += 1
        self.accepted += referral.accepted
        self.delivered += referral.delivered
        if referral.hours_to_answer is not None:
            self.hours.append(referral.hours_to_answer)

    @property
    def median_hours(self) -> float | None:
        return statistics.median(self.hours) if self.hours else None


@dataclass
class AgencyFigures:
    total: Counts
    by_service: dict[str, Counts]
    by_month: dict[str, Counts]
    refusals: list[tuple[str, str, int]]  # (who refused, reason, count), most first
    clients: int
    min_clients: int

    @property
    def withheld(self) -> bool:
        return self.clients < self.min_clients


def first_answer(attempts: Iterable) -> datetime | None:
    """When the provider first answered: its first standing attempt with a decision (accepted, waitlisted,
    needs documents, refused, delivered), corrections applied."""
    for attempt in effective_attempts(attempts):
        if attempt.party == "provider" and attempt.outcome in DECISIVE:
            return attempt.occurred_at
    return None


def count(referrals: Iterable[Received], key: Callable[[Received], str] | None = None) -> dict[str, Counts]:
    """The counts of the referrals, per ``key`` (all under "" without one)."""
    found: dict[str, Counts] = defaultdict(Counts)
    for referral in referrals:
        found[key(referral) if key else ""].add(referral)
    return dict(found)


def _month(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m")


def received(f: AgencyFilter) -> list[Received]:
    """The referrals the organization received in the period (of one service, if chosen)."""
    start, end = f.bounds()
    conditions = [Referral.organization_id == f.organization_id]
    if start is not None:
        conditions.append(Referral.created_at >= start)
    if end is not None:
        conditions.append(Referral.created_at < end)
    if f.service_id:
        conditions.append(Referral.service_id == f.service_id)
    columns = (Referral.id, Referral.service_id, Referral.client_id, Referral.created_at)
    referrals = db.session.execute(select(*columns, Referral.status, Referral.accepted_at).where(*conditions)).all()
    attempts: dict[str, list] = defaultdict(list)
    chosen = select(Referral.id).where(*conditions)
    attempt_columns = (Attempt.id, Attempt.referral_id, Attempt.number, Attempt.occurred_at, Attempt.outcome)
    for attempt in db.session.execute(
        select(*attempt_columns, Attempt.party, Attempt.corrects_id).where(Attempt.referral_id.in_(chosen))
    ):
        attempts[attempt.referral_id].append(attempt)
    zone = ZoneInfo(f.timezone)
    found = []
    for row in referrals:
        answered = first_answer(attempts.get(row.id, []))
        hours = (answered - row.created_at).total_seconds() / 3600 if answered is not None else None
        found.append(
            Received(
                service_id=row.service_id,
                month=_month(row.created_at, zone),
                client_id=row.client_id,
                accepted=row.accepted_at is not None,
                delivered=row.status == "delivered",
                hours_to_answer=max(0.0, hours) if hours is not None else None,
            )
        )
    return found


def refusal_counts(f: AgencyFilter) -> list[tuple[str, str, int]]:
    """Standing refusals of the organization's referrals in the period, by who refused and why."""
    start, end = f.bounds()
    conditions = [Refusal.organization_id == f.organization_id]
    if start is not None:
        conditions.append(Refusal.created_at >= start)
    if end is not None:
        conditions.append(Refusal.created_at < end)
    if f.service_id:
        conditions.append(Refusal.service_id == f.service_id)
    rows = db.session.execute(
        select(Refusal.refused_by, Refusal.refusal_reason, func.count())
        .where(*conditions)
        .group_by(Refusal.refused_by, Refusal.refusal_reason)
    )
    return sorted(((by or "", reason or "", n) for by, reason, n in rows), key=lambda r: (-r[2], r[0], r[1]))


def figures(f: AgencyFilter) -> AgencyFigures:
    found = received(f)
    return AgencyFigures(
        total=count(found).get("", Counts()),
        by_service=count(found, lambda r: r.service_id),
        by_month=count(found, lambda r: r.month),
        refusals=refusal_counts(f),
        clients=len({r.client_id for r in found}),
        min_clients=f.min_clients,
    )


def service_names(organization_id: str, locale: str) -> dict[str, str]:
    """The organization's services, named in the UI's language."""
    rows = db.session.execute(
        select(Service.id, Service.name, Service.alternate_name).where(Service.organization_id == organization_id)
    )
    return {i: local_name(name, alternate, locale) for i, name, alternate in rows}


def organization_name(organization_id: str, locale: str) -> str | None:
    org = db.session.get(Organization, organization_id)
    return local_name(org.name, org.alternate_name, locale) if org is not None else None


# --- tables (the small-cell rule of the manager reports) ---------------------------------------------


def _hours_cell(counts: Counts) -> str:
    median = counts.median_hours
    return NO_RATE if median is None or len(counts.hours) < SMALL else f"{median:.1f}"


def _hours_value(counts: Counts) -> float | None:
    return None if _hours_cell(counts) == NO_RATE else counts.median_hours


def _key_rows(c: Counts) -> list[tuple[str, str, str, float | None]]:
    """(label, kind, cell, value as shown) of each key figure."""

    def rate(numerator: int, denominator: int) -> float | None:
        ratio = shown_ratio(numerator, denominator)
        return None if ratio is None else 100 * ratio

    def shown(n: int) -> float | None:
        value = shown_count(n)
        return None if value is None else float(value)

    return [
        (str(_l("Referrals received")), "count", count_cell(c.received), shown(c.received)),
        (str(_l("Accepted")), "count", count_cell(c.accepted), shown(c.accepted)),
        (str(_l("Acceptance rate")), "rate", rate_cell(c.accepted, c.received), rate(c.accepted, c.received)),
        (str(_l("Median hours to the first answer")), "days", _hours_cell(c), _hours_value(c)),
        (str(_l("Clients who got the service")), "count", count_cell(c.delivered), shown(c.delivered)),
        (str(_l("Delivered share")), "rate", rate_cell(c.delivered, c.received), rate(c.delivered, c.received)),
    ]


def key_table(
    now: AgencyFigures, before: AgencyFigures | None = None, period: tuple[date, date] | None = None
) -> Table:
    rows = []
    hidden_before = before is not None and before.withheld
    for i, (label, kind, cell, value) in enumerate(_key_rows(now.total)):
        row = [label, cell]
        if before is not None:
            _, _, old_cell, old = (None, None, NO_RATE, None) if hidden_before else _key_rows(before.total)[i]
            row += [old_cell, change_cell(kind, value, old)]
        rows.append(row)
    columns = [str(_l("Figure")), str(_l("Value"))]
    note = ""
    if before is not None:
        columns = [str(_l("Figure")), str(_l("This period")), str(_l("Previous period")), str(_l("Change"))]
        if period is not None:
            note = str(
                _l("Previous period: %(start)s to %(end)s.", start=period[0].isoformat(), end=period[1].isoformat())
            )
    anchors = ("agency_month", "agency_service", "agency_refusals", "agency_service", "agency_service", "agency_month")
    links = [Link({}, anchor) for anchor in anchors]
    return Table(
        name="agency_key",
        title=str(_l("Key figures")),
        columns=columns,
        rows=rows,
        numeric=set(range(1, len(columns))),
        note=note,
        links=links,
    )


def _breakdown_columns(first: str) -> list[str]:
    return [
        first,
        str(_l("Referrals received")),
        str(_l("Acceptance rate")),
        str(_l("Median hours to the first answer")),
        str(_l("Delivered share")),
    ]


def _breakdown_row(label: str, c: Counts) -> list[str]:
    return [
        label,
        count_cell(c.received),
        rate_cell(c.accepted, c.received),
        _hours_cell(c),
        rate_cell(c.delivered, c.received),
    ]


def service_table(figures_: AgencyFigures, names: dict[str, str]) -> Table:
    """Per service, the most referrals first; each row leads to that service's months."""
    ordered = sorted(figures_.by_service.items(), key=lambda item: (-item[1].received, names.get(item[0], item[0])))
    rows, bars, links = [], [], []
    for service_id, c in ordered:
        label = names.get(service_id, service_id)
        rows.append(_breakdown_row(label, c))
        bars.append(Bar(label, shown_ratio(c.accepted, c.received), rate_cell(c.accepted, c.received)))
        links.append(Link({"service": service_id}, "agency_month"))
    return Table(
        name="agency_service",
        title=str(_l("By service")),
        columns=_breakdown_columns(str(_l("Service"))),
        rows=rows,
        numeric={1, 2, 3, 4},
        chart=bars,
        chart_percent=True,
        chart_title=str(_l("Acceptance rate by service")),
        links=links,
    )


def month_table(figures_: AgencyFigures) -> Table:
    """Per month, in order, the months between included; each row leads to that month's services."""
    months = tables.fill_months([RateRow(key, key, 0, 0, 0) for key in figures_.by_month])
    rows, bars, links = [], [], []
    for month in months:
        c = figures_.by_month.get(month.key, Counts())
        rows.append(_breakdown_row(month.key, c))
        bars.append(Bar(month.key, shown_ratio(c.accepted, c.received), rate_cell(c.accepted, c.received)))
        links.append(tables.drill_link("month", month.key))
    links = [replace(link, anchor="agency_service") if link else None for link in links]
    return Table(
        name="agency_month",
        title=str(_l("By month")),
        columns=_breakdown_columns(str(_l("Month"))),
        rows=rows,
        numeric={1, 2, 3, 4},
        chart=bars,
        chart_kind="line",
        chart_percent=True,
        chart_title=str(_l("Acceptance rate by month")),
        links=links,
    )


def refusal_table(figures_: AgencyFigures) -> Table:
    total = sum(n for _, _, n in figures_.refusals)
    rows, bars = [], []
    for refused_by, reason, n in figures_.refusals:
        who, why = tables.party_label(refused_by), tables.reason_label(reason)
        rows.append([why, who, count_cell(n), rate_cell(n, total)])
        bars.append(Bar(f"{why} ({who})", None if shown_count(n) is None else float(shown_count(n)), count_cell(n)))
    return Table(
        name="agency_refusals",
        title=str(_l("Refusal reasons")),
        columns=[str(_l("Reason")), str(_l("Who refused")), str(_l("Refusals")), str(_l("Share of refusals"))],
        rows=rows,
        numeric={2, 3},
        chart=bars,
    )


@dataclass
class AgencyReport:
    tables: dict[str, Table]
    withheld: bool
    organization: str | None


def report(f: AgencyFilter, compare: bool = True) -> AgencyReport:
    """Every table of the agency's page (or its monthly summary): with ``compare`` and a date range, the
    key figures beside the previous period's."""
    now = figures(f)
    before, period = None, tables.previous_range(f.start, f.end) if compare else None
    if period is not None:
        before = figures(replace(f, start=period[0], end=period[1]))
    built = {
        "agency_key": key_table(now, before, period),
        "agency_service": service_table(now, service_names(f.organization_id, f.locale)),
        "agency_month": month_table(now),
        "agency_refusals": refusal_table(now),
    }
    if now.withheld:
        note = tables.withheld_note(_Min(now.min_clients))
        for table in built.values():
            table.rows, table.chart, table.links, table.note = [], [], [], note
    return AgencyReport(built, now.withheld, organization_name(f.organization_id, f.locale))


@dataclass(frozen=True)
class _Min:
    """What ``tables.withheld_note`` reads of a dashboard."""

    min_clients: int
