"""Answer by link: the receiving agency's staff accept, decline or mark delivered from the e-mailed link.

The link (``notices.answer_token``) is signed for this one purpose and names one referral and one staff
member; it works without a login until ANSWER_LINK_DAYS have passed. The page shows only the fields the
client consented to share with the organization, writes the same audit rows as the signed-in pages (as
that staff member, marked ``via: answer_link``), and the answer goes through ``services.agency_answer``,
the one rule for both ways. Expired, forged, revoked, closed or answered: a page that says so, never a 500.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from directory.accounts.audit import audit
from directory.accounts.models import User
from directory.accounts.permissions import can_answer_referral
from directory.catalog.services import local_today
from directory.extensions import db
from directory.notifications.links import LinkExpired, LinkInvalid
from directory.referrals import notices, rules
from directory.referrals import services as referrals
from directory.referrals.forms import AgencyAnswerForm
from directory.referrals.models import Referral

bp = Blueprint("answer_link", __name__)
VIA = {"via": "answer_link"}

STOPPED = {
    "invalid": (
        404,
        _l("This link is not valid"),
        _l(
            "The link is incomplete or was changed. Use the link from the message exactly as it came, "
            "or log in to answer."
        ),
    ),
    "expired": (
        410,
        _l("This link has expired"),
        _l("Answer links work for a limited time. Log in to Lianjie to answer, or ask the caseworker to contact you."),
    ),
    "consent": (
        410,
        _l("The client's consent has ended"),
        _l(
            "The consent this referral was made under was withdrawn or has ended: your organization can no "
            "longer see the client's information or answer. Contact the caseworker."
        ),
    ),
    "closed": (
        410,
        _l("This referral is closed"),
        _l("The service was delivered or the client's need was closed. Nothing more to answer."),
    ),
    "answered": (
        409,
        _l("This referral was already answered"),
        _l("Your organization already answered this referral. Contact the caseworker to change the answer."),
    ),
}


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


def _stopped(state: str, referral: Referral | None = None, user: User | None = None):
    status, title, message = STOPPED[state]
    if referral is not None:
        audit("denied", "referral", referral.id, referral.client_id, {**VIA, "stopped": state}, user=user)
        db.session.commit()
    return render_template("referrals/answer_link.html", state=state, title=title, message=message), status


def _allowed_answers(referral: Referral) -> list[str]:
    return [
        a
        for a in referrals.AGENCY_ANSWERS
        if rules.agency_answer_blocked(referral.status, referral.need_status, a) is None
    ]


@bp.route("/answer/<token>", methods=["GET", "POST"])
def answer(token: str):
    try:
        grant = notices.read_answer_token(token)
    except LinkExpired:
        return _stopped("expired")
    except LinkInvalid:
        return _stopped("invalid")
    referral = db.session.get(Referral, grant.object_id)
    user = db.session.get(User, grant.user_id)
    if referral is None or user is None:
        return _stopped("invalid")
    if not user.is_active or not can_answer_referral(user, referral):
        return _stopped("invalid", referral, user)  # left the organization or the role since the link was sent
    if referrals.basis_ended(referral, local_today()) is not None:
        return _stopped("consent", referral, user)
    allowed = _allowed_answers(referral)
    if not allowed:
        blocked = rules.agency_answer_blocked(referral.status, referral.need_status, "delivered")
        return _stopped(blocked or "closed", referral, user)
    form = AgencyAnswerForm()
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate_on_submit():
            if form.answer.data == "decline" and not form.reason.data:
                form.reason.errors = [_("Choose the reason for declining.")]
            else:
                try:
                    attempt = referrals.agency_answer(
                        referral, form.answer.data, form.reason.data, form.note.data, user
                    )
                except referrals.BasisEnded:
                    db.session.rollback()
                    return _stopped("consent", referral, user)
                except referrals.AnswerBlocked as exc:
                    db.session.rollback()
                    return _stopped(exc.why, referral, user)
                except referrals.ReferralError as exc:
                    db.session.rollback()
                    form.form_errors.extend(_(str(m)) for m in exc.problems.values())
                else:
                    db.session.commit()
                    return render_template(
                        "referrals/answer_link.html",
                        state="done",
                        referral=referral,
                        outcome=attempt.outcome,
                        allowed=_allowed_answers(referral),
                        token=token,
                    )
    audit("view", "referral", referral.id, referral.client_id, VIA, user=user)
    db.session.commit()
    return render_template(
        "referrals/answer_link.html",
        state="form",
        referral=referral,
        client=referral.client,
        visible=referrals.visible_fields(referral, local_today()),
        form=form,
        allowed=allowed,
        token=token,
        staff=user,
    ), status
