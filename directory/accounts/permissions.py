"""Who may do what. One pure function per rule; routes call these, templates never decide."""

from __future__ import annotations

from typing import Protocol


class Actor(Protocol):
    role: str
    organization_id: str | None


def can_edit_listing(user: Actor | None, organization_id: str) -> bool:
    """Admins edit every listing; agency staff only their own organization's."""
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    if user.role == "admin":
        return True
    return user.role == "agency_staff" and user.organization_id == organization_id


def can_review_stale_listings(user: Actor | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", True) and user.role == "admin"


def can_manage_users(user: Actor | None) -> bool:
    return can_review_stale_listings(user)
