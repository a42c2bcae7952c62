"""Client records, referrals, outreach attempts, the follow-up queue and the agency inbox.

Every route loads its object through one helper that checks access (403 and an audit row when refused)
and records the audit row for the view; changes are audited by the services. No route commits: the
request's one commit (``directory.database.in_one_transaction``) writes the change and its audit rows
together, after the page is drawn; a change a service refuses is rolled back at once. Pages carry client
data, so every response of this blueprint is sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from directory.accounts.audit import audit
from directory.accounts.permissions import (
    can_answer_referral,
    can_edit_client,
    can_keep_clients,
    can_override_consent,
    can_use_inbox,
    can_view_client,
)
from directory.catalog.cache import category_choices, term_labels
from directory.catalog.hours import weekly_table
from directory.catalog.hours_words import recurring_lines
from directory.catalog.models import Location, Organization, Service
from directory.catalog.routes import service_response
from directory.clock import local_now, local_today
from directory.eligibility.forms import ClientFactsForm
from directory.extensions import db
from directory.i18n import select_locale
from directory.models_base import utcnow
from directory.pagination import page_number
from directory.redirects import safe_next
from directory.referrals import labels, rules
from directory.referrals import services as referrals
from directory.referrals.access import deny, load_client, load_need, load_referral, require_client_keeper
from directory.referrals.forms import (
    AgencyAnswerForm,
    AttemptForm,
    ClientForm,
    CloseNeedForm,
    ConsentForm,
    NeedForm,
    ReferralForm,
    RevokeConsentForm,
    RevokeOverrideForm,
    utc_to_local,
)
from directory.referrals.labels import CONSENT_FIELD_LABELS
from directory.referrals.models import GUARDIAN_AGE, Client, Consent, ConsentOverride, Need, Referral
from directory.search.routes import search_response
from directory.versioning import save_versioned
from directory.vocabulary import SEX_LABELS

bp = Blueprint("referrals", __name__)
PER_PAGE = 20


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _apply_problems(form, problems: dict) -> None:
    """Show a service's problems next to the fields they concern (the rest above the form)."""
    for name, message in problems.items():
        target = getattr(form, name, None)
        if target is not None and hasattr(target, "errors") and name != "form":
            target.errors = [*list(target.errors), _(str(message))]
        else:
            form.form_errors.append(_(str(message)))


def _term_choices() -> list[tuple[str, str]]:
    return category_choices(select_locale())


# --- clients -------------------------------------------------------------------------------------


@bp.route("/clients")
@login_required
def client_list():
    require_client_keeper()
    query = select(Client).options(selectinload(Client.needs)).order_by(Client.updated_at.desc())
    if current_user.role != "admin":
        query = query.where(Client.owner_id == current_user.id)
    q = (request.args.get("q") or "").strip()[:80]
    if q:
        query = query.where(Client.display_name.contains(q))
    page = db.paginate(query, page=page_number(), per_page=PER_PAGE, error_out=False)
    for client in page.items:
        audit("view", "client", client.id, client.id, {"list": True})
    return render_template("referrals/client_list.html", page=page, q=q)


@bp.route("/clients/new", methods=["GET", "POST"])
@login_required
def new_client():
    require_client_keeper()
    form, facts_form = ClientForm(), ClientFactsForm()
    if request.method == "POST" and all([form.validate_on_submit(), facts_form.validate_on_submit()]):
        values, facts = form.values(facts_form.to_facts(), local_today())
        client = referrals.create_client(current_user, values, facts)
        flash(_("The client was added. Record their needs and consent next."), "success")
        return redirect(url_for("referrals.client", client_id=client.id))
    failed = request.method == "POST"
    return render_template("referrals/client_form.html", form=form, facts_form=facts_form, client=None), (
        400 if failed else 200
    )


@bp.route("/clients/<client_id>")
@login_required
def client(client_id: str):
    client = load_client(client_id)
    need_form = NeedForm()
    need_form.category.choices = _term_choices()
    return render_template(
        "referrals/client.html",
        client=client,
        need_form=need_form,
        today=local_today(),
        now=utcnow(),
    )


@bp.route("/clients/<client_id>/edit", methods=["GET", "POST"])
@login_required
def edit_client(client_id: str):
    client = load_client(client_id, view=request.method == "GET")
    if request.method == "GET":
        form, facts_form = ClientForm(obj=client), ClientFactsForm.from_facts(referrals.client_facts(client))
        form.version.data = client.version
    else:
        form, facts_form = ClientForm(), ClientFactsForm()
        if all([form.validate_on_submit(), facts_form.validate_on_submit()]):
            values, facts = form.values(facts_form.to_facts(), local_today())
            saved, _changed = save_versioned(
                client, form.version.data, lambda: referrals.update_client(client, values, facts, current_user)
            )
            if saved:
                flash(_("Your changes were saved."), "success")
                return redirect(url_for("referrals.client", client_id=client.id))
            _conflict(form)
    failed = request.method == "POST"
    return render_template("referrals/client_form.html", form=form, facts_form=facts_form, client=client), (
        409 if failed and form.form_errors else 400 if failed else 200
    )


def _conflict(form) -> None:
    form.form_errors.append(
        _(
            "Someone else changed this client record while you were editing. Your changes were not saved; "
            "the form shows what you typed — compare with the current record and save again."
        )
    )


@bp.post("/clients/<client_id>/needs")
@login_required
def add_need(client_id: str):
    client = load_client(client_id, view=False)
    form = NeedForm()
    form.category.choices = _term_choices()
    if form.validate_on_submit():
        need = referrals.add_need(client, form.category.data, form.goal.data, current_user)
        flash(_("The need was added. Here are services that may help."), "success")
        return redirect(url_for("referrals.need", need_id=need.id))
    db.session.rollback()
    audit("view", "client", client.id, client.id)
    return render_template(
        "referrals/client.html", client=client, need_form=form, today=local_today(), now=utcnow()
    ), 400


@bp.route("/needs/<need_id>")
@login_required
def need(need_id: str):
    need = load_need(need_id)
    form = CloseNeedForm()
    return _need_page(need, form, 200)


def _need_page(need: Need, form: CloseNeedForm, status: int):
    alternatives = referrals.alternatives(need, need.client, local_today()) if need.status == "open" else []
    return render_template(
        "referrals/need.html",
        need=need,
        client=need.client,
        form=form,
        alternatives=alternatives,
        now=utcnow(),
    ), status


@bp.post("/needs/<need_id>/close")
@login_required
def close_need(need_id: str):
    need = load_need(need_id, view=False)
    form = CloseNeedForm()
    if form.validate_on_submit():
        try:
            referrals.close_need(need, form.status.data, form.note.data, current_user)
        except referrals.ReferralError as exc:
            db.session.rollback()
            _apply_problems(form, exc.problems)
        else:
            flash(_("The need was closed."), "success")
            return redirect(url_for("referrals.client", client_id=need.client_id))
    audit("view", "need", need.id, need.client_id)
    return _need_page(need, form, 400)


# --- searching and reading for a saved client ----------------------------------------------------


def _client_facts_form(client: Client) -> tuple[ClientFactsForm, dict | None]:
    """The client's facts from their record, shown in the facts form (not posted: no CSRF token)."""
    facts = referrals.client_facts(client) or None
    return ClientFactsForm.from_facts(facts, meta={"csrf": False}), facts


@bp.route("/clients/<client_id>/search")
def client_search(client_id: str):
    """The search page for a saved client: their facts and their place (and a need's category)."""
    if not current_user.is_authenticated:
        abort(403)
    client = load_client(client_id)
    args = MultiDict(request.args)
    need = next((n for n in client.needs if n.id == args.get("need") and n.status == "open"), None)
    if not args.get("near") and client.place_name:
        args["near"] = client.place_name
    if need is not None and not args.get("category") and not args.get("q"):
        args["category"] = need.category
    search_url = partial(url_for, "referrals.client_search", client_id=client.id)
    return search_response(args, *_client_facts_form(client), search_url, client=client, need=need)


@bp.route("/clients/<client_id>/services/<service_id>")
def client_service(client_id: str, service_id: str):
    """A service page with the saved client's eligibility verdict."""
    client = load_client(client_id)
    return service_response(service_id, *_client_facts_form(client), client=client)


# --- consent -------------------------------------------------------------------------------------


def _consent_form_choices(form: ConsentForm) -> None:
    orgs = db.session.execute(select(Organization.id, Organization.name).order_by(Organization.name)).all()
    form.organization_id.choices = [("", "—")] + [(o.id, o.name) for o in orgs]
    form.category.choices = [("", "—")] + _term_choices()


@bp.route("/clients/<client_id>/consents/new", methods=["GET", "POST"])
@login_required
def new_consent(client_id: str):
    client = load_client(client_id, view=request.method == "GET")
    form = ConsentForm()
    _consent_form_choices(form)
    if request.method == "GET":
        form.valid_from.data = local_today()
        form.fields.data = ["name", "age_sex", "phone", "need"]
        if request.args.get("organization"):
            form.organization_id.data = request.args["organization"]
        child = rules.may_be_under(client.birth_year, GUARDIAN_AGE, local_today())
        form.given_by.data = "guardian" if child else "client"
    elif form.validate_on_submit():
        values = form.values()
        if values["organization_id"] and db.session.get(Organization, values["organization_id"]) is None:
            form.organization_id.errors = [_("Choose an organization from the list.")]
        elif values["category"] and values["category"] not in {c for c, _label in _term_choices()}:
            form.category.errors = [_("Choose a kind of service from the list.")]
        else:
            try:
                referrals.record_consent(client, values, current_user, local_today())
            except referrals.ReferralError as exc:
                db.session.rollback()
                _apply_problems(form, exc.problems)
            else:
                flash(_("The consent was recorded."), "success")
                back = url_for("referrals.client", client_id=client.id)
                return redirect(safe_next(request.args.get("next"), back))
    status = 400 if request.method == "POST" else 200
    return render_template("referrals/consent_form.html", form=form, client=client), status


@bp.post("/consents/<consent_id>/revoke")
@login_required
def revoke_consent(consent_id: str):
    consent = db.session.get(Consent, consent_id)
    if consent is None:
        abort(404)
    if not can_edit_client(current_user, consent.client):
        deny("consent", consent.id, consent.client_id)
    form = RevokeConsentForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        referrals.revoke_consent(consent, form.note.data, current_user)
    except referrals.ReferralError:
        db.session.rollback()
        flash(_("This consent was already revoked."), "error")
    else:
        flash(_("The consent was revoked. Agencies no longer see this client's information under it."), "success")
    return redirect(url_for("referrals.client", client_id=consent.client_id))


# --- referrals -----------------------------------------------------------------------------------


def _open_needs_choices(client: Client | None) -> list[tuple[str, str]]:
    query = select(Need).join(Client).where(Need.status == "open").order_by(Client.display_name, Need.created_at)
    if client is not None:
        query = query.where(Need.client_id == client.id)
    elif current_user.role != "admin":
        query = query.where(Client.owner_id == current_user.id)
    labels = term_labels(select_locale())
    return [
        (n.id, f"{n.client.display_name} · {labels.get(n.category, n.category)}：{n.goal}")
        for n in db.session.scalars(query.limit(500))
    ]


@bp.route("/referrals/new", methods=["GET", "POST"])
@login_required
def new_referral():
    require_client_keeper()
    service = db.session.get(Service, request.args.get("service") or "")
    if service is None:
        abort(404)
    chosen_client = None
    if request.args.get("client"):
        chosen_client = load_client(request.args["client"], view=False)
    form = ReferralForm()
    form.need_id.choices = _open_needs_choices(chosen_client)
    locations = [sal.location for sal in service.service_at_locations if sal.location.active]
    form.location_id.choices = [(loc.id, f"{loc.name}（{loc.district}）") for loc in locations] or [("", "—")]
    if request.method == "GET":
        wanted = request.args.get("need") or ""
        ids = [c for c, _label in form.need_id.choices]
        if wanted in ids:
            form.need_id.data = wanted
        elif ids:
            form.need_id.data = _best_need(ids, service) or ids[0]
        if request.args.get("location") in {loc.id for loc in locations}:
            form.location_id.data = request.args["location"]
        form.override_expires_on.data = local_today() + timedelta(days=referrals.override_max_days())
    need = db.session.get(Need, form.need_id.data or "")
    if need is not None and not can_edit_client(current_user, need.client):
        deny("need", need.id, need.client_id)
    check = referrals.check_referral(need.client, need, service, local_today()) if need else None
    if need is not None:
        audit("view", "client", need.client_id, need.client_id, {"referral_check": service.id})
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            if need is None:
                form.need_id.errors = [_("Choose one of the client's open needs.")]
            else:
                location = db.session.get(Location, form.location_id.data or "") if locations else None
                try:
                    referral = referrals.create_referral(
                        need.client,
                        need,
                        service,
                        location,
                        current_user,
                        local_today(),
                        consent_override_reason=form.consent_override_reason.data,
                        override_fields=form.override_fields.data or [],
                        override_legal_basis=form.override_legal_basis.data or None,
                        override_expires_on=form.override_expires_on.data,
                        eligibility_override_reason=form.eligibility_override_reason.data,
                    )
                except referrals.ReferralError as exc:
                    db.session.rollback()
                    if need is not None:
                        audit("view", "client", need.client_id, need.client_id, {"referral_check": service.id})
                    _referral_problems(form, exc.problems)
                else:
                    flash(_("The referral was made. Record each contact as it happens."), "success")
                    return redirect(url_for("referrals.referral", referral_id=referral.id))
    return render_template(
        "referrals/referral_form.html",
        form=form,
        service=service,
        need=need,
        client=need.client if need else chosen_client,
        check=check,
        may_override=can_override_consent(current_user),
        refused=[str(CONSENT_FIELD_LABELS[f]) for f in sorted(referrals.refused_fields(need.client))] if need else [],
        max_days=referrals.override_max_days(),
    ), status


def _best_need(need_ids: list[str], service: Service) -> str | None:
    """The open need whose kind of help this service offers, if any."""
    codes = referrals.service_codes(service)
    for need in db.session.scalars(select(Need).where(Need.id.in_(need_ids))):
        if need.category in codes:
            return need.id
    return None


def _referral_problems(form: ReferralForm, problems: dict) -> None:
    messages = {
        "no_consent": _(
            "The client has not consented to share information with this organization. Record the client's "
            "consent first (nothing was sent)."
        ),
        "override_not_allowed": _(
            "Only a supervisor may refer without the client's consent. Record the client's consent first."
        ),
    }
    consent_problem = problems.pop("consent", None)
    if consent_problem:
        form.form_errors.append(messages[consent_problem])
        if consent_problem == "override_not_allowed":
            form.consent_override_reason.errors = [messages[consent_problem]]
    if problems.pop("eligibility", None):
        form.eligibility_override_reason.errors = [
            _("The client does not meet this service's rules. To refer anyway, write why.")
        ]
    _apply_problems(form, problems)


@bp.route("/referrals/<referral_id>")
@login_required
def referral(referral_id: str):
    referral = load_referral(referral_id)
    if can_view_client(current_user, referral.client):
        form = AttemptForm()
        _prefill_attempt(form, referral)
        return _referral_page(referral, form, 200)
    return _agency_page(referral, AgencyAnswerForm(), 200)


def _prefill_attempt(form: AttemptForm, referral: Referral) -> None:
    form.occurred_at.data = utc_to_local(utcnow()).replace(second=0, microsecond=0)
    form.next_follow_up.data = local_today() + timedelta(days=3)
    form.party.data = "provider"
    target = next((a for a in referral.attempts if a.id == request.args.get("correct")), None)
    if target is not None:
        form.corrects_id.data = target.id
        form.occurred_at.data = utc_to_local(target.occurred_at)
        for name in ("channel", "party", "outcome", "refused_by", "refusal_reason", "note", "next_follow_up"):
            getattr(form, name).data = getattr(target, name) or ("" if name != "next_follow_up" else None)


def _referral_page(referral: Referral, form: AttemptForm, status: int, override_form: RevokeOverrideForm | None = None):
    standing = {a.id for a in rules.effective_attempts(referral.attempts)}
    need = referral.need
    alternatives = []
    if need.status == "open" and referral.status != "delivered":
        alternatives = referrals.alternatives(need, referral.client, local_today())
    return render_template(
        "referrals/referral.html",
        referral=referral,
        client=referral.client,
        form=form,
        standing=standing,
        correcting=next((a for a in referral.attempts if a.id == form.corrects_id.data), None),
        alternatives=alternatives,
        stale=rules.is_stale(referral.status, referral.last_activity_at, utcnow(), need.status == "open"),
        today=local_today(),
        override_form=override_form or RevokeOverrideForm(formdata=None),
        visible=referrals.visible_fields(referral, local_today()),
    ), status


def _agency_page(referral: Referral, form: AgencyAnswerForm, status: int):
    return render_template(
        "referrals/agency_referral.html",
        referral=referral,
        client=referral.client,
        visible=referrals.visible_fields(referral, local_today()),
        form=form,
        today=local_today(),
        may_answer=can_answer_referral(current_user, referral),
        basis_ended=referrals.basis_ended(referral, local_today()),
    ), status


@bp.post("/referrals/<referral_id>/attempts")
@login_required
def add_attempt(referral_id: str):
    referral = load_referral(referral_id, view=False)
    if not can_edit_client(current_user, referral.client):
        deny("referral", referral.id, referral.client_id)
    form = AttemptForm()
    if form.validate_on_submit():
        try:
            referrals.record_attempt(referral, form.values(), current_user)
        except referrals.ReferralError as exc:
            db.session.rollback()
            _apply_problems(form, exc.problems)
        else:
            if referral.status == "refused":
                flash(_("Refusal recorded. Don't give up: the next resources to try are below."), "success")
            else:
                flash(_("The attempt was recorded."), "success")
            return redirect(url_for("referrals.referral", referral_id=referral.id))
    audit("view", "referral", referral.id, referral.client_id)
    return _referral_page(referral, form, 400)


@bp.post("/referrals/<referral_id>/answer")
@login_required
def answer_referral(referral_id: str):
    referral = load_referral(referral_id, view=False)
    if not can_answer_referral(current_user, referral):
        deny("referral", referral.id, referral.client_id)
    form = AgencyAnswerForm()
    why = referrals.basis_ended(referral, local_today())
    if why is not None:  # checked again under the write lock when the answer is recorded
        return _answer_refused(referral, form, why)
    if form.validate_on_submit():
        if form.answer.data == "decline" and not form.reason.data:
            form.reason.errors = [_("Choose the reason for declining.")]
        else:
            try:
                referrals.agency_answer(referral, form.answer.data, form.reason.data, form.note.data, current_user)
            except referrals.BasisEnded as exc:
                db.session.rollback()
                return _answer_refused(referral, form, exc.why)
            except referrals.ReferralError as exc:
                db.session.rollback()
                _apply_problems(form, exc.problems)
            else:
                flash(_("Your answer was sent to the caseworker."), "success")
                return redirect(url_for("referrals.inbox"))
    audit("view", "referral", referral.id, referral.client_id)
    return _agency_page(referral, form, 400)


BASIS_ENDED_MESSAGES = {
    "consent": _l(
        "The client withdrew the consent this referral was made under (or it has ended): your organization can "
        "no longer change its answer. Nothing was recorded. Contact the caseworker."
    ),
    "override": _l(
        "The supervisor's override this referral was made under has expired or was revoked: your organization "
        "can no longer change its answer. Nothing was recorded. Contact the caseworker."
    ),
}


def _answer_refused(referral: Referral, form: AgencyAnswerForm, why: str):
    """409: an answer on a referral whose consent or override has ended is refused, and the refusal audited."""
    audit(
        "denied",
        "referral",
        referral.id,
        referral.client_id,
        {"answer": form.answer.data if form.answer.data in referrals.AGENCY_ANSWERS else None, "basis_ended": why},
    )
    form.form_errors.append(str(BASIS_ENDED_MESSAGES[why]))
    return _agency_page(referral, form, 409)


@bp.post("/overrides/<override_id>/revoke")
@login_required
def revoke_override(override_id: str):
    """The client's caseworker or an admin ends a consent override now, with a note."""
    override = db.session.get(ConsentOverride, override_id)
    if override is None:
        abort(404)
    referral = override.referral
    if not can_edit_client(current_user, referral.client):
        deny("consent_override", override.id, override.client_id)
    override_form = RevokeOverrideForm()
    if override_form.validate_on_submit():
        try:
            referrals.revoke_override(override, override_form.note.data, current_user)
        except referrals.ReferralError as exc:
            db.session.rollback()
            _apply_problems(override_form, exc.problems)
        else:
            flash(
                _("The override was revoked. The agency no longer sees the client's information under it."), "success"
            )
            return redirect(url_for("referrals.referral", referral_id=referral.id))
    audit("view", "referral", referral.id, referral.client_id)
    form = AttemptForm(formdata=None)
    _prefill_attempt(form, referral)
    return _referral_page(referral, form, 400, override_form)


# --- queues --------------------------------------------------------------------------------------


@bp.route("/followups")
@login_required
def followups():
    require_client_keeper()
    queue = referrals.follow_up_queue(current_user, local_today())
    seen: set[str] = set()
    for item in [*queue.overdue, *queue.today, *queue.stale, *queue.needs_without_referral]:
        if item.client_id not in seen:
            seen.add(item.client_id)
            audit("view", "client", item.client_id, item.client_id, {"list": "followups"})
    return render_template("referrals/followups.html", queue=queue, today=local_today(), now=utcnow())


@bp.route("/inbox")
@login_required
def inbox():
    if not can_use_inbox(current_user):
        deny("inbox", None)
    status = request.args.get("status") or None
    if status not in (None, *rules.STATUSES):
        status = None
    page = db.paginate(
        referrals.inbox_query(current_user.organization_id, status),
        page=page_number(),
        per_page=PER_PAGE,
        error_out=False,
    )
    for item in page.items:
        audit("view", "referral", item.id, item.client_id, {"list": "inbox"})
    today = local_today()
    counts = dict(
        db.session.execute(
            select(Referral.status, func.count())
            .where(Referral.organization_id == current_user.organization_id)
            .group_by(Referral.status)
        ).all()
    )
    return render_template(
        "referrals/inbox.html",
        page=page,
        status=status,
        counts=counts,
        visible={r.id: referrals.visible_fields(r, today) for r in page.items},
        today=today,
    )


@bp.route("/clients/<client_id>/print")
@login_required
def print_list(client_id: str):
    client = load_client(client_id, view=False)
    chosen = request.args.getlist("service") or referrals.default_print_selection(client)
    services = referrals.printable_services(client, chosen[:30])
    audit("print", "client", client.id, client.id, {"services": [s.id for s, _locs in services]})
    return render_template("referrals/print.html", client=client, services=services, now=local_now())


@bp.app_context_processor
def referral_labels():
    return {
        "referral_status_label": lambda s: labels.STATUS_LABELS.get(s, s),
        "need_status_label": lambda s: labels.NEED_STATUS_LABELS.get(s, s),
        "channel_label": lambda s: labels.CHANNEL_LABELS.get(s, s),
        "party_label": lambda s: labels.PARTY_LABELS.get(s, s),
        "outcome_label": lambda s: labels.OUTCOME_LABELS.get(s, s),
        "refuser_label": lambda s: labels.REFUSER_LABELS.get(s, s),
        "refusal_reason_label": lambda s: labels.REFUSAL_REASON_LABELS.get(s, s),
        "consent_field_label": lambda s: labels.CONSENT_FIELD_LABELS.get(s, s),
        "purpose_label": lambda s: labels.PURPOSE_LABELS.get(s, s),
        "legal_basis_label": lambda s: labels.LEGAL_BASIS_LABELS.get(s, labels.UNRECORDED_BASIS),
        "override_in_force": rules.override_in_force,
        "sex_label": lambda s: SEX_LABELS.get(s, s),
        "utc_to_local": utc_to_local,
        "days_since": referrals.days_since,
        "weekly_hours": lambda service: weekly_table(service.schedules),
        "recurring_hours": lambda service, today: recurring_lines(
            service.schedules, today, service.schedule_exceptions
        ),
        "shared_fact_rows": labels.shared_fact_rows,
        "may_refer_clients": lambda: can_keep_clients(current_user),
        "may_use_inbox": lambda: can_use_inbox(current_user),
        "client_fact_rows": lambda client: labels.fact_rows(referrals.client_facts(client)),
        "is_stale_referral": lambda r, now: rules.is_stale(r.status, r.last_activity_at, now, r.need.status == "open"),
    }
