"""Who may do what. One pure function per rule; routes call these, templates never decide."""

from __future__ import annotations

from typing import Protocol


class Actor(Protocol):
    role: str
    organization_id: str | None


def can_edit_listing(user: Actor | None, organization_id: str | None) -> bool:
    """Admins edit every listing; agency staff only their own organization's. A listing of no
    organization (a location HSDS lets stand alone) is the admins' alone."""
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    if user.role == "admin":
        return True
    return user.role == "agency_staff" and organization_id is not None and user.organization_id == organization_id


def can_review_stale_listings(user: Actor | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", True) and user.role == "admin"


def can_manage_users(user: Actor | None) -> bool:
    return can_review_stale_listings(user)


# --- clients and referrals -------------------------------------------------------------------------


class OwnedClient(Protocol):
    owner_id: int


class AddressedReferral(Protocol):
    organization_id: str
    client: OwnedClient


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", True)


def can_keep_clients(user: Actor | None) -> bool:
    """Caseworkers keep client records (and admins); agency staff and managers never do."""
    return _signed_in(user) and user.role in ("caseworker", "admin")


def can_view_client(user: Actor | None, client: OwnedClient) -> bool:
    """A caseworker sees their own clients; admins all; managers only aggregates (reports)."""
    if not _signed_in(user):
        return False
    if user.role == "admin":
        return True
    return user.role == "caseworker" and client.owner_id == getattr(user, "id", None)


def can_edit_client(user: Actor | None, client: OwnedClient) -> bool:
    return can_view_client(user, client)


def can_view_referral(user: Actor | None, referral: AddressedReferral) -> bool:
    """The client's caseworker (and admins) see the whole referral; the receiving agency sees its side."""
    return can_view_client(user, referral.client) or can_answer_referral(user, referral)


def can_answer_referral(user: Actor | None, referral: AddressedReferral) -> bool:
    """Staff of the receiving organization accept, decline or mark the service delivered."""
    return _signed_in(user) and user.role == "agency_staff" and user.organization_id == referral.organization_id


def can_use_inbox(user: Actor | None) -> bool:
    return _signed_in(user) and user.role == "agency_staff" and bool(user.organization_id)


def can_override_consent(user: Actor | None) -> bool:
    """Only an admin (the supervising social worker) may refer without a consent, with a recorded reason."""
    return _signed_in(user) and user.role == "admin"


# --- reports -----------------------------------------------------------------------------------------


def can_view_reports(user: Actor | None) -> bool:
    """Managers and admins see the aggregate reports; caseworkers and agency staff do not."""
    return _signed_in(user) and user.role in ("manager", "admin")


def can_view_agency_reports(user: Actor | None, organization_id: str | None) -> bool:
    """Agency staff see their own organization's figures (aggregates, never a client); managers and
    admins any organization's."""
    if not _signed_in(user) or not organization_id:
        return False
    if user.role in ("manager", "admin"):
        return True
    return user.role == "agency_staff" and user.organization_id == organization_id
