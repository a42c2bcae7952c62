"""A change record's old or new value in words, in the reader's language ("是 → 否", "周一 07:00–11:30").

The history stores values as text (``directory.catalog.services._text``: ``true``/``false``, ISO dates,
hours as ``MO 07:00–11:30; FREQ=MONTHLY;BYDAY=1MO 09:00–12:00``, codes of statuses and languages). Call in an
application context: the words go through Flask-Babel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time

from flask_babel import format_date
from flask_babel import gettext as _

from directory.catalog.forms import LANGUAGE_CHOICES, STATUS_LABELS
from directory.catalog.hours import Period, recurrence_from_fields
from directory.catalog.hours_summary import day_groups, group_line
from directory.catalog.hours_words import describe_recurrence
from directory.catalog.models import WEEKDAYS

BOOLEAN_FIELDS = {"accepting_referrals", "active", "closed"}
DATE_FIELDS = {"assured_date"}
_PERIOD = re.compile(r"^(\d{2}):(\d{2})–(\d{2}):(\d{2})$")
_SPAN = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))? (closed|\d{2}:\d{2}–\d{2}:\d{2})(?: \((.*)\))?$")


def _period(text: str) -> Period | None:
    match = _PERIOD.match(text.strip())
    if not match:
        return None
    hours = [int(g) for g in match.groups()]
    if hours[2] == 24:
        hours[2] = 0
    try:
        return Period(time(hours[0], hours[1]), time(hours[2], hours[3]))
    except ValueError:
        return None


def _recurring_words(rule_text: str) -> str | None:
    """``FREQ=MONTHLY;BYDAY=1MO`` in words ("每月第一个星期一"), or None when it cannot be read."""
    fields = dict(part.split("=", 1) for part in rule_text.split(";") if "=" in part)
    try:
        dtstart = date(int(fields["DTSTART"][:4]), int(fields["DTSTART"][4:6]), int(fields["DTSTART"][6:8]))
    except (KeyError, ValueError):
        dtstart = None
    try:
        rule = recurrence_from_fields(
            fields.get("FREQ"),
            int(fields.get("INTERVAL", "1")),
            fields.get("BYDAY"),
            fields.get("BYMONTHDAY"),
            dtstart,
            fields.get("WKST"),
            strict=True,
        )
    except ValueError:
        return None
    return describe_recurrence(rule) if rule is not None else None


def hours_in_words(text: str) -> str:
    """``MO 07:00–11:30; TU 07:00–11:30; FREQ=MONTHLY;BYDAY=1MO 09:00–12:00`` as
    "周一至周二 07:00–11:30；每月第一个星期一 09:00–12:00". Parts it cannot read stay as they are."""
    table: dict[str, list[Period]] = {}
    others: list[str] = []
    for part in filter(None, (p.strip() for p in text.split("; "))):
        head, _space, rest = part.partition(" ")
        periods = [_period(p) for p in rest.split(", ")]
        if head in WEEKDAYS and periods and all(periods):
            table.setdefault(head, []).extend(periods)
        elif head.startswith("FREQ=") and periods and all(periods):
            words = _recurring_words(head)
            others.append(f"{words} {rest}" if words else part)
        else:
            others.append(part)
    lines = [group_line(g) for g in day_groups((code, table.get(code, [])) for code in WEEKDAYS)]
    return _("; ").join(lines + others)


def holiday_in_words(text: str) -> str:
    """``2027-02-06..2027-02-12 closed (春节)`` as "2027年2月6日至2027年2月12日：闭馆（春节）"."""
    match = _SPAN.match(text.strip())
    if not match:
        return text
    try:
        first = date.fromisoformat(match[1])
        last = date.fromisoformat(match[2]) if match[2] else None
    except ValueError:
        return text
    span = (
        format_date(first)
        if last is None
        else _("%(first)s to %(last)s", first=format_date(first), last=format_date(last))
    )
    hours = _("closed") if match[3] == "closed" else match[3]
    words = _("%(days)s: %(hours)s", days=span, hours=hours)
    return _("%(text)s (%(note)s)", text=words, note=match[4]) if match[4] else words


def _boolean(value: str) -> str:
    return {"true": _("Yes"), "false": _("No")}.get(value, value)


def _date(value: str) -> str:
    try:
        return format_date(date.fromisoformat(value))
    except ValueError:
        return value


def _languages(value: str) -> str:
    names = dict(LANGUAGE_CHOICES)
    return _(", ").join(str(names.get(code.strip(), code.strip())) for code in value.split(",") if code.strip())


def value_in_words(field: str | None, value: str | None, code_label: Callable[[str], str] | None = None) -> str:
    """The stored text of ``field``'s value as a reader would say it; unknown fields as stored."""
    if value is None or value == "":
        return ""
    if field in BOOLEAN_FIELDS:
        return _boolean(value)
    if field in DATE_FIELDS:
        return _date(value)
    if field == "status":
        return str(STATUS_LABELS.get(value, value))
    if field == "languages":
        return _languages(value)
    if field == "hours":
        return hours_in_words(value)
    if field == "holiday_hours":
        return holiday_in_words(value)
    if field == "taxonomy" and code_label is not None:
        return _(", ").join(code_label(code.strip()) for code in value.split(",") if code.strip())
    return value
