"""Writing notifications and their deliveries (flush, never commit), reading and marking them read."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime

from flask import current_app, has_request_context, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, func, select, update

from directory.extensions import db
from directory.models_base import utcnow
from directory.notifications.models import Delivery, Notification

PENDING_FLAG = "notification_deliveries_pending"  # Session.info: deliveries to send after the commit
Text = str | Callable[[], str]  # a callable is rendered in each recipient's language


def email_enabled() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def webhook_enabled() -> bool:
    return bool(current_app.config.get("NOTIFY_WEBHOOK_URL"))


def absolute(path: str | None) -> str:
    """A path in the app as the link to put in an e-mail or webhook message."""
    if not path:
        return ""
    base = current_app.config.get("PUBLIC_BASE_URL") or (request.host_url if has_request_context() else "")
    return base.rstrip("/") + path if base else path


def _render(text: Text) -> str:
    return text() if callable(text) else str(text)


def _locale_of(user) -> str:
    return getattr(user, "locale", None) or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")


def notify(
    recipients: Iterable,
    kind: str,
    title: Text,
    body: Text,
    link: str | None = None,
    object_id: str | None = None,
    email_links: Mapping[int, str] | None = None,
    dedupe: str | None = None,
) -> list[Notification]:
    """Notify each recipient (a user) in the caller's transaction: an in-app row each, an e-mail each (when
    SMTP is configured and the user has an address) and one webhook message for the event (when configured).

    ``link`` is a path for a signed-in user; ``email_links`` replaces it in one user's e-mail (a signed
    link that works without a login; never sent to the webhook, which a whole group may read). With
    ``dedupe``, a recipient already notified under that key is skipped (periodic jobs run again safely).
    Returns the notifications written."""
    written: list[Notification] = []
    for user in recipients:
        if not getattr(user, "active", True):
            continue
        key = f"{dedupe}:{user.id}" if dedupe else None
        if key and db.session.scalar(select(Notification.id).where(Notification.dedupe_key == key)) is not None:
            continue
        with force_locale(_locale_of(user)):
            text_title, text_body = _render(title)[:300], _render(body)
        note = Notification(
            user_id=user.id, kind=kind, title=text_title, body=text_body, link=link, object_id=object_id, dedupe_key=key
        )
        db.session.add(note)
        db.session.flush()
        written.append(note)
        address = (getattr(user, "email", None) or "").strip()
        if email_enabled() and address:
            target = (email_links or {}).get(user.id) or link
            db.session.add(
                Delivery(
                    notification_id=note.id,
                    user_id=user.id,
                    channel="email",
                    kind=kind,
                    recipient=address,
                    subject=text_title,
                    body=_email_body(user, text_body, target),
                )
            )
    if written and webhook_enabled():
        first = written[0]
        names = "、".join(n.user.display_name for n in written if n.user is not None)
        content = f"{first.title}\n{first.body}\n{absolute(link)}".strip()
        payload = {
            "msgtype": "text",
            "text": {"content": content},
            "lianjie": {
                "kind": kind,
                "title": first.title,
                "body": first.body,
                "link": absolute(link),
                "object_id": object_id,
                "recipients": names,
            },
        }
        db.session.add(
            Delivery(
                notification_id=first.id,
                channel="webhook",
                kind=kind,
                subject=first.title,
                body=content,
                payload=json.dumps(payload, ensure_ascii=False),
                dedupe_key=f"{dedupe}:webhook" if dedupe else None,
            )
        )
    if written:
        db.session.flush()
        if email_enabled() or webhook_enabled():
            db.session.info[PENDING_FLAG] = True
    return written


def _email_body(user, body: str, link: str | None) -> str:
    with force_locale(_locale_of(user)):
        lines = [_("Hello %(name)s,", name=user.display_name), "", body]
        if link:
            lines += ["", absolute(link)]
        lines += ["", "—", _("Lianjie notifications. You can read them all under the bell in the app.")]
    return "\n".join(lines)


def user_notifications(user) -> Select:
    return select(Notification).where(Notification.user_id == user.id).order_by(Notification.created_at.desc())


def unread_count(user) -> int:
    query = select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    return db.session.scalar(query) or 0


def mark_read(note: Notification) -> None:
    if note.read_at is None:
        note.read_at = utcnow()
        db.session.flush()


def mark_all_read(user) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount or 0


# --- the daily digest ------------------------------------------------------------------------------

DIGEST_LIMIT = 30


def queue_digests(users: Iterable, today: date, now: datetime | None = None) -> int:
    """One digest e-mail per user with an address and unread notifications, at most one per local day
    (the delivery's dedupe key); flushes, returns how many were queued. Nothing without SMTP."""
    if not email_enabled():
        return 0
    queued = 0
    for user in users:
        address = (getattr(user, "email", None) or "").strip()
        if not address or not getattr(user, "active", True):
            continue
        key = f"digest:{user.id}:{today.isoformat()}"
        if db.session.scalar(select(Delivery.id).where(Delivery.dedupe_key == key)) is not None:
            continue
        unread = db.session.scalars(
            user_notifications(user).where(Notification.read_at.is_(None)).limit(DIGEST_LIMIT + 1)
        ).all()
        if not unread:
            continue
        total = unread_count(user)
        with force_locale(_locale_of(user)):
            subject = _("Lianjie: %(count)d unread notifications", count=total)
            lines = [_("Hello %(name)s,", name=user.display_name), "", subject + ":", ""]
            for note in unread[:DIGEST_LIMIT]:
                lines.append(f"• {note.title}")
                if note.link:
                    lines.append(f"  {absolute(note.link)}")
            if total > DIGEST_LIMIT:
                lines.append(_("… and %(count)d more in the app.", count=total - DIGEST_LIMIT))
            lines += ["", absolute("/notifications")]
        db.session.add(
            Delivery(
                user_id=user.id,
                channel="email",
                kind="digest",
                recipient=address,
                subject=subject,
                body="\n".join(lines),
                dedupe_key=key,
                created_at=now or utcnow(),
            )
        )
        queued += 1
    if queued:
        db.session.flush()
        db.session.info[PENDING_FLAG] = True
    return queued
