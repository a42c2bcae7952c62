"""Our catalog as HSDS 3.0 objects (one function per object type), and ``flask export-hsds``.

The dict functions are shared by the export files and the JSON API. Values HSDS has no type for are
left out rather than sent as null (the HSDS schemas do not allow null); required text we lack is "".
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from directory.api.hsds_areas import service_area_dict
from directory.api.hsds_common import (
    CATEGORY_LINK_TYPE,
    EXTENSION_TAXONOMY,
    EXTENSIONS,
    HSDS_VERSION,
    NESTED,
    UTC_OFFSET_HOURS,
    WEEKDAY_ORDER,
    derived_id,
    extension_attribute,
    extension_term_dict,
    hsds_date,
    hsds_datetime,
    hsds_time,
    tables,
)
from directory.catalog.models import (
    Location,
    Organization,
    Phone,
    Schedule,
    ScheduleException,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from directory.eligibility.explain import hsds_eligibility
from directory.extensions import db
from directory.models_base import utcnow


def _clean(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


# --- taxonomy ------------------------------------------------------------------------------------


def taxonomy_dict(taxonomy: Taxonomy, extensions: bool = True) -> dict:
    result = _clean(
        {
            "id": taxonomy.id,
            "name": taxonomy.name,
            "description": taxonomy.description or "",
            "uri": taxonomy.uri,
            "version": taxonomy.version,
        }
    )
    if extensions:
        result["attributes"] = [extension_attribute("taxonomy", "name_en", taxonomy.id, taxonomy.name_en)]
    return result


def taxonomy_term_dict(term: TaxonomyTerm, detail: bool = True, extensions: bool = True) -> dict:
    """A taxonomy term. ``attributes`` (name_en, position) is our extension: HSDS terms have none."""
    result = _clean(
        {
            "id": term.id,
            "code": term.code,
            "name": term.name,
            "description": term.description or "",
            "parent_id": term.parent_id,
            "taxonomy": term.taxonomy.name if term.taxonomy else None,
            "taxonomy_id": term.taxonomy_id,
        }
    )
    if detail and term.taxonomy is not None:
        result["taxonomy_detail"] = taxonomy_dict(term.taxonomy, extensions=False)
    if extensions:
        result["attributes"] = [
            extension_attribute("taxonomy_term", "name_en", term.id, term.name_en),
            extension_attribute("taxonomy_term", "position", term.id, term.position or 0),
        ]
    return result


def category_attribute(service: Service, term: TaxonomyTerm, nested: bool = True) -> dict:
    result = {
        "id": derived_id("attribute", service.id, term.id),
        "link_id": service.id,
        "taxonomy_term_id": term.id,
        "link_type": CATEGORY_LINK_TYPE,
        "link_entity": "service",
    }
    if nested:
        result["taxonomy_term"] = taxonomy_term_dict(term, detail=True, extensions=False)
    return result


# --- organization, location ----------------------------------------------------------------------


def phone_dict(phone: Phone) -> dict:
    extension = phone.extension.strip() if phone.extension else None
    return _clean(
        {
            "id": phone.id,
            "organization_id": phone.organization_id,
            "service_id": phone.service_id,
            "location_id": phone.location_id,
            "number": phone.number,
            # HSDS types the extension as a number: one that is not (e.g. "12a") cannot be sent.
            "extension": int(extension) if extension and extension.isdigit() else None,
            "type": phone.type,
            "description": phone.description,
        }
    )


def organization_dict(org: Organization, full: bool = False, services: str | None = None) -> dict:
    """One-to-one fields; ``full`` adds phones, locations and attributes; ``services`` is None, "list"
    (their one-to-one fields) or "full" (fully nested, without repeating the organization)."""
    result = _clean(
        {
            "id": org.id,
            "name": org.name,
            "alternate_name": org.alternate_name,
            "description": org.description or "",
            "email": org.email,
            "website": org.website,
        }
    )
    if full:
        result["phones"] = [phone_dict(p) for p in org.phones]
        result["locations"] = [location_dict(loc) for loc in org.locations]
        result["attributes"] = [extension_attribute("organization", "is_demo", org.id, org.is_demo)]
    if services:
        result["services"] = [
            service_dict(s, full=services == "full", organization=False) for s in sorted(org.services, key=_by_id)
        ]
    return result


def address_dict(loc: Location) -> dict:
    """Our location keeps one address: district as HSDS ``region``, street as ``address_1``."""
    return {
        "id": derived_id("address", loc.id),
        "location_id": loc.id,
        "address_1": loc.address_1 or "",
        "city": loc.city or "",
        "region": loc.district or "",
        "state_province": loc.state_province or "",
        "postal_code": loc.postal_code or "",
        "country": loc.country or "",
        "address_type": loc.location_type if loc.location_type in ("physical", "postal", "virtual") else "physical",
    }


def location_dict(loc: Location, full: bool = True) -> dict:
    result = _clean(
        {
            "id": loc.id,
            "location_type": loc.location_type or "physical",
            "organization_id": loc.organization_id,
            "name": loc.name,
            "description": loc.description,
            "transportation": loc.transportation,
            "latitude": loc.latitude,
            "longitude": loc.longitude,
        }
    )
    if full:
        result["addresses"] = [address_dict(loc)]
        result["phones"] = [phone_dict(p) for p in loc.phones]
        result["attributes"] = [
            extension_attribute("location", "active", loc.id, loc.active),
            extension_attribute("location", "is_demo", loc.id, loc.is_demo),
        ]
    return result


# --- service -------------------------------------------------------------------------------------


def _eligibility(service: Service) -> dict:
    """HSDS eligibility fields: from the rules (``hsds_eligibility``) where it gives a value, else ours."""
    own = {
        "minimum_age": service.minimum_age,
        "maximum_age": service.maximum_age,
        "eligibility_description": service.eligibility_description,
    }
    derived = hsds_eligibility(service.eligibility_rules or [], service.eligibility_description)
    return {name: derived.get(name) if derived.get(name) is not None else value for name, value in own.items()}


def schedule_dict(schedule: Schedule) -> dict:
    """Regular hours. Weekly ones as ``freq: WEEKLY`` on their weekdays; others with their own rule
    (``interval``, numbered ``byday`` such as 1MO, ``bymonthday``, ``dtstart``) as imported or kept."""
    weekly = schedule.recurrence is None
    return _clean(
        {
            "id": schedule.id,
            "service_id": schedule.service_id,
            "freq": schedule.freq or "WEEKLY",
            "interval": None if weekly else schedule.interval,
            "wkst": schedule.wkst or "MO",
            "byday": ",".join(d for d in WEEKDAY_ORDER if d in schedule.days) if weekly else schedule.byday or None,
            "bymonthday": None if weekly else schedule.bymonthday,
            "dtstart": hsds_date(schedule.dtstart) if schedule.dtstart and not weekly else None,
            "opens_at": hsds_time(schedule.opens_at),
            "closes_at": hsds_time(schedule.closes_at),
            "timezone": UTC_OFFSET_HOURS,
            "description": schedule.description,
        }
    )


def exception_dict(exception: ScheduleException) -> dict:
    """Holiday hours: a schedule valid only from ``valid_from`` to ``valid_to`` on every day; without
    hours (and with the note "closed") it means closed on those dates."""
    return _clean(
        {
            "id": exception.id,
            "service_id": exception.service_id,
            "valid_from": hsds_date(exception.starts_on),
            "valid_to": hsds_date(exception.ends_on),
            "freq": "WEEKLY",
            "wkst": "MO",
            "byday": ",".join(WEEKDAY_ORDER),
            "opens_at": hsds_time(exception.opens_at) if not exception.closed and exception.opens_at else None,
            "closes_at": hsds_time(exception.closes_at) if not exception.closed and exception.closes_at else None,
            "timezone": UTC_OFFSET_HOURS,
            "description": exception.description,
            "notes": "closed" if exception.closed else None,
        }
    )


def service_at_location_dict(sal: ServiceAtLocation, location: bool = True, service: bool = False) -> dict:
    result = _clean(
        {"id": sal.id, "service_id": sal.service_id, "location_id": sal.location_id, "description": sal.description}
    )
    if location:
        result["location"] = location_dict(sal.location, full=True)
    if service:
        result["service"] = service_dict(sal.service, full=False, organization=True)
    return result


def service_dict(service: Service, full: bool = True, organization: bool = True) -> dict:
    """A service: one-to-one fields (``full=False``, as in HSDS lists) or fully nested."""
    eligibility = _eligibility(service)
    result = _clean(
        {
            "id": service.id,
            "organization_id": service.organization_id,
            "name": service.name,
            "alternate_name": service.alternate_name,
            "description": service.description or "",
            "url": service.url,
            "email": service.email,
            "status": service.status,
            "application_process": service.application_process,
            "fees_description": service.fees_description,
            "eligibility_description": eligibility["eligibility_description"],
            "minimum_age": eligibility["minimum_age"],
            "maximum_age": eligibility["maximum_age"],
            "assured_date": hsds_date(service.assured_date) if service.assured_date else None,
            "assurer_email": service.assurer_email,
            "alert": service.alert,
            "last_modified": hsds_datetime(service.last_modified) if service.last_modified else None,
        }
    )
    if organization:
        result["organization"] = organization_dict(service.organization)
    if not full:
        return result
    result["phones"] = [phone_dict(p) for p in service.phones]
    result["schedules"] = [schedule_dict(s) for s in service.schedules] + [
        exception_dict(e) for e in service.schedule_exceptions
    ]
    result["service_at_locations"] = [service_at_location_dict(sal) for sal in service.service_at_locations]
    result["languages"] = [
        _clean({"id": lang.id, "service_id": service.id, "name": lang.name, "code": lang.code})
        for lang in service.languages
    ]
    result["required_documents"] = [
        _clean({"id": doc.id, "service_id": service.id, "document": doc.document, "uri": doc.uri})
        for doc in service.required_documents
    ]
    result["service_areas"] = [service_area_dict(area) for area in service.service_areas]
    attributes = [category_attribute(service, term) for term in service.taxonomy_terms]
    for name in ("accepting_referrals", "capacity_note", "eligibility_rules", "is_demo"):
        attributes.append(extension_attribute("service", name, service.id, getattr(service, name)))
    for name, sent in eligibility.items():  # our own values where the HSDS fields say something else
        if sent != getattr(service, name):
            attributes.append(extension_attribute("service", name, service.id, getattr(service, name)))
    result["attributes"] = attributes
    return result


def _by_id(obj) -> str:
    return obj.id


# --- loading -------------------------------------------------------------------------------------


def service_options(full: bool = True) -> list:
    """Eager loading for ``service_dict`` (no query per service)."""
    options = [selectinload(Service.organization)]
    if full:
        sal = selectinload(Service.service_at_locations).selectinload(ServiceAtLocation.location)
        options += [
            selectinload(Service.phones),
            selectinload(Service.schedules),
            selectinload(Service.schedule_exceptions),
            sal.selectinload(Location.phones),
            selectinload(Service.languages),
            selectinload(Service.required_documents),
            selectinload(Service.service_areas),
            selectinload(Service.taxonomy_terms).selectinload(TaxonomyTerm.taxonomy),
        ]
    return options


# --- the export ----------------------------------------------------------------------------------


@dataclass
class ExportReport:
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows written
    files: list[Path] = field(default_factory=list)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _TableWriter:
    """One CSV file per HSDS table, every column of the HSDS datapackage in its order."""

    def __init__(self, out: Path, stack: ExitStack, report: ExportReport):
        self.out, self.stack, self.report = out, stack, report
        self.writers: dict[str, csv.writer] = {}
        for table in tables().values():
            handle = stack.enter_context((out / table.path).open("w", encoding="utf-8", newline=""))
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(table.fields)
            self.writers[table.name] = writer
            report.rows[table.name] = 0
            report.files.append(out / table.path)

    def write(self, table: str, row: dict) -> None:
        fields = tables()[table].fields
        self.writers[table].writerow([_csv_value(row.get(name)) for name in fields])
        self.report.rows[table] += 1


def _rows(table: str, data: dict) -> Iterator[tuple[str, dict]]:
    """The CSV rows of one nested HSDS object: its own (the writer keeps the table's columns), then its
    nested lists' (a nested one-to-one object, such as a service_at_location's location, is written
    where it belongs)."""
    yield table, data
    for key, child_table, _ in NESTED.get(table, []):
        for item in data.get(key, []):
            yield from _rows(child_table, item)


def _taxonomy_rows() -> tuple[list[dict], list[dict]]:
    taxonomies = [taxonomy_dict(t) for t in db.session.scalars(select(Taxonomy).order_by(Taxonomy.id))]
    taxonomies.append(dict(EXTENSION_TAXONOMY))
    terms = [
        taxonomy_term_dict(t, detail=False)
        for t in db.session.scalars(
            select(TaxonomyTerm).options(selectinload(TaxonomyTerm.taxonomy)).order_by(TaxonomyTerm.position)
        )
    ]
    terms += [extension_term_dict(ext) for ext in EXTENSIONS]
    return taxonomies, terms


def datapackage(created: str) -> dict:
    resources = []
    for table in tables().values():
        definition = table.definition
        schema = {"fields": definition["fields"]}
        for key in ("primaryKey", "foreignKeys"):
            if key in definition:
                schema[key] = definition[key]
        resources.append(
            {
                "name": table.name,
                "path": table.path,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": schema,
            }
        )
    return {
        "name": "lianjie-catalog",
        "title": "Lianjie 链接 community resource catalog (Guangzhou)",
        "description": "Organizations, services and locations of the Lianjie catalog in HSDS 3.0 tabular form.",
        "profile": "tabular-data-package",
        "version": "3.0.0",
        "hsds_version": HSDS_VERSION,
        "created": created,
        "sources": [
            {
                "title": "Human Services Data Specification: an Open Referral resource",
                "path": "https://openreferral.org/",
            }
        ],
        "resources": resources,
    }


def export_catalog(out: Path, progress: Callable[[int, int], None] | None = None, batch: int = 200) -> ExportReport:
    """Write ``out/datapackage.json`` with one CSV per HSDS table, and ``out/json/`` with
    ``taxonomies.json``, ``taxonomy_terms.json``, ``locations.json`` (the locations of no organization)
    and ``organizations.json`` (fully nested organizations with their services, as in HSDS's
    organization_full example)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "json").mkdir(exist_ok=True)
    report = ExportReport()
    org_ids = list(db.session.scalars(select(Organization.id).order_by(Organization.id)))
    with ExitStack() as stack:
        writer = _TableWriter(out, stack, report)
        taxonomies, terms = _taxonomy_rows()
        for table, objects in (("taxonomy", taxonomies), ("taxonomy_term", terms)):
            for obj in objects:
                for row_table, row in _rows(table, obj):
                    writer.write(row_table, row)
        _write_json(out / "json" / "taxonomies.json", taxonomies)
        _write_json(out / "json" / "taxonomy_terms.json", terms)
        report.files += [out / "json" / "taxonomies.json", out / "json" / "taxonomy_terms.json"]

        # Locations of no organization (HSDS allows them): not nested in any organization, so on their own.
        lone = [location_dict(loc) for loc in _load_lone_locations()]
        for location in lone:
            for table, row in _rows("location", location):
                writer.write(table, row)
        _write_json(out / "json" / "locations.json", lone)
        report.files.append(out / "json" / "locations.json")

        orgs_path = out / "json" / "organizations.json"
        with orgs_path.open("w", encoding="utf-8") as handle:
            handle.write("[")
            for start in range(0, len(org_ids), batch):
                for i, org in enumerate(_load_organizations(org_ids[start : start + batch])):
                    data = organization_dict(org, full=True, services="full")
                    handle.write(("," if start + i else "") + "\n")
                    handle.write(json.dumps(data, ensure_ascii=False))
                    for table, row in _rows("organization", data):
                        writer.write(table, row)
                db.session.expunge_all()  # keep memory flat on large catalogs
                if progress:
                    progress(min(start + batch, len(org_ids)), len(org_ids))
            handle.write("\n]\n")
        report.files.append(orgs_path)
    created = hsds_datetime(utcnow())
    (out / "datapackage.json").write_text(
        json.dumps(datapackage(created), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    report.files.insert(0, out / "datapackage.json")
    return report


def _load_organizations(ids: list[str]) -> list[Organization]:
    orgs = db.session.scalars(
        select(Organization)
        .where(Organization.id.in_(ids))
        .options(
            selectinload(Organization.phones),
            selectinload(Organization.locations).selectinload(Location.phones),
            selectinload(Organization.services).options(*service_options(full=True)),
        )
    )
    return sorted(orgs, key=_by_id)


def _load_lone_locations() -> list[Location]:
    """The locations that belong to no organization, with their phones."""
    return list(
        db.session.scalars(
            select(Location)
            .where(Location.organization_id.is_(None))
            .options(selectinload(Location.phones))
            .order_by(Location.id)
        )
    )


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
