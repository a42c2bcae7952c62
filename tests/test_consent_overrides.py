"""Consent overrides that cannot outlive consent (issue 16, item 4).

An admin's referral without the client's consent needs a legal basis and a written reason, can never add a
sensitive field the client refused, ends on a date (at most OVERRIDE_MAX_DAYS ahead), can be revoked by
the client's caseworker or an admin, is shown on the referral and client pages and stored as its own row
with audit events. The agency sees its fields only while it holds, and cannot change its answer on a
referral whose consent was revoked or whose override ended.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from directory.accounts.audit import AuditEvent
from directory.catalog.services import local_today
from directory.extensions import db
from directory.models_base import utcnow
from directory.referrals import models, rules, services
from directory.referrals.models import Attempt, Referral
from tests.conftest import login, post
from tests.test_referrals import counts, service, world  # noqa: F401  (the shared fixture)


def _override_form(world, **extra) -> dict:  # noqa: F811
    return {
        "need_id": world.need.id,
        "consent_override_reason": "案主昏迷，需紧急转介",
        "override_legal_basis": "vital_interests",
        "override_fields": ["name", "phone"],
        "override_expires_on": (local_today() + timedelta(days=7)).isoformat(),
        **extra,
    }


def _revoked_consent_with_hiv(world) -> None:  # noqa: F811
    """The client consented to the methadone clinic seeing her HIV status, then revoked that consent."""
    consent = services.record_consent(
        world.client,
        {
            "organization_id": world.mmt.organization_id,
            "fields": ["name", "phone", "hiv", "substance_use"],
            "purpose": "referral",
            "valid_from": local_today() - timedelta(days=3),
        },
        world.users.owner,
        local_today(),
    )
    services.revoke_consent(world.consent, "案主撤回", world.users.owner)
    services.revoke_consent(consent, "案主撤回", world.users.owner)
    db.session.commit()


def _overridden_referral(world, fields=("name", "phone"), days=7) -> Referral:  # noqa: F811
    """An admin's referral of a second need to the skin institute's methadone clinic, without consent."""
    need = services.add_need(world.client, "methadone-clinic", "另一个需求", world.users.owner)
    referral = services.create_referral(
        world.client,
        need,
        service("m-skin-institute-mmt"),
        None,
        world.users.admin,
        local_today(),
        consent_override_reason="案主昏迷，需紧急转介",
        override_fields=fields,
        override_legal_basis="vital_interests",
        override_expires_on=local_today() + timedelta(days=days),
    )
    db.session.commit()
    return referral


def _staff_of(app, referral: Referral):
    from directory.accounts.services import create_user

    username = f"staff-{referral.organization_id[:8]}"
    create_user(username, "blue-heron-river-42", "agency_staff", organization_id=referral.organization_id)
    db.session.commit()
    staff = app.test_client()
    login(staff, username)
    return staff


# --- the case ------------------------------------------------------------------------------------


def test_an_override_after_revocation_cannot_add_the_hiv_status_she_refused(seeded_app, world):  # noqa: F811
    """The reported case: consent revoked, then an admin's override with HIV status. Refused, nothing sent."""
    _revoked_consent_with_hiv(world)
    need = services.add_need(world.client, "methadone-clinic", "重新转介", world.users.owner)
    db.session.commit()
    admin = seeded_app.test_client()
    login(admin, "root")
    before = counts()
    url = f"/referrals/new?service={world.mmt.id}&client={world.client.id}"
    response = post(admin, url, _override_form(world, need_id=need.id, override_fields=["name", "hiv"]))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "案主拒绝分享这些敏感信息" in page and "艾滋病" in page
    assert counts() == before
    assert db.session.scalar(select(func.count()).select_from(models.ConsentOverride)) == 0
    # Drug use was in the revoked consent too; name and phone were not sensitive: those may go.
    assert (
        post(admin, url, _override_form(world, need_id=need.id, override_fields=["substance_use"])).status_code == 400
    )
    assert post(admin, url, _override_form(world, need_id=need.id)).status_code == 302
    referral = db.session.scalar(select(Referral).where(Referral.need_id == need.id))
    assert referral.override.fields == ["name", "phone"]


def test_an_override_needs_a_legal_basis_a_reason_and_an_end_within_the_limit(seeded_app, world):  # noqa: F811
    admin = seeded_app.test_client()
    login(admin, "root")
    other = service("m-skin-institute-mmt")
    url = f"/referrals/new?service={other.id}"
    form_page = admin.get(f"{url}&need={world.need.id}").get_data(as_text=True)
    assert "法律依据" in form_page and "第十三条第四项" in form_page
    default_end = (local_today() + timedelta(days=30)).isoformat()
    assert f'value="{default_end}"' in form_page  # the default end: 30 days
    before = counts()
    bad = [
        {"override_legal_basis": ""},
        {"override_legal_basis": "because"},
        {"consent_override_reason": "   ", "override_legal_basis": "legal_duty"},
        {"override_expires_on": ""},
        {"override_expires_on": (local_today() - timedelta(days=1)).isoformat()},
        {"override_expires_on": (local_today() + timedelta(days=31)).isoformat()},
        {"override_expires_on": "2026-02-30"},
        {"override_fields": []},
    ]
    for change in bad:
        response = post(admin, url, _override_form(world, **change))
        assert response.status_code == 400, change
    assert counts() == before
    assert db.session.scalar(select(func.count()).select_from(models.ConsentOverride)) == 0
    seeded_app.config["OVERRIDE_MAX_DAYS"] = 60  # configurable
    longer = (local_today() + timedelta(days=45)).isoformat()
    assert post(admin, url, _override_form(world, override_expires_on=longer)).status_code == 302


def test_an_override_is_its_own_row_with_an_audit_event(seeded_app, world):  # noqa: F811
    admin = seeded_app.test_client()
    login(admin, "root")
    other = service("m-skin-institute-mmt")
    ends = local_today() + timedelta(days=10)
    response = post(
        admin,
        f"/referrals/new?service={other.id}",
        _override_form(world, override_legal_basis="authority_order", override_expires_on=ends.isoformat()),
    )
    assert response.status_code == 302
    referral = db.session.scalar(select(Referral).where(Referral.service_id == other.id))
    override = referral.override
    assert (override.legal_basis, override.reason, override.fields, override.expires_on) == (
        "authority_order",
        "案主昏迷，需紧急转介",
        ["name", "phone"],
        ends,
    )
    assert override.granted_by.username == "root" and override.client_id == world.client.id
    assert override.organization_id == other.organization_id and override.revoked_at is None
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.object_type == "consent_override", AuditEvent.object_id == override.id)
    )
    assert event.action == "create" and event.username == "root" and event.client_id == world.client.id
    assert event.detail["legal_basis"] == "authority_order" and event.detail["expires_on"] == ends.isoformat()


def test_a_field_the_client_withholds_is_never_in_an_override_nor_shown_under_an_older_one(seeded_app, world):  # noqa: F811
    referral = _overridden_referral(world, fields=("name", "substance_use", "hiv"))
    staff = _staff_of(seeded_app, referral)
    page = staff.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "阿芳" in page and "阴性" in page  # HIV status: negative
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    edit = caseworker.get(f"/clients/{world.client.id}/edit").get_data(as_text=True)
    assert 'name="withheld_fields"' in edit
    data = {
        "display_name": "阿芳",
        "phone": "020-0000-9001",
        "address": "北京路",
        "version": str(world.client.version),
        "withheld_fields": ["hiv"],
        "birth_year": "1999",
        "sex": "female",
        "district": "越秀区",
    }
    assert post(caseworker, f"/clients/{world.client.id}/edit", data).status_code == 302
    assert world.client.withheld_fields == ["hiv"]
    page = staff.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "阿芳" in page and "阴性" not in page  # withheld from now on, also under the older override
    with seeded_app.test_request_context(), pytest.raises(services.ReferralError) as refused:
        _overridden_referral(world, fields=("name", "hiv"))
    assert "override_fields" in refused.value.problems


# --- expiry and revocation ------------------------------------------------------------------------------


def test_the_agency_sees_an_override_only_until_it_expires_and_then_cannot_answer(seeded_app, world):  # noqa: F811
    referral = _overridden_referral(world, days=0)  # holds today only
    assert services.visible_fields(referral, local_today()) == {"name", "phone"}
    assert services.visible_fields(referral, local_today() + timedelta(days=1)) == frozenset()
    staff = _staff_of(seeded_app, referral)
    assert "020-0000-9001" in staff.get(f"/referrals/{referral.id}").get_data(as_text=True)
    db.session.execute(
        update(models.ConsentOverride)
        .where(models.ConsentOverride.id == referral.override.id)
        .values(expires_on=local_today() - timedelta(days=1))
    )
    db.session.commit()
    page = staff.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "020-0000-9001" not in page and "阿芳" not in page
    assert "020-0000-9001" not in staff.get("/inbox").get_data(as_text=True)
    attempts = db.session.scalar(select(func.count()).select_from(Attempt))
    response = post(staff, f"/referrals/{referral.id}/answer", {"answer": "accept"})
    assert response.status_code == 409
    assert "已过期或被撤销" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == attempts


def test_the_caseworker_revokes_an_override_with_a_note_and_the_agency_loses_it(seeded_app, world):  # noqa: F811
    referral = _overridden_referral(world)
    override_id = referral.override.id
    staff = _staff_of(seeded_app, referral)
    assert "020-0000-9001" in staff.get(f"/referrals/{referral.id}").get_data(as_text=True)
    url = f"/overrides/{override_id}/revoke"
    for name in ("other-cw", "mmt-staff", "boss"):
        outsider = seeded_app.test_client()
        login(outsider, name)
        assert post(outsider, url, {"note": "不需要了"}).status_code == 403
    assert post(staff, url, {"note": "不需要了"}).status_code == 403  # not even the receiving agency
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    no_note = post(caseworker, url, {"note": "  "})
    assert no_note.status_code == 400 and db.session.get(models.ConsentOverride, override_id).revoked_at is None
    assert post(caseworker, url, {"note": "案主已清醒，可以自己决定"}).status_code == 302
    override = db.session.get(models.ConsentOverride, override_id)
    assert override.revoked_by.username == "owner" and override.revocation_note == "案主已清醒，可以自己决定"
    event = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "consent_override", AuditEvent.object_id == override_id)
        .order_by(AuditEvent.id.desc())
    ).first()
    assert (event.action, event.username, event.detail["revoked"]) == ("update", "owner", True)
    denied = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "denied", AuditEvent.object_type == "consent_override")
    )
    assert denied == 4
    assert "020-0000-9001" not in staff.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert post(staff, f"/referrals/{referral.id}/answer", {"answer": "accept"}).status_code == 409
    assert post(caseworker, url, {"note": "再撤一次"}).status_code == 400  # already revoked
    admin = seeded_app.test_client()  # an admin may revoke too
    login(admin, "root")
    second = _overridden_referral(world)
    assert post(admin, f"/overrides/{second.override.id}/revoke", {"note": "督导撤销"}).status_code == 302


def test_the_override_is_shown_on_the_referral_and_client_pages(seeded_app, world):  # noqa: F811
    referral = _overridden_referral(world)
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    for url in (f"/referrals/{referral.id}", f"/clients/{world.client.id}"):
        page = caseworker.get(url).get_data(as_text=True)
        assert "越过同意" in page, url
        assert "紧急情况下为保护自然人的生命健康和财产安全所必需" in page  # the basis
        assert "案主昏迷，需紧急转介" in page  # the reason
        assert world.users.admin.display_name in page  # who
        assert "有效至" in page and "有效" in page
    page = caseworker.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert f"/overrides/{referral.override.id}/revoke" in page


# --- the agency cannot change its answer once consent is withdrawn --------------------------------------


def test_the_agency_cannot_flip_a_delivered_referral_after_the_consent_is_revoked(seeded_app, world):  # noqa: F811
    staff = seeded_app.test_client()
    login(staff, "mmt-staff")
    assert post(staff, f"/referrals/{world.referral.id}/answer", {"answer": "delivered"}).status_code == 302
    assert world.referral.status == "delivered"
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    assert post(caseworker, f"/consents/{world.consent.id}/revoke", {"note": "案主撤回"}).status_code == 302
    attempts = db.session.scalar(select(func.count()).select_from(Attempt))
    denied_before = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "denied"))
    for answer in ({"answer": "decline", "reason": "no_capacity"}, {"answer": "decline"}, {"answer": "delivered"}):
        response = post(staff, f"/referrals/{world.referral.id}/answer", answer)
        assert response.status_code == 409, answer
        page = response.get_data(as_text=True)
        assert "案主已撤回这次转介所依据的同意" in page and "阿芳" not in page
    db.session.expire_all()
    assert world.referral.status == "delivered"
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == attempts
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied").order_by(AuditEvent.id)).all()[
        denied_before:
    ]
    assert [(e.username, e.object_id, e.detail["basis_ended"]) for e in events] == [
        ("mmt-staff", world.referral.id, "consent")
    ] * 3
    page = staff.get(f"/referrals/{world.referral.id}").get_data(as_text=True)
    assert "不能再更改答复" in page and 'value="decline"' not in page


# --- the rules --------------------------------------------------------------------------------------------


def _consent(fields, revoked=False):
    from types import SimpleNamespace

    return SimpleNamespace(fields=fields, revoked_at=utcnow() if revoked else None)


def test_refused_fields_are_the_sensitive_ones_of_revoked_consents_and_those_withheld():
    consents = [_consent(["name", "hiv"], revoked=True), _consent(["substance_use", "phone"])]
    assert rules.refused_fields(consents) == {"hiv"}
    assert rules.refused_fields(consents, ["health", "name"]) == {"hiv", "health"}
    assert rules.refused_fields([]) == frozenset()


def test_override_problems_and_what_an_override_shares():
    from types import SimpleNamespace

    today = date(2026, 12, 6)
    good = {"legal_basis": "legal_duty", "reason": "法院要求", "fields": ["name"], "expires_on": today}
    assert rules.override_problems(good, set(), today) == {}
    assert set(rules.override_problems({**good, "fields": ["hiv"]}, {"hiv"}, today)) == {"override_fields"}
    assert set(rules.override_problems({**good, "expires_on": today + timedelta(days=31)}, set(), today)) == {
        "override_expires_on"
    }
    assert rules.override_problems({**good, "expires_on": today + timedelta(days=31)}, set(), today, 31) == {}
    assert set(rules.override_problems({**good, "expires_on": datetime(2026, 12, 6)}, set(), today)) == {
        "override_expires_on"
    }
    assert set(rules.override_problems({}, set(), today)) == {
        "override_legal_basis",
        "consent_override_reason",
        "override_fields",
        "override_expires_on",
    }
    override = SimpleNamespace(fields=["name", "hiv"], expires_on=today, revoked_at=None)
    assert rules.override_shared_fields(override, set(), today) == {"name", "hiv"}
    assert rules.override_shared_fields(override, {"hiv"}, today) == {"name"}
    assert rules.override_shared_fields(override, set(), today + timedelta(days=1)) == frozenset()
    override.revoked_at = utcnow()
    assert rules.override_shared_fields(override, set(), today) == frozenset()
    assert rules.override_shared_fields(None, set(), today) == frozenset()


def test_a_referral_without_consent_or_override_row_shows_nothing(seeded_app, world):  # noqa: F811
    """Fail closed: an override the migration could not carry over (no row) shares nothing."""
    referral = _overridden_referral(world)
    db.session.delete(referral.override)
    db.session.commit()
    db.session.expire_all()
    referral = db.session.get(Referral, referral.id)
    assert referral.override_fields == ["name", "phone"]
    assert services.visible_fields(referral, local_today()) == frozenset()
    assert services.basis_ended(referral, local_today()) == "override"


def test_override_max_days_comes_from_the_environment_and_is_checked(tmp_path, monkeypatch):
    from directory import create_app
    from tests.conftest import make_config

    monkeypatch.setenv("OVERRIDE_MAX_DAYS", "14")
    app = create_app(make_config(tmp_path, tmp_path / "a.sqlite3"))
    assert app.config["OVERRIDE_MAX_DAYS"] == 14
    for bad in ("0", "-3", "a month", "400"):
        monkeypatch.setenv("OVERRIDE_MAX_DAYS", bad)
        with pytest.raises(RuntimeError, match="OVERRIDE_MAX_DAYS"):
            create_app(make_config(tmp_path, tmp_path / "a.sqlite3"))
