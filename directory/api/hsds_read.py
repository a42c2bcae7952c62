"""HSDS 3.0 in, reading: JSON (an object, a list, an API page, tabular JSON) and CSV datapackages, flattened
into rows of HSDS tables (a nested object becomes a row that knows its parent's id), each with where it was
read (``file.csv:LINE``, ``file.json:/json/pointer``). Nothing here touches the database."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from directory.api.hsds_common import NESTED, derived_id, table_for_path, tables

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
    "service_area",
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
        "service_areas": "service_area",
        "attributes": "attribute",
    },
}
MISSING = "is neither in this import nor in the catalog"
_ONE_TO_ONE = ("organization", "service", "location", "taxonomy_detail", "taxonomy_term")  # read above
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
