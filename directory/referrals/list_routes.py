"""The list a client keeps: made and withdrawn by the caseworker, read by anyone holding its link.

``/l/<token>`` is public (no login) and shows only services — see ``directory.referrals.shared_lists``.
"""

from __future__ import annotations

import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from directory.accounts.audit import audit
from directory.catalog.hours_summary import condensed_weekly
from directory.catalog.hours_words import recurring_lines
from directory.catalog.services import local_now, local_today
from directory.extensions import db
from directory.geo.navigation import navigation_links
from directory.redirects import safe_next
from directory.referrals import services as referrals
from directory.referrals import shared_lists
from directory.referrals.access import deny, load_client, require_client_keeper

bp = Blueprint("lists", __name__)


@bp.after_request
def private_headers(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the key: never pass it on to map sites
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def qr_svg(url: str) -> Markup:
    """The link as a QR code, an inline SVG (no image request, nothing from outside)."""
    svg = segno.make(url, error="m").svg_inline(scale=4, border=2, title=None)
    return Markup(svg)  # noqa: S704 (segno writes only path data; the url is not in the markup)


def _load_own(list_id: str) -> shared_lists.SharedList:
    shared = db.session.get(shared_lists.SharedList, list_id)
    if shared is None:
        abort(404)
    if not (current_user.role == "admin" or shared.created_by_id == current_user.id):
        deny("shared_list", shared.id)
    return shared


@bp.app_context_processor
def list_helpers():
    return {"condensed_hours": lambda service: condensed_weekly(service.schedules)}


@bp.post("/clients/<client_id>/lists")
@login_required
def create(client_id: str):
    """Make a link for the chosen services (the form on the printed list)."""
    require_client_keeper()
    client = load_client(client_id, view=False)
    chosen = request.form.getlist("service")
    shared = shared_lists.create_shared_list(chosen, current_user)
    if not shared.service_ids:
        db.session.rollback()
        flash(_("Choose at least one service for the list."), "error")
        return redirect(url_for("referrals.print_list", client_id=client.id))
    audit("share_list", "client", client.id, client.id, {"list": shared.id, "services": shared.service_ids})
    return redirect(url_for("lists.printable", client_id=client.id, list_id=shared.id))


@bp.route("/clients/<client_id>/lists/<list_id>")
@login_required
def printable(client_id: str, list_id: str):
    """The printed list with the link's QR code and short link."""
    require_client_keeper()
    client = load_client(client_id, view=False)
    shared = _load_own(list_id)
    services = referrals.printable_services(client, shared.service_ids)
    audit("print", "client", client.id, client.id, {"services": [s.id for s, _locs in services], "list": shared.id})
    link = url_for("lists.public", token=shared.token, _external=True)
    return render_template(
        "referrals/print.html",
        client=client,
        services=services,
        now=local_now(),
        shared=shared,
        state=shared.state(),
        link=link,
        qr=qr_svg(link),
    )


@bp.post("/lists/<list_id>/revoke")
@login_required
def revoke(list_id: str):
    shared = _load_own(list_id)
    shared_lists.revoke(shared)
    audit("revoke_list", "shared_list", shared.id)
    flash(_("The link no longer works."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("lists.mine")))


@bp.route("/lists")
@login_required
def mine():
    require_client_keeper()
    return render_template("referrals/shared_lists.html", lists=shared_lists.lists_of(current_user))


@bp.route("/l/<token>")
def public(token: str):
    """The list as the client sees it: services only, no login."""
    shared = shared_lists.by_token(token)
    if shared is None:
        abort(404)
    state = shared.state()
    if state != "open":
        return render_template("referrals/public_list_gone.html", state=state), 410
    today = local_today()
    items = []
    for entry in shared_lists.listed_services(shared):
        service = entry.service
        items.append(
            {
                "service": service,
                "hours": condensed_weekly(service.schedules),
                "recurring": recurring_lines(service.schedules, today, service.schedule_exceptions),
                "phones": service.phones or service.organization.phones,
                "locations": [
                    {
                        "location": loc,
                        "maps": navigation_links(loc.latitude, loc.longitude, loc.name, loc.address_1 or "")
                        if loc.latitude is not None and loc.longitude is not None
                        else [],
                    }
                    for loc in entry.locations
                ],
            }
        )
    return render_template(
        "referrals/public_list.html", items=items, caseworker=shared.created_by, shared=shared, today=today
    )
