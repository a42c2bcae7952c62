"""Referral business logic: clients, needs, consent, referrals, attempts, the agency's answers.

Functions here flush but never commit: the route commits once, so each change is one transaction.
Bad input raises :class:`ReferralError` carrying field → message, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import selectinload

from directory.accounts.audit import audit
from directory.accounts.permissions import can_override_consent
from directory.catalog.models import Location, Service, ServiceAtLocation, TaxonomyTerm
from directory.clock import local_today, local_zone
from directory.database import lock_for_write
from directory.eligibility.rules import INELIGIBLE, Verdict, evaluate
from directory.extensions import db
from directory.geo.geocoder import GeoResult, resolve_for_app
from directory.models_base import utcnow
from directory.referrals import notices, rules
from directory.referrals.models import (
    REFERRAL_DIMENSIONS,
    Attempt,
    Client,
    Consent,
    ConsentOverride,
    Need,
    Referral,
    Refusal,
)
from directory.search import services as search_service

CLIENT_FIELDS = ("display_name", "birth_year", "sex", "phone", "district", "address", "withheld_fields")


class ReferralError(ValueError):
    """Input that cannot be saved: ``problems`` maps a form field (or "form") to a message."""

    def __init__(self, problems: Mapping[str, Any]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


# --- clients -------------------------------------------------------------------------------------


def client_facts(client: Client) -> dict[str, Any]:
    """The client's eligibility facts, in the evaluator's vocabulary (absent = unknown)."""
    facts = {k: v for k, v in (client.facts or {}).items() if v is not None}
    for name in ("birth_year", "sex", "district"):
        value = getattr(client, name)
        if value is not None and value != "":
            facts[name] = value
    return facts


def _locate(client: Client) -> None:
    """Resolve the address (else the district) to the client's "near" point for search."""
    client.latitude = client.longitude = client.place_name = None
    for text in (client.address, client.district):
        if not text:
            continue
        place = resolve_for_app(text)
        if place.resolved:
            client.latitude, client.longitude, client.place_name = place.latitude, place.longitude, place.name
            return


def client_place(client: Client) -> GeoResult | None:
    if client.latitude is None or client.longitude is None:
        return None
    return GeoResult(
        query=client.place_name or "",
        resolved=True,
        name=client.place_name,
        latitude=client.latitude,
        longitude=client.longitude,
        district=client.district,
        kind="point",
        source="client",
    )


def create_client(owner, values: Mapping[str, Any], facts: Mapping[str, Any]) -> Client:
    client = Client(owner_id=owner.id, facts=dict(facts))
    for name in CLIENT_FIELDS:
        setattr(client, name, values.get(name))
    _locate(client)
    db.session.add(client)
    db.session.flush()
    audit("create", "client", client.id, client.id, user=owner)
    return client


def update_client(client: Client, values: Mapping[str, Any], facts: Mapping[str, Any], user) -> list[str]:
    """Apply the form's values; returns the names of what changed (recorded in the audit row, not the values)."""
    changed = [name for name in CLIENT_FIELDS if getattr(client, name) != values.get(name)]
    for name in changed:
        setattr(client, name, values.get(name))
    if dict(client.facts or {}) != dict(facts):
        old = client.facts or {}
        changed += sorted({k for k in set(old) | set(facts) if old.get(k) != facts.get(k)})
        client.facts = dict(facts)
    if {"address", "district"} & set(changed):
        _locate(client)
    if changed:
        client.updated_at = utcnow()
        db.session.flush()
        audit("update", "client", client.id, client.id, {"changed": changed}, user=user)
    return changed


# --- needs ---------------------------------------------------------------------------------------


def add_need(client: Client, category: str, goal: str, user) -> Need:
    problems = {}
    if db.session.scalar(select(TaxonomyTerm.id).where(TaxonomyTerm.code == category)) is None:
        problems["category"] = _l("Choose a kind of help from the list.")
    if not (goal or "").strip():
        problems["goal"] = _l("Write the goal.")
    if problems:
        raise ReferralError(problems)
    need = Need(client=client, category=category, goal=goal.strip())
    db.session.add(need)
    db.session.flush()
    audit("create", "need", need.id, client.id, {"category": category}, user=user)
    return need


def close_need(need: Need, status: str, note: str | None, user) -> None:
    lock_for_write(need)
    if need.status != "open":
        raise ReferralError({"status": _l("This need is already closed.")})
    problems = rules.need_closing_problems(status, note)
    if problems:
        raise ReferralError(problems)
    need.status = status
    db.session.execute(update(Referral).where(Referral.need_id == need.id).values(need_status=status))
    need.closing_note = (note or "").strip()
    need.closed_at = utcnow()
    need.closed_by_id = user.id
    db.session.flush()
    audit("update", "need", need.id, need.client_id, {"closed": status}, user=user)


# --- consent -------------------------------------------------------------------------------------


def record_consent(client: Client, values: Mapping[str, Any], user, today: date) -> Consent:
    problems = rules.consent_problems(values, client.birth_year, today)
    if problems:
        raise ReferralError(problems)
    consent = Consent(
        client=client,
        organization_id=values.get("organization_id") or None,
        category=values.get("category") or None,
        fields=list(values["fields"]),
        purpose=values["purpose"],
        valid_from=values["valid_from"],
        valid_until=values.get("valid_until"),
        given_by=values.get("given_by") or "client",
        guardian_name=(values.get("guardian_name") or "").strip() or None,
        guardian_relation=(values.get("guardian_relation") or "").strip() or None,
        recorded_by_id=user.id,
    )
    db.session.add(consent)
    db.session.flush()
    audit("create", "consent", consent.id, client.id, {"fields": consent.fields}, user=user)
    return consent


def revoke_consent(consent: Consent, note: str | None, user) -> None:
    lock_for_write(consent)
    if consent.revoked_at is not None:
        raise ReferralError({"form": _l("This consent was already revoked.")})
    consent.revoked_at = utcnow()
    consent.revoked_by_id = user.id
    consent.revocation_note = (note or "").strip() or None
    db.session.flush()
    audit("update", "consent", consent.id, consent.client_id, {"revoked": True}, user=user)


def service_codes(service: Service) -> set[str]:
    """The service's taxonomy codes with all their ancestors."""
    codes: set[str] = set()
    for term in service.taxonomy_terms:
        node: TaxonomyTerm | None = term
        while node is not None:
            codes.add(node.code)
            node = node.parent
    return codes


def find_consent(client: Client, service: Service, today: date) -> Consent | None:
    codes = service_codes(service)
    for consent in sorted(client.consents, key=lambda c: c.created_at, reverse=True):
        if rules.consent_covers(consent, service.organization_id, codes, today):
            return consent
    return None


def refused_fields(client: Client) -> frozenset[str]:
    """The sensitive fields this client refused to share (revoked consents, fields withheld)."""
    return rules.refused_fields(client.consents, client.withheld_fields)


def visible_fields(referral: Referral, today: date) -> frozenset[str]:
    """What the receiving agency may see of the client now: the consent's fields while it is in force, or
    the override's while it holds (not expired, not revoked), less any sensitive field the client refused."""
    if referral.consent is not None:
        in_force = rules.consent_in_force(referral.consent, today)
        return rules.shared_fields(referral.consent.fields) if in_force else frozenset()
    return rules.override_shared_fields(referral.override, refused_fields(referral.client), today)


def basis_ended(referral: Referral, today: date) -> str | None:
    """Why the agency may no longer act on this referral, or None: "consent" when the consent it was made
    under was revoked or has ended, "override" when the override expired or was revoked (or was never
    recorded)."""
    if referral.consent is not None:
        return None if rules.consent_in_force(referral.consent, today) else "consent"
    if referral.override is None or not rules.override_in_force(referral.override, today):
        return "override"
    return None


def override_max_days() -> int:
    return int(current_app.config.get("OVERRIDE_MAX_DAYS", rules.OVERRIDE_MAX_DAYS))


def revoke_override(override: ConsentOverride, note: str | None, user) -> None:
    """End an override now (the caseworker who owns the client, or an admin); a note is required."""
    lock_for_write(override)
    if override.revoked_at is not None:
        raise ReferralError({"form": _l("This override was already revoked.")})
    if not (note or "").strip():
        raise ReferralError({"note": _l("Write why the override is revoked.")})
    override.revoked_at = utcnow()
    override.revoked_by_id = user.id
    override.revocation_note = note.strip()
    db.session.flush()
    audit(
        "update",
        "consent_override",
        override.id,
        override.client_id,
        {"revoked": True, "referral_id": override.referral_id},
        user=user,
    )


# --- referrals -----------------------------------------------------------------------------------


@dataclass
class ReferralCheck:
    """What stands between a client, a need and a service: consent and eligibility."""

    consent: Consent | None
    verdict: Verdict
    problems: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_consent_override(self) -> bool:
        return self.consent is None

    @property
    def needs_eligibility_confirmation(self) -> bool:
        return self.verdict.status == INELIGIBLE


def check_referral(client: Client, need: Need | None, service: Service, today: date) -> ReferralCheck:
    problems: dict[str, Any] = {}
    if need is None or need.client_id != client.id:
        problems["need_id"] = _l("Choose one of the client's open needs.")
    elif need.status != "open":
        problems["need_id"] = _l("This need is closed.")
    if service.status != "active":
        problems["form"] = _l("This service is not active.")
    elif not service.accepting_referrals:
        problems["form"] = _l("This service is not accepting referrals at the moment.")
    if need is not None and any(
        r.service_id == service.id and r.status in rules.ACTIVE_STATUSES for r in need.referrals
    ):
        problems["form"] = _l("This client already has an open referral to this service for this need.")
    verdict = evaluate(service.eligibility_rules or [], client_facts(client), today)
    return ReferralCheck(find_consent(client, service, today), verdict, problems)


def create_referral(
    client: Client,
    need: Need | None,
    service: Service,
    location: Location | None,
    user,
    today: date,
    *,
    consent_override_reason: str | None = None,
    override_fields: Iterable[str] = (),
    override_legal_basis: str | None = None,
    override_expires_on: date | None = None,
    eligibility_override_reason: str | None = None,
) -> Referral:
    """Refer the client's need to a service: refused without consent (unless overridden by a role allowed
    to, on a legal basis with a written reason, for fields the client has not refused, until a date at most
    OVERRIDE_MAX_DAYS ahead), and confirmed with a reason when the client is ineligible."""
    if need is not None:
        lock_for_write(need)  # two referrals to one service for one need must not both pass the check
    check = check_referral(client, need, service, today)
    problems = dict(check.problems)
    if location is not None and location.id not in {sal.location_id for sal in service.service_at_locations}:
        problems["location_id"] = _l("This location does not offer the service.")
    reason = (consent_override_reason or "").strip()
    override_fields = list(override_fields or ())
    if check.consent is None:
        if not reason and not override_legal_basis:
            problems["consent"] = "no_consent"
        elif not can_override_consent(user):
            problems["consent"] = "override_not_allowed"
        else:
            override_values = {
                "legal_basis": override_legal_basis,
                "reason": reason,
                "fields": override_fields,
                "expires_on": override_expires_on,
            }
            problems.update(
                rules.override_problems(override_values, refused_fields(client), today, override_max_days())
            )
    elif reason:
        reason = ""  # a consent covers it: nothing to override
    confirm = (eligibility_override_reason or "").strip()
    if check.needs_eligibility_confirmation and not confirm:
        problems["eligibility"] = "ineligible"
    if problems:
        raise ReferralError(problems)
    assert need is not None
    referral = Referral(
        client=client,
        need=need,
        service_id=service.id,
        location_id=location.id if location is not None else None,
        organization_id=service.organization_id,
        created_by_id=user.id,
        consent_id=check.consent.id if check.consent is not None else None,
        consent_override_reason=reason or None,
        override_fields=sorted(rules.shared_fields(override_fields)) if reason else None,
        eligibility_status=check.verdict.status,
        eligibility_override_reason=confirm if check.needs_eligibility_confirmation else None,
        status="sent",
        last_activity_at=utcnow(),
        attempt_count=0,
        category=need.category,
        need_status=need.status,
        caseworker_id=client.owner_id,
        district=(location.district if location is not None else None) or client.district,
        demo=bool(client.demo),
    )
    db.session.add(referral)
    db.session.flush()
    detail = {"service_id": service.id, "need_id": need.id}
    if reason:
        detail["consent_override"] = True
        override = ConsentOverride(
            referral=referral,
            client_id=client.id,
            organization_id=service.organization_id,
            legal_basis=override_legal_basis,
            reason=reason,
            fields=sorted(rules.shared_fields(override_fields)),
            granted_by_id=user.id,
            granted_at=utcnow(),
            expires_on=override_expires_on,
        )
        db.session.add(override)
        db.session.flush()
        audit(
            "create",
            "consent_override",
            override.id,
            client.id,
            {
                "referral_id": referral.id,
                "organization_id": override.organization_id,
                "legal_basis": override.legal_basis,
                "fields": override.fields,
                "expires_on": override.expires_on.isoformat(),
            },
            user=user,
        )
    if referral.eligibility_override_reason:
        detail["eligibility_override"] = True
    audit("create", "referral", referral.id, client.id, detail, user=user)
    notices.referral_made(referral)
    return referral


def record_attempt(referral: Referral, values: Mapping[str, Any], user, now: datetime | None = None) -> Attempt:
    """Append an attempt (or a correction of one) and refresh the referral's cached status."""
    lock_for_write(referral)  # the number and the status follow from the attempts as they stand now
    now = now or utcnow()
    zone = local_zone()
    problems = rules.attempt_problems(values, now, zone)
    corrects_id = values.get("corrects_id") or None
    if corrects_id:
        target = next((a for a in referral.attempts if a.id == corrects_id), None)
        if target is None:
            problems["corrects_id"] = _l("The attempt to correct is not part of this referral.")
        elif any(a.corrects_id == corrects_id for a in referral.attempts):
            problems["corrects_id"] = _l("That attempt was already corrected; correct the correction instead.")
    if problems:
        raise ReferralError(problems)
    number = (db.session.scalar(select(func.max(Attempt.number)).where(Attempt.referral_id == referral.id)) or 0) + 1
    outcome = values["outcome"]
    refused = outcome == "refused"
    attempt = Attempt(
        referral=referral,
        number=number,
        occurred_at=values["occurred_at"],
        recorded_at=now,
        actor_id=user.id,
        channel=values["channel"],
        party=values["party"],
        outcome=values["outcome"],
        refused_by=values.get("refused_by") if refused else None,
        refusal_reason=values.get("refusal_reason") if refused else None,
        note=(values.get("note") or "").strip() or None,
        next_follow_up=rules.delivery_check(outcome, values["occurred_at"], values.get("next_follow_up"), zone),
        corrects_id=corrects_id,
        demo=bool(referral.demo),
    )
    db.session.add(attempt)
    db.session.flush()
    for name, value in vars(rules.summarize_attempts(referral.attempts)).items():
        setattr(referral, name, value)
    _keep_refusals(referral)
    referral.last_activity_at = max(now, referral.last_activity_at)
    db.session.flush()
    audit(
        "create",
        "attempt",
        attempt.id,
        referral.client_id,
        {"referral_id": referral.id, "outcome": attempt.outcome, "corrects": corrects_id},
        user=user,
    )
    return attempt


def _keep_refusals(referral: Referral) -> None:
    """Rewrite the referral's rows in referral_refusal: its standing refusals, for the reports."""
    db.session.execute(delete(Refusal).where(Refusal.referral_id == referral.id))
    for attempt in rules.standing_refusals(referral.attempts):
        db.session.add(
            Refusal(
                referral_id=referral.id,
                attempt_id=attempt.id,
                refused_by=attempt.refused_by,
                refusal_reason=attempt.refusal_reason,
                **{name: getattr(referral, name) for name in REFERRAL_DIMENSIONS},
            )
        )


AGENCY_ANSWERS = {"accept": "accepted", "decline": "refused", "delivered": "service_delivered"}


ANSWER_BLOCKED_MESSAGES = {
    "closed": _l("This referral is closed: the service was delivered or the client's need was closed."),
    "answered": _l("Your organization already answered this referral. Contact the caseworker to change the answer."),
}


class AnswerBlocked(ReferralError):
    """The agency's answer is refused: the referral is closed, or already answered (``rules.agency_answer_blocked``)."""

    def __init__(self, why: str):
        super().__init__({"form": ANSWER_BLOCKED_MESSAGES[why]})
        self.why = why


class BasisEnded(ReferralError):
    """The agency's answer is refused: the consent (or override) the referral was made under has ended."""

    def __init__(self, why: str):
        super().__init__({"form": why})
        self.why = why


def agency_answer(
    referral: Referral, answer: str, reason: str | None, note: str | None, user, today: date | None = None
) -> Attempt:
    """The receiving agency accepts, declines (a reason is required) or marks the service delivered — only
    while the consent or override the referral was made under stands (``BasisEnded`` otherwise)."""
    if answer not in AGENCY_ANSWERS:
        raise ReferralError({"answer": _l("Choose accept, decline or delivered.")})
    # Read the referral and what it was made under again under the write lock: a revocation that commits
    # first is seen here, and one that comes after waits for this answer.
    lock_for_write(referral, *[x for x in (referral.consent, referral.override) if x is not None])

    why = basis_ended(referral, today or local_today())
    if why is not None:
        raise BasisEnded(why)
    blocked = rules.agency_answer_blocked(referral.status, referral.need_status, answer)
    if blocked is not None:
        raise AnswerBlocked(blocked)
    values: dict[str, Any] = {
        "occurred_at": utcnow(),
        "channel": "lianjie",
        "party": "provider",
        "outcome": AGENCY_ANSWERS[answer],
        "note": note,
    }
    if answer == "decline":
        values.update(refused_by="provider", refusal_reason=reason)
    attempt = record_attempt(referral, values, user)
    notices.answer_given(referral, attempt.outcome)
    return attempt


# --- keep trying ---------------------------------------------------------------------------------


@dataclass
class Alternative:
    service: Service
    location_id: str | None
    distance_km: float | None
    verdict: Verdict

    @property
    def rank(self) -> tuple:
        order = {"eligible": 0, "unknown": 1, "ineligible": 2}[self.verdict.status]
        return (order, self.distance_km if self.distance_km is not None else float("inf"), self.service.name)


def _category_services(need: Need, client: Client, limit: int) -> list[tuple[str, str | None, float | None]]:
    """(service id, location id, distance) for services of the need's kind, nearest to the client first."""
    place = client_place(client)
    found: list[tuple[str, str | None, float | None]] = []
    for radius in (10.0, 50.0, 200.0) if place else (None,):
        params = search_service.SearchParams(
            category=need.category, radius_km=radius, near="client" if place else "", per_page=limit
        )
        result = search_service.search(params, place=place)
        found = [(h.service_id, h.location_id or None, h.distance_km) for h in result.hits]
        if len(found) >= limit or result.total <= len(found):
            break
    return found


def alternatives(need: Need, client: Client, today: date, limit: int = 8) -> list[Alternative]:
    """The next resources to try for a need: same kind of help, never one that refused this need or one
    already referred, eligible first, then unknown, then ineligible; nearer first within each."""
    skip = {r.service_id for r in need.referrals if r.status == "refused" or r.status in rules.ACTIVE_STATUSES}
    candidates = [c for c in _category_services(need, client, limit=60) if c[0] not in skip]
    services = {
        s.id: s
        for s in db.session.scalars(
            select(Service)
            .where(Service.id.in_([c[0] for c in candidates]), Service.status == "active")
            .options(selectinload(Service.organization), selectinload(Service.taxonomy_terms))
        )
    }
    facts = client_facts(client)
    found = [
        Alternative(services[sid], loc, dist, evaluate(services[sid].eligibility_rules or [], facts, today))
        for sid, loc, dist in candidates
        if sid in services and services[sid].accepting_referrals
    ]
    return sorted(found, key=lambda a: a.rank)[:limit]


@dataclass
class FollowUps:
    overdue: list[Referral]
    today: list[Referral]
    stale: list[Referral]
    needs_without_referral: list[Need]


def owned_referrals(user) -> Select:
    query = select(Referral).join(Need, Referral.need_id == Need.id).where(Need.status == "open")
    if user.role != "admin":
        query = query.join(Client, Referral.client_id == Client.id).where(Client.owner_id == user.id)
    return query.options(
        selectinload(Referral.client),
        selectinload(Referral.service).selectinload(Service.organization),
        selectinload(Referral.need),
    )


def follow_up_queue(user, today: date, now: datetime | None = None) -> FollowUps:
    """A worker's follow-ups: overdue, due today, stale (14 days without activity), and open needs that
    have nothing in progress — every one of them a reason to try again."""
    now = now or utcnow()
    due = db.session.scalars(
        owned_referrals(user).where(Referral.next_follow_up <= today).order_by(Referral.next_follow_up)
    ).all()
    stale = db.session.scalars(
        owned_referrals(user)
        .where(Referral.status.in_(rules.ACTIVE_STATUSES), Referral.last_activity_at <= now - rules.STALE_AFTER)
        .order_by(Referral.last_activity_at)
    ).all()
    needs_query = (
        select(Need).where(Need.status == "open").options(selectinload(Need.referrals), selectinload(Need.client))
    )
    if user.role != "admin":
        needs_query = needs_query.join(Client).where(Client.owner_id == user.id)
    idle_needs = [
        n
        for n in db.session.scalars(needs_query.order_by(Need.created_at))
        if not any(r.status in rules.ACTIVE_STATUSES for r in n.referrals)
    ]
    return FollowUps(
        overdue=[r for r in due if rules.follow_up_bucket(r.next_follow_up, today) == "overdue"],
        today=[r for r in due if rules.follow_up_bucket(r.next_follow_up, today) == "today"],
        stale=list(stale),
        needs_without_referral=idle_needs,
    )


def inbox_query(organization_id: str, status: str | None = None) -> Select:
    query = (
        select(Referral)
        .where(Referral.organization_id == organization_id)
        .options(
            selectinload(Referral.client),
            selectinload(Referral.need),
            selectinload(Referral.service),
            selectinload(Referral.consent),
            selectinload(Referral.override),
        )
        .order_by(Referral.created_at.desc())
    )
    if status:
        query = query.where(Referral.status == status)
    return query


def printable_services(client: Client, service_ids: Iterable[str]) -> list[tuple[Service, list[Location]]]:
    """The chosen services with the locations that matter: a referred location, else all active ones."""
    ids = list(dict.fromkeys(service_ids))
    services = {
        s.id: s
        for s in db.session.scalars(
            select(Service)
            .where(Service.id.in_(ids))
            .options(
                selectinload(Service.organization),
                selectinload(Service.service_at_locations).selectinload(ServiceAtLocation.location),
                selectinload(Service.schedules),
                selectinload(Service.schedule_exceptions),
                selectinload(Service.required_documents),
            )
        )
    }
    referred = {r.service_id: r.location_id for r in client.referrals if r.location_id}
    chosen = []
    for sid in ids:
        service = services.get(sid)
        if service is None:
            continue
        locations = [sal.location for sal in service.service_at_locations if sal.location.active]
        if sid in referred:
            locations = [loc for loc in locations if loc.id == referred[sid]] or locations
        chosen.append((service, locations))
    return chosen


def default_print_selection(client: Client) -> list[str]:
    """Services of the client's referrals still in play (or delivered), newest first."""
    keep = rules.ACTIVE_STATUSES | {"delivered"}
    return [
        r.service_id for r in sorted(client.referrals, key=lambda r: r.created_at, reverse=True) if r.status in keep
    ]


def days_since(moment: datetime, now: datetime | None = None) -> int:
    return max(0, ((now or utcnow()) - moment) // timedelta(days=1))
