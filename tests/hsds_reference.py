"""The HSDS 3.0 reference (tests/reference/hsds-3.0, vendored with its licence and source) for the HSDS
tests: its JSON schemas as jsonschema validators, its examples, its datapackage."""

from __future__ import annotations

import csv
import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from directory.catalog.models import (
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
    service_taxonomy,
)
from directory.extensions import db

REFERENCE = Path(__file__).resolve().parent / "reference" / "hsds-3.0"
SCHEMAS = REFERENCE / "schema"
EXAMPLES = REFERENCE / "examples"


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        if path.name != "openapi.json":
            contents = json.loads(path.read_text(encoding="utf-8"))
            resources.append((path.name, Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for schema/<name>.json (its $refs to the other schema files resolved), checking formats."""
    schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


def problems(obj: Any, name: str) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(name).iter_errors(obj)]


def assert_valid(obj: Any, name: str, where: str = "") -> None:
    found = problems(obj, name)
    assert not found, f"{where or name} is not a valid HSDS {name}: {found[:5]}"


def import_hsds_json(tmp_path: Path, data: Any, name: str = "data.json"):
    """Write ``data`` as a JSON file and import it (committed, the session's objects expired)."""
    from directory.api.hsds_import import import_hsds

    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    report, _ = import_hsds(path)
    db.session.commit()
    db.session.expire_all()
    return report


def service_record(service_id: str, organization_id: str, **fields) -> dict:
    """A minimal HSDS service with its organization, plus ``fields``."""
    return {
        "id": service_id,
        "name": "Legal advice",
        "status": "active",
        "organization": {"id": organization_id, "name": "Example", "description": "x"},
        **fields,
    }


def page_problems(data: dict) -> list[str]:
    """The HSDS Page metadata (openapi.json components.schemas.Page), checked by hand."""
    found = []
    for key, kind in (("total_items", int), ("total_pages", int), ("page_number", int), ("size", int)):
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            found.append(f"{key} is not an integer")
    for key in ("first_page", "last_page", "empty"):
        if not isinstance(data.get(key), bool):
            found.append(f"{key} is not a boolean")
    if not isinstance(data.get("contents"), list):
        found.append("contents is not a list")
    elif data.get("size") != len(data["contents"]) or data.get("empty") != (not data["contents"]):
        found.append("size/empty disagree with contents")
    return found


@lru_cache(maxsize=1)
def reference_datapackage() -> dict:
    return json.loads((EXAMPLES / "csv" / "datapackage.json").read_text(encoding="utf-8"))


def typed_row(resource: dict, row: dict[str, str]) -> dict:
    """A CSV row as the JSON object it stands for: empty cells absent, except required text (which HSDS
    requires present and may be empty), numbers as numbers."""
    result: dict[str, Any] = {}
    for spec in resource["schema"]["fields"]:
        name, value = spec["name"], row.get(spec["name"], "")
        if value == "":
            if spec["type"] == "string" and spec.get("constraints", {}).get("required") and "format" not in spec:
                result[name] = ""
            continue
        if spec["type"] == "number":
            number = float(value)
            result[name] = int(number) if number.is_integer() else number
        else:
            result[name] = value
    return result


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


# --- the catalog as plain values, to compare two databases ---------------------------------------

SNAPSHOT_MODELS = (
    Taxonomy,
    TaxonomyTerm,
    Organization,
    Location,
    Service,
    ServiceAtLocation,
    Phone,
    Schedule,
    ScheduleException,
    Language,
    RequiredDocument,
    ServiceArea,
)
# Bookkeeping, not catalog fields: row timestamps of organizations and optimistic-locking counters.
NOT_COMPARED = {"created_at", "updated_at", "version"}


def catalog_snapshot() -> dict[str, dict]:
    """Every field we model, per table and id."""
    snapshot: dict[str, dict] = {}
    for model in SNAPSHOT_MODELS:
        columns = [c.key for c in model.__table__.columns if c.key not in NOT_COMPARED]
        snapshot[model.__name__] = {
            obj.id: {name: getattr(obj, name) for name in columns} for obj in db.session.scalars(select(model))
        }
    snapshot["service_taxonomy"] = {tuple(row) for row in db.session.execute(select(service_taxonomy))}
    return snapshot


def snapshot_differences(a: dict, b: dict, limit: int = 10) -> list[str]:
    found = []
    for table in a:
        if table == "service_taxonomy":
            if a[table] != b[table]:
                found.append(f"service_taxonomy: {len(a[table] - b[table])} missing, {len(b[table] - a[table])} extra")
            continue
        for obj_id in a[table].keys() | b[table].keys():
            left, right = a[table].get(obj_id), b[table].get(obj_id)
            if left is None or right is None:
                found.append(f"{table} {obj_id}: only in {'second' if left is None else 'first'}")
            elif left != right:
                diff = {k: (left[k], right[k]) for k in left if left[k] != right[k]}
                found.append(f"{table} {obj_id}: {diff}")
            if len(found) >= limit:
                return found
    return found
