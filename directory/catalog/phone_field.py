"""A form field for a listing's phone numbers: one per line, each optionally followed by a note."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import ValidationError

from directory.phones import PhoneError, PhoneLine, parse_phone_line

MAX_PHONES = 10
PHONE_PROBLEMS = {
    "characters": _l("only digits, spaces, hyphens, brackets and + may be part of the number"),
    "foreign": _l("only numbers in mainland China (+86) can be listed"),
    "area_code": _l("add the area code, for example 020-83456789"),
    "landline": _l("a landline is an area code and 7 or 8 digits, for example 020-83456789"),
    "unknown": _l("not a mobile (11 digits), landline with area code, 400/800 or service number"),
    "empty": _l("no number"),
}


def phone_line_text(phone) -> str:
    """A stored phone (row or ``PhoneLine``) as a line of the form: number, extension, note."""
    if isinstance(phone, PhoneLine):
        number, extension, note = phone.phone.number, phone.phone.extension, phone.description
    else:
        number, extension, note = phone.number, phone.extension, phone.description
    text = number + (f" 转 {extension}" if extension else "")
    return text + (f" {note}" if note else "")


class PhonesField(TextAreaField):
    """``data`` is the text; ``lines`` the numbers read from it (after validation).

    ``keep`` holds the listing's stored lines: a line left exactly as stored is kept as it is (a ``str`` in
    ``lines``) even when it would not pass today's check — an imported or demo number (020-0000-1101) must
    not block saving an unrelated change.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines: list[PhoneLine | str] = []
        self.keep: list[str] = []

    def process_data(self, value):
        if isinstance(value, (list, tuple)):  # the listing's Phone rows, when the form is filled from it
            value = "\n".join(phone_line_text(p) for p in value)
        super().process_data(value)

    def pre_validate(self, form):
        self.lines = []
        problems = []
        rows = [line.strip() for line in (self.data or "").splitlines() if line.strip()]
        if len(rows) > MAX_PHONES:
            raise ValidationError(_l("List at most %(count)s phone numbers.", count=MAX_PHONES))
        for row in rows:
            if row in self.keep:
                self.lines.append(row)
                continue
            if len(row) > 200:
                problems.append(_l("%(line)s: too long", line=row[:40] + "…"))
                continue
            try:
                self.lines.append(parse_phone_line(row))
            except PhoneError as error:
                problems.append(_l("%(line)s: %(problem)s", line=row, problem=PHONE_PROBLEMS[str(error)]))
        if problems:
            raise ValidationError("; ".join(str(p) for p in problems))
