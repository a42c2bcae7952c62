"""Catalog business logic: reading listings and changing them with a change history.

Functions here flush but never commit: the request commits once (``directory.database.in_one_transaction``),
so each change is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from directory.catalog.hours import describe_hours, is_open_at
from directory.catalog.models import (
    SERVICE_FIELDS,
    ChangeRecord,
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
from directory.clock import local_now, local_today
from directory.extensions import db

LOCATION_FIELDS = (
    "name",
    "district",
    "address_1",
    "postal_code",
    "latitude",
    "longitude",
    "transportation",
    "active",
    "email",
)


def is_open_now(service: Service, moment: datetime | None = None) -> bool:
    return is_open_at(service.schedules, service.schedule_exceptions, moment or local_now())


def is_stale(service: Service, today: date | None = None) -> bool:
    """Never verified, or last verified longer ago than STALE_AFTER_DAYS (12 months)."""
    if service.assured_date is None:
        return True
    limit = timedelta(days=current_app.config["STALE_AFTER_DAYS"])
    return (today or local_today()) - service.assured_date > limit


# --- reading ------------------------------------------------------------------------------------


def term_with_descendants(term: TaxonomyTerm) -> list[str]:
    ids, frontier = [term.id], [term]
    while frontier:
        node = frontier.pop()
        for child in node.children:
            ids.append(child.id)
            frontier.append(child)
    return ids


def services_query(
    term: TaxonomyTerm | None = None, district: str | None = None, include_inactive: bool = False
) -> Select:
    query = select(Service).options(
        selectinload(Service.organization),
        selectinload(Service.taxonomy_terms),
        selectinload(Service.service_at_locations).selectinload(ServiceAtLocation.location),
        selectinload(Service.schedules),
        selectinload(Service.schedule_exceptions),
    )
    if not include_inactive:
        query = query.where(Service.status == "active")
    if term is not None:
        query = query.where(
            Service.id.in_(
                select(service_taxonomy.c.service_id).where(
                    service_taxonomy.c.taxonomy_term_id.in_(term_with_descendants(term))
                )
            )
        )
    if district is not None:
        query = query.where(
            Service.id.in_(
                select(ServiceAtLocation.service_id)
                .join(Location)
                .where(Location.district == district, Location.active.is_(True))
            )
        )
    return query.order_by(Service.name)


def count_by_district() -> dict[str, int]:
    rows = db.session.execute(
        select(Location.district, func.count(func.distinct(Service.id)))
        .join(ServiceAtLocation, ServiceAtLocation.location_id == Location.id)
        .join(Service, Service.id == ServiceAtLocation.service_id)
        .where(Service.status == "active", Location.active.is_(True))
        .group_by(Location.district)
    )
    return dict(rows.all())


def stale_services(today: date | None = None) -> Select:
    limit = (today or local_today()) - timedelta(days=current_app.config["STALE_AFTER_DAYS"])
    return (
        services_query()
        .where(or_(Service.assured_date.is_(None), Service.assured_date < limit))
        .order_by(None)
        .order_by(Service.assured_date.is_not(None), Service.assured_date, Service.name)
    )


def change_history(entity_ids: Iterable[str], limit: int = 200) -> list[ChangeRecord]:
    return list(
        db.session.scalars(
            select(ChangeRecord)
            .where(ChangeRecord.entity_id.in_(list(entity_ids)))
            .options(selectinload(ChangeRecord.user))
            .order_by(ChangeRecord.changed_at.desc(), ChangeRecord.id.desc())
            .limit(limit)
        )
    )


# --- changing -----------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def _record(
    user,
    organization_id: str,
    entity_type: str,
    entity_id: str,
    action: str,
    field: str | None = None,
    old: object = None,
    new: object = None,
) -> None:
    db.session.add(
        ChangeRecord(
            user_id=user.id if user is not None else None,
            organization_id=organization_id,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            field=field,
            old_value=_text(old),
            new_value=_text(new),
        )
    )


def _record_service_update(service: Service, user, field: str, old: object, new: object) -> None:
    _record(user, service.organization_id, "service", service.id, "update", field, old, new)


def _apply(obj, values: dict, fields: Iterable[str], user, entity_type: str, org_id: str, action: str) -> int:
    changed = 0
    for name in fields:
        if name not in values:
            continue
        old, new = getattr(obj, name), values[name]
        if old != new:
            setattr(obj, name, new)
            if action == "update":
                _record(user, org_id, entity_type, obj.id, "update", name, old, new)
            changed += 1
    return changed


def _set_collections(service: Service, values: dict, user) -> None:
    if "taxonomy_codes" in values:
        terms = list(db.session.scalars(select(TaxonomyTerm).where(TaxonomyTerm.code.in_(values["taxonomy_codes"]))))
        old = sorted(t.code for t in service.taxonomy_terms)
        new = sorted(t.code for t in terms)
        if old != new:
            service.taxonomy_terms = terms
            _record_service_update(service, user, "taxonomy", ", ".join(old), ", ".join(new))
    if "location_ids" in values:
        old = sorted(sal.location_id for sal in service.service_at_locations)
        new = sorted(values["location_ids"])
        if old != new:
            # Its organization's locations, and those it is offered at (possibly of no organization).
            names = {loc.id: loc.name for loc in [*service.organization.locations, *service.locations]}
            keep = [sal for sal in service.service_at_locations if sal.location_id in new]
            service.service_at_locations = keep + [ServiceAtLocation(location_id=lid) for lid in new if lid not in old]
            _record_service_update(
                service,
                user,
                "locations",
                ", ".join(names.get(i, i) for i in old),
                ", ".join(names.get(i, i) for i in new),
            )
    if "languages" in values:
        old = [lang.code for lang in service.languages]
        if old != values["languages"]:
            service.languages = [Language(code=code) for code in values["languages"]]
            _record_service_update(service, user, "languages", ", ".join(old), ", ".join(values["languages"]))
    if "required_documents" in values:
        old = [doc.document for doc in service.required_documents]
        if old != values["required_documents"]:
            service.required_documents = [RequiredDocument(document=d) for d in values["required_documents"]]
            _record_service_update(
                service, user, "required_documents", "\n".join(old), "\n".join(values["required_documents"])
            )
    if "service_areas" in values:
        old_areas = [area.area for area in service.service_areas]
        if old_areas != values["service_areas"]:
            service.service_areas = [
                ServiceArea(district=area.district, street=area.street, position=i)
                for i, area in enumerate(values["service_areas"])
            ]
            _record_service_update(
                service,
                user,
                "service_areas",
                "\n".join(a.name for a in old_areas),
                "\n".join(a.name for a in values["service_areas"]),
            )


def create_service(organization: Organization, values: dict, user) -> Service:
    service = Service(organization=organization, eligibility_rules=[])
    _apply(service, values, SERVICE_FIELDS, user, "service", organization.id, "create")
    db.session.add(service)
    db.session.flush()
    _record(user, organization.id, "service", service.id, "create", "name", None, service.name)
    _set_collections(service, values, user)
    db.session.flush()
    return service


def update_service(service: Service, values: dict, user) -> None:
    _apply(service, values, SERVICE_FIELDS, user, "service", service.organization_id, "update")
    _set_collections(service, values, user)
    db.session.flush()


def update_eligibility(service: Service, rules: list[dict], description: str | None, user) -> bool:
    """Replace the structured rules (valid ones: see ``rule_problems``) and the free-text description.
    The history keeps the rules as JSON. Returns whether anything changed."""
    changed = False
    old_rules = list(service.eligibility_rules or [])
    if old_rules != rules:
        service.eligibility_rules = [dict(rule) for rule in rules]
        _record_service_update(
            service,
            user,
            "eligibility_rules",
            json.dumps(old_rules, ensure_ascii=False),
            json.dumps(rules, ensure_ascii=False),
        )
        changed = True
    if (service.eligibility_description or None) != (description or None):
        _record_service_update(service, user, "eligibility_description", service.eligibility_description, description)
        service.eligibility_description = description or None
        changed = True
    db.session.flush()
    return changed


def deactivate_service(service: Service, user) -> None:
    if service.status != "inactive":
        _record(
            user, service.organization_id, "service", service.id, "deactivate", "status", service.status, "inactive"
        )
        service.status = "inactive"
        db.session.flush()


def verify_service(service: Service, user, today: date | None = None) -> None:
    """ "Still accurate": the agency confirms the listing, which sets the last verified date."""
    today = today or local_today()
    _record(user, service.organization_id, "service", service.id, "verify", "assured_date", service.assured_date, today)
    service.assured_date = today
    service.assurer_email = getattr(user, "email", None)
    service.is_demo = False
    db.session.flush()


def replace_weekly_hours(service: Service, periods: list[tuple[list[str], time, time]], user) -> None:
    """Replace the weekly hours; hours that recur otherwise (monthly, every two weeks …) are kept."""
    old = describe_hours(service.schedules)
    kept = [s for s in service.schedules if s.recurrence is not None]
    service.schedules = kept + [Schedule(byday=",".join(days), opens_at=o, closes_at=c) for days, o, c in periods]
    db.session.flush()
    new = describe_hours(service.schedules)
    if old != new:
        _record_service_update(service, user, "hours", old, new)
        service.last_modified = datetime.now().astimezone()
    db.session.flush()


def remove_schedule(schedule: Schedule, user) -> None:
    """Remove one period of regular hours (the hours editor removes monthly and other recurring ones)."""
    service = schedule.service
    old = describe_hours(service.schedules)
    service.schedules.remove(schedule)
    db.session.flush()
    _record_service_update(service, user, "hours", old, describe_hours(service.schedules))
    service.last_modified = datetime.now().astimezone()
    db.session.flush()


def _describe_exception(exc: ScheduleException) -> str:
    span = exc.starts_on.isoformat() + ("" if exc.ends_on == exc.starts_on else f"..{exc.ends_on.isoformat()}")
    hours = "closed" if exc.closed else f"{exc.opens_at:%H:%M}–{exc.closes_at:%H:%M}"
    return f"{span} {hours}" + (f" ({exc.description})" if exc.description else "")


def add_holiday(service: Service, values: dict, user) -> ScheduleException:
    exception = ScheduleException(service=service, **values)
    db.session.add(exception)
    db.session.flush()
    _record_service_update(service, user, "holiday_hours", None, _describe_exception(exception))
    return exception


def remove_holiday(exception: ScheduleException, user) -> None:
    service = exception.service
    _record_service_update(service, user, "holiday_hours", _describe_exception(exception), None)
    service.schedule_exceptions.remove(exception)
    db.session.flush()


def locations_without_organization() -> list[Location]:
    """Locations that belong to no organization (HSDS allows them; only admins edit them)."""
    return list(db.session.scalars(select(Location).where(Location.organization_id.is_(None)).order_by(Location.name)))


def create_location(organization: Organization, values: dict, user) -> Location:
    location = Location(organization=organization)
    _apply(location, values, LOCATION_FIELDS, user, "location", organization.id, "create")
    db.session.add(location)
    db.session.flush()
    _record(user, organization.id, "location", location.id, "create", "name", None, location.name)
    return location


def update_location(location: Location, values: dict, user) -> None:
    _apply(location, values, LOCATION_FIELDS, user, "location", location.organization_id, "update")
    db.session.flush()


def deactivate_location(location: Location, user) -> None:
    if location.active:
        _record(user, location.organization_id, "location", location.id, "deactivate", "active", True, False)
        location.active = False
        db.session.flush()
