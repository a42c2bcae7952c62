"""HSDS 3.0 in, mapping: a row's values read as the catalog keeps them (texts, numbers, dates, local times,
choices, links), the taxonomy map, and the column limits — each problem a ``RecordError`` for that row."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from directory.api.hsds_common import LIANJIE_TAXONOMY_ID, UTC_OFFSET_HOURS, canonical_id, is_number
from directory.api.hsds_read import RecordError, Row
from directory.catalog.limits import text_limit
from directory.catalog.models import TaxonomyTerm
from directory.catalog.urls import ALLOWED_SCHEMES
from directory.extensions import db
from directory.vocabulary import SERVICE_LANGUAGE_NAMES

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
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+$")  # ASCII: an IRI is no HSDS uri
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


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
