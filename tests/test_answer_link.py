"""Answer by link: the agency's e-mailed link answers a referral without a login — only for its purpose,
its referral and its staff member, only until it expires, only while the consent stands and the referral
is open; it shows only the consented fields, audits every view and answer, and never answers 500."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from directory.accounts.audit import AuditEvent
from directory.extensions import db
from directory.notifications import sender
from directory.notifications.links import make_token
from directory.notifications.models import Notification
from directory.referrals import notices, services
from directory.referrals.models import Attempt, Referral
from tests.conftest import _app, login, post
from tests.notify_servers import SmtpServer, email_text
from tests.test_notifications import CLIENT_NAME, CLIENT_PHONE, _mail_config, make_scene

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def answer_form(client, path: str, **data):
    """POST the answer form the way the browser does: with the CSRF token of the page it came from."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    token = CSRF_FIELD.search(page.get_data(as_text=True)).group(1)
    return client.post(path, data={"csrf_token": token, **data})


def link_for(scene) -> str:
    return f"/answer/{notices.answer_token(scene.referral.id, scene.staff.id)}"


def audits(referral_id: str) -> list[AuditEvent]:
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_id == referral_id).order_by(AuditEvent.id)
    ).all()


def test_the_emailed_link_answers_without_a_login_and_shows_only_the_consented_fields(tmp_path, seeded_db):
    smtp = SmtpServer().start()
    try:
        for app in _app(tmp_path, seeded_db, **_mail_config(smtp.port)):
            scene = make_scene()
            sender.deliver_pending()
            link = re.search(r"http://lianjie\.test(/answer/\S+)", email_text(smtp.messages[0])).group(1)
            browser = app.test_client()  # nobody logged in
            page = browser.get(link)
            text = page.get_data(as_text=True)
            assert page.status_code == 200
            assert page.headers["Cache-Control"] == "no-store"
            assert CLIENT_NAME in text and "美沙酮维持治疗" in text  # name and need: consented
            assert CLIENT_PHONE not in text and "1999" not in text  # phone, age: not consented
            view = audits(scene.referral.id)[-1]
            assert (view.action, view.user_id, view.detail) == ("view", scene.staff.id, {"via": "answer_link"})

            done = answer_form(browser, link, answer="accept")
            assert done.status_code == 200
            referral = db.session.get(Referral, scene.referral.id)
            assert referral.status == "accepted"
            attempt = db.session.scalars(select(Attempt).where(Attempt.referral_id == referral.id)).one()
            assert (attempt.actor_id, attempt.channel, attempt.outcome) == (scene.staff.id, "lianjie", "accepted")
            attempt_audit = db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == attempt.id)).one()
            assert (attempt_audit.action, attempt_audit.user_id) == ("create", scene.staff.id)
            # The caseworker hears of it, as after an answer from the inbox.
            told = db.session.scalars(select(Notification).where(Notification.user_id == scene.owner.id)).one()
            assert told.kind == "referral_answer"

            # Accepted: accept and decline are answered; delivered is still open.
            assert browser.post(link, data={"csrf_token": "x", "answer": "accept"}).status_code == 400  # CSRF
            again = answer_form(browser, link, answer="decline", reason="no_capacity")
            assert again.status_code == 409 and 'data-state="answered"' in again.get_data(as_text=True)
            assert db.session.get(Referral, scene.referral.id).status == "accepted"
            assert answer_form(browser, link, answer="delivered").status_code == 200
            assert db.session.get(Referral, scene.referral.id).status == "delivered"
            closed = browser.get(link)
            assert closed.status_code == 410  # the service was delivered: the link has nothing left to do
    finally:
        smtp.stop()


def test_decline_needs_one_of_the_refusal_reasons(seeded_app):
    scene = make_scene()
    browser = seeded_app.test_client()
    assert answer_form(browser, link_for(scene), answer="decline").status_code == 400
    assert answer_form(browser, link_for(scene), answer="decline", reason="made-up").status_code == 400
    assert db.session.get(Referral, scene.referral.id).status == "sent"
    assert answer_form(browser, link_for(scene), answer="decline", reason="no_capacity").status_code == 200
    attempt = db.session.scalars(select(Attempt).where(Attempt.referral_id == scene.referral.id)).one()
    assert (attempt.outcome, attempt.refused_by, attempt.refusal_reason) == ("refused", "provider", "no_capacity")
    assert seeded_app.test_client().get(link_for(scene)).status_code == 409  # answered: nothing more to do


def test_an_expired_link_says_so(seeded_app):
    scene = make_scene()

    class EightDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 8 * 86400

    old = URLSafeTimedSerializer(
        seeded_app.config["SECRET_KEY"], salt=f"lianjie-link:{notices.ANSWER_PURPOSE}", signer=EightDaysAgo
    ).dumps({"o": scene.referral.id, "u": scene.staff.id})
    page = seeded_app.test_client().get(f"/answer/{old}")
    assert page.status_code == 410 and 'data-state="expired"' in page.get_data(as_text=True)
    assert CLIENT_NAME not in page.get_data(as_text=True)
    seeded_app.config["ANSWER_LINK_DAYS"] = 9  # a longer validity, configured: the same link works
    assert seeded_app.test_client().get(f"/answer/{old}").status_code == 200


@pytest.mark.parametrize("how", ["tampered", "other purpose", "other referral's staff", "garbage"])
def test_a_tampered_or_misused_link_is_not_valid(seeded_app, how):
    scene = make_scene()
    token = notices.answer_token(scene.referral.id, scene.staff.id)
    if how == "tampered":
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif how == "other purpose":
        token = make_token("password-reset", scene.referral.id, scene.staff.id)
    elif how == "other referral's staff":
        token = notices.answer_token(scene.referral.id, scene.other.id)  # genuine, but not of that organization
    else:
        token = "not-a-token"
    browser = seeded_app.test_client()
    page = browser.get(f"/answer/{token}")
    assert page.status_code == 404 and 'data-state="invalid"' in page.get_data(as_text=True)
    assert CLIENT_NAME not in page.get_data(as_text=True)
    assert browser.post(f"/answer/{token}", data={"answer": "accept"}).status_code in (400, 404)
    assert db.session.get(Referral, scene.referral.id).status == "sent"


def test_revoking_the_consent_stops_the_link_and_the_refusal_is_audited(seeded_app):
    scene = make_scene()
    browser = seeded_app.test_client()
    page = browser.get(link_for(scene))
    token = CSRF_FIELD.search(page.get_data(as_text=True)).group(1)
    services.revoke_consent(scene.consent, "案主撤回", scene.owner)
    db.session.commit()
    stopped = browser.post(link_for(scene), data={"csrf_token": token, "answer": "accept"})
    assert stopped.status_code == 410 and 'data-state="consent"' in stopped.get_data(as_text=True)
    assert CLIENT_NAME not in stopped.get_data(as_text=True)
    assert db.session.get(Referral, scene.referral.id).status == "sent"
    denied = audits(scene.referral.id)[-1]
    assert (denied.action, denied.user_id, denied.detail) == (
        "denied",
        scene.staff.id,
        {"via": "answer_link", "stopped": "consent"},
    )


def test_a_closed_need_or_a_staff_member_who_left_stops_the_link(seeded_app):
    scene = make_scene()
    scene.staff2.active = False
    db.session.commit()
    gone = f"/answer/{notices.answer_token(scene.referral.id, scene.staff2.id)}"
    assert seeded_app.test_client().get(gone).status_code == 404
    services.close_need(scene.need, "withdrawn", "案主不再需要", scene.owner)
    db.session.commit()
    page = seeded_app.test_client().get(link_for(scene))
    assert page.status_code == 410 and 'data-state="closed"' in page.get_data(as_text=True)


def test_the_signed_in_inbox_follows_the_same_rule(seeded_app):
    """One rule for both ways: once accepted, the inbox cannot accept or decline again either."""

    scene = make_scene()
    staff = seeded_app.test_client()
    login(staff, "mmt-staff")
    assert post(staff, f"/referrals/{scene.referral.id}/answer", {"answer": "accept"}).status_code == 302
    again = post(staff, f"/referrals/{scene.referral.id}/answer", {"answer": "decline", "reason": "no_capacity"})
    assert again.status_code == 400
    assert db.session.get(Referral, scene.referral.id).status == "accepted"
    with seeded_app.test_request_context(), pytest.raises(services.AnswerBlocked):
        services.agency_answer(db.session.get(Referral, scene.referral.id), "accept", None, None, scene.staff)
    db.session.rollback()
