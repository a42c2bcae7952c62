"""Public catalog pages: home, browse by category and district, service and organization pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, make_response, render_template, request
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from directory.accounts.permissions import can_edit_listing
from directory.catalog import cache
from directory.catalog import services as catalog
from directory.catalog.hours import weekly_table
from directory.catalog.hours_words import recurring_lines
from directory.catalog.models import Location, Organization, Service, ServiceAtLocation
from directory.eligibility.forms import ClientFactsForm, facts_from_query
from directory.eligibility.rules import evaluate
from directory.extensions import db
from directory.geo.districts import DISTRICTS
from directory.redirects import moved

bp = Blueprint("catalog", __name__)


MAX_PAGE = 1_000_000


def _page() -> int:
    """The ``page`` asked for: 1 when it is not a whole number, at most MAX_PAGE (past the end: the last)."""
    raw = request.args.get("page", "1").strip()
    if not raw.isascii() or not raw.isdigit():
        return 1
    return max(1, min(int(raw) if len(raw) <= 7 else MAX_PAGE, MAX_PAGE))


def _paginate(query):
    per_page = current_app.config["PER_PAGE"]
    page = db.paginate(query, page=_page(), per_page=per_page, error_out=False)
    if not page.items and page.page > 1 and page.pages:  # past the end: show the last page
        page = db.paginate(query, page=page.pages, per_page=per_page, error_out=False)
    return page


@bp.route("/")
def home():
    return render_template(
        "catalog/home.html",
        terms=cache.taxonomy().top,
        districts=DISTRICTS,
        district_counts=cache.count_by_district(),
    )


@bp.route("/categories/<code>")
def category(code: str):
    term = cache.taxonomy().by_code.get(code)
    if term is None:
        abort(404)
    district = request.args.get("district") or None
    if district is not None and district not in DISTRICTS:
        district = None
    page = _paginate(catalog.services_query(term=term, district=district))
    return render_template(
        "catalog/list.html",
        term=term,
        district=district,
        page=page,
        districts=DISTRICTS,
        now=catalog.local_now(),
    )


@bp.route("/districts/<name>")
def district(name: str):
    if name not in DISTRICTS:
        abort(404)
    page = _paginate(catalog.services_query(district=name))
    return render_template(
        "catalog/list.html",
        term=None,
        district=name,
        page=page,
        districts=DISTRICTS,
        terms=cache.taxonomy().top,
        now=catalog.local_now(),
    )


@bp.route("/services/<service_id>")
def service(service_id: str):
    if request.args.get("client"):  # the page for a saved client is one of the client's pages now
        return moved(
            "referrals.client_service", drop=("client",), client_id=request.args["client"], service_id=service_id
        )
    facts_form, facts = facts_from_query(request.args)
    return service_response(service_id, facts_form, facts)


def service_response(service_id: str, facts_form: ClientFactsForm, facts: dict | None, client=None) -> Response:
    """The service page, with the eligibility verdict for ``facts``; for a saved ``client`` the referrals
    blueprint passes their facts and the verdict is headed with their name."""
    item = db.session.get(
        Service,
        service_id,
        options=[
            selectinload(Service.schedules),
            selectinload(Service.schedule_exceptions),
            selectinload(Service.service_at_locations)
            .selectinload(ServiceAtLocation.location)
            .selectinload(Location.phones),
        ],
    )
    if item is None:
        abort(404)
    may_edit = can_edit_listing(current_user, item.organization_id)
    if not item.is_active and not may_edit:
        abort(404)
    today = catalog.local_today()
    upcoming = [h for h in item.schedule_exceptions if h.ends_on >= today]
    ids = [item.id]
    return make_response(
        render_template(
            "catalog/service.html",
            service=item,
            facts_form=facts_form,
            client=client,
            verdict=evaluate(item.eligibility_rules or [], facts, today) if facts else None,
            hours=weekly_table(item.schedules),
            recurring=recurring_lines(item.schedules, today, item.schedule_exceptions),
            holidays=upcoming,
            open_now=catalog.is_open_now(item),
            stale=catalog.is_stale(item),
            may_edit=may_edit,
            history=catalog.change_history(ids, limit=50) if current_user.is_authenticated else [],
        ),
        400 if facts_form.errors else 200,
    )


def _organization_services(org_id: str):
    """The organization's services with what their cards show, in a fixed number of statements."""
    return catalog.services_query(include_inactive=True).where(Service.organization_id == org_id)


@bp.route("/organizations/<org_id>")
def organization(org_id: str):
    org = db.session.get(Organization, org_id)
    if org is None:
        abort(404)
    may_edit = can_edit_listing(current_user, org.id)
    services = [s for s in db.session.scalars(_organization_services(org.id)) if s.is_active or may_edit]
    return render_template(
        "catalog/organization.html",
        org=org,
        services=services,
        may_edit=may_edit,
        now=catalog.local_now(),
        history=catalog.change_history([org.id] + [loc.id for loc in org.locations], limit=50) if may_edit else [],
    )
