"""Sending the outbox: each pending delivery is claimed, sent, and marked sent — or tried again later.

Runs after a commit that queued deliveries (a background thread, so a request never waits for SMTP) and
from ``flask send-notifications`` (cron or a systemd timer: the guarantee). A delivery is claimed by a
conditional UPDATE that moves its ``next_try_at`` past a lease before anything is sent, in its own short
transaction: two senders (threads, workers, servers, cron) never both send it. A failed try sets the next
one after an exponential backoff; a sender that dies between sending and recording leaves the row to be
tried again when the lease ends (the one case where a message may arrive twice).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import event, select, update

from directory.extensions import db
from directory.models_base import utcnow
from directory.notifications.channels import ChannelError, post_webhook, send_email
from directory.notifications.models import Delivery
from directory.notifications.services import PENDING_FLAG

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)  # a claimed delivery is left alone this long
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    """The wait after the given number of failed tries: 1, 2, 4, 8 … minutes, at most 6 hours."""
    return min(FIRST_BACKOFF * (2 ** max(0, attempts - 1)), MAX_BACKOFF)


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _send(delivery: Delivery) -> None:
    config = current_app.config
    if delivery.channel == "email":
        if not config.get("SMTP_HOST"):
            raise ChannelError("SMTP_HOST is not set")
        send_email(config, delivery.recipient or "", delivery.subject, delivery.body)
    elif delivery.channel == "webhook":
        if not config.get("NOTIFY_WEBHOOK_URL"):
            raise ChannelError("NOTIFY_WEBHOOK_URL is not set")
        post_webhook(config["NOTIFY_WEBHOOK_URL"], delivery.payload or "{}", float(config.get("NOTIFY_TIMEOUT") or 10))
    else:
        raise ChannelError(f"unknown channel {delivery.channel!r}")


def _claim(delivery_id: int, now: datetime) -> bool:
    claimed = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == "pending", Delivery.next_try_at <= now)
        .values(next_try_at=now + LEASE, attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return claimed.rowcount == 1


def deliver_pending(now: datetime | None = None, limit: int = 200) -> SendReport:
    """Send the deliveries due at ``now`` (default: now), oldest first; commits after each one."""
    now = now or utcnow()
    max_attempts = int(current_app.config.get("NOTIFY_MAX_ATTEMPTS") or 12)
    report = SendReport()
    due = db.session.scalars(
        select(Delivery.id)
        .where(Delivery.status == "pending", Delivery.next_try_at <= now)
        .order_by(Delivery.id)
        .limit(limit)
    ).all()
    db.session.commit()
    for delivery_id in due:
        if not _claim(delivery_id, now):
            continue  # another sender has it
        delivery = db.session.get(Delivery, delivery_id)
        try:
            _send(delivery)
        except Exception as exc:  # noqa: BLE001 (any failure of a channel: try again later, never lose it)
            delivery.last_error = str(exc)[:500]
            if delivery.attempts >= max_attempts:
                delivery.status = "failed"
                report.failed += 1
                log.warning("notification delivery %s failed for good: %s", delivery_id, exc)
            else:
                delivery.next_try_at = now + backoff(delivery.attempts)
                report.retrying += 1
                log.info("notification delivery %s failed, next try %s: %s", delivery_id, delivery.next_try_at, exc)
        else:
            delivery.status = "sent"
            delivery.sent_at = utcnow()
            delivery.last_error = None
            report.sent += 1
        db.session.commit()
    return report


def retry_failed() -> int:
    """Put the deliveries that ran out of tries back in the queue (after the channel was fixed)."""
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.status == "failed")
        .values(status="pending", attempts=0, next_try_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount or 0


# --- right after the commit ------------------------------------------------------------------------

_running = threading.Lock()
_again = threading.Event()


def _background(app: Flask) -> None:
    try:
        while _again.is_set():
            _again.clear()
            with app.app_context():
                try:
                    deliver_pending(limit=50)
                except Exception:  # noqa: BLE001 (the periodic command tries again)
                    log.exception("sending notifications after the commit failed")
                finally:
                    db.session.remove()
    finally:
        _running.release()


def kick(app: Flask) -> None:
    """Send what is due in a background thread (one per process at a time); never raises, never waits."""
    _again.set()
    if _running.acquire(blocking=False):
        try:
            threading.Thread(target=_background, args=(app,), name="lianjie-notify", daemon=True).start()
        except RuntimeError:
            _running.release()


def _after_commit(session) -> None:
    if session.info.pop(PENDING_FLAG, False):
        app = current_app._get_current_object()
        if app.config.get("NOTIFY_AFTER_COMMIT"):
            kick(app)


def _after_rollback(session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(PENDING_FLAG, None)


_installed = False


def install_sender() -> None:
    """Start a sender after each commit that queued deliveries."""
    global _installed
    if not _installed:
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_soft_rollback", _after_rollback)
        _installed = True
