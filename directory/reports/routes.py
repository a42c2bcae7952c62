"""Manager reports: GET /reports (the dashboard with its filter) and GET /reports/<table>.csv.

Managers and admins only; anyone else signed in gets 403 and an audit row. The pages hold aggregates
and caseworker names, never a client: nothing here loads a client record.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from directory.accounts.audit import audit_denied
from directory.accounts.permissions import can_review_stale_listings, can_view_agency_reports, can_view_reports
from directory.catalog.services import stale_services
from directory.clock import local_today
from directory.extensions import db
from directory.i18n import select_locale
from directory.models_base import utcnow
from directory.pagination import page_number
from directory.reports import agency, queries, summary, tables
from directory.reports.charts import chart_for
from directory.reports.csv import write_csv
from directory.reports.forms import AgencyFilterForm, ReportFilterForm

bp = Blueprint("reports", __name__)
PAGE_ROWS = 25  # longer tables show their first rows; the CSV has them all


@bp.after_request
def private(response):
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.before_request
@login_required
def require_report_viewer():
    if not can_view_reports(current_user):
        audit_denied("report", request.endpoint)
        abort(403)


def _filter() -> tuple[ReportFilterForm, queries.ReportFilter | None]:
    """The filter from the query string; None when it does not validate."""
    locale = select_locale()
    form = ReportFilterForm(request.args)
    form.fill_choices(locale)
    if request.args and not form.validate():
        return form, None
    caseworker = form.caseworker.data
    return form, queries.ReportFilter(
        start=form.start.data,
        end=form.end.data,
        category=form.category.data or None,
        district=form.district.data or None,
        organization_id=form.organization.data or None,
        caseworker_id=int(caseworker) if caseworker else None,
        subcategories=bool(form.subcategories.data),
        timezone=current_app.config["TIMEZONE"],
        today=local_today(),
        now=utcnow(),
        locale=locale,
        min_clients=current_app.config["REPORT_MIN_CLIENTS"],
    )


@bp.route("/reports")
def dashboard():
    form, report_filter = _filter()
    if report_filter is None:
        return render_template("reports/dashboard.html", form=form, tables=None), 400
    # The refusal tables of the places with the most refusals: enough for their first rows and chart.
    data = queries.dashboard(report_filter, top_places=max(PAGE_ROWS, tables.CHART_BARS))
    built = tables.all_tables(data, report_filter.subcategories, PAGE_ROWS, tables.previous(report_filter))
    return render_template(
        "reports/dashboard.html",
        form=form,
        tables=built,
        charts={name: chart_for(table) for name, table in built.items()},
        stale_listings=data.stale_listings,
        withheld=tables.withheld(data),
        withheld_note=tables.withheld_note(data),
        can_open_stale=can_review_stale_listings(current_user),
        query={k: v for k, v in request.args.items() if v},
        periods=tables.quick_periods(report_filter.today or local_today()),
        comparing=tables.previous_filter(report_filter) is not None,
    )


def _month() -> str:
    """The ?month= of a summary (YYYY-MM; last month when absent); 400 when it is no month."""
    month = request.args.get("month") or summary.last_month(local_today())
    try:
        summary.parse_month(month)
    except summary.MonthError:
        abort(400)
    return month


@bp.route("/reports/monthly")
def monthly():
    """The network's monthly summary, printable (?month=YYYY-MM, last month by default)."""
    return summary.render_summary(summary.manager_summary(_month(), select_locale()))


@bp.route("/reports/stale-listings")
def stale_listings():
    """The listings not verified in 12 months, read-only: what the report's count is made of (admins
    review them at /manage/stale)."""
    page = db.paginate(stale_services(local_today()), page=page_number(), per_page=50, error_out=False)
    return render_template("reports/stale.html", page=page, can_open_stale=can_review_stale_listings(current_user))


@bp.route("/reports/<name>.csv")
def export(name: str):
    if name not in tables.TABLES:
        abort(404)
    form, report_filter = _filter()
    if report_filter is None:
        abort(400)
    table = tables.one_table(name, report_filter)
    filename = f"lianjie-{name}-{local_today().isoformat()}.csv"
    return Response(
        write_csv(table.columns, table.rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- an agency's own figures -------------------------------------------------------------------------
# A blueprint of its own: agency staff may open it (the manager reports' blueprint lets managers only).

agency_bp = Blueprint("agency_reports", __name__)
agency_bp.after_request(private)


@agency_bp.route("/reports/agency")
@login_required
def agency_dashboard():
    """Agency staff: their own organization's figures. Managers and admins: any organization's
    (``?organization=``). Anyone else, or staff asking for another organization: 403 and an audit row."""
    organization_id = request.args.get("organization") or current_user.organization_id
    if not organization_id and can_view_reports(current_user):
        return redirect(url_for("reports.dashboard", _anchor="success_organization"))
    if not can_view_agency_reports(current_user, organization_id):
        audit_denied("agency_report", organization_id)
        abort(403)
    locale = select_locale()
    name = agency.organization_name(organization_id, locale)
    if name is None:
        abort(404)
    form = AgencyFilterForm(request.args)
    form.fill_choices(agency.service_names(organization_id, locale))
    query = {k: v for k, v in request.args.items() if v}
    page = {"form": form, "organization": name, "query": query, "organization_id": organization_id}
    if request.args and not form.validate():
        return render_template("reports/agency.html", report=None, **page), 400
    f = agency.AgencyFilter(
        organization_id=organization_id,
        start=form.start.data,
        end=form.end.data,
        service_id=form.service.data or None,
        timezone=current_app.config["TIMEZONE"],
        locale=locale,
        min_clients=current_app.config["REPORT_MIN_CLIENTS"],
    )
    built = agency.report(f)
    return render_template(
        "reports/agency.html",
        report=built,
        charts={name: chart_for(table) for name, table in built.tables.items()},
        periods=tables.quick_periods(local_today()),
        comparing=f.start is not None and f.end is not None,
        **page,
    )


@agency_bp.route("/reports/agency/monthly")
@login_required
def agency_monthly():
    """An agency's monthly summary, printable: its own (agency staff), any organization's (managers)."""
    organization_id = request.args.get("organization") or current_user.organization_id
    if not can_view_agency_reports(current_user, organization_id):
        audit_denied("agency_report", organization_id)
        abort(403)
    if agency.organization_name(organization_id, "zh") is None:
        abort(404)
    return summary.render_summary(summary.agency_summary(organization_id, _month(), select_locale()))
