"""Query parameters of the JSON API: one declaration gives the parsing, the 400 errors and the OpenAPI text."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from directory.api.hsds_common import canonical_id
from directory.search.engine import ParamError  # the same error as /api/v1/search: 400 naming the parameter

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # string | integer | number | uuid | date-time
    description: str
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    max_length: int = 200

    def openapi(self) -> dict:
        schema: dict[str, Any] = {"type": {"uuid": "string", "date-time": "string"}.get(self.kind, self.kind)}
        if self.kind in ("uuid", "date-time"):
            schema["format"] = self.kind
        if self.kind == "string":
            schema["maxLength"] = self.max_length
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.default is not None:
            schema["default"] = self.default
        return {"name": self.name, "in": "query", "required": False, "description": self.description, "schema": schema}

    def parse(self, raw: str) -> Any:
        text = raw.strip()
        if self.kind == "string":
            if len(text) > self.max_length:
                raise ParamError(self.name, f"must be at most {self.max_length} characters")
            return text
        if self.kind == "uuid":
            if canonical_id(text) != text.lower():
                raise ParamError(self.name, f"'{text[:40]}' is not a UUID")
            return text.lower()
        if self.kind == "date-time":
            return _parse_datetime(self.name, text)
        try:
            value = int(text) if self.kind == "integer" else float(text)
        except ValueError:
            what = "a whole number" if self.kind == "integer" else "a number"
            raise ParamError(self.name, f"'{text[:40]}' is not {what}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ParamError(self.name, "must be a finite number")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ParamError(self.name, f"must be from {_number(self.minimum)} to {_number(self.maximum)}")
        return value


def _number(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def _parse_datetime(name: str, text: str) -> datetime:
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ParamError(
            name, f"'{text[:40]}' is not a date-time like 2024-05-01T08:00:00Z or a date 2024-05-01"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_params(args: MultiDict | Mapping[str, str], params: Sequence[Param]) -> dict[str, Any]:
    """The parameters' values (their defaults when absent or empty); ParamError on an unknown, repeated
    or invalid one."""
    known = {p.name: p for p in params}
    for name in args:
        if name not in known:
            accepted = ", ".join(known) or "no parameters"
            raise ParamError(name, f"unknown parameter (this endpoint takes {accepted})")
        if isinstance(args, MultiDict) and len(args.getlist(name)) > 1:
            raise ParamError(name, "given more than once")
    values = {}
    for param in params:
        raw = args.get(param.name)
        values[param.name] = param.parse(raw) if raw is not None and raw.strip() else param.default
    return values


# The parameters, as HSDS 3.0 names them (plus near/radius for places).
SEARCH = Param("search", "string", "Full-text search (Chinese, English and pinyin, with synonyms).")
PAGE = Param("page", "integer", "Page number, from 1.", minimum=1, maximum=100_000, default=1)
PER_PAGE = Param(
    "per_page", "integer", f"Results per page (at most {MAX_PER_PAGE}).", minimum=1, maximum=MAX_PER_PAGE, default=20
)
TAXONOMY_TERM_ID = Param("taxonomy_term_id", "uuid", "Only services in this taxonomy term or one of its sub-terms.")
TAXONOMY_ID = Param("taxonomy_id", "uuid", "Only services (or terms) with a term of this taxonomy.")
ORGANIZATION_ID = Param("organization_id", "uuid", "Only services of this organization.")
MODIFIED_AFTER = Param(
    "modified_after",
    "date-time",
    "Only services modified at or after this moment (RFC 3339; without an offset it is UTC; a date means its start).",
)
NEAR = Param(
    "near",
    "string",
    "A place in Guangzhou (district, street, metro station, landmark) or 'lat,lon': only locations within "
    "`radius` kilometres of it, nearest first.",
)
RADIUS = Param("radius", "number", "Radius around `near` in kilometres (default 5).", minimum=0.01, maximum=200)
POSTCODE = Param(
    "postcode",
    "string",
    "A postal code: only locations with this postal code, or with `proximity` those within that many metres "
    "of the centre of the locations that have it.",
    max_length=20,
)
PROXIMITY = Param("proximity", "number", "Metres around the centre of `postcode`.", minimum=1, maximum=200_000)
PARENT_ID = Param("parent_id", "uuid", "Only the direct sub-terms of this term.")
