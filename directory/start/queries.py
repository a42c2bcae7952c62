"""What each role's start page shows. Reads only, except ``mark_seen`` (flushes; the route commits).

Access is decided here the same way the pages behind it decide it: a caseworker sees their own clients,
an agency only its organization's referrals with the fields the consent covers (the template asks
``visible``), a manager only aggregate figures (none when a selection concerns too few clients), an admin
listings and user accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from directory.accounts.models import ROLES, User
from directory.catalog.models import Service
from directory.catalog.services import stale_services
from directory.extensions import db
from directory.models_base import utcnow
from directory.referrals import services as referrals
from directory.referrals.models import Attempt, Client, Need, Referral
from directory.reports import queries as reports
from directory.reports.tables import withheld

FIRST_VISIT_LOOKBACK = timedelta(days=7)  # "answers since your last visit" on the very first visit
DUE_SOON_DAYS = 30  # a listing comes due for verification this many days before it turns stale
KEY_FIGURE_DAYS = 90  # the manager's figures cover this many days up to today
IDLE_USER_DAYS = 90  # an admin sees the active accounts unused this long


@dataclass
class CaseworkerDay:
    overdue: list[Referral]
    due_today: list[Referral]
    answers: list[Attempt]  # agency answers on the caseworker's referrals since ``since``
    since: datetime
    idle_needs: list[Need]  # open needs with nothing in progress


def agency_answers(user, since: datetime) -> list[Attempt]:
    """Answers of receiving agencies (accept, decline, delivered) to ``user``'s referrals since ``since``."""
    query = (
        select(Attempt)
        .join(Referral, Attempt.referral_id == Referral.id)
        .join(Client, Referral.client_id == Client.id)
        .join(User, Attempt.actor_id == User.id)
        .where(Client.owner_id == user.id, User.role == "agency_staff", Attempt.recorded_at > since)
        .options(
            selectinload(Attempt.referral).selectinload(Referral.client),
            selectinload(Attempt.referral).selectinload(Referral.service).selectinload(Service.organization),
        )
        .order_by(Attempt.recorded_at.desc())
        .limit(50)
    )
    return list(db.session.scalars(query))


def caseworker_day(user, today: date, now: datetime | None = None) -> CaseworkerDay:
    now = now or utcnow()
    queue = referrals.follow_up_queue(user, today, now)
    since = user.start_seen_at or now - FIRST_VISIT_LOOKBACK
    return CaseworkerDay(queue.overdue, queue.today, agency_answers(user, since), since, queue.needs_without_referral)


def mark_seen(user, now: datetime | None = None) -> None:
    """The start page was seen now: its next "answers since your last visit" start here."""
    user.start_seen_at = now or utcnow()
    db.session.flush()


@dataclass
class AgencyDay:
    unanswered: list[Referral]
    due_for_verification: list[Service]
    stale_after_days: int


def unanswered_referrals(organization_id: str) -> list[Referral]:
    """Referrals to the organization that nobody there has answered yet (status sent), oldest first."""
    query = referrals.inbox_query(organization_id, "sent").order_by(None).order_by(Referral.created_at)
    return list(db.session.scalars(query.limit(50)))


def listings_due(organization_id: str, today: date) -> list[Service]:
    """The organization's active services never verified, or whose last check turns 12 months old within
    ``DUE_SOON_DAYS`` (or already has), the oldest check first."""
    limit = today - timedelta(days=current_app.config["STALE_AFTER_DAYS"] - DUE_SOON_DAYS)
    query = (
        select(Service)
        .where(
            Service.organization_id == organization_id,
            Service.status == "active",
            or_(Service.assured_date.is_(None), Service.assured_date <= limit),
        )
        .order_by(Service.assured_date.is_not(None), Service.assured_date, Service.name)
    )
    return list(db.session.scalars(query.limit(100)))


def agency_day(user, today: date) -> AgencyDay:
    return AgencyDay(
        unanswered_referrals(user.organization_id),
        listings_due(user.organization_id, today),
        current_app.config["STALE_AFTER_DAYS"],
    )


@dataclass
class KeyFigures:
    start: date
    end: date
    withheld: bool  # too few clients in the period: no figure is shown
    referrals: int
    final: int
    successes: int
    median_days_to_acceptance: float | None
    median_days_to_service: float | None
    open_referrals: int
    overdue: int
    stale: int
    stale_listings: int


def key_figures(today: date, now: datetime, locale: str) -> KeyFigures:
    """The reports' own figures over the last ``KEY_FIGURE_DAYS`` days (aggregates only; the small-cell rule
    applies as on /reports)."""
    start = today - timedelta(days=KEY_FIGURE_DAYS - 1)
    f = reports.ReportFilter(
        start=start,
        end=today,
        timezone=current_app.config["TIMEZONE"],
        today=today,
        now=now,
        locale=locale,
        min_clients=current_app.config["REPORT_MIN_CLIENTS"],
    )
    data = reports.dashboard(f, names=("overview", "needs", "median_acceptance", "median_service", "workload"))
    hidden = withheld(data)
    workload = data.workload
    return KeyFigures(
        start=start,
        end=today,
        withheld=hidden,
        referrals=data.overview.referrals,
        final=data.overview.final,
        successes=data.overview.successes,
        median_days_to_acceptance=data.medians.to_acceptance,
        median_days_to_service=data.medians.to_service,
        open_referrals=sum(r.open for r in workload),
        overdue=sum(r.overdue for r in workload),
        stale=sum(r.stale for r in workload),
        stale_listings=data.stale_listings,
    )


@dataclass
class AdminDay:
    stale_listings: list[Service]
    stale_count: int
    users_by_role: dict[str, int]
    inactive_users: int
    idle_users: list[User]  # active accounts not used for IDLE_USER_DAYS (or never)


def admin_day(today: date, now: datetime | None = None) -> AdminDay:
    now = now or utcnow()
    stale = stale_services(today)
    stale_count = db.session.scalar(
        select(func.count()).select_from(stale.order_by(None).with_only_columns(Service.id).subquery())
    )
    counts = dict(
        db.session.execute(select(User.role, func.count()).where(User.active.is_(True)).group_by(User.role)).all()
    )
    idle_since = now - timedelta(days=IDLE_USER_DAYS)
    idle = db.session.scalars(
        select(User)
        .where(
            User.active.is_(True),
            or_(User.last_login_at.is_(None), User.last_login_at < idle_since),
            User.created_at < idle_since,
        )
        .order_by(User.last_login_at.is_not(None), User.last_login_at, User.username)
        .limit(50)
    )
    return AdminDay(
        stale_listings=list(db.session.scalars(stale.limit(10))),
        stale_count=stale_count or 0,
        users_by_role={role: counts.get(role, 0) for role in ROLES},
        inactive_users=db.session.scalar(select(func.count()).select_from(User).where(User.active.is_(False))) or 0,
        idle_users=list(idle),
    )
