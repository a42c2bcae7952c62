"""How long each text of a listing may be: one table for the agency forms and the HSDS import alike.

Columns of a fixed length (String(300) …) are capped by their type; these are the TEXT columns, which
the database would take at any length. A TEXT column not named here is capped at DEFAULT_TEXT_LIMIT.
"""

from __future__ import annotations

DEFAULT_TEXT_LIMIT = 5000

TEXT_LIMITS: dict[str, dict[str, int]] = {
    "service": {
        "description": 5000,
        "application_process": 3000,
        "fees_description": 2000,
        "eligibility_description": 3000,
        "capacity_note": 1000,
        "alert": 1000,
    },
    "organization": {"description": 5000},
    "location": {"description": 5000, "transportation": 1000},
    "required_document": {"document": 2000},  # the form's whole "documents to bring" box
    "schedule_exception": {"description": 200},
    "schedule": {"description": 1000},
    "phone": {"description": 1000},
    "service_at_location": {"description": 1000},
}


def text_limit(table: str, column: str) -> int:
    return TEXT_LIMITS.get(table, {}).get(column, DEFAULT_TEXT_LIMIT)
