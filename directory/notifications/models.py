"""Notification rows (the in-app channel) and their deliveries (the outbox of the other channels)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.extensions import db
from directory.models_base import UTCDateTime, utcnow

DELIVERY_STATUSES = ("pending", "sent", "failed")
CHANNELS = ("email", "webhook")


class Notification(db.Model):
    """One message to one user: shown under the bell until read."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))  # a path in the app, for a signed-in user
    object_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # Set once per event and user: a periodic job that runs twice writes one row (unique).
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")


class Delivery(db.Model):
    """One message to send through one channel, written in the transaction of the change (the outbox).

    ``pending`` until sent; a failed try keeps it pending with ``next_try_at`` pushed back (backoff), and
    after the last allowed try it is ``failed`` (kept, and sent again by ``flask send-notifications
    --retry-failed``). A sender claims a row by moving its ``next_try_at`` forward in a conditional
    update before it sends, so two senders never send one row twice."""

    __tablename__ = "notification_delivery"
    __table_args__ = (Index("ix_notification_delivery_due", "status", "next_try_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    channel: Mapped[str] = mapped_column(String(20))  # CHANNELS
    kind: Mapped[str] = mapped_column(String(40))  # the notification's kind, or "digest"
    recipient: Mapped[str | None] = mapped_column(String(300))  # the e-mail address; none for the webhook
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text)  # the webhook's JSON
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
