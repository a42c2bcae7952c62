"""Referrals end to end: clients, consent, referrals, attempts, agency answers, keep trying, follow-ups.

Real seeded SQLite file and Whoosh index per test; requests through the app as a browser sends them.
"""

from __future__ import annotations

import inspect
import re
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from directory.accounts.audit import AuditEvent
from directory.catalog.models import Schedule, Service
from directory.catalog.services import local_today
from directory.extensions import db
from directory.models_base import id_from_key, utcnow
from directory.referrals import rules, services
from directory.referrals.guards import AppendOnlyError
from directory.referrals.models import REFUSAL_REASONS, REFUSERS, Attempt, Client, Need, Referral, Refusal
from tests.conftest import login, post

MMT = "m-brain-hospital-mmt"  # 广州医科大学附属脑科医院 methadone clinic; the demo agency's organization


def service(key: str) -> Service:
    return db.session.get(Service, id_from_key("service", key))


def attempt_form(**overrides) -> dict:
    now = datetime.now(UTC) + timedelta(hours=8)  # the form is in Guangzhou time
    values = {
        "occurred_at": now.strftime("%Y-%m-%dT%H:%M"),
        "channel": "phone",
        "party": "provider",
        "outcome": "no_answer",
        "refused_by": "",
        "refusal_reason": "",
        "note": "",
        "next_follow_up": "",
    }
    return {**values, **overrides}


@pytest.fixture
def world(seeded_app, make_user):
    """A caseworker's client (A from DOMAIN.md) with a methadone need, consent for the brain hospital."""
    mmt = service(MMT)
    owner = make_user("caseworker", username="owner")
    users = SimpleNamespace(
        owner=owner,
        other_caseworker=make_user("caseworker", username="other-cw"),
        agency=make_user("agency_staff", organization_id=mmt.organization_id, username="mmt-staff"),
        other_agency=make_user(
            "agency_staff", organization_id=service("s-andun-security-guard").organization_id, username="guard-staff"
        ),
        manager=make_user("manager", username="boss"),
        admin=make_user("admin", username="root"),
    )
    client = services.create_client(
        owner,
        {
            "display_name": "阿芳",
            "birth_year": 1999,
            "sex": "female",
            "phone": "020-0000-9001",
            "district": "越秀区",
            "address": "北京路",
        },
        {
            "substances": ["opioids"],
            "rehab_status": "community_detox",
            "has_children": True,
            "youngest_child_age": 2,
            "hiv_status": "negative",
        },
    )
    need = services.add_need(client, "methadone-clinic", "美沙酮维持治疗", owner)
    consent = services.record_consent(
        client,
        {
            "organization_id": mmt.organization_id,
            "fields": ["name", "age_sex", "phone", "need"],
            "purpose": "referral",
            "valid_from": local_today() - timedelta(days=1),
        },
        owner,
        local_today(),
    )
    referral = services.create_referral(client, need, mmt, None, owner, local_today())
    db.session.commit()
    return SimpleNamespace(users=users, client=client, need=need, consent=consent, referral=referral, mmt=mmt)


def counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Client, Need, Referral, Attempt)
    }


# --- the whole lifecycle -----------------------------------------------------------------------------


def test_lifecycle_refusals_alternatives_agency_answer_and_closing(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    ref = world.referral

    # 1. No answer, then the provider refuses (stigma: HIV).
    assert post(caseworker, f"/referrals/{ref.id}/attempts", attempt_form()).status_code == 302
    refusal = attempt_form(outcome="refused", refused_by="provider", refusal_reason="stigma_hiv", note="说名额满了")
    page = post(caseworker, f"/referrals/{ref.id}/attempts", refusal, follow_redirects=True).get_data(as_text=True)
    assert ref.status == "refused" and ref.attempt_count == 2
    assert world.need.status == "open"  # a refusal never closes the need
    # 2. The referral page offers the next resources: other methadone clinics, never this one.
    alternatives = re.findall(r"/referrals/new\?[^\"]*service=([0-9a-f-]{36})", page)
    assert alternatives and world.mmt.id not in alternatives
    assert all("methadone-clinic" in services.service_codes(db.session.get(Service, s)) for s in alternatives)

    # 3. One click to the referral form, a second to send it (consent: drug treatment in general).
    next_service = db.session.get(Service, alternatives[0])
    post(
        caseworker,
        f"/clients/{world.client.id}/consents/new",
        {
            "scope": "category",
            "category": "drug-treatment",
            "organization_id": "",
            "fields": ["name", "phone", "need"],
            "purpose": "referral",
            "valid_from": local_today().isoformat(),
            "given_by": "client",
        },
    )
    link = re.search(r'href="(/referrals/new\?[^"]*service=' + next_service.id + r'[^"]*)"', page).group(1)
    form_page = caseworker.get(link.replace("&amp;", "&"))
    assert form_page.status_code == 200
    sent = post(caseworker, link.replace("&amp;", "&"), {"need_id": world.need.id, "location_id": ""})
    assert sent.status_code == 302
    second = db.session.scalar(select(Referral).where(Referral.service_id == next_service.id))
    assert second.need_id == world.need.id and second.status == "sent"

    # 4. The agency of the first referral still sees it, refused; the second agency accepts in its inbox.
    staff = make_agency_client(seeded_app, next_service)
    inbox = staff.get("/inbox").get_data(as_text=True)
    assert second.id in inbox and "阿芳" in inbox
    assert post(staff, f"/referrals/{second.id}/answer", {"answer": "accept"}).status_code == 302
    assert second.status == "accepted"
    shown = caseworker.get(f"/clients/{world.client.id}").get_data(as_text=True)
    assert "status-accepted" in shown  # the caseworker sees it at once
    assert post(staff, f"/referrals/{second.id}/answer", {"answer": "delivered"}).status_code == 302
    assert second.status == "delivered"
    last = second.attempts[-1]
    assert (last.channel, last.party, last.outcome) == ("lianjie", "provider", "service_delivered")

    # 5. Close the need as met, with a note.
    assert (
        post(caseworker, f"/needs/{world.need.id}/close", {"status": "met", "note": "第二家门诊接收"}).status_code
        == 302
    )
    assert world.need.status == "met" and world.need.closing_note == "第二家门诊接收"


def make_agency_client(app, svc: Service):
    from directory.accounts.services import create_user

    username = f"staff-{svc.organization_id[:8]}"
    create_user(username, "blue-heron-river-42", "agency_staff", organization_id=svc.organization_id)
    db.session.commit()
    staff = app.test_client()
    login(staff, username)
    return staff


@pytest.mark.parametrize("refused_by", REFUSERS)
@pytest.mark.parametrize("reason", REFUSAL_REASONS)
def test_each_refusal_party_and_reason_is_recorded(world, refused_by, reason):
    values = {
        "occurred_at": utcnow(),
        "channel": "visit",
        "party": refused_by,
        "outcome": "refused",
        "refused_by": refused_by,
        "refusal_reason": reason,
        "note": "原因详情",
    }
    attempt = services.record_attempt(world.referral, values, world.users.owner)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Attempt, attempt.id)
    assert (stored.refused_by, stored.refusal_reason, stored.referral.status) == (refused_by, reason, "refused")


def test_a_refusal_without_who_or_why_is_refused_and_nothing_is_written(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    before = counts()
    response = post(
        caseworker, f"/referrals/{world.referral.id}/attempts", attempt_form(outcome="refused", note="保留我")
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "保留我" in body  # what was typed is kept
    assert counts() == before


def test_agency_decline_needs_a_reason_and_is_logged_as_a_provider_refusal(seeded_app, world):
    staff = seeded_app.test_client()
    login(staff, "mmt-staff")
    assert post(staff, f"/referrals/{world.referral.id}/answer", {"answer": "decline"}).status_code == 400
    assert world.referral.attempts == []
    post(
        staff, f"/referrals/{world.referral.id}/answer", {"answer": "decline", "reason": "no_capacity", "note": "满员"}
    )
    attempt = world.referral.attempts[-1]
    assert (attempt.outcome, attempt.refused_by, attempt.refusal_reason) == ("refused", "provider", "no_capacity")


def test_corrections_are_new_entries_and_the_old_one_stays(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    post(
        caseworker,
        f"/referrals/{world.referral.id}/attempts",
        attempt_form(outcome="refused", refused_by="client", refusal_reason="cost"),
    )
    wrong = world.referral.attempts[0]
    form = caseworker.get(f"/referrals/{world.referral.id}?correct={wrong.id}").get_data(as_text=True)
    assert f'value="{wrong.id}"' in form  # the correction form points at the attempt
    post(caseworker, f"/referrals/{world.referral.id}/attempts", attempt_form(outcome="accepted", corrects_id=wrong.id))
    db.session.expire_all()
    log = world.referral.attempts
    assert [a.outcome for a in log] == ["refused", "accepted"]
    assert log[1].corrects_id == wrong.id and world.referral.status == "accepted"
    assert world.referral.attempt_count == 1
    # The same attempt cannot be corrected twice (correct the correction instead).
    again = post(caseworker, f"/referrals/{world.referral.id}/attempts", attempt_form(corrects_id=wrong.id))
    assert again.status_code == 400 and len(world.referral.attempts) == 2


def test_the_referral_keeps_what_the_reports_read_in_step_with_its_attempts(seeded_app, world):
    """The cached attempt facts, the standing refusals with the referral's dimensions, the need's status."""
    referral = world.referral
    assert (referral.category, referral.need_status) == ("methadone-clinic", "open")
    assert (referral.caseworker_id, referral.district) == (world.users.owner.id, "越秀区")  # no location: the client's
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    url = f"/referrals/{referral.id}/attempts"
    post(caseworker, url, attempt_form(outcome="refused", refused_by="provider", refusal_reason="no_capacity"))
    post(caseworker, url, attempt_form(outcome="refused", refused_by="family", refusal_reason="cost"))
    db.session.expire_all()
    refusals = db.session.scalars(select(Refusal).where(Refusal.referral_id == referral.id).order_by(Refusal.id))
    rows = [(r.refused_by, r.refusal_reason, r.service_id, r.category, r.district) for r in refusals]
    assert rows == [
        ("provider", "no_capacity", world.mmt.id, "methadone-clinic", "越秀区"),
        ("family", "cost", world.mmt.id, "methadone-clinic", "越秀区"),
    ]
    first = referral.attempts[0]
    post(caseworker, url, attempt_form(outcome="no_answer", corrects_id=first.id))  # it was no refusal after all
    post(caseworker, url, attempt_form(outcome="service_delivered"))
    db.session.expire_all()
    assert [r.refused_by for r in db.session.scalars(select(Refusal).where(Refusal.referral_id == referral.id))] == [
        "family"
    ]
    assert referral.status == "delivered" and referral.attempt_count == 3
    assert referral.delivered_at_attempt == 3 and referral.refused_before_delivery is True
    assert referral.accepted_at == referral.delivered_at == referral.attempts[-1].occurred_at
    assert post(caseworker, f"/needs/{world.need.id}/close", {"status": "met", "note": "在服药"}).status_code == 302
    db.session.expire_all()
    assert referral.need_status == "met"


# --- attempts and the audit log are append-only ------------------------------------------------------


def test_attempts_cannot_be_changed_or_deleted(world):
    attempt = services.record_attempt(
        world.referral,
        {"occurred_at": utcnow(), "channel": "sms", "party": "client", "outcome": "left_message"},
        world.users.owner,
    )
    db.session.commit()
    attempt.outcome = "accepted"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(attempt)
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    for statement in (
        "UPDATE outreach_attempt SET outcome = 'accepted'",
        "DELETE FROM outreach_attempt",
        "UPDATE audit_event SET action = 'x'",
        "DELETE FROM audit_event",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.get(Attempt, attempt.id).outcome == "left_message"


def test_no_route_edits_or_deletes_an_attempt(seeded_app):
    for rule in seeded_app.url_map.iter_rules():
        if "attempt" in rule.rule:
            assert rule.methods - {"HEAD", "OPTIONS"} == {"POST"}, rule
            assert rule.endpoint == "referrals.add_attempt"
    import directory.referrals.services as module

    names = [n for n in dir(module) if "attempt" in n.lower() and inspect.isfunction(getattr(module, n))]
    assert names == ["record_attempt"]


# --- consent gate --------------------------------------------------------------------------------------


def _new_need(world, category="methadone-clinic"):
    need = services.add_need(world.client, category, "另一个需求", world.users.owner)
    db.session.commit()
    return need


def test_referral_without_consent_is_refused_with_a_clear_message(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    other = service("m-skin-institute-mmt")  # no consent for this organization
    before = counts()
    page = caseworker.get(f"/referrals/new?service={other.id}&need={world.need.id}").get_data(as_text=True)
    assert "没有涵盖该机构的有效同意书" in page  # the UI speaks Chinese by default
    response = post(
        caseworker, f"/referrals/new?service={other.id}", {"need_id": world.need.id, "consent_override_reason": "紧急"}
    )
    assert response.status_code == 400
    assert counts() == before
    assert "只有督导可以在没有案主同意的情况下转介" in response.get_data(as_text=True)


def test_admin_may_override_missing_consent_with_a_recorded_reason(seeded_app, world):
    admin = seeded_app.test_client()
    login(admin, "root")
    other = service("m-skin-institute-mmt")
    no_reason = post(admin, f"/referrals/new?service={other.id}", {"need_id": world.need.id})
    assert no_reason.status_code == 400
    response = post(
        admin,
        f"/referrals/new?service={other.id}",
        {
            "need_id": world.need.id,
            "consent_override_reason": "案主昏迷，需紧急转介",
            "override_legal_basis": "vital_interests",
            "override_fields": ["name"],
            "override_expires_on": (local_today() + timedelta(days=7)).isoformat(),
        },
    )
    assert response.status_code == 302
    referral = db.session.scalar(select(Referral).where(Referral.service_id == other.id))
    assert referral.consent_id is None and referral.consent_override_reason == "案主昏迷，需紧急转介"
    assert referral.override_fields == ["name"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.object_id == referral.id))
    assert event.detail["consent_override"] is True and event.username == "root"


def test_revoked_or_expired_consent_no_longer_covers_and_hides_the_client_from_the_agency(seeded_app, world):
    staff = seeded_app.test_client()
    login(staff, "mmt-staff")
    assert "020-0000-9001" in staff.get(f"/referrals/{world.referral.id}").get_data(as_text=True)
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    assert post(caseworker, f"/consents/{world.consent.id}/revoke", {"note": "案主撤回"}).status_code == 302
    shown = staff.get(f"/referrals/{world.referral.id}").get_data(as_text=True)
    assert "020-0000-9001" not in shown and "阿芳" not in shown
    need = _new_need(world)
    with pytest.raises(services.ReferralError) as refused:
        services.create_referral(world.client, need, world.mmt, None, world.users.owner, local_today())
    assert refused.value.problems["consent"] == "no_consent"


def test_agency_sees_only_the_consented_fields(seeded_app, world):
    staff = seeded_app.test_client()
    login(staff, "mmt-staff")
    page = staff.get(f"/referrals/{world.referral.id}").get_data(as_text=True)
    assert "阿芳" in page and "020-0000-9001" in page and "1999" in page
    assert "北京路" not in page  # address not consented
    assert "阿片" not in page and "Opioids" not in page  # drug use not consented
    assert "HIV" not in page


def test_consent_for_a_child_needs_a_guardian(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    child = services.create_client(
        world.users.owner, {"display_name": "小雨", "birth_year": local_today().year - 12}, {}
    )
    db.session.commit()
    form = {
        "scope": "category",
        "category": "child-protection",
        "fields": ["name"],
        "purpose": "referral",
        "valid_from": local_today().isoformat(),
        "given_by": "client",
        "guardian_name": "",
    }
    response = post(caseworker, f"/clients/{child.id}/consents/new", form)
    assert response.status_code == 400 and child.consents == []
    assert "14" in response.get_data(as_text=True)
    form.update(given_by="guardian", guardian_name="外婆", guardian_relation="外祖母")
    assert post(caseworker, f"/clients/{child.id}/consents/new", form).status_code == 302
    assert child.consents[0].guardian_name == "外婆"


# --- eligibility confirmation ------------------------------------------------------------------------


def test_referring_an_ineligible_client_asks_for_a_reason_and_records_it(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    guard = service("s-andun-security-guard")  # excludes people with a drug history
    need = _new_need(world, "employment")
    services.record_consent(
        world.client,
        {"category": "employment", "fields": ["name"], "purpose": "referral", "valid_from": local_today()},
        world.users.owner,
        local_today(),
    )
    db.session.commit()
    page = caseworker.get(f"/referrals/new?service={guard.id}&need={need.id}").get_data(as_text=True)
    assert "不符合" in page
    assert post(caseworker, f"/referrals/new?service={guard.id}", {"need_id": need.id}).status_code == 400
    assert (
        post(
            caseworker,
            f"/referrals/new?service={guard.id}",
            {"need_id": need.id, "eligibility_override_reason": "岗位离家近，先沟通"},
        ).status_code
        == 302
    )
    referral = db.session.scalar(select(Referral).where(Referral.service_id == guard.id))
    assert referral.eligibility_status == "ineligible"
    assert referral.eligibility_override_reason == "岗位离家近，先沟通"


# --- keep trying: alternatives -----------------------------------------------------------------------


def test_alternatives_never_offer_a_service_that_refused_and_rank_eligible_and_nearer_first(world):
    need = _new_need(world, "financial-aid")
    services.record_consent(
        world.client,
        {"category": "financial-aid", "fields": ["name"], "purpose": "referral", "valid_from": local_today()},
        world.users.owner,
        local_today(),
    )
    first = services.alternatives(need, world.client, local_today(), limit=40)
    refused_service = first[0].service
    referral = services.create_referral(world.client, need, refused_service, None, world.users.owner, local_today())
    services.record_attempt(
        referral,
        {
            "occurred_at": utcnow(),
            "channel": "phone",
            "party": "provider",
            "outcome": "refused",
            "refused_by": "provider",
            "refusal_reason": "stigma_drug",
        },
        world.users.owner,
    )
    db.session.commit()
    found = services.alternatives(need, world.client, local_today(), limit=40)
    assert refused_service.id not in {a.service.id for a in found}
    statuses = [a.verdict.status for a in found]
    assert len(set(statuses)) >= 2
    order = {"eligible": 0, "unknown": 1, "ineligible": 2}
    assert [order[s] for s in statuses] == sorted(order[s] for s in statuses)
    for status in set(statuses):
        distances = [a.distance_km for a in found if a.verdict.status == status and a.distance_km is not None]
        assert distances == sorted(distances)
    assert all("financial-aid" in services.service_codes(a.service) for a in found)


# --- follow-up queue -------------------------------------------------------------------------------------


def test_follow_up_queue_due_overdue_and_stale(seeded_app, world):
    owner = world.users.owner
    today = local_today()
    made = {}
    for name, (follow, idle_days) in {
        "overdue": (today - timedelta(days=2), 3),  # set by an attempt three days ago
        "today": (today, 1),
        "later": (today + timedelta(days=3), 1),
        "stale": (None, 14),
        "fresh": (None, 13),
    }.items():
        need = services.add_need(world.client, "employment", name, owner)
        services.record_consent(
            world.client,
            {
                "category": "employment",
                "fields": ["name"],
                "purpose": "referral",
                "valid_from": today - timedelta(days=30),
            },
            owner,
            today,
        )
        svc = service("s-yuewei-kitchen-helper")
        referral = services.create_referral(world.client, need, svc, None, owner, today)
        moment = utcnow() - timedelta(days=idle_days)
        referral.created_at = referral.last_activity_at = moment
        services.record_attempt(
            referral,
            {
                "occurred_at": moment,
                "channel": "phone",
                "party": "provider",
                "outcome": "call_back_later",
                "next_follow_up": follow,
            },
            owner,
            now=moment,
        )
        made[name] = referral
    other_client = services.create_client(world.users.other_caseworker, {"display_name": "别人的案主"}, {})
    services.add_need(other_client, "employment", "不该出现", world.users.other_caseworker)
    db.session.commit()

    queue = services.follow_up_queue(owner, today)
    assert [r.id for r in queue.overdue] == [made["overdue"].id]
    assert [r.id for r in queue.today] == [made["today"].id]
    assert made["stale"].id in {r.id for r in queue.stale}
    assert made["fresh"].id not in {r.id for r in queue.stale}
    assert all(n.client.owner_id == owner.id for n in queue.needs_without_referral)

    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    page = caseworker.get("/followups").get_data(as_text=True)
    assert "不该出现" not in page and "14" in page
    # Closing the need takes its referrals off the queue.
    services.close_need(made["overdue"].need, "withdrawn", "案主不再需要", owner)
    db.session.commit()
    assert services.follow_up_queue(owner, today).overdue == []


# --- need closing ----------------------------------------------------------------------------------------


def test_a_need_closes_only_with_an_allowed_outcome_and_a_note(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    url = f"/needs/{world.need.id}/close"
    assert post(caseworker, url, {"status": "met", "note": ""}).status_code == 400
    assert post(caseworker, url, {"status": "refused", "note": "x"}).status_code == 400
    assert world.need.status == "open"
    assert post(caseworker, url, {"status": "unreachable", "note": "电话停机"}).status_code == 302
    assert world.need.status == "unreachable"
    assert post(caseworker, url, {"status": "met", "note": "again"}).status_code == 400
    assert world.need.status == "unreachable"


# --- client record: conflict, no-store, audit -----------------------------------------------------------


def test_two_people_editing_one_client_the_second_gets_a_conflict(seeded_app, world):
    first, second = seeded_app.test_client(), seeded_app.test_client()
    login(first, "owner")
    login(second, "root")
    url = f"/clients/{world.client.id}/edit"
    version = re.search(r'name="version" type="hidden" value="(\d+)"', first.get(url).get_data(as_text=True)).group(1)
    second.get(url)
    form = {
        "display_name": "阿芳",
        "birth_year": "1999",
        "sex": "female",
        "phone": "020-0000-9001",
        "district": "越秀区",
        "address": "北京路",
        "version": version,
    }
    assert post(first, url, {**form, "phone": "020-0000-1111"}).status_code == 302
    response = post(second, url, {**form, "address": "中山五路"})
    assert response.status_code == 409
    assert "中山五路" in response.get_data(as_text=True)  # what they typed is kept
    db.session.expire_all()
    assert world.client.phone == "020-0000-1111" and world.client.address == "北京路"


def test_client_pages_are_not_cached_and_every_view_is_audited(seeded_app, world):
    caseworker = seeded_app.test_client()
    caseworker.environ_base["REMOTE_ADDR"] = "10.1.2.3"  # a login is bound to its address
    login(caseworker, "owner")
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = caseworker.get(f"/clients/{world.client.id}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before + 1
    assert (event.username, event.action, event.client_id, event.ip) == ("owner", "view", world.client.id, "10.1.2.3")


def test_printable_list_has_names_addresses_hours_and_documents(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    extra = service("m-skin-institute-mmt")
    extra.schedules.append(Schedule(freq="MONTHLY", byday="-1FR", opens_at=time(14), closes_at=time(16)))
    db.session.commit()
    page = caseworker.get(f"/clients/{world.client.id}/print?service={world.mmt.id}&service={extra.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    for svc in (world.mmt, extra):
        assert svc.name in body and svc.organization.name in body
        location = svc.service_at_locations[0].location
        assert (location.address_1 or location.name) in body
    assert "每天 07:00–11:30, 14:30–17:00" in body and "星期一" not in body  # weekly hours condensed
    assert "每月最后一个星期五：14:00–16:00" in body  # hours that recur monthly are printed too
    docs = [d.document for d in world.mmt.required_documents]
    assert all(d in body for d in docs)
    assert "print.css" in body and 'lang="zh-CN"' in body
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.action == "print"


# --- demo data -----------------------------------------------------------------------------------------


def test_demo_clients_cover_every_status_and_success_after_two_refusals(seeded_app, make_user):
    from directory.referrals.seed import load_demo_clients
    from tests.conftest import SEED_DIR

    make_user("caseworker", username="demo-caseworker")
    errors: list[str] = []
    assert load_demo_clients(SEED_DIR / "clients.yaml", errors, local_today()) == 5
    assert errors == []
    db.session.commit()
    statuses = set(db.session.scalars(select(Referral.status)))
    assert statuses == {"sent", "in_progress", "accepted", "waitlisted", "needs_documents", "refused", "delivered"}
    a = db.session.scalar(select(Client).where(Client.seed_key == "demo-client-a"))
    job = next(n for n in a.needs if n.category == "employment")
    assert [r.status for r in job.referrals] == ["refused", "refused", "delivered"] and job.status == "met"
    assert load_demo_clients(SEED_DIR / "clients.yaml", errors, local_today()) == 0  # loading again adds nothing


def test_a_date_in_the_form_is_guangzhou_time(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    post(caseworker, f"/referrals/{world.referral.id}/attempts", attempt_form(occurred_at="2026-11-01T09:30"))
    assert world.referral.attempts[0].occurred_at == datetime(2026, 11, 1, 1, 30, tzinfo=UTC)


# --- the client's situation, search for a client, two clicks to refer ---------------------------------


def test_client_form_records_the_situation_and_keeps_input_on_error(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    bad = post(caseworker, "/clients/new", {"display_name": "小芳", "f_age": "300", "f_sex": "female"})
    assert bad.status_code == 400 and 'value="小芳"' in bad.get_data(as_text=True)
    assert db.session.scalar(select(Client).where(Client.display_name == "小芳")) is None
    good = post(
        caseworker,
        "/clients/new",
        {
            "display_name": "小芳",
            "address": "体育西路",
            "f_age": "27",
            "f_sex": "female",
            "f_district": "天河区",
            "f_substances": ["opioids"],
            "f_rehab_status": "community_detox",
            "f_hiv_status": "negative",
        },
    )
    assert good.status_code == 302
    client = db.session.scalar(select(Client).where(Client.display_name == "小芳"))
    assert (client.birth_year, client.sex, client.district) == (local_today().year - 27, "female", "天河区")
    assert client.facts == {"substances": ["opioids"], "rehab_status": "community_detox", "hiv_status": "negative"}
    assert client.latitude is not None  # 体育西路 resolved by the offline gazetteer
    page = caseworker.get(f"/clients/{client.id}").get_data(as_text=True)
    assert page.count("badge-sensitive") == 3  # drug use, rehabilitation status, HIV status


def test_search_for_a_client_uses_their_facts_and_place_and_refers_in_two_clicks(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    employment = services.add_need(world.client, "employment", "找工作", world.users.owner)
    services.record_consent(
        world.client,
        {"category": "employment", "fields": ["name"], "purpose": "referral", "valid_from": local_today()},
        world.users.owner,
        local_today(),
    )
    db.session.commit()
    page = caseworker.get(f"/clients/{world.client.id}/search?need={employment.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "阿芳" in body and "verdict-" in body  # her eligibility, from her record
    assert "km" in body  # distances from her place (北京路)
    guard = service("s-andun-security-guard")  # excludes drug use: she is not eligible
    hidden = caseworker.get(f"/clients/{world.client.id}/search?need={employment.id}&hide_ineligible=1")
    assert guard.name not in hidden.get_data(as_text=True)
    # Click 1: the "Refer" link of a result she is eligible for; click 2: send.
    card = next(c for c in body.split('<li class="card">') if "verdict-eligible" in c and "/referrals/new" in c)
    link = re.search(r'href="(/referrals/new\?[^"]+)"', card).group(1).replace("&amp;", "&")
    assert f"need={employment.id}" in link and f"client={world.client.id}" in link
    assert caseworker.get(link).status_code == 200
    service_id = re.search(r"service=([0-9a-f-]{36})", link).group(1)
    sent = post(caseworker, link, {"need_id": employment.id})
    assert sent.status_code == 302
    assert db.session.scalar(select(Referral).where(Referral.need_id == employment.id)).service_id == service_id


def test_another_caseworkers_client_cannot_be_searched_for(seeded_app, world):
    other = seeded_app.test_client()
    login(other, "other-cw")
    assert other.get(f"/clients/{world.client.id}/search").status_code == 403


def test_the_old_client_search_and_service_addresses_redirect_to_the_clients_pages(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    guard = service("s-andun-security-guard")
    cid = world.client.id
    old_search = caseworker.get(f"/search?q=保安&client={cid}&need={world.need.id}&page=2")
    assert old_search.status_code == 308
    assert old_search.headers["Location"] == f"/clients/{cid}/search?q=%E4%BF%9D%E5%AE%89&need={world.need.id}&page=2"
    old_service = caseworker.get(f"/services/{guard.id}?client={cid}")
    assert old_service.status_code == 308 and old_service.headers["Location"] == f"/clients/{cid}/services/{guard.id}"
    followed = caseworker.get(f"/services/{guard.id}?client={cid}", follow_redirects=True)
    assert followed.status_code == 200 and "阿芳" in followed.get_data(as_text=True)
    assert caseworker.get("/search?q=保安&client=").status_code == 200  # an empty client: the plain search
    # The search for a client links to her pages, never to the old addresses.
    body = caseworker.get(f"/clients/{cid}/search?q=美沙酮").get_data(as_text=True)
    assert f'href="/clients/{cid}/services/{world.mmt.id}"' in body
    assert f'action="/clients/{cid}/search"' in body and f"/clients/{cid}/search?q=" in body  # form, sort links
    assert not re.search(r'"/(search|services/[^"?]+)\?[^"]*client=', body)


def test_views_of_a_client_from_search_and_service_pages_are_audited(seeded_app, world):
    caseworker, other = seeded_app.test_client(), seeded_app.test_client()
    login(caseworker, "owner")
    login(other, "other-cw")
    guard = service("s-andun-security-guard")
    cid = world.client.id

    def rows(action: str) -> int:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.client_id == cid)
        return db.session.scalar(query.where(AuditEvent.action == action))

    views, denied = rows("view"), rows("denied")
    assert caseworker.get(f"/clients/{cid}/search?q=保安").status_code == 200
    assert caseworker.get(f"/clients/{cid}/services/{guard.id}").status_code == 200
    assert other.get(f"/clients/{cid}/services/{guard.id}").status_code == 403
    assert seeded_app.test_client().get(f"/clients/{cid}/search").status_code == 403  # not logged in
    assert (rows("view"), rows("denied")) == (views + 2, denied + 1)


def test_service_page_offers_refer_to_caseworkers_only(seeded_app, world):
    url = f"/services/{world.mmt.id}"
    caseworker, staff = seeded_app.test_client(), seeded_app.test_client()
    login(caseworker, "owner")
    login(staff, "mmt-staff")
    assert f"/referrals/new?service={world.mmt.id}" in caseworker.get(url).get_data(as_text=True)
    assert "/referrals/new" not in staff.get(url).get_data(as_text=True)
    assert "/inbox" in staff.get(url).get_data(as_text=True)  # the agency's inbox is in its menu


def test_the_need_page_lets_the_worker_choose_what_to_print(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    page = caseworker.get(f"/needs/{world.need.id}").get_data(as_text=True)
    choices = re.findall(r'name="service" value="([0-9a-f-]{36})"( checked)?', page)
    assert (world.mmt.id, " checked") in choices  # the referred service, ticked
    unticked = [sid for sid, checked in choices if not checked]
    assert unticked  # the alternatives, to add
    printed = caseworker.get(f"/clients/{world.client.id}/print?service={unticked[0]}").get_data(as_text=True)
    assert db.session.get(Service, unticked[0]).name in printed
    assert world.mmt.organization.name not in printed  # only what was chosen


def test_demo_dates_count_back_in_guangzhou_days(seeded_app, make_user):
    from zoneinfo import ZoneInfo

    from directory.referrals.seed import load_demo_clients
    from tests.conftest import SEED_DIR

    make_user("caseworker", username="demo-caseworker")
    late_evening_utc = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # already 24 November in Guangzhou
    today = late_evening_utc.astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert load_demo_clients(SEED_DIR / "clients.yaml", [], today, now=late_evening_utc) == 5
    db.session.commit()
    b = db.session.scalar(select(Client).where(Client.seed_key == "demo-client-b"))
    methadone = next(r for r in b.referrals if r.need.category == "methadone-clinic")  # referred 4 days ago
    shown = methadone.created_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (shown.date(), shown.hour, shown.minute) == (today - timedelta(days=4), 10, 30)


def test_a_result_opened_from_a_client_search_shows_that_clients_eligibility(seeded_app, world):
    caseworker, other = seeded_app.test_client(), seeded_app.test_client()
    login(caseworker, "owner")
    login(other, "other-cw")
    guard = service("s-andun-security-guard")  # excludes drug use
    page = caseworker.get(f"/clients/{world.client.id}/services/{guard.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "阿芳" in body and "verdict-ineligible" in body
    assert other.get(f"/clients/{world.client.id}/services/{guard.id}").status_code == 403



def test_an_accepted_referral_gets_a_follow_up_to_check_delivery(seeded_app, world):
    """The agency accepts (no date of its own): a week later the caseworker is due to check that the
    service was delivered, and the referral shows in the follow-up queue that day."""
    staff = seeded_app.test_client()
    login(staff, "mmt-staff")
    assert post(staff, f"/referrals/{world.referral.id}/answer", {"answer": "accept"}).status_code == 302
    due = local_today() + timedelta(days=7)
    assert world.referral.status == "accepted" and world.referral.next_follow_up == due
    queue = services.follow_up_queue(world.users.owner, due)
    assert world.referral in queue.today
    # A date the caseworker gives stands; a refusal sets none of its own.
    evening, morning = datetime(2026, 3, 1, 17, 0, tzinfo=UTC), datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    guangzhou = ZoneInfo("Asia/Shanghai")
    assert rules.delivery_check("accepted", evening, None, guangzhou) == date(2026, 3, 9)  # 01:00 on the 2nd there
    assert rules.delivery_check("accepted", morning, date(2026, 3, 4)) == date(2026, 3, 4)
    assert rules.delivery_check("refused", morning, None) is None
