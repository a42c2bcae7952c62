"""Agency-maintained listings: agency staff edit their own organization's; admins edit all."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from directory.accounts.permissions import can_edit_listing, can_review_stale_listings
from directory.catalog import contacts
from directory.catalog import services as catalog
from directory.catalog.cache import category_choices
from directory.catalog.forms import (
    WEEKDAY_LABELS,
    EligibilityForm,
    HolidayForm,
    HoursForm,
    LocationForm,
    ServiceForm,
)
from directory.catalog.hours import weekly_table
from directory.catalog.hours_words import recurring_lines
from directory.catalog.models import (
    WEEKDAYS,
    Location,
    Organization,
    Schedule,
    ScheduleException,
    Service,
)
from directory.eligibility import editor
from directory.eligibility.forms import ClientFactsForm
from directory.extensions import db
from directory.i18n import select_locale
from directory.pagination import page_number
from directory.versioning import save_versioned

bp = Blueprint("manage", __name__, url_prefix="/manage")
log = logging.getLogger(__name__)


def _editable(model, object_id: str):
    """Load a listing object for editing: 404 if missing, 403 (logged) if not the user's."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    org_id = obj.id if isinstance(obj, Organization) else obj.organization_id
    if not can_edit_listing(current_user, org_id):
        log.warning("refused listing edit: user=%s %s=%s", current_user.id, model.__name__, object_id)
        abort(403)
    return obj


def _conflict(form) -> None:
    """Tell the editor someone else saved the listing since the form was shown (nothing was saved)."""
    form.form_errors.append(
        _(
            "Someone else changed this listing while you were editing. Your changes were not saved; "
            "the form shows what you typed — compare with the current listing and save again."
        )
    )


def _service_choices(form: ServiceForm, org: Organization, service: Service | None = None) -> None:
    """Categories; the organization's active locations, and the active ones the service is offered at
    already (which may be of no organization or of another): they stay choosable, so saving keeps them."""
    form.taxonomy_codes.choices = category_choices(select_locale())
    locations = [loc for loc in org.locations if loc.active]
    if service is not None:
        locations += [loc for loc in service.locations if loc.active and loc not in locations]
    form.location_ids.choices = [(loc.id, f"{loc.name}（{loc.district}）") for loc in locations]


@bp.route("/")
@login_required
def dashboard():
    org_id = request.args.get("organization") or current_user.organization_id
    if not org_id:
        if current_user.role != "admin":
            abort(403)
        orgs = db.session.scalars(select(Organization).order_by(Organization.name)).all()
        return render_template(
            "manage/choose_org.html", orgs=orgs, lone_locations=catalog.locations_without_organization()
        )
    org = _editable(Organization, org_id)
    return render_template(
        "manage/dashboard.html", org=org, stale_ids={s.id for s in org.services if catalog.is_stale(s)}
    )


@bp.route("/organizations/<org_id>/services/new", methods=["GET", "POST"])
@login_required
def new_service(org_id: str):
    org = _editable(Organization, org_id)
    form = ServiceForm()
    _service_choices(form, org)
    if request.method == "GET":
        form.accepting_referrals.data = True
        form.languages.data = ["zh"]
    if form.validate_on_submit():
        values = form.values()
        service = catalog.create_service(org, values, current_user)
        contacts.set_phones(service, values["phones"], current_user)
        flash(_("The service was created."), "success")
        return redirect(url_for("catalog.service", service_id=service.id))
    return render_template("manage/service_form.html", form=form, org=org, service=None), (400 if form.errors else 200)


@bp.route("/services/<service_id>/edit", methods=["GET", "POST"])
@login_required
def edit_service(service_id: str):
    service = _editable(Service, service_id)
    org = service.organization
    form = ServiceForm(obj=service) if request.method == "GET" else ServiceForm()
    form.phones.keep = contacts.stored_lines(service)
    _service_choices(form, org, service)
    if request.method == "GET":
        form.version.data = service.version
        form.taxonomy_codes.data = [t.code for t in service.taxonomy_terms]
        form.location_ids.data = [sal.location_id for sal in service.service_at_locations]
        form.languages.data = [lang.code for lang in service.languages]
        form.required_documents.data = "\n".join(d.document for d in service.required_documents)
        form.service_areas.data = "\n".join(a.area.name for a in service.service_areas)
    elif form.validate_on_submit():
        values = form.values()
        saved, _changes = save_versioned(
            service,
            form.version.data,
            lambda: (
                catalog.update_service(service, values, current_user),
                contacts.set_phones(service, values["phones"], current_user),
            ),
        )
        if saved:
            flash(_("Your changes were saved."), "success")
            return redirect(url_for("catalog.service", service_id=service.id))
        _conflict(form)
    failed = request.method == "POST"
    return render_template("manage/service_form.html", form=form, org=org, service=service), (
        409 if failed and form.form_errors else 400 if failed else 200
    )


@bp.post("/services/<service_id>/deactivate")
@login_required
def deactivate_service(service_id: str):
    service = _editable(Service, service_id)
    catalog.deactivate_service(service, current_user)
    flash(_("The service was deactivated and no longer shows in the directory."), "success")
    return redirect(url_for("manage.dashboard", organization=service.organization_id))


@bp.post("/services/<service_id>/verify")
@login_required
def verify_service(service_id: str):
    service = _editable(Service, service_id)
    catalog.verify_service(service, current_user)
    flash(_("Marked as still accurate today."), "success")
    return redirect(url_for("catalog.service", service_id=service.id))


def _sample_facts(formdata) -> tuple[ClientFactsForm, dict | None]:
    """The editor's sample client (f_* fields in the same POST; no CSRF of its own)."""
    form = ClientFactsForm(formdata=formdata, meta={"csrf": False})
    if not form.given() or not form.validate():
        return form, None
    return form, form.to_facts() or None


@bp.route("/services/<service_id>/eligibility", methods=["GET", "POST"])
@login_required
def edit_eligibility(service_id: str):
    """Structured rules, row by row, with the free text; Preview (and the live preview) saves nothing."""
    service = _editable(Service, service_id)
    if request.method == "GET":
        form = EligibilityForm(formdata=None, eligibility_description=service.eligibility_description)
        form.version.data = service.version
        rows = editor.rows_from_rules(service.eligibility_rules)
        return _eligibility_page(service, form, rows, ClientFactsForm(formdata=None, meta={"csrf": False}), None, 200)
    form = EligibilityForm()
    rows = editor.rows_from_form(request.form)
    facts_form, facts = _sample_facts(request.form)
    action = request.form.get("action", "save")
    if "remove" in request.form:  # the no-JavaScript "remove row" button: its value is the row's place
        remove = request.form["remove"].strip()
        if not (remove.isascii() and remove.isdigit() and len(remove) <= 4):
            abort(400)
        del rows[int(remove) : int(remove) + 1]
        return _eligibility_page(service, form, rows, facts_form, None, 200)
    if action == "add":
        rows.append(editor.RuleRow())
        return _eligibility_page(service, form, rows, facts_form, None, 200)
    preview = editor.preview(rows, facts, catalog.local_today())
    if action == "preview":
        return _eligibility_page(service, form, rows, facts_form, preview, 200)
    if not form.validate_on_submit() or not preview["ok"]:
        return _eligibility_page(service, form, rows, facts_form, preview, 400)
    saved, changed = save_versioned(
        service,
        form.version.data,
        lambda: catalog.update_eligibility(service, preview["rules"], form.description(), current_user),
    )
    if not saved:
        _conflict(form)
        return _eligibility_page(service, form, rows, facts_form, preview, 409)
    flash(_("The eligibility rules were saved.") if changed else _("Nothing was changed."), "success")
    return redirect(url_for("catalog.service", service_id=service.id, _anchor="eligibility"))


def _eligibility_page(service: Service, form, rows, facts_form, preview, status: int):
    return render_template(
        "manage/eligibility.html",
        service=service,
        form=form,
        rows=rows,
        facts_form=facts_form,
        preview=preview,
        choices=editor.choices(),
        blank=editor.RuleRow(),
    ), status


@bp.post("/services/<service_id>/eligibility/preview")
@login_required
def preview_eligibility(service_id: str):
    """The live preview: the draft rows (and sample facts) in, plain words and a verdict out (JSON)."""
    _editable(Service, service_id)
    facts_form, facts = _sample_facts(request.form)
    result = editor.preview(editor.rows_from_form(request.form), facts, catalog.local_today())
    result["facts_problems"] = facts_form.error_messages() if facts_form.errors else []
    return jsonify(result)


def _hours_fields(service: Service) -> dict[str, str]:
    """The hours form's field values for the service's current weekly hours (up to three periods a day)."""
    values = {}
    for code, periods in weekly_table(service.schedules):
        for slot, period in enumerate(periods[:3], start=1):
            values[f"{code}_{slot}_opens"] = f"{period.opens_at:%H:%M}"
            values[f"{code}_{slot}_closes"] = f"{period.closes_at:%H:%M}"
    return values


def _hours_page(service: Service, form: HoursForm, holiday_form: HolidayForm, status: int):
    return render_template(
        "manage/hours.html",
        service=service,
        form=form,
        holiday_form=holiday_form,
        weekdays=WEEKDAYS,
        weekday_labels=WEEKDAY_LABELS,
        recurring=recurring_lines(service.schedules, catalog.local_today()),
    ), status


@bp.route("/services/<service_id>/hours", methods=["GET", "POST"])
@login_required
def edit_hours(service_id: str):
    service = _editable(Service, service_id)
    form = HoursForm(raw=request.form if request.method == "POST" else None)
    holiday_form = HolidayForm(prefix="holiday")
    if request.method == "GET":
        form.version.data = service.version
        form.raw = _hours_fields(service)
    elif form.validate_on_submit():
        saved, _changes = save_versioned(
            service, form.version.data, lambda: catalog.replace_weekly_hours(service, form.periods(), current_user)
        )
        if saved:
            flash(_("The opening hours were saved."), "success")
            return redirect(url_for("catalog.service", service_id=service.id))
        _conflict(form)
    status = 400 if request.method == "POST" else 200
    return _hours_page(service, form, holiday_form, status)


@bp.post("/services/<service_id>/holidays")
@login_required
def add_holiday(service_id: str):
    service = _editable(Service, service_id)
    holiday_form = HolidayForm(prefix="holiday")
    if holiday_form.validate_on_submit():
        catalog.add_holiday(service, holiday_form.values(), current_user)
        flash(_("The holiday hours were added."), "success")
        return redirect(url_for("manage.edit_hours", service_id=service.id))
    form = HoursForm()
    form.version.data = service.version
    form.raw = _hours_fields(service)
    return _hours_page(service, form, holiday_form, 400)


@bp.post("/schedules/<schedule_id>/delete")
@login_required
def delete_schedule(schedule_id: str):
    """Remove hours that recur other than weekly (monthly, every two weeks …): the editor shows them
    but cannot change them (weekly hours are saved with the form)."""
    schedule = db.session.get(Schedule, schedule_id)
    if schedule is None:
        abort(404)
    service = _editable(Service, schedule.service_id)
    catalog.remove_schedule(schedule, current_user)
    flash(_("Those opening hours were removed."), "success")
    return redirect(url_for("manage.edit_hours", service_id=service.id))


@bp.post("/holidays/<holiday_id>/delete")
@login_required
def delete_holiday(holiday_id: str):
    holiday = db.session.get(ScheduleException, holiday_id)
    if holiday is None:
        abort(404)
    service = _editable(Service, holiday.service_id)
    catalog.remove_holiday(holiday, current_user)
    flash(_("The holiday hours were removed."), "success")
    return redirect(url_for("manage.edit_hours", service_id=service.id))


@bp.route("/organizations/<org_id>/locations/new", methods=["GET", "POST"])
@login_required
def new_location(org_id: str):
    org = _editable(Organization, org_id)
    form = LocationForm()
    if form.validate_on_submit():
        values = form.values()
        location = catalog.create_location(org, values, current_user)
        contacts.set_phones(location, values["phones"], current_user)
        flash(_("The location was added."), "success")
        return redirect(url_for("manage.dashboard", organization=org.id))
    return render_template("manage/location_form.html", form=form, org=org, location=None), (
        400 if form.errors else 200
    )


@bp.route("/locations/<location_id>/edit", methods=["GET", "POST"])
@login_required
def edit_location(location_id: str):
    location = _editable(Location, location_id)
    form = LocationForm(obj=location) if request.method == "GET" else LocationForm()
    form.phones.keep = contacts.stored_lines(location)
    if request.method == "GET":
        form.version.data = location.version
    elif form.validate_on_submit():
        values = form.values()
        saved, _changes = save_versioned(
            location,
            form.version.data,
            lambda: (
                catalog.update_location(location, values, current_user),
                contacts.set_phones(location, values["phones"], current_user),
            ),
        )
        if saved:
            flash(_("Your changes were saved."), "success")
            return redirect(url_for("manage.dashboard", organization=location.organization_id))
        _conflict(form)
    status = 400 if request.method == "POST" else 200
    return render_template("manage/location_form.html", form=form, org=location.organization, location=location), status


@bp.post("/locations/<location_id>/deactivate")
@login_required
def deactivate_location(location_id: str):
    location = _editable(Location, location_id)
    catalog.deactivate_location(location, current_user)
    flash(_("The location was deactivated."), "success")
    return redirect(url_for("manage.dashboard", organization=location.organization_id))


@bp.route("/stale")
@login_required
def stale():
    if not can_review_stale_listings(current_user):
        abort(403)
    page = db.paginate(catalog.stale_services(), page=page_number(), per_page=50, error_out=False)
    return render_template("manage/stale.html", page=page, today=catalog.local_today())
