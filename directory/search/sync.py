"""Queue search-index changes in the same transaction as the catalog change (the outbox pattern)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from directory.catalog.cache import forget_version
from directory.catalog.models import (
    Language,
    Location,
    Organization,
    RequiredDocument,
    Schedule,
    ScheduleException,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
    service_taxonomy,
)
from directory.catalog.outbox import SearchChange
from directory.extensions import db
from directory.models_base import new_id
from directory.search.index import try_catch_up

_SERVICE_CHILDREN = (ServiceAtLocation, Schedule, ScheduleException, Language, RequiredDocument, ServiceArea)
PENDING_FLAG = "search_changes_pending"


def _affected_service_ids(session: Session) -> set[str]:
    ids: set[str] = set()
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, Service):
            if obj.id is None:
                obj.id = new_id()
            ids.add(obj.id)
        elif isinstance(obj, _SERVICE_CHILDREN):
            service_id = obj.service_id or (obj.service.id if getattr(obj, "service", None) else None)
            if service_id:
                ids.add(service_id)
        elif isinstance(obj, Location) and obj.id is not None:
            ids.update(
                session.scalars(select(ServiceAtLocation.service_id).where(ServiceAtLocation.location_id == obj.id))
            )
        elif isinstance(obj, Organization) and obj.id is not None and obj not in session.new:
            ids.update(session.scalars(select(Service.id).where(Service.organization_id == obj.id)))
        elif isinstance(obj, TaxonomyTerm):
            if obj.id is None:
                obj.id = new_id()
            # The term itself: pages that cache the taxonomy follow the outbox too (directory/catalog/cache.py),
            # and a term no service uses has no other row. The index finds no service by this id: a no-op there.
            ids.add(obj.id)
            if obj not in session.new:
                ids.update(
                    session.scalars(
                        select(service_taxonomy.c.service_id).where(service_taxonomy.c.taxonomy_term_id == obj.id)
                    )
                )
    return ids


def _before_flush(session: Session, flush_context, instances) -> None:
    with session.no_autoflush:
        ids = _affected_service_ids(session)
    queued: set[str] = session.info.setdefault("search_queued", set())
    for service_id in sorted(ids - queued):
        session.add(SearchChange(service_id=service_id))
    if ids - queued:
        session.info[PENDING_FLAG] = True
    queued.update(ids)


def _reset(session: Session, *args) -> None:
    if session.info.pop("search_queued", None):
        forget_version()  # the catalog changed: cached pages read the new version


def _after_rollback(session: Session, *args) -> None:
    if session.info.pop("search_queued", None):
        forget_version()
    session.info.pop(PENDING_FLAG, None)


_installed = False


def install_sync(app: Flask) -> None:
    """Register the session events once, and apply queued changes at the end of each request."""
    global _installed
    if not _installed:
        event.listen(db.session, "before_flush", _before_flush)
        event.listen(db.session, "after_commit", _reset)
        event.listen(db.session, "after_soft_rollback", _after_rollback)
        _installed = True

    @app.after_request
    def apply_search_changes(response):
        if db.session.info.pop(PENDING_FLAG, False):
            try_catch_up()
        return response
