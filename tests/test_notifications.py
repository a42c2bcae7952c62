"""Notifications: the bell in the app, e-mail through a real local SMTP server, a webhook on a real local
HTTP server, and the outbox that retries a channel that is down — nothing lost, nothing sent twice.

Each test builds its app on a fresh copy of the seeded database; the channels are configured per test
(NOTIFY_AFTER_COMMIT off where the test sends explicitly, so what it counts is what it sent)."""

from __future__ import annotations

import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from directory.accounts.services import create_user
from directory.catalog.services import local_today
from directory.extensions import db
from directory.models_base import utcnow
from directory.notifications import sender
from directory.notifications.models import Delivery, Notification
from directory.referrals import notices, services
from tests.conftest import PASSWORD, _app, login, post
from tests.notify_servers import SmtpServer, WebhookServer, email_text, free_port
from tests.test_referrals import MMT, service

CLIENT_NAME, CLIENT_PHONE = "阿芳", "020-0000-9001"


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def webhook():
    server = WebhookServer().start()
    yield server
    server.stop()


def _mail_config(smtp_port: int, **extra) -> dict:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
        "MAIL_FROM": "Lianjie <noreply@lianjie.test>",
        "PUBLIC_BASE_URL": "http://lianjie.test",
        "NOTIFY_AFTER_COMMIT": False,
        "NOTIFY_TIMEOUT": 5.0,
        **extra,
    }


def make_scene(second_staff_email: str | None = None) -> SimpleNamespace:
    """A caseworker's client with consent for the methadone clinic's organization (name and need only),
    two of its staff (one with an e-mail address), staff of another organization, and a referral."""
    mmt = service(MMT)
    owner = create_user("owner", PASSWORD, "caseworker", display_name="陈社工", email="owner@cw.test")
    staff = create_user(
        "mmt-staff", PASSWORD, "agency_staff", organization_id=mmt.organization_id, email="staff@mmt.test"
    )
    staff2 = create_user(
        "mmt-staff-2", PASSWORD, "agency_staff", organization_id=mmt.organization_id, email=second_staff_email
    )
    other = create_user(
        "guard-staff", PASSWORD, "agency_staff", organization_id=service("s-andun-security-guard").organization_id
    )
    client = services.create_client(
        owner,
        {"display_name": CLIENT_NAME, "birth_year": 1999, "sex": "female", "phone": CLIENT_PHONE, "district": "越秀区"},
        {"substances": ["opioids"], "hiv_status": "negative"},
    )
    need = services.add_need(client, "methadone-clinic", "美沙酮维持治疗", owner)
    consent = services.record_consent(
        client,
        {
            "organization_id": mmt.organization_id,
            "fields": ["name", "need"],
            "purpose": "referral",
            "valid_from": local_today() - timedelta(days=1),
        },
        owner,
        local_today(),
    )
    db.session.commit()
    referral = services.create_referral(client, need, mmt, None, owner, local_today())
    db.session.commit()
    return SimpleNamespace(
        owner=owner, staff=staff, staff2=staff2, other=other, client=client, need=need, consent=consent,
        referral=referral, mmt=mmt,
    )  # fmt: skip


def bell(client) -> str | None:
    """The count shown beside the bell in the header, or None when there is none."""
    import re

    page = client.get("/search").get_data(as_text=True)
    match = re.search(r'class="bell-count">(\d+)<', page)
    assert 'class="bell"' in page
    return match.group(1) if match else None


# --- in the app ---------------------------------------------------------------------------------------


def test_a_referral_rings_the_agency_bell_and_the_answer_the_caseworkers(seeded_app):
    scene = make_scene()
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0  # offline: in the app only

    staff, other, caseworker = seeded_app.test_client(), seeded_app.test_client(), seeded_app.test_client()
    login(staff, "mmt-staff")
    login(other, "guard-staff")
    login(caseworker, "owner")
    assert bell(staff) == "1"
    assert bell(other) is None  # another organization hears nothing
    assert bell(caseworker) is None
    listing = staff.get("/notifications").get_data(as_text=True)
    note = db.session.scalars(select(Notification).where(Notification.user_id == scene.staff.id)).one()
    assert note.title in listing and scene.mmt.name in note.title
    assert CLIENT_NAME not in note.title + note.body  # no client data in a notification

    assert post(staff, f"/referrals/{scene.referral.id}/answer", {"answer": "accept"}).status_code == 302
    assert bell(caseworker) == "1"
    answer = db.session.scalars(select(Notification).where(Notification.user_id == scene.owner.id)).one()
    assert answer.kind == "referral_answer" and scene.mmt.organization.name in answer.title
    assert answer.link == f"/referrals/{scene.referral.id}"

    # Opening it marks it read and goes to the referral.
    opened = post(caseworker, f"/notifications/{answer.id}/read", {"next": answer.link})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(answer.link)
    assert bell(caseworker) is None
    # Nobody marks another's notification.
    assert post(other, f"/notifications/{note.id}/read").status_code == 404
    assert bell(staff) == "1"
    assert post(staff, "/notifications/read-all").status_code == 302
    assert bell(staff) is None
    assert "mark all read" not in staff.get("/notifications").get_data(as_text=True).lower()


def test_the_bell_is_in_every_roles_header(seeded_app, make_user):
    for role in ("caseworker", "agency_staff", "manager", "admin"):
        user = make_user(role, organization_id=service(MMT).organization_id if role == "agency_staff" else None)
        browser = seeded_app.test_client()
        login(browser, user.username)
        assert bell(browser) is None
        assert browser.get("/notifications").status_code == 200
    assert seeded_app.test_client().get("/notifications").status_code == 302  # a login first


# --- e-mail -------------------------------------------------------------------------------------------


@pytest.fixture
def mail_app(tmp_path, seeded_db, smtp):
    yield from _app(tmp_path, seeded_db, **_mail_config(smtp.port))


def test_email_goes_through_a_real_smtp_server_once_with_the_answer_link_and_no_client_data(mail_app, smtp):
    scene = make_scene()
    pending = db.session.scalars(select(Delivery)).all()
    assert [(d.channel, d.recipient, d.status) for d in pending] == [("email", "staff@mmt.test", "pending")]

    report = sender.deliver_pending()
    assert (report.sent, report.retrying) == (1, 0)
    assert sender.deliver_pending().sent == 0  # sent once
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "staff@mmt.test" and "noreply@lianjie.test" in message["From"]
    assert scene.mmt.name in message["Subject"]
    body = email_text(message)
    assert "http://lianjie.test/answer/" in body  # the signed link, absolute
    assert CLIENT_NAME not in body and CLIENT_PHONE not in body
    delivery = db.session.get(Delivery, pending[0].id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, None)


def test_after_the_commit_a_background_sender_delivers_without_the_command(tmp_path, seeded_db, smtp):
    for _ in _app(tmp_path, seeded_db, **_mail_config(smtp.port, NOTIFY_AFTER_COMMIT=True)):
        make_scene()
        assert len(smtp.wait_for(1)) == 1
        assert smtp.envelopes[0][1] == ["staff@mmt.test"]


# --- the webhook --------------------------------------------------------------------------------------


def test_the_webhook_gets_one_json_post_per_event_without_the_login_free_link(tmp_path, seeded_db, webhook):
    for _ in _app(tmp_path, seeded_db, NOTIFY_WEBHOOK_URL=webhook.url, NOTIFY_AFTER_COMMIT=False):
        scene = make_scene(second_staff_email=None)
        assert sender.deliver_pending().sent == 1  # one message for the event, not one per staff member
        assert sender.deliver_pending().sent == 0
        (payload,) = webhook.received
        assert payload["msgtype"] == "text"
        content = payload["text"]["content"]
        assert scene.mmt.name in content and f"/referrals/{scene.referral.id}" in content
        assert "/answer/" not in content  # a group chat never gets a link that works without a login
        assert CLIENT_NAME not in content
        assert payload["lianjie"]["kind"] == "referral_new" and payload["lianjie"]["object_id"] == scene.referral.id


# --- retries ------------------------------------------------------------------------------------------


def test_a_channel_that_is_down_is_retried_with_backoff_and_each_message_arrives_once(tmp_path, seeded_db):
    smtp, hook = SmtpServer(free_port()), WebhookServer(free_port())  # not started: both channels are down
    config = _mail_config(smtp.port, NOTIFY_WEBHOOK_URL=hook.url, NOTIFY_TIMEOUT=2.0)
    try:
        for _ in _app(tmp_path, seeded_db, **config):
            make_scene()
            now = utcnow()
            report = sender.deliver_pending(now=now)
            assert (report.sent, report.retrying, report.failed) == (0, 2, 0)
            rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
            assert all(r.status == "pending" and r.attempts == 1 and r.last_error for r in rows)
            assert all(r.next_try_at >= now + sender.backoff(1) - timedelta(seconds=1) for r in rows)
            assert sender.deliver_pending(now=now + timedelta(seconds=30)).retrying == 0  # not due yet: untouched
            assert {r.attempts for r in db.session.scalars(select(Delivery))} == {1}

            smtp.start()
            hook.start()
            later = now + sender.backoff(1) + timedelta(seconds=1)
            assert sender.deliver_pending(now=later).sent == 2
            assert sender.deliver_pending(now=later + timedelta(days=1)).sent == 0
            assert len(smtp.messages) == 1 and len(hook.received) == 1
            assert {(r.status, r.attempts) for r in db.session.scalars(select(Delivery))} == {("sent", 2)}
    finally:
        smtp.stop()
        hook.stop()


def test_the_backoff_doubles_up_to_six_hours():
    assert [sender.backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert sender.backoff(30) == timedelta(hours=6)


def test_after_the_last_try_a_delivery_is_failed_and_kept_and_can_be_queued_again(tmp_path, seeded_db):
    smtp = SmtpServer(free_port())
    try:
        for app in _app(tmp_path, seeded_db, **_mail_config(smtp.port, NOTIFY_MAX_ATTEMPTS=2, NOTIFY_TIMEOUT=2.0)):
            make_scene()
            now = utcnow()
            sender.deliver_pending(now=now)
            assert sender.deliver_pending(now=now + timedelta(hours=1)).failed == 1
            (row,) = db.session.scalars(select(Delivery)).all()
            assert (row.status, row.attempts) == ("failed", 2)
            assert sender.deliver_pending(now=now + timedelta(days=2)).sent == 0  # left alone, not lost

            smtp.start()
            result = app.test_cli_runner().invoke(args=["send-notifications", "--retry-failed"])
            assert result.exit_code == 0, result.output
            assert "Queued again: 1." in result.output and "Sent: 1." in result.output
            assert len(smtp.messages) == 1
    finally:
        smtp.stop()


def test_two_senders_at_once_send_each_message_once(mail_app, smtp):
    make_scene(second_staff_email="staff2@mmt.test")  # two e-mails to send
    results: list = []

    def run() -> None:
        with mail_app.app_context():
            results.append(sender.deliver_pending())
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in results) == 2
    assert sorted(m["To"] for m in smtp.messages) == ["staff2@mmt.test", "staff@mmt.test"]


# --- the daily digest and the reminders ---------------------------------------------------------------


def test_send_digests_mails_each_user_their_unread_notifications_once_a_day(mail_app, smtp):
    make_scene()
    runner = mail_app.test_cli_runner()
    first = runner.invoke(args=["send-digests"])
    assert first.exit_code == 0, first.output
    assert "Digests queued: 1." in first.output  # the staff member with an address and an unread one
    assert "Sent: 2." in first.output  # the referral's own e-mail, and the digest
    digest = smtp.messages[1]  # sent in the order queued
    assert digest["To"] == "staff@mmt.test" and "1" in digest["Subject"]
    text = email_text(digest)
    assert service(MMT).name in text and "http://lianjie.test/notifications" in text
    again = runner.invoke(args=["send-digests"])
    assert "Digests queued: 0." in again.output and len(smtp.messages) == 2


def test_send_digests_without_smtp_says_so(seeded_app):
    result = seeded_app.test_cli_runner().invoke(args=["send-digests"])
    assert result.exit_code == 0 and "not configured" in result.output


def test_reminders_for_follow_ups_coming_due_and_unanswered_referrals_are_written_once(seeded_app):
    scene = make_scene()
    fresh = services.create_referral(
        scene.client, services.add_need(scene.client, "methadone-clinic", "第二个", scene.owner),
        service(MMT), None, scene.owner, local_today(),
    )  # fmt: skip
    scene.referral.created_at = utcnow() - timedelta(days=4)
    scene.referral.next_follow_up = local_today() + timedelta(days=1)
    fresh.next_follow_up = local_today() + timedelta(days=5)
    db.session.commit()

    result = seeded_app.test_cli_runner().invoke(args=["queue-reminders"])
    assert result.exit_code == 0, result.output
    kinds = db.session.execute(
        select(Notification.user_id, Notification.kind, Notification.object_id).where(
            Notification.kind != "referral_new"
        )
    ).all()
    assert sorted(kinds) == sorted(
        [
            (scene.owner.id, "follow_up_due", scene.referral.id),
            (scene.owner.id, "referral_unanswered", scene.referral.id),
            (scene.staff.id, "referral_unanswered", scene.referral.id),
            (scene.staff2.id, "referral_unanswered", scene.referral.id),
        ]
    )  # the fresh referral (made today, follow-up in 5 days) waits
    again = seeded_app.test_cli_runner().invoke(args=["queue-reminders"])
    assert "Reminders written: 0." in again.output
    assert notices.queue_reminders(local_today() + timedelta(days=4)) == 1  # the fresh one's follow-up now


def test_the_notifications_migration_goes_down_and_up_again(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    assert {"notification", "notification_delivery"} <= set(inspect(db.engine).get_table_names())
    db.session.remove()
    downgrade(revision="b8e3f1a7c542")
    assert not {"notification", "notification_delivery"} & set(inspect(db.engine).get_table_names())
    upgrade()
    assert {"notification", "notification_delivery"} <= set(inspect(db.engine).get_table_names())
