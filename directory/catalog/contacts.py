"""Phones of services and locations: replace a listing's numbers, with a line in the change history.

Flushes, never commits: the route commits once.
"""

from __future__ import annotations

from directory.catalog.models import Location, Phone, Service
from directory.catalog.phone_field import phone_line_text
from directory.catalog.services import _record
from directory.extensions import db
from directory.phones import PhoneLine


def _hsds_type(line: PhoneLine) -> str:
    return "cell" if line.phone.kind == "mobile" else "voice"


def stored_lines(owner: Service | Location) -> list[str]:
    """The owner's phones as the form's lines (what ``PhonesField.keep`` takes)."""
    return [phone_line_text(p) for p in owner.phones]


def _phone(line: PhoneLine | str, stored: dict[str, Phone]) -> Phone:
    if isinstance(line, str):  # a stored line left as it was: keep the row (and its HSDS fields)
        return stored[line]
    return Phone(
        number=line.phone.number,
        extension=line.phone.extension,
        description=line.description,
        type=_hsds_type(line),
    )


def set_phones(owner: Service | Location, lines: list[PhoneLine | str], user) -> bool:
    """Make ``lines`` the phones of a service or location (a ``str`` line: a stored phone kept as it is).
    Returns whether anything changed."""
    stored = {phone_line_text(p): p for p in owner.phones}
    lines = [line for line in lines if not isinstance(line, str) or line in stored]
    texts = [line if isinstance(line, str) else phone_line_text(line) for line in lines]
    unique = [line for i, line in enumerate(lines) if texts[i] not in texts[:i]]
    old = "\n".join(phone_line_text(p) for p in owner.phones)
    new = "\n".join(dict.fromkeys(texts))
    if old == new:
        return False
    owner.phones = [_phone(line, stored) for line in unique]
    entity_type = "service" if isinstance(owner, Service) else "location"
    _record(user, owner.organization_id, entity_type, owner.id, "update", "phones", old or None, new or None)
    db.session.flush()
    return True
