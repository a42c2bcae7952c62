"""HSDS 3.0 in: JSON (an object, a list, an API page, tabular JSON) and CSV datapackages → upserts by id.

Every input is first flattened into rows of HSDS tables (a nested JSON object becomes a row that knows
its parent's id), then the rows are applied table by table, parents first, each in its own savepoint:
a bad row is reported as ``where [id]: reason`` and leaves nothing behind, and the rest is imported.
``where`` is ``file.csv:LINE`` for CSV and ``file.json:/json/pointer`` for JSON.

What the mapping does (docs/hsds.md): ids are kept (non-UUID ids map to stable UUIDs); a collection a
record states (a JSON key present, or a CSV file in the package) replaces what we hold, one it leaves
out is left alone; organizations, services and locations are never deleted.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import flag_modified

from directory.api.hsds_common import (
    EXTENSION_BY_TERM_ID,
    EXTENSION_TAXONOMY_ID,
    LIANJIE_TAXONOMY_ID,
    NESTED,
    OVERRIDE_FIELDS,
    UTC_OFFSET_HOURS,
    canonical_id,
    derived_id,
    guangzhou_district,
    is_number,
    table_for_path,
    tables,
)
from directory.catalog.hours import (
    FREQUENCIES,
    MAX_INTERVAL,
    RecurrenceError,
    format_byday,
    parse_byday,
    parse_bymonthday,
)
from directory.catalog.limits import text_limit
from directory.catalog.models import (
    SERVICE_STATUSES,
    WEEKDAYS,
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    ScheduleException,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from directory.catalog.urls import ALLOWED_SCHEMES
from directory.clock import local_today
from directory.eligibility.rules import rule_problems
from directory.extensions import db
from directory.vocabulary import SERVICE_LANGUAGE_NAMES

# The tables we read, in the order they are applied (parents first).
TABLE_ORDER = (
    "taxonomy",
    "taxonomy_term",
    "organization",
    "location",
    "address",
    "service",
    "service_at_location",
    "phone",
    "schedule",
    "language",
    "required_document",
    "attribute",
)
OBJECT_TYPES = ("service", "organization", "location", "service_at_location", "taxonomy_term", "taxonomy")
MERGED_TYPES = (*OBJECT_TYPES, "address")  # repeated in nested JSON: one record, fields merged
# Collections a record can state completely, and so replace: owner table -> {key: child table}.
COLLECTIONS = {
    "organization": {"phones": "phone"},
    "location": {"phones": "phone"},
    "service": {
        "phones": "phone",
        "schedules": "schedule",
        "service_at_locations": "service_at_location",
        "languages": "language",
        "required_documents": "required_document",
        "attributes": "attribute",
    },
}
LANGUAGE_CODES_BY_NAME = {
    **{name.lower(): code for code, name in SERVICE_LANGUAGE_NAMES.items()},
    "chinese": "zh",
    "mandarin": "zh",
    "putonghua": "zh",
    "cantonese": "yue",
    "english": "en",
    "hakka": "hak",
}
SAFE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$", re.IGNORECASE)
PREVIEW = 60
MISSING = "is neither in this import nor in the catalog"
_ONE_TO_ONE = ("organization", "service", "location", "taxonomy_detail", "taxonomy_term")  # read above
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+$")  # ASCII: an IRI is no HSDS uri
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_CSV_WHERE = re.compile(r"\.csv:\d+$")
MAX_NESTING = 20  # objects within objects: HSDS needs 4 or 5 (service → service_at_location → location → …)
CSV_FIELD_LIMIT = 1_000_000  # characters in one CSV value (csv's own default is 131,072); the caps are lower


class RecordError(ValueError):
    """The record is invalid: reported as an error, skipped."""


class ParentSkipped(RecordError):
    """The record's parent was invalid: skipped with it, counted but not reported again."""


class Skip(Exception):  # noqa: N818 (a signal, like StopIteration)
    """The record is valid HSDS that we do not model: skipped with a warning."""


@dataclass
class Row:
    table: str
    data: dict
    where: str  # "services.csv:3" or "service_full.json:/service_at_locations/0"
    parent: dict = field(default_factory=dict)  # links implied by nesting; they win over the record's own
    lists: set[str] = field(default_factory=set)  # collections this record states completely

    def label(self) -> str:
        raw = self.data.get("id")
        return f"{self.where} [{raw}]" if raw not in (None, "") else self.where


@dataclass
class ImportReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: int = 0
    records: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_modelled: Counter = field(default_factory=Counter)  # HSDS parts we do not keep
    skipped_with_parent: int = 0
    terms_mapped: int = 0
    terms_kept: int = 0
    new_ids: set[tuple[str, str | None]] = field(default_factory=set)

    def count(self, kind: str, created: bool | None, obj_id: str | None = None) -> None:
        """Count a record created (True), updated (False) or unchanged (None); a change to a record
        created earlier in the same import counts once, as created."""
        if created:
            self.created[kind] += 1
            self.new_ids.add((kind, obj_id))
        elif (kind, obj_id) in self.new_ids:
            return
        elif created is None:
            self.unchanged += 1
        else:
            self.updated[kind] += 1


# --- reading the input ---------------------------------------------------------------------------


@dataclass
class Source:
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_modelled: Counter = field(default_factory=Counter)
    description: str = ""


def classify(obj: Any) -> str | None:
    """Which HSDS object a JSON object is (HSDS JSON carries no type); None when it cannot tell."""
    if not isinstance(obj, dict):
        return None
    keys = set(obj)
    if isinstance(obj.get("location"), dict) or isinstance(obj.get("service"), dict):
        return "service_at_location"
    if {"service_id", "location_id"} <= keys and "status" not in keys:
        return "service_at_location"
    if keys & {"status", "service_at_locations", "eligibility_description", "application_process"} or isinstance(
        obj.get("organization"), dict
    ):
        return "service"
    if keys & {"location_type", "addresses", "latitude", "longitude", "transportation"}:
        return "location"
    if keys & {"code", "taxonomy_detail", "parent_id", "term_uri", "taxonomy_id"} or isinstance(
        obj.get("taxonomy"), str
    ):
        return "taxonomy_term"
    organization_keys = {"services", "locations", "website", "tax_status", "tax_id", "legal_status", "logo"}
    if keys & (organization_keys | {"year_incorporated", "parent_organization_id", "organization_identifiers"}):
        return "organization"
    if keys & {"version", "uri"}:
        return "taxonomy"
    if {"id", "name", "description"} <= keys:
        return "organization"
    return None


class _Flattener:
    """Turns nested HSDS JSON into rows, one per object, each knowing its place in the file."""

    def __init__(self, source: Source, forced_type: str | None = None):
        self.source = source
        self.forced_type = forced_type

    def document(self, data: Any, name: str) -> None:
        if isinstance(data, dict) and data and all(isinstance(k, str) and k.endswith(".csv") for k in data):
            self.tabular(data, name)  # HSDS tabular JSON: {"services.csv": [rows], ...}
            return
        if isinstance(data, dict) and "openapi_url" in data and "id" not in data:
            self.source.warnings.append(f"{name}: HSDS API information (version, openapi_url), no records")
            return
        if isinstance(data, dict) and isinstance(data.get("contents"), list):  # an API page
            items, pointer = data["contents"], "/contents"
        elif isinstance(data, list):
            items, pointer = data, ""
        else:
            items, pointer = [data], None
        for i, item in enumerate(items):
            where = f"{name}:{pointer}/{i}" if pointer is not None else f"{name}:/"
            kind = self.forced_type or classify(item)
            if kind is None:
                self.source.errors.append(
                    f"{where}: cannot tell which HSDS object this is (service, organization, location, "
                    "service_at_location, taxonomy_term, taxonomy); give --type"
                )
                continue
            self.object(kind, item, where, {})

    def object(self, table: str, obj: Any, where: str, parent: dict, depth: int = 0) -> str | None:
        """Add the rows of one object and its nested objects; returns the object's id as given."""
        if not isinstance(obj, dict):
            self.source.errors.append(f"{where}: expected an object, found {type(obj).__name__}")
            return None
        if depth > MAX_NESTING:
            self.source.errors.append(f"{where}: objects nested too deeply (more than {MAX_NESTING} levels); skipped")
            return None
        own_id = obj.get("id")
        path = where if not where.endswith(":/") else where[:-1]
        row = Row(table, {k: v for k, v in obj.items() if not isinstance(v, (dict, list))}, where, dict(parent))
        # Objects nested one-to-one: the parent is applied first, the link is implied.
        if table == "service" and isinstance(obj.get("organization"), dict):
            org_id = self.object("organization", obj["organization"], f"{path}/organization", {}, depth + 1)
            row.parent.setdefault("organization_id", org_id)
        if table == "service_at_location":
            if isinstance(obj.get("service"), dict):
                row.parent["service_id"] = self.object("service", obj["service"], f"{path}/service", {}, depth + 1)
            if isinstance(obj.get("location"), dict):
                row.parent["location_id"] = self.object("location", obj["location"], f"{path}/location", {}, depth + 1)
        if table == "taxonomy_term" and isinstance(obj.get("taxonomy_detail"), dict):
            detail_id = self.object("taxonomy", obj["taxonomy_detail"], f"{path}/taxonomy_detail", {}, depth + 1)
            row.parent.setdefault("taxonomy_id", detail_id)
        if table == "attribute" and isinstance(obj.get("taxonomy_term"), dict):
            row.parent["taxonomy_term_id"] = self.object(
                "taxonomy_term", obj["taxonomy_term"], f"{path}/taxonomy_term", {}, depth + 1
            )
        self.source.rows.append(row)
        nested = {key: (child, link) for key, child, link in NESTED.get(table, [])}
        for key, value in obj.items():
            if key in nested and isinstance(value, list):
                child_table, link = nested[key]
                if key in COLLECTIONS.get(table, {}):
                    row.lists.add(key)
                child_parent = {link: own_id}
                if child_table == "attribute":
                    child_parent["link_entity"] = table
                for i, item in enumerate(value):
                    if isinstance(item, dict) and item.get("id") in (None, ""):
                        item = {**item, "id": derived_id(child_table, str(own_id), key, str(i))}
                    self.object(child_table, item, f"{path}/{key}/{i}", child_parent, depth + 1)
            elif isinstance(value, (list, dict)) and value and key not in _ONE_TO_ONE:
                self.source.not_modelled[f"{table}.{key}"] += len(value) if isinstance(value, list) else 1
        return own_id

    def tabular(self, data: dict, name: str) -> None:
        present = set()
        for filename, rows in data.items():
            table = table_for_path(filename)
            if table is None or not isinstance(rows, list):
                self.source.errors.append(f"{name}:/{filename}: not an HSDS table")
                continue
            present.add(table.name)
            for i, record in enumerate(rows):
                self.table_row(table.name, record, f"{name}:/{filename}/{i}")
        _mark_collections(self.source.rows, present)

    def table_row(self, table: str, record: Any, where: str) -> None:
        if table not in TABLE_ORDER:
            self.source.not_modelled[table] += 1
            return
        if not isinstance(record, dict):
            self.source.errors.append(f"{where}: expected a row object")
            return
        self.source.rows.append(Row(table, dict(record), where))


def _mark_collections(rows: list[Row], present_tables: set[str]) -> None:
    """In tabular input a table given at all states every owner's collection of that kind."""
    for row in rows:
        for key, child in COLLECTIONS.get(row.table, {}).items():
            if child in present_tables:
                row.lists.add(key)


def read_csv_package(package: Path, source: Source) -> None:
    try:
        meta = json.loads(package.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, RecursionError) as exc:
        source.errors.append(f"{package.name}: cannot read the datapackage ({exc})")
        return
    base = package.parent.resolve()
    present = set()
    for index, resource in enumerate(meta.get("resources") or []):
        name, rel = resource.get("name"), resource.get("path")
        if not isinstance(rel, str):
            source.errors.append(f"{package.name}:/resources/{index}: a resource without a path")
            continue
        path = (base / rel).resolve()
        if not path.is_relative_to(base):
            source.errors.append(f"{package.name}:/resources/{index}: path '{rel}' is outside the package")
            continue
        table = tables().get(name) or table_for_path(Path(rel).name)
        if table is None:
            source.not_modelled[str(name)] += 1
            continue
        if not path.exists():
            source.errors.append(f"{rel}: listed in the datapackage but missing")
            continue
        present.add(table.name)
        _read_csv_table(path, table.name, rel, source)
    _mark_collections(source.rows, present)
    source.description = f"CSV datapackage {package}"


def read_source(path: Path, forced_type: str | None = None) -> Source:
    """Read a JSON file, a datapackage.json, a directory holding one, a directory of JSON files, or
    one HSDS CSV file named as in the datapackage (services.csv …)."""
    source = Source()
    if path.is_dir():
        if (path / "datapackage.json").exists():
            read_csv_package(path / "datapackage.json", source)
            return source
        files = sorted(path.glob("*.json"))
        if not files:
            source.errors.append(f"{path}: no datapackage.json and no .json files")
        for file in files:
            _read_json_file(file, source, forced_type)
        source.description = f"{len(files)} JSON file(s) in {path}"
        return source
    if path.suffix.lower() == ".csv":
        table = table_for_path(path.name)
        if table is None:
            source.errors.append(f"{path.name}: not an HSDS table name (services.csv, organizations.csv …)")
            return source
        _read_csv_table(path, table.name, path.name, source)
        source.description = f"CSV table {path}"
        return source
    _read_json_file(path, source, forced_type)
    source.description = source.description or f"JSON {path}"
    return source


def _read_csv_table(path: Path, table: str, label: str, source: Source) -> None:
    """The rows of one CSV table, each known as ``label:LINE`` (the line its record starts on)."""
    flattener = _Flattener(source)
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)  # longer values are refused by the caps, record by record
    line = 1
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            for record in reader:
                start, line = line + 1, reader.line_num
                if None in record:
                    source.errors.append(f"{label}:{start}: more values than columns")
                    continue
                flattener.table_row(table, record, f"{label}:{start}")
    except UnicodeDecodeError:
        source.errors.append(
            f"{label}:{line + 1}: not UTF-8 text; save the file as UTF-8 (the rest of this file was skipped)"
        )
    except csv.Error as exc:
        source.errors.append(f"{label}:{line + 1}: not readable CSV ({exc}); the rest of this file was skipped")
    except OSError as exc:
        source.errors.append(f"{label}: cannot read the file ({exc})")


def _read_json_file(path: Path, source: Source, forced_type: str | None) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        source.errors.append(f"{path.name}: not readable JSON (nested too deeply); nothing imported from it")
        return
    except UnicodeDecodeError as exc:
        source.errors.append(f"{path.name}: not UTF-8 text at byte {exc.start}; save the file as UTF-8")
        return
    except (OSError, ValueError) as exc:
        source.errors.append(f"{path.name}: not readable JSON ({exc})")
        return
    if isinstance(data, dict) and isinstance(data.get("resources"), list):
        read_csv_package(path, source)  # a datapackage.json under another name
        return
    _Flattener(source, forced_type).document(data, path.name)


# --- taxonomy mapping ----------------------------------------------------------------------------


class TermMapper:
    """Finds our term for an external one: by the mapping file, else by the same name (zh or en)."""

    def __init__(self, entries: list[dict]):
        ours = db.session.scalars(select(TaxonomyTerm).where(TaxonomyTerm.taxonomy_id == LIANJIE_TAXONOMY_ID))
        self.by_code = {t.code: t for t in ours}
        self.by_name = {}
        for term in self.by_code.values():
            for name in (term.name, term.name_en):
                if name:
                    self.by_name.setdefault(name.strip().lower(), term)
        self.entries = []
        for entry in entries:
            target = self.by_code.get(str(entry.get("to")))
            if target is not None:
                self.entries.append((entry, target))

    @staticmethod
    def _values(entry: dict, key: str) -> set[str]:
        value = entry.get(key)
        values = value if isinstance(value, list) else [value] if value is not None else []
        return {str(v).strip().lower() for v in values}

    def match(self, code: str | None, name: str, taxonomy_names: set[str]) -> TaxonomyTerm | None:
        lowered = name.strip().lower()
        for entry, target in self.entries:
            wanted = self._values(entry, "taxonomy")
            if wanted and not (wanted & taxonomy_names):
                continue
            if (code and code.lower() in self._values(entry, "code")) or lowered in self._values(entry, "name"):
                return target
        return self.by_name.get(lowered)


def load_term_map(path: Path | None) -> list[dict]:
    if path is None or not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [e for e in data.get("map") or [] if isinstance(e, dict)]


# --- values --------------------------------------------------------------------------------------


class _Record:
    """Typed access to one row's fields, for CSV text and JSON values alike."""

    def __init__(self, row: Row):
        self.row = row
        self.data = row.data

    def raw(self, name: str) -> Any:
        if name in self.row.parent and self.row.parent[name] not in (None, ""):
            return self.row.parent[name]
        value = self.data.get(name)
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    def text(self, name: str, required: bool = False) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                raise RecordError(f"'{name}' is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise RecordError(f"'{name}' must be text")
        return str(value)

    def ref(self, name: str) -> str | None:
        return canonical_id(self.raw(name))

    def id(self) -> str:
        value = canonical_id(self.raw("id"))
        if value is None:
            raise RecordError("'id' is required")
        return value

    def number(self, name: str) -> float | int | None:
        value = self.raw(name)
        if value is None:
            return None
        if is_number(value):
            return value
        try:
            number = float(str(value))
        except ValueError:
            raise RecordError(f"'{name}': '{_preview(value)}' is not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise RecordError(f"'{name}': '{_preview(value)}' is not a number")
        return int(number) if number.is_integer() else number

    def whole(self, name: str, low: int, high: int) -> int | None:
        value = self.number(name)
        if value is None:
            return None
        if not float(value).is_integer() or not low <= value <= high:
            raise RecordError(f"'{name}' must be a whole number from {low} to {high}, not {value}")
        return int(value)

    def date(self, name: str) -> date | None:
        value = self.raw(name)
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise RecordError(f"'{name}': '{_preview(value)}' is not a date YYYY-MM-DD") from None

    def datetime(self, name: str) -> datetime | None:
        value = self.raw(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(str(value).replace("z", "Z"))
        except ValueError:
            raise RecordError(f"'{name}': '{_preview(value)}' is not a date-time (RFC 3339)") from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def local_time(self, name: str, tz_hours: float | None) -> tuple[time | None, int]:
        """A time in Guangzhou time, and by how many days converting it moved it (-1, 0, 1).

        A time with an offset (09:00Z, 09:00-05:00) or in a schedule with ``timezone`` is converted; one
        without either is taken as local time already."""
        value = self.raw(name)
        if value is None:
            return None, 0
        match = _TIME.match(str(value))
        if not match:
            raise RecordError(f"'{name}': '{_preview(value)}' is not a time HH:MM")
        hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
        if hours > 24 or minutes > 59 or seconds > 59 or (hours == 24 and (minutes or seconds)):
            raise RecordError(f"'{name}': '{value}' is not a time of day")
        offset_minutes = None
        if match[4]:
            suffix = match[4].upper()
            if suffix == "Z":
                offset_minutes = 0
            else:
                sign = -1 if suffix[0] == "-" else 1
                digits = suffix[1:].replace(":", "")
                offset_minutes = sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0))
        elif tz_hours is not None:
            offset_minutes = round(tz_hours * 60)
        total = hours * 60 + minutes
        if hours == 24:
            total = 24 * 60 - 1  # 24:00: the end of the day
        if offset_minutes is not None:
            total += UTC_OFFSET_HOURS * 60 - offset_minutes
        shift, total = divmod(total, 24 * 60)
        return time(total // 60, total % 60, seconds if hours < 24 else 59), shift

    def choice(self, name: str, choices: Iterable[str], default: str | None = None) -> str | None:
        value = self.text(name)
        if value is None:
            return default
        choices = tuple(choices)
        if value not in choices:
            raise RecordError(f"'{name}' must be one of {', '.join(choices)}, not '{_preview(value)}'")
        return value


def _is_unsafe_link(value: str) -> bool:
    """A link with a scheme (as a browser reads it: spaces and control characters dropped) that is not
    http(s), mailto or tel; other malformed values are left out with a warning as before."""
    squeezed = "".join(ch for ch in value if not (ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F))
    scheme = _SCHEME.match(squeezed)
    return scheme is not None and scheme[0][:-1].lower() not in ALLOWED_SCHEMES


def _preview(value: Any) -> str:
    text = str(value)
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"


def _column_limits(model: type, values: dict) -> None:
    """Every text within its column's length, or for TEXT columns the agency forms' cap (TEXT_LIMITS)."""
    for name, value in values.items():
        if isinstance(value, str):
            length = getattr(model.__table__.c[name].type, "length", None) or text_limit(model.__tablename__, name)
            if len(value) > length:
                raise RecordError(f"'{name}' has {len(value)} characters; at most {length} fit")


# --- applying rows -------------------------------------------------------------------------------


class Importer:
    def __init__(self, term_map_entries: list[dict] | None = None):
        self.report = ImportReport()
        self.mapper = TermMapper(term_map_entries or [])
        self.term_ids: dict[str, str] = {}  # HSDS term id -> our term id (itself, or a term of ours it maps to)
        self.done: dict[str, set[str]] = defaultdict(set)  # table -> ids applied in this import
        self.failed: dict[str, set[str]] = defaultdict(set)  # table -> ids of invalid records
        self.claimed: dict[tuple[str, str], tuple[str, str]] = {}  # (table, id) -> owner, for child ids
        self.seen: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # (owner table, id, key) -> child ids
        self.tainted: set[tuple[str, str, str]] = set()  # collections with an invalid child: not replaced
        self.sal_service: dict[str, str] = {}  # HSDS service_at_location id -> service id
        self.location_org: dict[str, str] = {}  # location id -> organization of a service offered there
        self.chosen_address: dict[str, tuple[str, bool]] = {}  # location id -> (where, physical) of the one kept
        self.last_modified: dict[str, datetime] = {}
        self.owner_rows: list[tuple[Row, str]] = []
        self.overrides: dict[tuple[str | None, str], Any] = {}  # (service id, field) -> our own value

    # -- driver --

    def run(self, source: Source, progress: Callable[[int, int], None] | None = None) -> ImportReport:
        report = self.report
        report.errors += source.errors
        report.warnings += source.warnings
        report.not_modelled.update(source.not_modelled)
        rows = self._prepare(source.rows)
        report.records = len(rows)
        _begin_real_transaction()
        handlers = {name: getattr(self, f"_apply_{name}") for name in TABLE_ORDER}
        for done, row in enumerate(rows, start=1):
            self._apply(row, handlers[row.table])
            if progress:
                progress(done, len(rows))
        self._replace_collections()
        self._restore_last_modified()
        db.session.flush()
        return report

    def _apply(self, row: Row, handler: Callable[[_Record], None]) -> None:
        try:
            with db.session.begin_nested():
                handler(_Record(row))
                db.session.flush()
        except Skip as exc:
            self.report.warnings.append(f"{row.label()}: {exc}")
            self.report.not_modelled[row.table] += 1
        except ParentSkipped:
            self.report.skipped_with_parent += 1
            self._fail(row)
        except RecordError as exc:
            self.report.errors.append(f"{row.label()}: {exc}")
            self._fail(row)
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            self.report.errors.append(f"{row.label()}: the database refused it ({str(reason).splitlines()[0]})")
            self._fail(row)

    def _fail(self, row: Row) -> None:
        """Remember an invalid record: its children are skipped with it, and the collection it belongs
        to is not replaced (what we hold of it stays)."""
        record_id = canonical_id(row.data.get("id"))
        if record_id:
            self.failed[row.table].add(record_id)
        key = _COLLECTION_OF.get(row.table)
        if key is None:
            return
        for link, owner in (
            ("service_id", "service"),
            ("organization_id", "organization"),
            ("location_id", "location"),
            ("link_id", "service"),
        ):
            owner_id = canonical_id(row.parent.get(link) or row.data.get(link))
            if owner_id:
                self.tainted.add((owner, owner_id, key))

    def _prepare(self, rows: list[Row]) -> list[Row]:
        """Merge repeated objects (the same organization nested in many services), order the tables."""
        merged: dict[tuple[str, str], Row] = {}
        result: list[Row] = []
        for row in rows:
            key_id = canonical_id(row.data.get("id"))
            if row.table in MERGED_TYPES and key_id:
                first = merged.get((row.table, key_id))
                if first is not None and _CSV_WHERE.search(row.where) and _CSV_WHERE.search(first.where):
                    self.report.errors.append(f"{row.label()}: the id is used twice (first at {first.where})")
                    continue
                if first is not None:
                    for name, value in row.data.items():
                        if first.data.get(name) in (None, ""):
                            first.data[name] = value
                    for name, value in row.parent.items():
                        first.parent.setdefault(name, value)
                    first.lists |= row.lists
                    continue
                merged[(row.table, key_id)] = row
            result.append(row)
        order = {name: i for i, name in enumerate(TABLE_ORDER)}
        result.sort(key=lambda r: order[r.table])  # stable: file order within a table
        terms = _parents_first([r for r in result if r.table == "taxonomy_term"])
        result = [r for r in result if r.table != "taxonomy_term"]
        position = next((i for i, r in enumerate(result) if order[r.table] > order["taxonomy_term"]), len(result))
        result[position:position] = terms
        self._plan_locations(result)
        self._plan_overrides(result)
        return result

    def _plan_overrides(self, rows: list[Row]) -> None:
        """Our own eligibility values sent beside the HSDS ones (see hsds_export.service_dict): the
        service takes them at once, so that a second import of the same file changes nothing."""
        for row in rows:
            if row.table != "attribute":
                continue
            rec = _Record(row)
            ext = EXTENSION_BY_TERM_ID.get(rec.ref("taxonomy_term_id") or "")
            if ext is not None and ext.entity == "service" and ext.field in OVERRIDE_FIELDS:
                try:
                    self.overrides[(rec.ref("link_id"), ext.field)] = ext.decode(row.data.get("value"))
                except ValueError:
                    continue  # reported when the attribute itself is applied

    def _plan_locations(self, rows: list[Row]) -> None:
        service_org = {}
        for row in rows:
            if row.table == "service":
                rec = _Record(row)
                service_org[canonical_id(row.data.get("id"))] = rec.ref("organization_id")
        for row in rows:
            rec = _Record(row)
            if row.table == "service_at_location":
                location_id, service_id = rec.ref("location_id"), rec.ref("service_id")
                if location_id and service_org.get(service_id):
                    self.location_org.setdefault(location_id, service_org[service_id])
            elif row.table == "address":
                location_id = rec.ref("location_id")
                if location_id is None:
                    continue
                physical = str(row.data.get("address_type") or "").strip() in ("", "physical")
                current = self.chosen_address.get(location_id)
                if current is None or (physical and not current[1]):
                    self.chosen_address[location_id] = (row.where, physical)

    # -- helpers --

    def _exists(self, model: type, table: str, obj_id: str | None) -> bool:
        if obj_id is None:
            return False
        if obj_id in self.failed[table]:
            raise ParentSkipped(table)
        return obj_id in self.done[table] or db.session.get(model, obj_id) is not None

    def _require(self, model: type, table: str, obj_id: str | None, field: str) -> str:
        """The id of a record this one links to, which must be imported or in the catalog already."""
        if obj_id is None:
            raise RecordError(f"'{field}' is required")
        if not self._exists(model, table, obj_id):
            raise RecordError(f"{table} {obj_id} {MISSING}")
        return obj_id

    def _upsert(self, model: type, obj_id: str, values: dict, kind: str):
        _column_limits(model, values)
        obj = db.session.get(model, obj_id)
        if obj is None:
            obj = model(id=obj_id, **values)
            db.session.add(obj)
            self.report.count(kind, True, obj_id)
            return obj
        changed = False
        for name, value in values.items():
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed = True
        self.report.count(kind, False if changed else None, obj_id)
        return obj

    def _child_id(self, table: str, models: tuple[type, ...], raw_id: str, owner: tuple[str, str]) -> str:
        """The id to store a child under: its own, unless another owner holds that id (HSDS examples
        reuse one phone id for an organization, a service and a location): then one derived from both."""
        derived = derived_id(table, owner[1], raw_id)
        if any(_holder(db.session.get(model, derived)) == owner for model in models):
            self.claimed[(table, derived)] = owner
            return derived  # stored so by an earlier import: keep it, do not move ids around
        claimed = self.claimed.get((table, raw_id))
        taken = claimed is not None and claimed != owner
        for model in models:
            existing = db.session.get(model, raw_id)
            if existing is not None:
                taken = taken or _holder(existing) != owner
        child_id = derived if taken else raw_id
        self.claimed[(table, child_id)] = owner
        return child_id

    def _service_of(self, rec: _Record) -> str:
        """The service a phone, schedule or language belongs to: its own, or its service_at_location's."""
        service_id = rec.ref("service_id")
        if service_id:
            return self._require(Service, "service", service_id, "service_id")
        sal_id = rec.ref("service_at_location_id")
        if sal_id:
            if sal_id in self.failed["service_at_location"]:
                raise ParentSkipped("service_at_location")
            service_id = self.sal_service.get(sal_id)
            if service_id is None:
                sal = db.session.get(ServiceAtLocation, sal_id)
                service_id = sal.service_id if sal else None
            if service_id is None:
                raise RecordError(f"service_at_location {sal_id} {MISSING}")
            return service_id
        return ""

    def _formatted(self, rec: _Record, name: str, kind: str) -> str | None:
        """An email address or URI as HSDS formats them (so that our export stays valid); another
        value is left out with a warning rather than failing the whole record."""
        value = rec.text(name)
        if value is not None and kind == "uri" and _is_unsafe_link(value):
            raise RecordError(f"'{name}' {_preview(value)!r}: only http, https, mailto and tel links are accepted")
        if value is None or (_EMAIL if kind == "email" else _URI).match(value):
            return value
        self.report.warnings.append(f"{rec.row.label()}: '{name}' {_preview(value)!r} is not a valid {kind}; left out")
        return None

    @staticmethod
    def _remove(model: type, obj_id: str) -> None:
        """A schedule that became a date range (or back) changes table under the same id."""
        obj = db.session.get(model, obj_id)
        if obj is not None:
            db.session.delete(obj)
            db.session.flush()

    def _see(self, owner_table: str, owner_id: str, key: str, child_id: str) -> None:
        self.seen[(owner_table, owner_id, key)].add(child_id)

    # -- taxonomy --

    def _apply_taxonomy(self, rec: _Record) -> None:
        taxonomy_id = rec.id()
        if taxonomy_id == EXTENSION_TAXONOMY_ID:
            return  # our extension fields: understood, not stored
        values = {
            "name": rec.text("name", required=True),
            "description": rec.text("description"),
            "uri": self._formatted(rec, "uri", "uri"),
            "version": rec.text("version"),
        }
        self._upsert(Taxonomy, taxonomy_id, values, "taxonomy")
        self.done["taxonomy"].add(taxonomy_id)

    def _term_taxonomy(self, rec: _Record) -> tuple[str | None, set[str]]:
        """The term's taxonomy id (creating a taxonomy named by the ``taxonomy`` text if needed), and
        the names it is known by (for the mapping file)."""
        taxonomy_id = rec.ref("taxonomy_id")
        label = rec.text("taxonomy")
        if taxonomy_id and (taxonomy_id in self.done["taxonomy"] or db.session.get(Taxonomy, taxonomy_id)):
            taxonomy = db.session.get(Taxonomy, taxonomy_id)
            return taxonomy_id, {n.lower() for n in (taxonomy.name, taxonomy.uri, label, taxonomy_id) if n}
        if label:
            found = db.session.scalar(select(Taxonomy).where((Taxonomy.name == label) | (Taxonomy.uri == label)))
            if found is None:
                found = self._upsert(Taxonomy, derived_id("taxonomy", label), {"name": label[:200]}, "taxonomy")
            return found.id, {label.lower(), found.id}
        return None, set()

    def _apply_taxonomy_term(self, rec: _Record) -> None:
        term_id = rec.id()
        if term_id in EXTENSION_BY_TERM_ID or rec.ref("taxonomy_id") == EXTENSION_TAXONOMY_ID:
            return  # our extension fields: understood, not stored
        name = rec.text("name", required=True)
        code = rec.text("code")
        existing = db.session.get(TaxonomyTerm, term_id)
        taxonomy_id, taxonomy_names = self._term_taxonomy(rec)
        ours = taxonomy_id == LIANJIE_TAXONOMY_ID
        if existing is None:
            target = None
            if ours and code:
                target = db.session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.code == code))
            elif not ours:
                target = self.mapper.match(code, name, taxonomy_names)
            if target is not None:
                self.term_ids[term_id] = target.id
                self.report.terms_mapped += 1
                return
        parent_id = None
        raw_parent = rec.ref("parent_id")
        if raw_parent:
            parent_id = self.term_ids.get(raw_parent)
            if parent_id is None and db.session.get(TaxonomyTerm, raw_parent) is not None:
                parent_id = raw_parent
            if parent_id is None:
                self.report.warnings.append(
                    f"{rec.row.label()}: parent term {raw_parent} is not known; kept as a top-level term"
                )
        stored_code = code if ours and code and SAFE_CODE.match(code) else self._own_code(code, term_id)
        values = {
            "code": stored_code,
            "name": name,
            "description": rec.text("description"),
            "parent_id": parent_id if parent_id != term_id else None,
            "taxonomy_id": taxonomy_id,
        }
        self._upsert(TaxonomyTerm, term_id, values, "taxonomy_term")
        self.term_ids[term_id] = term_id
        self.done["taxonomy_term"].add(term_id)
        if not ours:
            self.report.terms_kept += 1

    def _own_code(self, code: str | None, term_id: str) -> str:
        """A code for an external term: its own when usable and free, else made unique with its id."""
        candidates = [code] if code and SAFE_CODE.match(code) else []
        if code:
            slug = re.sub(r"[^A-Za-z0-9._-]+", "-", code).strip("-.")[:80]
            if slug:
                candidates.append(f"{slug}-{term_id[:8]}")
        candidates.append(f"t-{term_id[:8]}")
        for candidate in candidates:
            holder = db.session.scalar(select(TaxonomyTerm.id).where(TaxonomyTerm.code == candidate))
            if holder is None or holder == term_id:
                return candidate
        return f"t-{term_id}"

    # -- organization, location --

    def _apply_organization(self, rec: _Record) -> None:
        org_id = rec.id()
        values = {
            "name": rec.text("name", required=True),
            "alternate_name": rec.text("alternate_name"),
            "description": rec.text("description") or "",
            "email": self._formatted(rec, "email", "email"),
            "website": self._formatted(rec, "website", "uri"),
        }
        self._upsert(Organization, org_id, values, "organization")
        self.done["organization"].add(org_id)
        self.owner_rows.append((rec.row, org_id))

    def _apply_location(self, rec: _Record) -> None:
        location_id = rec.id()
        known = db.session.get(Location, location_id)
        org_id = rec.ref("organization_id")
        if org_id is None:
            # HSDS allows a location of no organization (then only admins edit it). One we hold keeps its
            # organization: an import never takes a location away from its organization.
            org_id = known.organization_id if known is not None else None
        elif not self._exists(Organization, "organization", org_id):
            fallback = self.location_org.get(location_id)
            if not (fallback and self._exists(Organization, "organization", fallback)):
                raise RecordError(f"organization {org_id} {MISSING}")
            self.report.warnings.append(
                f"{rec.row.label()}: organization {org_id} is not known; the location is kept under "
                f"organization {fallback}, which offers a service there"
            )
            org_id = fallback
        name = rec.text("name") or rec.text("alternate_name")
        if not name:
            raise RecordError("'name' is required")
        latitude, longitude = rec.number("latitude"), rec.number("longitude")
        if (latitude is None) != (longitude is None):
            raise RecordError("give both latitude and longitude, or neither")
        if latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            self.report.warnings.append(
                f"{rec.row.label()}: coordinates {latitude},{longitude} are not a place on Earth; left out"
            )
            latitude = longitude = None
        values = {
            "organization_id": org_id,
            "name": name,
            "location_type": rec.choice("location_type", ("physical", "postal", "virtual"), "physical"),
            "description": rec.text("description"),
            "transportation": rec.text("transportation"),
            "latitude": float(latitude) if latitude is not None else None,
            "longitude": float(longitude) if longitude is not None else None,
        }
        if known is None:
            values["district"] = guangzhou_district([name, values["description"]]) or ""
        self._upsert(Location, location_id, values, "location")
        self.done["location"].add(location_id)
        self.owner_rows.append((rec.row, location_id))

    def _apply_address(self, rec: _Record) -> None:
        location_id = self._require(Location, "location", rec.ref("location_id"), "location_id")
        if self.chosen_address.get(location_id, ("", False))[0] != rec.row.where:
            raise Skip("the location already has an address: we keep one per location, the first physical one")
        rec.choice("address_type", ("physical", "postal", "virtual"))
        street = ", ".join(filter(None, [rec.text("address_1"), rec.text("address_2")])) or None
        city, region = rec.text("city"), rec.text("region")
        country = rec.text("country")
        if country and len(country) != 2:
            raise RecordError(f"'country' must be a two-letter ISO 3166 code, not '{_preview(country)}'")
        location = db.session.get(Location, location_id)
        district = guangzhou_district([region, city, street]) or region or city or location.district or ""
        values = {
            "address_1": street,
            "district": district[:20],
            "postal_code": rec.text("postal_code"),
        }
        for name, value in (("city", city), ("state_province", rec.text("state_province")), ("country", country)):
            if value:
                values[name] = value.upper() if name == "country" else value
        self._upsert(Location, location_id, values, "location")

    # -- service --

    def _apply_service(self, rec: _Record) -> None:
        service_id = rec.id()
        org_id = self._require(Organization, "organization", rec.ref("organization_id"), "organization_id")
        minimum, maximum = rec.whole("minimum_age", 0, 150), rec.whole("maximum_age", 0, 150)
        if minimum is not None and maximum is not None and minimum > maximum:
            raise RecordError(f"minimum_age {minimum} is greater than maximum_age {maximum}")
        status = rec.text("status", required=True).lower()
        if status not in SERVICE_STATUSES:
            raise RecordError(f"'status' must be one of {', '.join(SERVICE_STATUSES)}, not '{_preview(status)}'")
        values = {
            "organization_id": org_id,
            "name": rec.text("name", required=True),
            "alternate_name": rec.text("alternate_name"),
            "description": rec.text("description") or "",
            "url": self._formatted(rec, "url", "uri"),
            "email": self._formatted(rec, "email", "email"),
            "status": status,
            "application_process": rec.text("application_process"),
            "fees_description": rec.text("fees_description") or rec.text("fees"),
            "eligibility_description": rec.text("eligibility_description"),
            "minimum_age": minimum,
            "maximum_age": maximum,
            "assured_date": rec.date("assured_date"),
            "assurer_email": self._formatted(rec, "assurer_email", "email"),
            "alert": rec.text("alert"),
        }
        for name in OVERRIDE_FIELDS:
            if (service_id, name) in self.overrides:
                values[name] = self.overrides[(service_id, name)]
        modified = rec.datetime("last_modified")
        if modified is not None:
            values["last_modified"] = modified
            self.last_modified[service_id] = modified
        self._upsert(Service, service_id, values, "service")
        self.done["service"].add(service_id)
        self.owner_rows.append((rec.row, service_id))

    def _apply_service_at_location(self, rec: _Record) -> None:
        raw_id = rec.id()
        service_id = self._require(Service, "service", rec.ref("service_id"), "service_id")
        location_id = rec.ref("location_id")
        if location_id is None:
            known = db.session.get(ServiceAtLocation, raw_id)
            if known is None or known.service_id != service_id:
                raise Skip("a service_at_location without a location: nothing to link")
            location_id = known.location_id  # the one we hold under this id
        self._require(Location, "location", location_id, "location_id")
        pair = db.session.scalar(
            select(ServiceAtLocation).where(
                ServiceAtLocation.service_id == service_id, ServiceAtLocation.location_id == location_id
            )
        )
        sal_id = (
            pair.id
            if pair is not None
            else self._child_id("service_at_location", (ServiceAtLocation,), raw_id, ("service_id", service_id))
        )
        values = {"service_id": service_id, "location_id": location_id, "description": rec.text("description")}
        self._upsert(ServiceAtLocation, sal_id, values, "service_at_location")
        self.sal_service[raw_id] = service_id
        self._see("service", service_id, "service_at_locations", sal_id)

    # -- the service's (and others') children --

    def _apply_phone(self, rec: _Record) -> None:
        service_id = self._service_of(rec)
        if service_id:
            owner = ("service_id", service_id)
        elif rec.ref("location_id"):
            owner = ("location_id", self._require(Location, "location", rec.ref("location_id"), "location_id"))
        elif rec.ref("organization_id"):
            org_id = self._require(Organization, "organization", rec.ref("organization_id"), "organization_id")
            owner = ("organization_id", org_id)
        elif rec.ref("contact_id"):
            raise Skip("a phone of a contact (contacts are not modelled)")
        else:
            raise RecordError("the phone belongs to no organization, service or location")
        extension = rec.raw("extension")
        if extension is not None:
            extension = (
                str(int(extension)) if is_number(extension) and float(extension).is_integer() else str(extension)
            )
        values = {
            "organization_id": None,
            "service_id": None,
            "location_id": None,
            owner[0]: owner[1],
            "number": rec.text("number", required=True),
            "extension": extension,
            "type": rec.text("type"),
            "description": rec.text("description"),
        }
        phone_id = self._child_id("phone", (Phone,), rec.id(), owner)
        self._upsert(Phone, phone_id, values, "phone")
        self._see(_OWNER_TABLE[owner[0]], owner[1], "phones", phone_id)

    def _apply_schedule(self, rec: _Record) -> None:
        service_id = self._service_of(rec)
        if not service_id:
            if rec.ref("location_id"):
                raise Skip("opening hours of a location (we keep hours per service)")
            raise RecordError("the schedule belongs to no service")
        freq = (rec.text("freq") or "WEEKLY").upper()
        if freq not in FREQUENCIES:
            raise Skip(f"{freq} schedules are not modelled (weekly and monthly hours, and date ranges)")
        interval = rec.whole("interval", 1, MAX_INTERVAL) or 1
        wkst = (rec.text("wkst") or "MO").upper()
        if wkst not in WEEKDAYS:
            raise RecordError(f"'wkst': {_preview(wkst)} is not a weekday ({', '.join(WEEKDAYS)})")
        monthly = freq == "MONTHLY"
        weekly = not monthly and interval == 1  # plain weekly hours, as the hours editor keeps them
        try:
            byday = parse_byday(rec.text("byday"), monthly)
        except RecurrenceError as exc:
            raise RecordError(f"'byday': {exc}") from None
        try:
            bymonthday = parse_bymonthday(rec.text("bymonthday")) if monthly else ()
        except RecurrenceError as exc:
            raise RecordError(f"'bymonthday': {exc}") from None
        days = [code for _, code in byday]
        tz = rec.number("timezone")
        opens, shift = rec.local_time("opens_at", tz)
        closes, _ = rec.local_time("closes_at", tz)
        valid_from, valid_to = rec.date("valid_from"), rec.date("valid_to")
        dtstart = rec.date("dtstart")
        owner = ("service_id", service_id)
        schedule_id = self._child_id("schedule", (Schedule, ScheduleException), rec.id(), owner)
        description = rec.text("description")
        if weekly and valid_from and valid_to and (not days or set(days) == set(WEEKDAYS)):
            if valid_to < valid_from:
                raise RecordError(f"valid_to {valid_to} is before valid_from {valid_from}")
            if (opens is None) != (closes is None):
                raise RecordError("give both opens_at and closes_at, or neither (closed on those dates)")
            values = {
                "service_id": service_id,
                "starts_on": valid_from,
                "ends_on": valid_to,
                "closed": opens is None,
                "opens_at": opens,
                "closes_at": closes,
                "description": description,
            }
            self._remove(Schedule, schedule_id)
            self._upsert(ScheduleException, schedule_id, values, "schedule_exception")
            self._see("service", service_id, "schedules", schedule_id)
            return
        if opens is None or closes is None or not (byday or bymonthday or (monthly and dtstart)):
            raise Skip("a schedule without weekdays (or days of the month) and opening hours is not modelled")
        if interval > 1 and dtstart is None:
            unit = "months" if monthly else "weeks"
            raise RecordError(f"'dtstart' is required with interval {interval}: it says which {unit} count")
        if shift and not weekly:
            raise Skip(
                "the hours cross midnight when converted to Guangzhou time (UTC+8), and a "
                f"{'monthly' if monthly else 'every-' + str(interval) + '-weeks'} rule cannot be moved by a day"
            )
        self._warn_not_kept(rec, weekly, dtstart)
        if weekly:
            if shift:
                days = [WEEKDAYS[(WEEKDAYS.index(d) + shift) % 7] for d in days]
            byday_text = ",".join(d for d in WEEKDAYS if d in days)
        else:
            byday_text = format_byday(byday)
        values = {
            "service_id": service_id,
            "freq": freq,
            "interval": interval,
            "byday": byday_text,
            "bymonthday": ",".join(map(str, bymonthday)) or None,
            "dtstart": None if weekly else dtstart,
            "wkst": wkst,
            "opens_at": opens,
            "closes_at": closes,
            "description": description,
        }
        self._remove(ScheduleException, schedule_id)
        self._upsert(Schedule, schedule_id, values, "schedule")
        self._see("service", service_id, "schedules", schedule_id)

    def _warn_not_kept(self, rec: _Record, weekly: bool, dtstart: date | None) -> None:
        """Name the parts of a recurring schedule we do not keep (the hours are kept without them)."""
        names = [name for name in ("until", "count", "byweekno", "byyearday") if rec.raw(name) is not None]
        if weekly and rec.raw("bymonthday") is not None:
            names.append("bymonthday (monthly only)")
        if rec.raw("valid_from") is not None or rec.raw("valid_to") is not None:
            names.append("valid_from/valid_to")
        if weekly and dtstart is not None and dtstart > local_today():
            names.append(f"dtstart {dtstart} (weekly hours apply from now)")
        if names:
            self.report.warnings.append(
                f"{rec.row.label()}: not kept: {', '.join(names)}; the hours are taken as recurring without them"
            )

    def _apply_language(self, rec: _Record) -> None:
        service_id = self._service_of(rec)
        if not service_id:
            raise Skip("a language of a location or phone (we keep languages per service)")
        name = rec.text("name")
        code = rec.text("code") or LANGUAGE_CODES_BY_NAME.get((name or "").strip().lower())
        if not code:
            raise RecordError("'code' is required (ISO 639), or a language name we know")
        values = {"service_id": service_id, "code": code, "name": name or SERVICE_LANGUAGE_NAMES.get(code)}
        language_id = self._child_id("language", (Language,), rec.id(), ("service_id", service_id))
        self._upsert(Language, language_id, values, "language")
        self._see("service", service_id, "languages", language_id)

    def _apply_required_document(self, rec: _Record) -> None:
        service_id = self._service_of(rec)
        if not service_id:
            raise RecordError("'service_id' is required")
        document = rec.text("document", required=True)
        values = {"service_id": service_id, "document": document, "uri": self._formatted(rec, "uri", "uri")}
        doc_id = self._child_id("required_document", (RequiredDocument,), rec.id(), ("service_id", service_id))
        self._upsert(RequiredDocument, doc_id, values, "required_document")
        self._see("service", service_id, "required_documents", doc_id)

    def _apply_attribute(self, rec: _Record) -> None:
        term_id = rec.ref("taxonomy_term_id")
        if term_id is None:
            raise RecordError("'taxonomy_term_id' is required (or a nested taxonomy_term)")
        link_id = rec.ref("link_id")
        if link_id is None:
            raise RecordError("'link_id' is required")
        entity = (rec.text("link_entity") or "").lower()
        ext = EXTENSION_BY_TERM_ID.get(term_id)
        if ext is not None:
            self._apply_extension(rec, ext, link_id)
            return
        if term_id in self.failed["taxonomy_term"]:
            raise ParentSkipped("taxonomy_term")
        if not self._exists(Service, "service", link_id):
            if entity in ("", "service"):
                raise RecordError(f"service {link_id} {MISSING}")
            raise Skip(f"attributes of {entity or 'other'} records are not modelled (only a service's categories)")
        our_term_id = self.term_ids.get(term_id) or (term_id if db.session.get(TaxonomyTerm, term_id) else None)
        if our_term_id is None:
            raise RecordError(f"taxonomy term {term_id} {MISSING}")
        service = db.session.get(Service, link_id)
        term = db.session.get(TaxonomyTerm, our_term_id)
        if term not in service.taxonomy_terms:
            service.taxonomy_terms.append(term)
            self.report.count("service", False, link_id)
        else:
            self.report.count("service", None, link_id)
        self._see("service", link_id, "attributes", our_term_id)

    def _apply_extension(self, rec: _Record, ext, link_id: str) -> None:
        model = _EXTENSION_MODELS[ext.entity]
        self._require(model, ext.entity, link_id, "link_id")
        try:
            value = ext.decode(rec.data.get("value"))
        except ValueError as exc:
            raise RecordError(f"{ext.code}: {exc}") from None
        if ext.field == "eligibility_rules":
            problems = rule_problems(value)
            if problems:
                raise RecordError(f"{ext.code}: " + "; ".join(problems))
        if ext.field in ("minimum_age", "maximum_age") and value is not None and not 0 <= value <= 150:
            raise RecordError(f"{ext.code}: {value} is not an age from 0 to 150")
        _column_limits(model, {ext.field: value})
        obj = db.session.get(model, link_id)
        if getattr(obj, ext.field) != value:
            setattr(obj, ext.field, value)
            self.report.count(ext.entity, False, link_id)
        else:
            self.report.count(ext.entity, None, link_id)

    # -- after all rows --

    def _replace_collections(self) -> None:
        """Drop what a record's stated collections no longer hold (a removed phone, schedule …)."""
        for row, owner_id in self.owner_rows:
            for key in row.lists:
                if (row.table, owner_id, key) in self.tainted:
                    continue
                keep = self.seen.get((row.table, owner_id, key), set())
                with db.session.begin_nested():
                    self._drop_missing(row.table, owner_id, key, keep)

    def _drop_missing(self, owner_table: str, owner_id: str, key: str, keep: set[str]) -> None:
        if owner_table in ("organization", "location"):
            column = Phone.organization_id if owner_table == "organization" else Phone.location_id
            self._delete(Phone, "phone", (column == owner_id) & Phone.id.not_in(keep))
            return
        if key == "attributes":
            service = db.session.get(Service, owner_id)
            kept = [t for t in service.taxonomy_terms if t.id in keep]
            if len(kept) != len(service.taxonomy_terms):
                service.taxonomy_terms = kept
                self.report.count("service", False, owner_id)
            return
        targets = {
            "phones": [(Phone, "phone")],
            "schedules": [(Schedule, "schedule"), (ScheduleException, "schedule_exception")],
            "service_at_locations": [(ServiceAtLocation, "service_at_location")],
            "languages": [(Language, "language")],
            "required_documents": [(RequiredDocument, "required_document")],
        }[key]
        for model, kind in targets:
            self._delete(model, kind, (model.service_id == owner_id) & model.id.not_in(keep))

    def _delete(self, model: type, kind: str, condition) -> None:
        for obj in db.session.scalars(select(model).where(condition)):
            db.session.delete(obj)
            self.report.updated[f"{kind} removed"] += 1
        db.session.flush()

    def _restore_last_modified(self) -> None:
        """Keep the source's last_modified even when a later row (a category, an extension) changed the service."""
        for service_id, moment in self.last_modified.items():
            service = db.session.get(Service, service_id)
            if service is not None and service.last_modified != moment:
                service.last_modified = moment
                flag_modified(service, "last_modified")


_OWNER_ATTRS = ("service_id", "location_id", "organization_id")
_COLLECTION_OF = {child: key for collections in COLLECTIONS.values() for key, child in collections.items()}


def _holder(obj) -> tuple[str, str] | None:
    """Which service, location or organization a stored child belongs to."""
    if obj is None:
        return None
    return next(((a, getattr(obj, a)) for a in _OWNER_ATTRS if getattr(obj, a, None)), None)


_OWNER_TABLE = {"service_id": "service", "location_id": "location", "organization_id": "organization"}
_EXTENSION_MODELS = {
    "service": Service,
    "organization": Organization,
    "location": Location,
    "taxonomy_term": TaxonomyTerm,
    "taxonomy": Taxonomy,
}


def _parents_first(rows: list[Row]) -> list[Row]:
    by_id = {canonical_id(r.data.get("id")): r for r in rows}
    ordered: list[Row] = []
    state: dict[int, int] = {}

    def visit(row: Row) -> None:
        if state.get(id(row)) is not None:
            return  # done, or in a cycle: the cycle is broken here
        state[id(row)] = 1
        parent = by_id.get(_Record(row).ref("parent_id"))
        if parent is not None and parent is not row:
            visit(parent)
        ordered.append(row)
        state[id(row)] = 2

    for row in rows:
        visit(row)
    return ordered


def _begin_real_transaction() -> None:
    """Make the driver open its transaction now. pysqlite starts one only at the first data change, so
    a SAVEPOINT issued before would run outside it and a released savepoint would commit for good (and
    ``--dry-run`` would write). A no-op UPDATE is valid SQL everywhere."""
    db.session.execute(text("UPDATE organization SET id = id WHERE 1 = 0"))


def import_hsds(
    path: Path,
    *,
    forced_type: str | None = None,
    term_map: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[ImportReport, Source]:
    """Import ``path`` in the current transaction (the caller commits, or rolls back for a dry run)."""
    source = read_source(path, forced_type)
    report = Importer(load_term_map(term_map)).run(source, progress)
    return report, source


__all__ = ["ImportReport", "Importer", "RecordError", "Source", "classify", "import_hsds", "read_source"]
