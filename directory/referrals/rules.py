"""The referral module's rules, each one pure function: status, follow-up, staleness, consent, closing.

No database and no request here: callers pass plain values, so every rule is tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Protocol

from flask_babel import lazy_gettext as _l

from directory.referrals.labels import CONSENT_FIELD_LABELS
from directory.referrals.models import (
    CHANNELS,
    CLOSING_STATUSES,
    CONSENT_FIELDS,
    GUARDIAN_AGE,
    LEGAL_BASES,
    OUTCOMES,
    PARTIES,
    PURPOSES,
    REFUSAL_REASONS,
    REFUSERS,
    SENSITIVE_FIELDS,
)

STATUSES = ("sent", "in_progress", "accepted", "waitlisted", "needs_documents", "refused", "delivered")
# Outcomes that settle where a referral stands; the others (no answer, left a message, call back
# later, other) are contact without a decision and leave the last decision in force.
DECISIVE = {
    "accepted": "accepted",
    "waitlisted": "waitlisted",
    "needs_documents": "needs_documents",
    "refused": "refused",
    "service_delivered": "delivered",
}
ACTIVE_STATUSES = frozenset(STATUSES) - {"refused", "delivered"}
STALE_AFTER = timedelta(days=14)


class AttemptLike(Protocol):
    id: str
    number: int
    occurred_at: datetime
    outcome: str
    next_follow_up: date | None
    corrects_id: str | None


def effective_attempts(attempts: Iterable[AttemptLike]) -> list[AttemptLike]:
    """The attempts that stand, in the order they happened: a corrected attempt gives way to its correction."""
    attempts = list(attempts)
    corrected = {a.corrects_id for a in attempts if a.corrects_id}
    standing = [a for a in attempts if a.id not in corrected]
    return sorted(standing, key=lambda a: (a.occurred_at, a.number))


def derive_status(attempts: Iterable[AttemptLike]) -> str:
    """sent (no attempt yet) → in_progress → the last decisive outcome (accepted, refused, delivered …).

    A refusal is a status of this referral only: it never closes the client's need.
    """
    standing = effective_attempts(attempts)
    if not standing:
        return "sent"
    status = "in_progress"
    for attempt in standing:
        status = DECISIVE.get(attempt.outcome, status)
    return status


def next_follow_up(attempts: Iterable[AttemptLike]) -> date | None:
    """The follow-up date set by the latest standing attempt (none once the service is delivered)."""
    standing = effective_attempts(attempts)
    if not standing or derive_status(standing) == "delivered":
        return None
    return standing[-1].next_follow_up


@dataclass(frozen=True)
class AttemptSummary:
    """What a referral caches of its attempts (``Referral`` columns of the same names).

    ``accepted_at``: the first standing accepted (or delivered) attempt; ``delivered_at``: the first
    standing delivery and ``delivered_at_attempt`` its position among the standing attempts (1 = the
    first); ``refused_before_delivery``: a standing refusal came before that delivery. The reports read
    these instead of the attempts.
    """

    status: str
    next_follow_up: date | None
    attempt_count: int
    accepted_at: datetime | None
    delivered_at: datetime | None
    delivered_at_attempt: int | None
    refused_before_delivery: bool


def summarize_attempts(attempts: Iterable[AttemptLike]) -> AttemptSummary:
    """Everything a referral caches of its attempts, from the standing ones in the order they happened."""
    standing = effective_attempts(attempts)
    accepted_at = delivered_at = delivered_at_attempt = None
    refused = refused_before_delivery = False
    for position, attempt in enumerate(standing, start=1):
        if attempt.outcome in ("accepted", "service_delivered") and accepted_at is None:
            accepted_at = attempt.occurred_at
        if attempt.outcome == "service_delivered" and delivered_at is None:
            delivered_at, delivered_at_attempt = attempt.occurred_at, position
            refused_before_delivery = refused
        refused = refused or attempt.outcome == "refused"
    return AttemptSummary(
        status=derive_status(standing),
        next_follow_up=next_follow_up(standing),
        attempt_count=len(standing),
        accepted_at=accepted_at,
        delivered_at=delivered_at,
        delivered_at_attempt=delivered_at_attempt,
        refused_before_delivery=refused_before_delivery,
    )


def standing_refusals(attempts: Iterable[AttemptLike]) -> list[AttemptLike]:
    """The refusals that stand (a corrected refusal is no refusal), in the order they happened."""
    return [a for a in effective_attempts(attempts) if a.outcome == "refused"]


DELIVERY_CHECK_AFTER = timedelta(days=7)


def delivery_check(outcome: str, occurred_at: datetime, given: date | None, zone: tzinfo | None = None) -> date | None:
    """The follow-up date an attempt sets: the one given; for an acceptance without one, a week after it
    (its day where the services are), to check that the service was delivered."""
    if given is not None or outcome != "accepted":
        return given
    moment = occurred_at.astimezone(zone) if zone is not None and occurred_at.tzinfo is not None else occurred_at
    return moment.date() + DELIVERY_CHECK_AFTER


def follow_up_bucket(due: date | None, today: date) -> str | None:
    """'overdue', 'today', or None (no date, or later)."""
    if due is None:
        return None
    if due < today:
        return "overdue"
    return "today" if due == today else None


def is_stale(status: str, last_activity: datetime, now: datetime, need_open: bool = True) -> bool:
    """An active referral of an open need with no activity for 14 days."""
    return need_open and status in ACTIVE_STATUSES and now - last_activity >= STALE_AFTER


def attempt_problems(values: Mapping[str, Any], now: datetime, zone: tzinfo | None = None) -> dict[str, str]:
    """What is wrong with an attempt's values (field → message); empty when it may be recorded.

    Follow-up dates are days where the services are: with ``zone``, an aware ``occurred_at`` is compared
    on its day in that zone (07:00 in Guangzhou on the 24th is still the 23rd in UTC).
    """
    problems: dict[str, Any] = {}
    if values.get("channel") not in CHANNELS:
        problems["channel"] = _l("Choose how the contact was made.")
    if values.get("party") not in PARTIES:
        problems["party"] = _l("Choose who was contacted.")
    outcome = values.get("outcome")
    if outcome not in OUTCOMES:
        problems["outcome"] = _l("Choose what happened.")
    occurred = values.get("occurred_at")
    if not isinstance(occurred, datetime):
        problems["occurred_at"] = _l("Enter when it happened.")
    elif occurred > now + timedelta(minutes=5):
        problems["occurred_at"] = _l("An attempt cannot be in the future.")
    if outcome == "refused":
        if values.get("refused_by") not in REFUSERS:
            problems["refused_by"] = _l("Say who refused: the provider, the client or the family.")
        if values.get("refusal_reason") not in REFUSAL_REASONS:
            problems["refusal_reason"] = _l("Choose the reason for the refusal.")
        elif values.get("refusal_reason") == "other" and not (values.get("note") or "").strip():
            problems["note"] = _l("Describe the reason in the note when it is 'other'.")
    else:
        if values.get("refused_by"):
            problems["refused_by"] = _l("Only a refusal has someone who refused.")
        if values.get("refusal_reason"):
            problems["refusal_reason"] = _l("Only a refusal has a reason for refusing.")
    if outcome == "other" and not (values.get("note") or "").strip():
        problems["note"] = _l("Describe what happened in the note.")
    follow_up = values.get("next_follow_up")
    if isinstance(occurred, datetime) and zone is not None and occurred.tzinfo is not None:
        occurred = occurred.astimezone(zone)
    if follow_up is not None and isinstance(occurred, datetime) and follow_up < occurred.date():
        problems["next_follow_up"] = _l("The next follow-up cannot be before the attempt.")
    return problems


def need_closing_problems(status: str, note: str | None) -> dict[str, str]:
    """A need closes only as met, withdrawn by the client, or client unreachable — always with a note."""
    problems: dict[str, Any] = {}
    if status not in CLOSING_STATUSES:
        problems["status"] = _l("Choose met, withdrawn by the client, or client unreachable.")
    if not (note or "").strip():
        problems["note"] = _l("Write a note on why the need is closed.")
    return problems


# --- consent ---------------------------------------------------------------------------------------


class ConsentLike(Protocol):
    organization_id: str | None
    category: str | None
    fields: Sequence[str]
    purpose: str
    valid_from: date
    valid_until: date | None
    revoked_at: datetime | None


def consent_in_force(consent: ConsentLike, on: date) -> bool:
    if consent.revoked_at is not None or on < consent.valid_from:
        return False
    return consent.valid_until is None or on <= consent.valid_until


def consent_covers(consent: ConsentLike, organization_id: str, service_codes: Iterable[str], on: date) -> bool:
    """Does the consent let this organization (or a service of this kind) receive data for a referral on ``on``?

    ``service_codes`` are the service's taxonomy codes with their ancestors, so a consent for "drug
    treatment" covers a methadone clinic.
    """
    if not consent_in_force(consent, on) or consent.purpose not in ("referral", "emergency"):
        return False
    if consent.organization_id is not None:
        return consent.organization_id == organization_id
    return consent.category is not None and consent.category in set(service_codes)


def may_be_under(birth_year: int | None, age: int, today: date) -> bool:
    """Could a client born in ``birth_year`` be younger than ``age`` today? (Unknown year: no way to tell.)"""
    return birth_year is not None and today.year - birth_year - 1 < age


def consent_problems(values: Mapping[str, Any], birth_year: int | None, today: date) -> dict[str, str]:
    """What is wrong with a consent's values; a client who may be under 14 needs a guardian's consent."""
    problems: dict[str, Any] = {}
    if bool(values.get("organization_id")) == bool(values.get("category")):
        problems["scope"] = _l("Choose one organization or one kind of service.")
    fields = values.get("fields") or []
    if not fields or any(f not in CONSENT_FIELDS for f in fields):
        problems["fields"] = _l("Choose at least one kind of information to share.")
    if values.get("purpose") not in PURPOSES:
        problems["purpose"] = _l("Choose the purpose.")
    start, end = values.get("valid_from"), values.get("valid_until")
    if not isinstance(start, date):
        problems["valid_from"] = _l("Enter the date from which the consent holds.")
    elif end is not None and end < start:
        problems["valid_until"] = _l("The end date cannot be before the start date.")
    if may_be_under(birth_year, GUARDIAN_AGE, today):
        if values.get("given_by") != "guardian" or not (values.get("guardian_name") or "").strip():
            problems["guardian_name"] = _l(
                "The client may be under 14: a parent or guardian must give consent. Enter their name."
            )
    elif values.get("given_by") == "guardian" and not (values.get("guardian_name") or "").strip():
        problems["guardian_name"] = _l("Enter the guardian's name.")
    return problems


def shared_fields(consent_fields: Iterable[str] | None) -> frozenset[str]:
    """The client fields an agency may see under a consent: the consented ones, nothing else."""
    return frozenset(f for f in (consent_fields or ()) if f in CONSENT_FIELDS)


# --- consent overrides -------------------------------------------------------------------------------

OVERRIDE_MAX_DAYS = 30  # default of the OVERRIDE_MAX_DAYS setting


class OverrideLike(Protocol):
    fields: Sequence[str]
    expires_on: date
    revoked_at: datetime | None


class _Labels:
    """Consent fields named in the reader's language when the message is shown (not when it is made)."""

    def __init__(self, fields: Sequence[str]):
        self.fields = list(fields)

    def __str__(self) -> str:
        return "、".join(str(CONSENT_FIELD_LABELS.get(f, f)) for f in self.fields)


def refused_fields(consents: Iterable[ConsentLike], withheld: Iterable[str] | None = None) -> frozenset[str]:
    """The sensitive fields the client has refused to share: those of every consent they revoked, and those
    they asked never to share (``Client.withheld_fields``). No override may include one."""
    refused = {f for c in consents if c.revoked_at is not None for f in (c.fields or ())}
    refused |= set(withheld or ())
    return frozenset(refused & set(SENSITIVE_FIELDS))


def override_problems(
    values: Mapping[str, Any], refused: Iterable[str], today: date, max_days: int = OVERRIDE_MAX_DAYS
) -> dict[str, Any]:
    """What is wrong with a consent override: a legal basis from the list, a written reason, at least one
    field, none the client refused, and an end date from today to ``max_days`` days ahead."""
    problems: dict[str, Any] = {}
    if values.get("legal_basis") not in LEGAL_BASES:
        problems["override_legal_basis"] = _l("Choose the legal basis for sharing without consent.")
    if not (values.get("reason") or "").strip():
        problems["consent_override_reason"] = _l("Write why the client's information must be shared without consent.")
    fields = list(values.get("fields") or [])
    refused_here = sorted(set(fields) & set(refused))
    if refused_here:
        problems["override_fields"] = _l(
            "The client refused to share this sensitive information; an override cannot include it: %(fields)s",
            fields=_Labels(refused_here),
        )
    elif not shared_fields(fields):
        problems["override_fields"] = _l("Choose what the agency may see.")
    expires = values.get("expires_on")
    if not isinstance(expires, date) or isinstance(expires, datetime):
        problems["override_expires_on"] = _l("Enter the last day the override holds.")
    elif expires < today:
        problems["override_expires_on"] = _l("The override cannot end before today.")
    elif expires > today + timedelta(days=max_days):
        problems["override_expires_on"] = _l(
            "An override holds at most %(days)s days; record the client's consent for longer.", days=max_days
        )
    return problems


def override_in_force(override: OverrideLike, today: date) -> bool:
    """An override holds until the end of its last day, unless revoked."""
    return override.revoked_at is None and today <= override.expires_on


def override_shared_fields(override: OverrideLike | None, refused: Iterable[str], today: date) -> frozenset[str]:
    """What an agency may see under an override now: its fields while it holds, never one the client refused
    (also one refused after the override was made)."""
    if override is None or not override_in_force(override, today):
        return frozenset()
    return shared_fields(override.fields) - frozenset(refused)


def agency_answer_blocked(status: str, need_status: str, answer: str) -> str | None:
    """Why the receiving agency may not give this answer now, or None: "closed" once the need is closed or
    the service delivered; "answered" for accept or decline after the referral was accepted or refused, and
    for delivered after a refusal (the answer stands; the caseworker records a change of mind)."""
    if need_status != "open" or status == "delivered":
        return "closed"
    if status == "refused" or (status == "accepted" and answer in ("accept", "decline")):
        return "answered"
    return None
