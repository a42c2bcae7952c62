"""Loading client records with the access check: 404 if missing, 403 with an audit row if not allowed.

Every view of a client record writes an audit row; routes that change a record load it with
``view=False`` and the service that makes the change writes the row.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from directory.accounts.audit import audit, audit_denied
from directory.accounts.permissions import can_edit_client, can_keep_clients, can_view_client, can_view_referral
from directory.extensions import db
from directory.referrals.models import Client, Need, Referral


def deny(object_type: str, object_id: str | None, client_id: str | None = None):
    """Refuse with 403 after recording the refusal in the audit log (its own transaction)."""
    audit_denied(object_type, object_id, client_id)
    abort(403)


def require_client_keeper() -> None:
    if not can_keep_clients(current_user):
        deny("client", None)


def load_client(client_id: str, view: bool = True) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        abort(404)
    if not can_view_client(current_user, client):
        deny("client", client.id, client.id)
    if view:
        audit("view", "client", client.id, client.id)
    return client


def load_need(need_id: str, view: bool = True) -> Need:
    need = db.session.get(Need, need_id)
    if need is None:
        abort(404)
    if not can_edit_client(current_user, need.client):
        deny("need", need.id, need.client_id)
    if view:
        audit("view", "need", need.id, need.client_id)
    return need


def load_referral(referral_id: str, view: bool = True) -> Referral:
    referral = db.session.get(Referral, referral_id)
    if referral is None:
        abort(404)
    if not can_view_referral(current_user, referral):
        deny("referral", referral.id, referral.client_id)
    if view:
        audit("view", "referral", referral.id, referral.client_id)
    return referral
