"""A change to any part of a listing bumps the listing's version.

Services and locations carry a version (``version_id_col``) that the edit forms send back, so a form
loaded before someone else's save gets the conflict page (``directory.versioning.save_versioned``). The
ORM bumps the version only when a column of the row itself changes; categories, locations, languages,
documents, hours and phones live in other tables. Before each flush this hook finds every service (and
location) whose parts are added, changed or removed and touches the row, so its UPDATE bumps the version
— and fails with ``StaleDataError`` when another save got there first.
"""

from __future__ import annotations

from itertools import chain

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from directory.catalog.models import (
    Language,
    Location,
    Phone,
    RequiredDocument,
    Schedule,
    ScheduleException,
    Service,
    ServiceArea,
    ServiceAtLocation,
)
from directory.models_base import utcnow

SERVICE_PARTS = (ServiceAtLocation, Language, RequiredDocument, Schedule, ScheduleException, Phone, ServiceArea)
SERVICE_COLLECTIONS = (
    "taxonomy_terms",
    "service_at_locations",
    "schedules",
    "schedule_exceptions",
    "languages",
    "required_documents",
    "phones",
    "service_areas",
)
LOCATION_COLLECTIONS = ("phones",)


def _collections_changed(obj, names: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in names)


def _owner(session: Session, model, object_id: str | None):
    if object_id is None:
        return None
    with session.no_autoflush:
        return session.get(model, object_id)


def _touch(obj) -> None:
    if isinstance(obj, Service):
        obj.last_modified = utcnow()
    else:
        flag_modified(obj, "name")  # an UPDATE of the row itself: the ORM bumps its version


def _bump_listing_versions(session: Session, flush_context, instances) -> None:
    touched: dict[int, object] = {}
    for obj in session.dirty:
        if (isinstance(obj, Service) and _collections_changed(obj, SERVICE_COLLECTIONS)) or (
            isinstance(obj, Location) and _collections_changed(obj, LOCATION_COLLECTIONS)
        ):
            touched[id(obj)] = obj
    for part in chain(session.new, session.dirty, session.deleted):
        if not isinstance(part, SERVICE_PARTS):
            continue
        owners = [_owner(session, Service, part.service_id)]
        if isinstance(part, Phone):
            owners.append(_owner(session, Location, part.location_id))
        for owner in owners:
            if owner is not None:
                touched[id(owner)] = owner
    for obj in touched.values():
        state = inspect(obj)
        if state.persistent and not state.deleted and obj not in session.deleted:
            _touch(obj)


def install_listing_versions() -> None:
    if not event.contains(Session, "before_flush", _bump_listing_versions):
        event.listen(Session, "before_flush", _bump_listing_versions)
