"""Append-only tables: outreach attempts and the audit log are never changed or deleted.

The ORM refuses it here (any flush that would update or delete such a row raises); the migration adds
database triggers that refuse it below the ORM as well.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from directory.accounts.audit import AuditEvent
from directory.referrals.models import Attempt

APPEND_ONLY = (Attempt, AuditEvent)
APPEND_ONLY_TABLES = ("outreach_attempt", "audit_event")


class AppendOnlyError(RuntimeError):
    pass


def _refuse_changes(session: Session, flush_context, instances) -> None:
    for obj in session.deleted:
        if isinstance(obj, APPEND_ONLY):
            raise AppendOnlyError(f"{type(obj).__name__} rows are append-only: they cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, APPEND_ONLY) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyError(f"{type(obj).__name__} rows are append-only: they cannot be changed")


def install_guards() -> None:
    if not event.contains(Session, "before_flush", _refuse_changes):
        event.listen(Session, "before_flush", _refuse_changes)
