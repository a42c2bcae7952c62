"""The access log for client records: who, when, what, from where. Append-only.

Every view and change of a client record, and every refused attempt to reach one, writes a row. The app
has no code path that changes or deletes a row: the ORM guard in ``directory.referrals.guards`` refuses
it, and database triggers (created in the migration) refuse it below the ORM too.

Rows wait beside the session until it commits (``_write_pending``), and go into the database in that
commit, with the changes they describe: the request's one commit, after its page is drawn
(``directory.database.in_one_transaction``), holds the database's write lock only for that insert, not
while the page reads and renders. A rollback drops the rows waiting, as it drops every other change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Integer, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from directory.database import rows_wait_in
from directory.extensions import db
from directory.models_base import UTCDateTime, utcnow

ACTIONS = ("view", "create", "update", "print", "denied")
_PENDING = "lianjie_pending_audit"  # Session.info key: audit rows to write at the next commit


class AuditEvent(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    username: Mapped[str | None] = mapped_column(String(80))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str | None] = mapped_column(String(36))
    client_id: Mapped[str | None] = mapped_column(String(36), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(10))
    path: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict | None] = mapped_column(JSON)
    # Its place in the log's hash chain, set when it is flushed (directory/logchain.py).
    chain_seq: Mapped[int | None] = mapped_column(Integer, unique=True, index=True)
    chain_hash: Mapped[str | None] = mapped_column(String(64))


def audit(
    action: str,
    object_type: str,
    object_id: str | None,
    client_id: str | None = None,
    detail: dict[str, Any] | None = None,
    user=None,
) -> AuditEvent:
    """Record an audit row; the caller's transaction commits it (written at the commit, not before)."""
    user = user if user is not None else (current_user if has_request_context() else None)
    known = user is not None and getattr(user, "is_authenticated", False)
    event = AuditEvent(
        user_id=user.id if known else None,
        username=user.username if known else None,
        role=user.role if known else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        client_id=client_id,
        detail=detail or None,
    )
    if has_request_context():
        event.ip = request.remote_addr
        event.method = request.method
        event.path = request.path[:300]
    db.session().info.setdefault(_PENDING, []).append(event)
    return event


def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.add_all(pending)


def _write_pending_in_flush(session: Session, flush_context, instances) -> None:
    _write_pending(session)  # a flush that writes anyway holds the write lock already


def _drop_pending(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)


def install_audit_writer() -> None:
    """Write the waiting audit rows in each commit (a flush that runs anyway writes them too)."""
    rows_wait_in(_PENDING)  # a request holding audit rows commits (directory.database.in_one_transaction)
    if not event.contains(Session, "before_commit", _write_pending):
        event.listen(Session, "before_commit", _write_pending)
        event.listen(Session, "before_flush", _write_pending_in_flush)
        event.listen(Session, "after_soft_rollback", _drop_pending)


def audit_denied(object_type: str, object_id: str | None, client_id: str | None = None) -> None:
    """Record a refused access in its own transaction, so the 403 that follows cannot roll it back."""
    db.session.rollback()
    audit("denied", object_type, object_id, client_id)
    db.session.commit()
