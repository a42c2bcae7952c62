"""What HSDS import, export and the API share: table definitions, ids, our extension attributes, districts.

Fields we model that HSDS 3.0 has no place for travel as HSDS ``attribute`` rows whose taxonomy term is
one of our *extension terms* (taxonomy "Lianjie extension fields"), with the value as text. Our own
importer reads them back, so an export imported into an empty database gives back the same catalog;
other HSDS readers see ordinary attributes.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

from directory.geo.districts import DISTRICTS
from directory.models_base import id_from_key

HSDS_VERSION = "3.0"
TABLES_FILE = Path(__file__).with_name("hsds_tables.json")
# Namespace of the ids we derive for HSDS records that have none of their own (or a non-UUID one).
ID_NAMESPACE = uuid.UUID("0e1f7a52-93c4-4d8e-b5a6-2c7d9e3f4a18")
LIANJIE_TAXONOMY_ID = id_from_key("taxonomy", "lianjie")  # the seed taxonomy (seed_data/taxonomy.yaml)
UTC_OFFSET_HOURS = 8  # Asia/Shanghai, no daylight saving: schedules are exported with timezone 8
WEEKDAY_ORDER = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
CATEGORY_LINK_TYPE = "service_category"
EXTENSION_LINK_TYPE = "lianjie_extension"


# --- the HSDS tables (from the HSDS 3.0 datapackage) ---------------------------------------------


@dataclass(frozen=True)
class Table:
    name: str  # "service"
    path: str  # "services.csv"
    fields: tuple[str, ...]
    definition: dict  # the datapackage resource


@lru_cache(maxsize=1)
def tables() -> dict[str, Table]:
    data = json.loads(TABLES_FILE.read_text(encoding="utf-8"))
    result = {}
    for resource in data["resources"]:
        fields = tuple(f["name"] for f in resource["fields"])
        result[resource["name"]] = Table(resource["name"], resource["path"], fields, resource)
    return result


def table_for_path(filename: str) -> Table | None:
    return next((t for t in tables().values() if t.path == filename), None)


# The nested lists of each HSDS object we read and write: (key, HSDS table of its items, the link the
# nesting implies).
NESTED = {
    "organization": [
        ("phones", "phone", "organization_id"),
        ("locations", "location", "organization_id"),
        ("services", "service", "organization_id"),
        ("attributes", "attribute", "link_id"),
    ],
    "location": [
        ("addresses", "address", "location_id"),
        ("phones", "phone", "location_id"),
        ("attributes", "attribute", "link_id"),
    ],
    "service": [
        ("phones", "phone", "service_id"),
        ("schedules", "schedule", "service_id"),
        ("service_at_locations", "service_at_location", "service_id"),
        ("languages", "language", "service_id"),
        ("required_documents", "required_document", "service_id"),
        ("service_areas", "service_area", "service_id"),
        ("attributes", "attribute", "link_id"),
    ],
    "service_at_location": [
        ("phones", "phone", "service_at_location_id"),
        ("schedules", "schedule", "service_at_location_id"),
    ],
    "taxonomy_term": [("attributes", "attribute", "link_id")],
    "taxonomy": [("attributes", "attribute", "link_id")],
}

# --- ids -----------------------------------------------------------------------------------------


def derived_id(*parts: str) -> str:
    """A stable UUID for something HSDS does not identify by itself (the same parts, the same id)."""
    return str(uuid.uuid5(ID_NAMESPACE, ":".join(parts)))


def canonical_id(value: Any) -> str | None:
    """An HSDS id as we store it: a UUID in canonical form; any other text maps to a stable UUID."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return derived_id("id", text)


# --- values --------------------------------------------------------------------------------------


def hsds_time(value: time) -> str:
    return value.strftime("%H:%M:%S")


def hsds_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a Z, keeping microseconds when there are any."""
    value = value.astimezone(UTC) if value.tzinfo else value
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def hsds_date(value: date) -> str:
    return value.isoformat()


# --- extension attributes ------------------------------------------------------------------------

EXTENSION_TAXONOMY_ID = derived_id("extension-taxonomy", "lianjie")
EXTENSION_TAXONOMY = {
    "id": EXTENSION_TAXONOMY_ID,
    "name": "Lianjie extension fields",
    "description": (
        "Fields of the Lianjie catalog that HSDS 3.0 has no place for, carried as attributes: the term "
        "names the field, the attribute's value holds it as text."
    ),
    "version": "1",
}


@dataclass(frozen=True)
class Extension:
    entity: str  # the HSDS table the attribute links to: service, organization, location, taxonomy_term, taxonomy
    field: str  # our model's attribute
    kind: str  # bool | int | text | json | optional_int | optional_text
    description: str

    @property
    def code(self) -> str:
        return f"lianjie.{self.entity}.{self.field}"

    @property
    def term_id(self) -> str:
        return derived_id("extension-term", self.code)

    def encode(self, value: Any) -> str:
        if value is None:
            return ""
        if self.kind == "bool":
            return "true" if value else "false"
        if self.kind == "json":
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return str(value)

    def decode(self, text: Any) -> Any:
        """The field's value from an attribute value; ValueError says why it cannot be read."""
        text = "" if text is None else str(text)
        if self.kind == "optional_text":
            return text or None  # exactly as sent
        text = text.strip()
        if self.kind.startswith("optional_") and not text:
            return None
        if self.kind == "bool":
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise ValueError(f"'{text}' is not true or false")
        if self.kind in ("int", "optional_int"):
            try:
                return int(text)
            except ValueError:
                raise ValueError(f"'{text}' is not a whole number") from None
        if self.kind == "json":
            try:
                return json.loads(text)
            except ValueError as exc:
                raise ValueError(f"not valid JSON ({exc.msg})") from None
        return text


EXTENSIONS = (
    Extension("service", "accepting_referrals", "bool", "Whether the service accepts referrals now."),
    Extension("service", "capacity_note", "optional_text", "Capacity or waiting list note."),
    Extension(
        "service", "eligibility_rules", "json", "Structured eligibility rules (JSON list, see docs/eligibility.md)."
    ),
    Extension("service", "is_demo", "bool", "Demo data (示例数据), not confirmed by the agency."),
    Extension(
        "service",
        "eligibility_description",
        "optional_text",
        "The agency's own eligibility text when HSDS eligibility_description also lists the rules.",
    ),
    Extension(
        "service", "minimum_age", "optional_int", "The service's own minimum age when it differs from the rules'."
    ),
    Extension(
        "service", "maximum_age", "optional_int", "The service's own maximum age when it differs from the rules'."
    ),
    Extension("organization", "is_demo", "bool", "Demo data (示例数据)."),
    Extension("location", "active", "bool", "Whether the location is in use (false: deactivated)."),
    Extension("location", "is_demo", "bool", "Demo data (示例数据)."),
    Extension("taxonomy_term", "name_en", "optional_text", "English name of the term."),
    Extension("taxonomy_term", "position", "int", "Order of the term among its siblings."),
    Extension("taxonomy", "name_en", "optional_text", "English name of the taxonomy."),
)
EXTENSION_BY_TERM_ID = {ext.term_id: ext for ext in EXTENSIONS}
# Sent only when the value differs from what the HSDS field itself says (see hsds_export.service_dict).
OVERRIDE_FIELDS = frozenset({"eligibility_description", "minimum_age", "maximum_age"})


def extension(entity: str, field: str) -> Extension:
    return next(ext for ext in EXTENSIONS if ext.entity == entity and ext.field == field)


def extensions_for(entity: str) -> list[Extension]:
    return [ext for ext in EXTENSIONS if ext.entity == entity]


def extension_term_dict(ext: Extension) -> dict:
    return {
        "id": ext.term_id,
        "code": ext.code,
        "name": f"{ext.entity}.{ext.field}",
        "description": ext.description,
        "taxonomy": EXTENSION_TAXONOMY["name"],
        "taxonomy_id": EXTENSION_TAXONOMY_ID,
        "language": "en",
    }


def extension_attribute(entity: str, field: str, link_id: str, value: Any) -> dict:
    """An attribute carrying one of our fields; it names its term (nested) so it explains itself."""
    ext = extension(entity, field)
    return {
        "id": derived_id("attribute", link_id, ext.code),
        "link_id": link_id,
        "taxonomy_term_id": ext.term_id,
        "link_type": EXTENSION_LINK_TYPE,
        "link_entity": entity,
        "value": ext.encode(value),
        "taxonomy_term": extension_term_dict(ext),
    }


# --- districts -----------------------------------------------------------------------------------

_DISTRICT_ENGLISH = {
    "越秀区": "yuexiu",
    "荔湾区": "liwan",
    "海珠区": "haizhu",
    "天河区": "tianhe",
    "白云区": "baiyun",
    "黄埔区": "huangpu",
    "番禺区": "panyu",
    "花都区": "huadu",
    "南沙区": "nansha",
    "从化区": "conghua",
    "增城区": "zengcheng",
}


def guangzhou_district(texts: Iterable[str | None]) -> str | None:
    """The Guangzhou district a text names (天河区, 天河 or Tianhe), looking at the texts in order."""
    for text in texts:
        if not text:
            continue
        for district in DISTRICTS:
            if district in text:
                return district
        for district in DISTRICTS:
            if district[:-1] in text:
                return district
        lowered = text.lower()
        for district, english in _DISTRICT_ENGLISH.items():
            if re.search(rf"\b{english}\b", lowered):
                return district
    return None


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
