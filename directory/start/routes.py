"""``/start``: where each role lands after login (see ``directory.start.queries``)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from directory.accounts.audit import audit
from directory.catalog.services import local_today
from directory.i18n import select_locale
from directory.models_base import utcnow
from directory.referrals import services as referrals
from directory.start import queries

bp = Blueprint("start", __name__)
ROLE_LABELS = {
    "caseworker": _l("Caseworkers"),
    "agency_staff": _l("Agency staff"),
    "manager": _l("Managers"),
    "admin": _l("Administrators"),
}


@bp.app_context_processor
def start_helpers():
    return {"role_label": lambda role: ROLE_LABELS.get(role, role)}


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"  # names of clients, per user
    return response


@bp.route("/start")
@login_required
def page():
    user = current_user._get_current_object()
    today, now = local_today(), utcnow()
    context: dict = {"today": today, "now": now}
    if user.role == "caseworker":
        day = queries.caseworker_day(user, today, now)
        shown = {r.client_id for r in (*day.overdue, *day.due_today)}
        shown |= {a.referral.client_id for a in day.answers} | {n.client_id for n in day.idle_needs}
        for client_id in sorted(shown):
            audit("view", "client", client_id, client_id, {"list": "start"})
        queries.mark_seen(user, now)
        context["day"] = day
    elif user.role == "agency_staff" and user.organization_id:
        day = queries.agency_day(user, today)
        for referral in day.unanswered:
            audit("view", "referral", referral.id, referral.client_id, {"list": "start"})
        context["day"] = day
        context["visible"] = {r.id: referrals.visible_fields(r, today) for r in day.unanswered}
    elif user.role == "manager":
        context["figures"] = queries.key_figures(today, now, select_locale())
    elif user.role == "admin":
        context["admin"] = queries.admin_day(today, now)
    return render_template("start/page.html", **context)
