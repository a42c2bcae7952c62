"""Manager reports: GET /reports (the dashboard with its filter) and GET /reports/<table>.csv.

Managers and admins only; anyone else signed in gets 403 and an audit row. The pages hold aggregates
and caseworker names, never a client: nothing here loads a client record.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user, login_required

from directory.accounts.audit import audit_denied
from directory.accounts.permissions import can_review_stale_listings, can_view_reports
from directory.clock import local_today
from directory.i18n import select_locale
from directory.models_base import utcnow
from directory.reports import queries, tables
from directory.reports.charts import chart_for
from directory.reports.csv import write_csv
from directory.reports.forms import ReportFilterForm

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
    built = tables.all_tables(data, report_filter.subcategories, limit=PAGE_ROWS)
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
    )


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
