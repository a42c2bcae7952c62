"""A list the client keeps: a read-only page of chosen services behind an unguessable, expiring link.

The row holds only service ids, who made it, when, until when, and whether it was withdrawn — nothing
about the client (no name, need or facts), so forwarding the link in WeChat shares nothing sensitive.
The token (``secrets.token_urlsafe``, 144 bits) is the whole key: the public page needs no login.

Functions here flush, never commit: the route commits once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from directory.catalog.models import Service, ServiceAtLocation
from directory.extensions import db
from directory.models_base import UTCDateTime, new_id, utcnow

TOKEN_BYTES = 18  # 144 bits of randomness, 24 URL-safe characters
MAX_SERVICES = 30


class SharedList(db.Model):
    __tablename__ = "shared_list"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    service_ids: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by = relationship("User")

    def state(self, now: datetime | None = None) -> str:
        """``open``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        return "open" if (now or utcnow()) < self.expires_at else "expired"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def create_shared_list(service_ids: list[str], user, now: datetime | None = None) -> SharedList:
    """A new list of the existing services among ``service_ids`` (in their order, at most 30)."""
    ids = list(dict.fromkeys(service_ids))[:MAX_SERVICES]
    known = set(db.session.scalars(select(Service.id).where(Service.id.in_(ids))))
    now = now or utcnow()
    shared = SharedList(
        token=new_token(),
        service_ids=[sid for sid in ids if sid in known],
        created_by_id=user.id,
        created_at=now,
        expires_at=now + timedelta(days=current_app.config["SHARED_LIST_DAYS"]),
    )
    db.session.add(shared)
    db.session.flush()
    return shared


def revoke(shared: SharedList, now: datetime | None = None) -> None:
    if shared.revoked_at is None:
        shared.revoked_at = now or utcnow()
        db.session.flush()


def by_token(token: str) -> SharedList | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(SharedList).where(SharedList.token == token))


def lists_of(user, limit: int = 50) -> list[SharedList]:
    return list(
        db.session.scalars(
            select(SharedList)
            .where(SharedList.created_by_id == user.id)
            .order_by(SharedList.created_at.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class ListedService:
    service: Service
    locations: list  # its active locations


def listed_services(shared: SharedList) -> list[ListedService]:
    """The list's services that are still active, in the list's order, with their active locations."""
    ids = list(shared.service_ids or [])
    found = {
        s.id: s
        for s in db.session.scalars(
            select(Service)
            .where(Service.id.in_(ids), Service.status == "active")
            .options(
                selectinload(Service.organization),
                selectinload(Service.phones),
                selectinload(Service.service_at_locations).selectinload(ServiceAtLocation.location),
                selectinload(Service.schedules),
                selectinload(Service.schedule_exceptions),
                selectinload(Service.required_documents),
            )
        )
    }
    return [
        ListedService(found[sid], [sal.location for sal in found[sid].service_at_locations if sal.location.active])
        for sid in ids
        if sid in found
    ]
