"""Loading client records with the access check: 404 if missing, 403 with an audit row if not allowed.

Every view of a client record writes an audit row; routes that change a record load it with
``view=False`` and the service that makes the change writes the row.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from directory.accounts.audit import audit, audit_denied
from directory.accounts.permissions import can_edit_client, can_keep_clients, can_view_client, can_view_referral
from directory.catalog.models import Service
from directory.extensions import db
from directory.referrals.models import Attempt, Client, Need, Referral

# What a referral's page and its answers read: loaded with the referral instead of one query each.
REFERRAL_LOADS = (
    joinedload(Referral.client),
    joinedload(Referral.need),
    joinedload(Referral.service).joinedload(Service.organization),
    joinedload(Referral.location),
    joinedload(Referral.consent),
    joinedload(Referral.override),
    selectinload(Referral.attempts).joinedload(Attempt.actor),
)


def deny(object_type: str, object_id: str | None, client_id: str | None = None):
    """Refuse with 403 after recording the refusal in the audit log (its own transaction)."""
    audit_denied(object_type, object_id, client_id)
    abort(403)


def require_client_keeper() -> None:
    if not can_keep_clients(current_user):
        deny("client", None)


def _load(model, object_id: str, allowed, object_type: str, client_id_of, view: bool, options=()):
    obj = db.session.get(model, object_id, options=options)
    if obj is None:
        abort(404)
    if not allowed(current_user, obj):
        deny(object_type, obj.id, client_id_of(obj))
    if view:
        audit("view", object_type, obj.id, client_id_of(obj))
    return obj


def load_client(client_id: str, view: bool = True) -> Client:
    return _load(Client, client_id, can_view_client, "client", lambda c: c.id, view)


def load_need(need_id: str, view: bool = True) -> Need:
    return _load(Need, need_id, lambda user, n: can_edit_client(user, n.client), "need", lambda n: n.client_id, view)


def load_referral(referral_id: str, view: bool = True) -> Referral:
    return _load(Referral, referral_id, can_view_referral, "referral", lambda r: r.client_id, view, REFERRAL_LOADS)
