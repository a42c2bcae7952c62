"""What the referral network tells people, through directory.notifications (which knows no referrals).

New referral → the receiving organization's staff (in the app; by e-mail with a signed answer link);
the agency's answer → the client's caseworker; follow-ups coming due and referrals unanswered for
UNANSWERED_AFTER_DAYS → found by ``flask queue-reminders``, once each (dedupe keys). Messages that leave
the app carry no client data: the service, the organization, the date — the rest is behind a login or
the signed link, which shows only the consented fields.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import click
from flask import current_app, has_request_context, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from directory.accounts.models import User
from directory.extensions import db
from directory.models_base import utcnow
from directory.notifications.links import LinkGrant, make_token, read_token
from directory.notifications.services import notify
from directory.referrals import rules
from directory.referrals.labels import OUTCOME_LABELS
from directory.referrals.models import Referral

ANSWER_PURPOSE = "referral-answer"


def _path(endpoint: str, **values) -> str:
    """A path in the app, also outside a request (``flask seed``, ``flask queue-reminders``)."""
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def answer_token(referral_id: str, user_id: int) -> str:
    return make_token(ANSWER_PURPOSE, referral_id, user_id)


def read_answer_token(token: str) -> LinkGrant:
    """The referral and user an answer link names; LinkExpired after ANSWER_LINK_DAYS, LinkInvalid if forged."""
    days = int(current_app.config.get("ANSWER_LINK_DAYS") or 7)
    return read_token(ANSWER_PURPOSE, token, max_age_seconds=days * 86400)


def agency_staff(organization_id: str) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.organization_id == organization_id, User.role == "agency_staff", User.active.is_(True))
            .order_by(User.id)
        )
    )


def _answer_links(referral: Referral, users: list[User]) -> dict[int, str]:
    return {u.id: _path("answer_link.answer", token=answer_token(referral.id, u.id)) for u in users}


def referral_made(referral: Referral) -> None:
    """Tell the receiving organization's staff (flushes; the caller commits)."""
    staff = agency_staff(referral.organization_id)
    service, worker = referral.service, referral.created_by
    notify(
        staff,
        "referral_new",
        lambda: _("New referral to %(service)s", service=service.name),
        lambda: _(
            "%(worker)s referred a client to %(service)s. Open the link to see what the client agreed to share "
            "with your organization and to accept or decline.",
            worker=worker.display_name if worker else "",
            service=service.name,
        ),
        link=_path("referrals.referral", referral_id=referral.id),
        object_id=referral.id,
        email_links=_answer_links(referral, staff),
    )


def answer_given(referral: Referral, outcome: str) -> None:
    """Tell the client's caseworker what the agency answered (flushes; the caller commits)."""
    caseworker = db.session.get(User, referral.caseworker_id)
    if caseworker is None:
        return
    organization, service = referral.organization, referral.service
    made = referral.created_at
    notify(
        [caseworker],
        "referral_answer",
        lambda: _(
            "%(organization)s: %(answer)s",
            organization=organization.name,
            answer=str(OUTCOME_LABELS.get(outcome, outcome)),
        ),
        lambda: _("Referral to %(service)s, made %(date)s.", service=service.name, date=format_date(made)),
        link=_path("referrals.referral", referral_id=referral.id),
        object_id=referral.id,
    )


# --- reminders (flask queue-reminders) -------------------------------------------------------------


def _open_referrals():
    return (
        select(Referral)
        .where(Referral.need_status == "open")
        .options(selectinload(Referral.service), selectinload(Referral.organization))
    )


def follow_ups_coming_due(today: date) -> list[Referral]:
    """Referrals still in play whose next follow-up is tomorrow or earlier."""
    query = _open_referrals().where(
        Referral.next_follow_up.is_not(None),
        Referral.next_follow_up <= today + timedelta(days=1),
        Referral.status.in_(rules.ACTIVE_STATUSES),
    )
    return list(db.session.scalars(query.order_by(Referral.next_follow_up)))


def unanswered_referrals(now: datetime, days: int) -> list[Referral]:
    """Referrals made at least ``days`` ago that the agency has neither accepted nor refused."""
    query = _open_referrals().where(
        Referral.status.in_(("sent", "in_progress")),
        Referral.accepted_at.is_(None),
        Referral.created_at <= now - timedelta(days=days),
    )
    return list(db.session.scalars(query.order_by(Referral.created_at)))


def queue_reminders(today: date, now: datetime | None = None) -> int:
    """Write the reminders due (each once: running again writes nothing new); flushes, returns how many."""
    now = now or utcnow()
    written = 0
    for referral in follow_ups_coming_due(today):
        caseworker = db.session.get(User, referral.caseworker_id)
        service, due = referral.service, referral.next_follow_up
        written += len(
            notify(
                [caseworker] if caseworker else [],
                "follow_up_due",
                lambda s=service, d=due: _("Follow-up due %(date)s: %(service)s", date=format_date(d), service=s.name),
                lambda: _("Record what happened, or set the next follow-up date."),
                link=_path("referrals.referral", referral_id=referral.id),
                object_id=referral.id,
                dedupe=f"followup:{referral.id}:{due.isoformat()}",
            )
        )
    days = int(current_app.config.get("UNANSWERED_AFTER_DAYS") or 3)
    for referral in unanswered_referrals(now, days):
        service, made = referral.service, referral.created_at
        staff = agency_staff(referral.organization_id)
        written += len(
            notify(
                staff,
                "referral_unanswered",
                lambda s=service: _("Waiting for your answer: referral to %(service)s", service=s.name),
                lambda m=made: _("Referred %(date)s and not yet accepted or declined.", date=format_date(m)),
                link=_path("referrals.referral", referral_id=referral.id),
                object_id=referral.id,
                email_links=_answer_links(referral, staff),
                dedupe=f"unanswered:{referral.id}",
            )
        )
        caseworker = db.session.get(User, referral.caseworker_id)
        organization = referral.organization
        written += len(
            notify(
                [caseworker] if caseworker else [],
                "referral_unanswered",
                lambda s=service, o=organization: _(
                    "No answer yet from %(organization)s: %(service)s", organization=o.name, service=s.name
                ),
                lambda d=days: _(
                    "No answer for %(days)d days. Consider calling them or trying another service.", days=d
                ),
                link=_path("referrals.referral", referral_id=referral.id),
                object_id=referral.id,
                dedupe=f"unanswered-caseworker:{referral.id}",
            )
        )
    return written


@click.command("queue-reminders")
def queue_reminders_command() -> None:
    """Notify about follow-ups coming due and referrals unanswered for UNANSWERED_AFTER_DAYS (default 3).

    Safe to run as often as you like (each reminder is written once); run it daily, before
    `flask send-notifications` (docs/notifications.md)."""
    today = utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    count = queue_reminders(today)
    db.session.commit()
    click.echo(f"Reminders written: {count}.")
