"""Load the demo data in seed_data/: idempotent, and every bad record reported, the rest loaded."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml

from directory.catalog.models import (
    DISTRICTS,
    SERVICE_STATUSES,
    WEEKDAYS,
    ChangeRecord,
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    ScheduleException,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from directory.eligibility.rules import rule_problems
from directory.extensions import db
from directory.geo.areas import AreaError, parse_area
from directory.geo.gazetteer import Gazetteer, GazetteerError
from directory.models_base import id_from_key
from directory.vocabulary import SERVICE_LANGUAGE_NAMES

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,99}$")
LAT_RANGE, LON_RANGE = (22.4, 24.1), (112.9, 114.2)


class SeedError(ValueError):
    pass


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that records each mapping's line number under ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    kept: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, kind: str, created: bool) -> None:
        target = self.created if created else self.updated
        target[kind] = target.get(kind, 0) + 1

    def error(self, path: Path, record: dict | None, reason: str) -> None:
        line = record.get("__line__", "?") if isinstance(record, dict) else "?"
        key = record.get("key") or record.get("code") if isinstance(record, dict) else None
        where = f"{path.name}:{line}" + (f" [{key}]" if key else "")
        self.errors.append(f"{where}: {reason}")


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)


def _parse_time(value: Any, what: str) -> time:
    if isinstance(value, int):  # YAML 1.1 reads 07:30 unquoted as sexagesimal minutes
        return time(value // 60 % 24, value % 60)
    try:
        return datetime.strptime(str(value), "%H:%M").time()
    except ValueError as exc:
        raise SeedError(f"{what}: '{value}' is not a time HH:MM") from exc


def _parse_date(value: Any, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise SeedError(f"{what}: '{value}' is not a date YYYY-MM-DD") from exc


def _require_text(record: dict, name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value.strip():
        raise SeedError(f"'{name}' is required")
    return value.strip()


def _optional_text(record: dict, name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        raise SeedError(f"'{name}' must be text")
    return str(value).strip() or None


def _optional_age(record: dict, name: str) -> int | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or not 0 <= value <= 120:
        raise SeedError(f"'{name}' must be a whole number of years from 0 to 120")
    return value


def _check_key(record: dict, seen: set[str]) -> str:
    key = record.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise SeedError("'key' is missing or not of the form [a-z0-9-]")
    if key in seen:
        raise SeedError(f"key '{key}' is used twice")
    seen.add(key)
    return key


def _upsert(model: type, obj_id: str, values: dict, report: SeedReport, kind: str):
    obj = db.session.get(model, obj_id)
    created = obj is None
    if created:
        obj = model(id=obj_id)
        db.session.add(obj)
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    if created or changed:
        report.count(kind, created)
    return obj


def _sync_children(collection: list, model: type, kind: str, owner_key: str, rows: list[dict]) -> None:
    """Make ``collection`` hold exactly ``rows``, with ids derived from the owner's key and position."""
    wanted = {id_from_key(kind, f"{owner_key}:{i}"): row for i, row in enumerate(rows)}
    for child in list(collection):
        if child.id not in wanted:
            collection.remove(child)
    existing = {child.id: child for child in collection}
    for child_id, row in wanted.items():
        child = existing.get(child_id)
        if child is None:
            collection.append(model(id=child_id, **row))
        else:
            for name, value in row.items():
                if getattr(child, name) != value:
                    setattr(child, name, value)


# --- taxonomy -----------------------------------------------------------------------------------


def load_taxonomy(path: Path, report: SeedReport) -> dict[str, TaxonomyTerm]:
    data = read_yaml(path)
    meta = data.get("taxonomy") or {}
    taxonomy = _upsert(
        Taxonomy,
        id_from_key("taxonomy", "lianjie"),
        {"name": meta.get("name", "Lianjie"), "name_en": meta.get("name_en"), "version": str(meta.get("version", ""))},
        report,
        "taxonomy",
    )
    terms: dict[str, TaxonomyTerm] = {}
    for position, record in enumerate(data.get("terms") or []):
        try:
            code = record.get("code")
            if not isinstance(code, str) or not KEY_PATTERN.match(code):
                raise SeedError("'code' is missing or not of the form [a-z0-9-]")
            if code in terms:
                raise SeedError(f"code '{code}' is used twice")
            parent_code = record.get("parent")
            if parent_code is not None and parent_code not in terms:
                raise SeedError(f"parent '{parent_code}' is unknown (parents must come first)")
            term = _upsert(
                TaxonomyTerm,
                id_from_key("taxonomy_term", code),
                {
                    "code": code,
                    "name": _require_text(record, "name"),
                    "name_en": _optional_text(record, "name_en"),
                    "description": _optional_text(record, "description"),
                    "parent_id": terms[parent_code].id if parent_code else None,
                    "taxonomy_id": taxonomy.id,
                    "position": position,
                },
                report,
                "taxonomy_term",
            )
            terms[code] = term
        except SeedError as exc:
            report.error(path, record, str(exc))
    db.session.flush()
    return terms


# --- catalog ------------------------------------------------------------------------------------


def _phones(record: dict) -> list[dict]:
    phones = []
    for phone in record.get("phones") or []:
        if not isinstance(phone, dict):
            raise SeedError("each phone must be a mapping with a 'number'")
        phones.append(
            {
                "number": _require_text(phone, "number"),
                "type": _optional_text(phone, "type"),
                "description": _optional_text(phone, "description"),
            }
        )
    return phones


def _location_values(record: dict) -> dict:
    district = record.get("district")
    if district not in DISTRICTS:
        raise SeedError(f"district '{district}' is not one of Guangzhou's 11 districts")
    lat, lon = record.get("latitude"), record.get("longitude")
    if not isinstance(lat, (int, float)) or not isinstance(lon, (int, float)):
        raise SeedError("latitude and longitude are required numbers")
    if not (LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]):
        raise SeedError(f"coordinates {lat},{lon} are outside Guangzhou")
    return {
        "name": _require_text(record, "name"),
        "district": district,
        "address_1": _optional_text(record, "address"),
        "postal_code": _optional_text(record, "postal_code"),
        "latitude": float(lat),
        "longitude": float(lon),
        "transportation": _optional_text(record, "transportation"),
        "description": _optional_text(record, "description"),
    }


def _schedules(record: dict) -> list[dict]:
    rows = []
    for entry in record.get("schedules") or []:
        days = entry.get("byday") if isinstance(entry, dict) else None
        if not days or not isinstance(days, list) or any(d not in WEEKDAYS for d in days):
            raise SeedError(f"schedule byday must list days from {', '.join(WEEKDAYS)}")
        rows.append(
            {
                "byday": ",".join(d for d in WEEKDAYS if d in days),
                "opens_at": _parse_time(entry.get("opens_at"), "opens_at"),
                "closes_at": _parse_time(entry.get("closes_at"), "closes_at"),
                "description": _optional_text(entry, "description"),
            }
        )
    return rows


def _holidays(record: dict) -> list[dict]:
    rows = []
    for entry in record.get("holidays") or []:
        if not isinstance(entry, dict):
            raise SeedError("each holiday must be a mapping")
        starts = _parse_date(entry.get("from"), "holiday from")
        ends = _parse_date(entry.get("to", entry.get("from")), "holiday to")
        if ends < starts:
            raise SeedError("holiday 'to' is before 'from'")
        closed = entry.get("closed", True) is not False
        opens = closes = None
        if not closed:
            opens = _parse_time(entry.get("opens_at"), "holiday opens_at")
            closes = _parse_time(entry.get("closes_at"), "holiday closes_at")
        rows.append(
            {
                "starts_on": starts,
                "ends_on": ends,
                "closed": closed,
                "opens_at": opens,
                "closes_at": closes,
                "description": _optional_text(entry, "description"),
            }
        )
    return rows


def _locally_edited(service_id: str) -> bool:
    """A listing somebody edited in the app keeps its edits when the seed is loaded again."""
    return (
        db.session.scalar(
            db.select(ChangeRecord.id)
            .where(ChangeRecord.entity_id == service_id, ChangeRecord.user_id.is_not(None))
            .limit(1)
        )
        is not None
    )


def _service_values(record: dict, terms: dict[str, TaxonomyTerm]) -> tuple[dict, list[TaxonomyTerm]]:
    status = record.get("status", "active")
    if status not in SERVICE_STATUSES:
        raise SeedError(f"status '{status}' is not one of {', '.join(SERVICE_STATUSES)}")
    codes = record.get("taxonomy") or []
    if not codes:
        raise SeedError("'taxonomy' must list at least one term code")
    unknown = [c for c in codes if c not in terms]
    if unknown:
        raise SeedError(f"unknown taxonomy code(s): {', '.join(map(str, unknown))}")
    minimum, maximum = _optional_age(record, "minimum_age"), _optional_age(record, "maximum_age")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise SeedError("minimum_age is greater than maximum_age")
    rules = record.get("eligibility") or []
    rules = [{k: v for k, v in rule.items() if k != "__line__"} if isinstance(rule, dict) else rule for rule in rules]
    problems = rule_problems(rules)
    if problems:
        raise SeedError("eligibility: " + "; ".join(problems))
    values = {
        "name": _require_text(record, "name"),
        "alternate_name": _optional_text(record, "alternate_name"),
        "description": _require_text(record, "description"),
        "status": status,
        "application_process": _optional_text(record, "application_process"),
        "fees_description": _optional_text(record, "fees_description"),
        "eligibility_description": _optional_text(record, "eligibility_description"),
        "minimum_age": minimum,
        "maximum_age": maximum,
        "eligibility_rules": rules,
        "accepting_referrals": bool(record.get("accepting_referrals", True)),
        "capacity_note": _optional_text(record, "capacity_note"),
        "alert": _optional_text(record, "alert"),
        "url": _optional_text(record, "url"),
        "email": _optional_text(record, "email"),
        "is_demo": True,
    }
    return values, [terms[c] for c in codes]


def _service_areas(record: dict, path: Path) -> list[dict]:
    """``service_areas: [番禺区, 广州市, 番禺区 市桥街道]``: each a city, district or 街道/镇 of the gazetteer
    next to the catalog (seed_data/gazetteer.yaml)."""
    names = record.get("service_areas") or []
    if not isinstance(names, list):
        raise SeedError("'service_areas' must be a list of area names")
    if not names:
        return []
    try:
        gazetteer = Gazetteer.from_path(path.parent.parent / "gazetteer.yaml")
    except GazetteerError as exc:
        raise SeedError(f"service_areas need the gazetteer: {exc}") from exc
    rows = []
    for position, name in enumerate(names):
        try:
            area = parse_area(str(name), gazetteer)
        except AreaError as exc:
            raise SeedError(f"service_areas: {exc}") from exc
        rows.append({"district": area.district, "street": area.street, "position": position})
    return rows


def load_catalog_file(path: Path, terms: dict[str, TaxonomyTerm], seen: set[str], report: SeedReport) -> list[str]:
    """Load one catalog file; returns the ids of the services it wrote."""
    try:
        data = read_yaml(path)
    except yaml.YAMLError as exc:
        report.errors.append(f"{path.name}: not valid YAML: {exc}")
        return []
    written: list[str] = []
    for org_record in (data or {}).get("organizations") or []:
        try:
            org_key = _check_key(org_record, seen)
            org = _upsert(
                Organization,
                id_from_key("organization", org_key),
                {
                    "name": _require_text(org_record, "name"),
                    "alternate_name": _optional_text(org_record, "alternate_name"),
                    "description": _require_text(org_record, "description"),
                    "email": _optional_text(org_record, "email"),
                    "website": _optional_text(org_record, "website"),
                    "is_demo": True,
                },
                report,
                "organization",
            )
            org_phones = _phones(org_record)
        except SeedError as exc:
            report.error(path, org_record, f"organization skipped with its services: {exc}")
            continue
        db.session.flush()
        _sync_children(org.phones, Phone, "org_phone", org_key, org_phones)

        locations: dict[str, Location] = {}
        for loc_record in org_record.get("locations") or []:
            try:
                loc_key = _check_key(loc_record, seen)
                values = _location_values(loc_record) | {"organization_id": org.id, "is_demo": True}
                locations[loc_key] = _upsert(Location, id_from_key("location", loc_key), values, report, "location")
            except SeedError as exc:
                report.error(path, loc_record, str(exc))
        db.session.flush()

        for svc_record in org_record.get("services") or []:
            try:
                svc_key = _check_key(svc_record, seen)
                svc_id = id_from_key("service", svc_key)
                if _locally_edited(svc_id):
                    report.kept += 1
                    continue
                values, svc_terms = _service_values(svc_record, terms)
                loc_keys = svc_record.get("locations") or []
                missing = [k for k in loc_keys if k not in locations]
                if missing:  # no locations at all is allowed: a phone or online service
                    raise SeedError(f"unknown location(s) for this organization: {', '.join(map(str, missing))}")
                schedules, holidays = _schedules(svc_record), _holidays(svc_record)
                phones = _phones(svc_record)
                documents = [str(d).strip() for d in svc_record.get("required_documents") or [] if str(d).strip()]
                languages = [str(code) for code in svc_record.get("languages") or []]
                areas = _service_areas(svc_record, path)
            except SeedError as exc:
                report.error(path, svc_record, str(exc))
                continue
            service = _upsert(Service, svc_id, values | {"organization_id": org.id}, report, "service")
            if [t.id for t in service.taxonomy_terms] != [t.id for t in svc_terms]:
                service.taxonomy_terms = svc_terms
            _sync_children(
                service.service_at_locations,
                ServiceAtLocation,
                "service_at_location",
                svc_key,
                [{"location_id": locations[k].id} for k in loc_keys],
            )
            _sync_children(service.schedules, Schedule, "schedule", svc_key, schedules)
            _sync_children(service.schedule_exceptions, ScheduleException, "schedule_exception", svc_key, holidays)
            _sync_children(
                service.required_documents,
                RequiredDocument,
                "required_document",
                svc_key,
                [{"document": d} for d in documents],
            )
            _sync_children(
                service.languages,
                Language,
                "language",
                svc_key,
                [{"code": c, "name": SERVICE_LANGUAGE_NAMES.get(c)} for c in languages],
            )
            _sync_children(service.phones, Phone, "service_phone", svc_key, phones)
            _sync_children(service.service_areas, ServiceArea, "service_area", svc_key, areas)
            written.append(svc_id)
        db.session.flush()
    return written


def load_seed(seed_dir: Path, progress: Callable[[str], None] | None = None) -> SeedReport:
    """Load taxonomy and catalog from ``seed_dir`` in one transaction (the caller commits)."""
    report = SeedReport()
    terms = load_taxonomy(seed_dir / "taxonomy.yaml", report)
    seen: set[str] = set()
    for path in sorted((seed_dir / "catalog").glob("*.yaml")):
        if progress:
            progress(path.name)
        load_catalog_file(path, terms, seen, report)
    return report
