"""``flask send-notifications`` and ``flask send-digests``: for cron or a systemd timer."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click
from flask import current_app
from sqlalchemy import select

from directory.accounts.models import User
from directory.extensions import db
from directory.models_base import utcnow
from directory.notifications import sender
from directory.notifications import services as notifications


@click.command("send-notifications")
@click.option("--retry-failed", is_flag=True, help="First put the deliveries that ran out of tries back in the queue.")
@click.option("--limit", default=500, show_default=True, help="Send at most this many in this run.")
def send_notifications_command(retry_failed: bool, limit: int) -> None:
    """Send the e-mail and webhook notifications that are due (each is tried again with backoff until sent).

    Run it every few minutes (cron or a systemd timer); see docs/notifications.md."""
    if retry_failed:
        click.echo(f"Queued again: {sender.retry_failed()}.")
    report = sender.deliver_pending(limit=limit)
    click.echo(f"Sent: {report.sent}. To try again later: {report.retrying}. Failed for good: {report.failed}.")


@click.command("send-digests")
def send_digests_command() -> None:
    """E-mail each user with unread notifications one digest of them (at most one per day), then send.

    Run it once a day (cron or a systemd timer); needs SMTP (docs/notifications.md)."""
    if not notifications.email_enabled():
        click.echo("E-mail is not configured (SMTP_HOST): no digests to send.")
        return
    today = utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    users = db.session.scalars(
        select(User).where(User.active.is_(True), User.email.is_not(None)).order_by(User.id)
    ).all()
    queued = notifications.queue_digests(users, today)
    db.session.commit()
    report = sender.deliver_pending()
    click.echo(f"Digests queued: {queued}. Sent: {report.sent}. To try again later: {report.retrying}.")
