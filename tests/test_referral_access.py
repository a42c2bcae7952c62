"""Who may see and change client records and referrals: every route × every role × own/foreign object.

A refused request gets 403, changes nothing, and leaves a "denied" row in the audit log.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory.accounts.audit import AuditEvent
from directory.extensions import db
from directory.referrals.models import Attempt, Client, Consent, Need, Referral
from tests.conftest import login, post
from tests.test_referrals import attempt_form, world  # noqa: F401  (the shared fixture)

# (name, method, path, form, who may): "keeper" = caseworkers and admins (their own scope);
# "owner" = the client's caseworker and admins; "viewer" = owner plus the receiving agency;
# "agency" = staff of the receiving organization; "inbox" = any agency staff.
ROUTES = [
    ("client list", "GET", "/clients", None, "keeper"),
    ("new client form", "GET", "/clients/new", None, "keeper"),
    ("follow-ups", "GET", "/followups", None, "keeper"),
    ("client page", "GET", "/clients/{client}", None, "owner"),
    ("edit client form", "GET", "/clients/{client}/edit", None, "owner"),
    ("edit client", "POST", "/clients/{client}/edit", {"display_name": "改名", "version": "{version}"}, "owner"),
    ("add need", "POST", "/clients/{client}/needs", {"category": "employment", "goal": "找工作"}, "owner"),
    ("need page", "GET", "/needs/{need}", None, "owner"),
    ("close need", "POST", "/needs/{need}/close", {"status": "met", "note": "完成"}, "owner"),
    ("consent form", "GET", "/clients/{client}/consents/new", None, "owner"),
    (
        "record consent",
        "POST",
        "/clients/{client}/consents/new",
        {
            "scope": "category",
            "category": "legal-aid",
            "fields": ["name"],
            "purpose": "referral",
            "valid_from": "2026-01-01",
            "given_by": "client",
        },
        "owner",
    ),
    ("revoke consent", "POST", "/consents/{consent}/revoke", {}, "owner"),
    ("referral form", "GET", "/referrals/new?service={service}&client={client}", None, "owner"),
    ("make referral", "POST", "/referrals/new?service={service}&client={client}", {"need_id": "{need}"}, "owner"),
    ("print list", "GET", "/clients/{client}/print", None, "owner"),
    ("referral page", "GET", "/referrals/{referral}", None, "viewer"),
    ("record attempt", "POST", "/referrals/{referral}/attempts", "attempt", "owner"),
    ("agency answer", "POST", "/referrals/{referral}/answer", {"answer": "accept"}, "agency"),
    ("inbox", "GET", "/inbox", None, "inbox"),
]

ALLOWED = {
    "keeper": {"owner", "other-cw", "root"},
    "owner": {"owner", "root"},
    "viewer": {"owner", "root", "mmt-staff"},
    "agency": {"mmt-staff"},
    "inbox": {"mmt-staff", "guard-staff"},
}
ROLES = ["owner", "other-cw", "mmt-staff", "guard-staff", "boss", "root", None]


def _snapshot(state) -> tuple:
    db.session.expire_all()
    rows = tuple(
        db.session.scalar(select(func.count()).select_from(m)) for m in (Client, Need, Consent, Referral, Attempt)
    )
    return (
        rows,
        state.client.version,
        state.client.display_name,
        state.need.status,
        state.consent.revoked_at,
        (state.referral.status),
    )


def _fill(value: str, ids: dict) -> str:
    return value.format(**ids) if isinstance(value, str) else value


@pytest.mark.parametrize("username", ROLES, ids=lambda u: u or "anonymous")
def test_every_route_for_every_role(seeded_app, world, username):  # noqa: F811
    client = seeded_app.test_client()
    if username:
        login(client, username)
    ids = {
        "client": world.client.id,
        "need": world.need.id,
        "consent": world.consent.id,
        "referral": world.referral.id,
        "service": world.mmt.id,
    }
    failures = []
    for name, method, path, form, who in ROUTES:
        ids["version"] = str(world.client.version)
        url = _fill(path, ids)
        before = _snapshot(world)
        denied_before = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "denied")
        )
        if method == "GET":
            response = client.get(url)
        else:
            data = attempt_form() if form == "attempt" else {k: _fill(v, ids) for k, v in form.items()}
            response = post(client, url, data) if username else client.post(url, data=data)
        status = response.status_code
        if username is None:
            expected_login = status == 302 and "/login" in response.headers.get("Location", "")
            if not expected_login and status != 400:  # 400: no CSRF token from an anonymous browser
                failures.append(f"{name}: anonymous got {status}")
            if _snapshot(world) != before:
                failures.append(f"{name}: anonymous changed data")
            continue
        allowed = username in ALLOWED[who]
        if allowed and status == 403:
            failures.append(f"{name}: {username} was refused")
        if not allowed:
            if status != 403:
                failures.append(f"{name}: {username} got {status}, expected 403")
            if _snapshot(world) != before:
                failures.append(f"{name}: {username} was refused but data changed")
            denied = db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "denied")
            )
            if denied != denied_before + 1:
                failures.append(f"{name}: no audit row for the refusal")
            else:
                event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
                if event.username != username or event.path != url.split("?")[0]:
                    failures.append(f"{name}: audit row names {event.username} {event.path}")
        if "no-store" not in response.headers.get("Cache-Control", "") and status != 302:
            failures.append(f"{name}: {username} response may be cached")
    assert failures == []


def test_a_manager_sees_no_client_record_at_all(seeded_app, world):  # noqa: F811
    manager = seeded_app.test_client()
    login(manager, "boss")
    for url in ("/clients", f"/clients/{world.client.id}", f"/referrals/{world.referral.id}", "/followups"):
        response = manager.get(url)
        assert response.status_code == 403
        assert world.client.display_name not in response.get_data(as_text=True)


def test_an_unknown_object_is_404_not_a_hint(seeded_app, world):  # noqa: F811
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    for url in ("/clients/nope", "/needs/nope", "/referrals/nope", "/clients/nope/print"):
        assert caseworker.get(url).status_code == 404
