"""Monthly summaries: one printable page per manager (the network's month) and per agency (its own
month), each beside the month before, under the small-cell rule of the reports they come from.

Shown at ``/reports/monthly`` and ``/reports/agency/monthly``, and rendered to files for a month by
``flask monthly-summaries --month 2026-11 --out DIR`` (``write_summaries``): self-contained HTML pages
(the print style sheet inside) to print, save as PDF or send. Sending them is not done here: delivery
through the notification channels is a later issue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import click
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from directory.accounts.models import User
from directory.clock import local_today
from directory.extensions import db
from directory.files import write_private_text
from directory.models_base import utcnow
from directory.notifications.services import notify
from directory.reports import agency, queries, tables
from directory.reports.charts import chart_for

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MANAGER_TABLES = ("overview", "success_organization", "success_category", "curve", "refusals_reason")
STYLE_SHEETS = ("print.css", "monthly.css")


class MonthError(ValueError):
    """A month that is not written YYYY-MM (or is not a month)."""


def parse_month(text: str) -> tuple[date, date]:
    """The first and last day of a month written 'YYYY-MM' (MonthError otherwise)."""
    found = MONTH.match((text or "").strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or not 1900 <= int(found.group(1)) <= 2999:
        raise MonthError(f"{text!r} is not a month: write it YYYY-MM, e.g. 2026-11")
    return tables.month_bounds(found.group(0))


def last_month(today: date) -> str:
    start = tables.quick_periods(today)[0][1]
    return f"{start.year:04d}-{start.month:02d}"


@dataclass
class Summary:
    """What a summary page shows: its title, the month, its tables (and charts)."""

    title: str
    month: str
    tables: list[tables.Table]
    withheld: bool
    locale: str = "zh"


def manager_summary(month: str, locale: str) -> Summary:
    """The network's month: the key figures beside the month before, success by organization and
    category (their first rows), persistence, refusal reasons."""
    start, end = parse_month(month)
    config = current_app.config
    f = queries.ReportFilter(
        start=start,
        end=end,
        timezone=config["TIMEZONE"],
        locale=locale,
        min_clients=config["REPORT_MIN_CLIENTS"],
    )
    needed = tuple(dict.fromkeys(n for name in MANAGER_TABLES for n in tables.TABLES[name][0]))
    data = queries.dashboard(f, needed, with_stale=False)
    built = tables.some_tables(data, MANAGER_TABLES, limit=10, before=tables.previous(f))
    shown = [built[name] for name in MANAGER_TABLES]
    return Summary(str(_title("manager")), month, shown, tables.withheld(data), locale)


def agency_summary(organization_id: str, month: str, locale: str) -> Summary:
    """An agency's month: its key figures beside the month before, by service, refusal reasons."""
    start, end = parse_month(month)
    config = current_app.config
    f = agency.AgencyFilter(
        organization_id=organization_id,
        start=start,
        end=end,
        timezone=config["TIMEZONE"],
        locale=locale,
        min_clients=config["REPORT_MIN_CLIENTS"],
    )
    report = agency.report(f)
    shown = [report.tables[name] for name in ("agency_key", "agency_service", "agency_refusals")]
    return Summary(str(_title("agency", report.organization or "")), month, shown, report.withheld, locale)


def _title(kind: str, organization: str = ""):
    if kind == "manager":
        return _l("Monthly summary: referrals across the network")
    return _l("Monthly summary: %(organization)s", organization=organization)


def render_summary(summary: Summary, embed_css: bool = False) -> str:
    """The printable page; ``embed_css``: the style sheets inside it (a file read away from the site)."""
    css = None
    if embed_css:
        folder = Path(current_app.static_folder) / "css"
        css = "\n".join((folder / name).read_text(encoding="utf-8") for name in STYLE_SHEETS)
    charts = {table.name: chart_for(table) for table in summary.tables}
    return render_template(
        "reports/monthly.html",
        summary=summary,
        charts=charts,
        embedded_css=css,
        generated=utcnow(),
    )


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "user"


def _write(path: Path, page: str) -> Path:
    """Write the page whole: a private temporary file beside it, then renamed over it."""
    temporary = path.with_name(f".{path.name}.tmp")
    write_private_text(temporary, page)
    temporary.replace(path)
    return path


@dataclass
class Written:
    managers: list[Path]
    agencies: list[Path]


def write_summaries(month: str, out: Path) -> Written:
    """Render the month's summary for every active manager (in their language) and every organization
    with active agency staff (in the default language) into ``out``: manager-<username>.html and
    agency-<organization id>.html. Each file is written whole (a temporary file, then renamed)."""
    parse_month(month)
    out.mkdir(parents=True, exist_ok=True)
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    written = Written([], [])
    managers = db.session.scalars(
        select(User).where(User.role == "manager", User.active.is_(True)).order_by(User.username)
    ).all()
    for user in managers:
        locale = user.locale or default
        with current_app.test_request_context(), force_locale(locale):
            page = render_summary(manager_summary(month, locale), embed_css=True)
        written.managers.append(_write(out / f"manager-{_safe(user.username)}.html", page))
    organizations = db.session.scalars(
        select(User.organization_id)
        .where(User.role == "agency_staff", User.active.is_(True), User.organization_id.is_not(None))
        .distinct()
        .order_by(User.organization_id)
    ).all()
    for organization_id in organizations:
        with current_app.test_request_context(), force_locale(default):
            page = render_summary(agency_summary(organization_id, month, default), embed_css=True)
        written.agencies.append(_write(out / f"agency-{_safe(organization_id)}.html", page))
    return written


def notify_summaries(month: str) -> int:
    """Tell every active manager, and the active staff of every organization, that the month's summary
    is ready (in the app, and by e-mail and webhook where configured: ``directory.notifications``), once
    per month and person. Flushes; the caller commits. Returns how many were written."""
    parse_month(month)
    users = db.session.scalars(
        select(User).where(User.role.in_(("manager", "agency_staff")), User.active.is_(True)).order_by(User.id)
    ).all()
    managers = [u for u in users if u.role == "manager"]
    staff = [u for u in users if u.role == "agency_staff" and u.organization_id]
    written = notify(
        managers,
        "monthly_summary",
        lambda: str(_l("The monthly summary for %(month)s is ready", month=month)),
        lambda: str(
            _l("Referrals, success, refusals and persistence in %(month)s, beside the month before.", month=month)
        ),
        link=f"/reports/monthly?month={month}",
        dedupe=f"monthly-summary:{month}",
    )
    written += notify(
        staff,
        "monthly_summary",
        lambda: str(_l("Your organization's summary for %(month)s is ready", month=month)),
        lambda: str(
            _l("Referrals received, answered and delivered in %(month)s, beside the month before.", month=month)
        ),
        link=f"/reports/agency/monthly?month={month}",
        dedupe=f"monthly-summary:{month}",
    )
    return len(written)


@click.command("monthly-summaries")
@click.option("--month", default=None, help="The month, YYYY-MM (default: last month, in TIMEZONE).")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write the pages into (created if missing).",
)
@click.option(
    "--notify",
    "send",
    is_flag=True,
    help="Also tell each manager and agency staff member that their summary is ready (in the app, and by "
    "e-mail or webhook where configured), once per month.",
)
def monthly_summaries_command(month: str | None, out: Path, send: bool) -> None:
    """Render the monthly summaries, one printable HTML page per manager (manager-<username>.html, in the
    manager's language) and per organization with agency staff (agency-<organization id>.html), each
    beside the month before; with --notify, tell their readers through the notifications (docs/reports.md)."""
    month = month or last_month(local_today())
    try:
        written = write_summaries(month, out)
    except MonthError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    click.echo(
        f"Wrote {len(written.managers)} manager and {len(written.agencies)} agency summaries for {month} to {out}."
    )
    if send:
        count = notify_summaries(month)
        db.session.commit()
        click.echo(f"Notified {count} reader(s) that the {month} summaries are ready.")
