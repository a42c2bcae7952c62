"""Hours that recur other than weekly, in plain words ("每月第一个星期一", "First Monday of each month").

Every text goes through Flask-Babel (English msgids, Chinese catalogue): call these inside an application
context; the UI language decides the words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from babel.lists import format_list
from flask_babel import format_date, get_locale, pgettext
from flask_babel import gettext as _

from directory.catalog.forms import WEEKDAY_LABELS
from directory.catalog.hours import Period, Recurrence, recurring


def _ordinal(number: int) -> str:
    """Which one of its weekday in the month: first … fifth, last … fifth-to-last."""
    words = {
        1: pgettext("weekday of the month", "first"),
        2: pgettext("weekday of the month", "second"),
        3: pgettext("weekday of the month", "third"),
        4: pgettext("weekday of the month", "fourth"),
        5: pgettext("weekday of the month", "fifth"),
        -1: pgettext("weekday of the month", "last"),
        -2: pgettext("weekday of the month", "second-to-last"),
        -3: pgettext("weekday of the month", "third-to-last"),
        -4: pgettext("weekday of the month", "fourth-to-last"),
        -5: pgettext("weekday of the month", "fifth-to-last"),
    }
    return words[number]


def _locale() -> str:
    return str(get_locale() or "zh")


def _and(words: list[str]) -> str:
    return format_list(words, style="standard", locale=_locale()) if words else ""


def _or(words: list[str]) -> str:
    return format_list(words, style="or", locale=_locale()) if words else ""


def _weekday(ordinal: int | None, code: str) -> str:
    name = str(WEEKDAY_LABELS[code])
    if ordinal is None:
        return _("every %(weekday)s", weekday=name)
    return _("%(ordinal)s %(weekday)s", ordinal=_ordinal(ordinal), weekday=name)


def _monthday(number: int) -> str:
    if number == -1:
        return _("the last day")
    if number < 0:
        return _("day %(number)s from the end", number=-number)
    return _("day %(number)s", number=number)


def _month_days(rule: Recurrence) -> str:
    """Which days of the month: "first Monday", "day 1 and day 15", "every Tuesday"."""
    if rule.byday and not rule.bymonthday:
        return _and([_weekday(ordinal, code) for ordinal, code in rule.byday])
    monthdays = rule.bymonthday or ((rule.dtstart.day,) if rule.dtstart else ())
    return _and([_monthday(n) for n in monthdays])


def describe_recurrence(rule: Recurrence) -> str:
    """The rule in plain words, starting with a capital in English."""
    if rule.freq == "MONTHLY":
        days = _month_days(rule)
        if rule.interval == 1:
            text = _("%(days)s of each month", days=days)
        else:
            text = _("%(days)s of every %(number)s months", days=days, number=rule.interval)
        if rule.byday and rule.bymonthday:  # days of the month that must also be one of these weekdays
            weekdays = _or([str(WEEKDAY_LABELS[part[1]]) for part in rule.byday])
            text = _("%(rule)s, if it is a %(weekdays)s", rule=text, weekdays=weekdays)
    else:
        days = _and([str(WEEKDAY_LABELS[part[1]]) for part in rule.byday])
        if rule.interval == 1:
            text = _("%(days)s, every week", days=days)
        else:
            text = _("%(days)s, every %(number)s weeks", days=days, number=rule.interval)
    if rule.dtstart is not None:
        text = _("%(rule)s, from %(date)s", rule=text, date=format_date(rule.dtstart))
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class RecurringLine:
    """One period of hours that recur other than weekly, ready to show."""

    schedule_id: str
    text: str  # the rule in words
    period: Period
    description: str | None
    next_date: date | None  # the next day it applies, from today


def recurring_lines(schedules: Iterable, today: date, holidays: Iterable = ()) -> list[RecurringLine]:
    """The schedules that recur other than weekly, in words, with the next day each applies from
    ``today`` (a day of holiday hours does not count: those replace the regular ones)."""
    holidays = list(holidays)
    lines = []
    for schedule in recurring(schedules):
        rule = schedule.recurrence
        upcoming = [
            day for day in rule.next_dates(today, 12) if not any(h.starts_on <= day <= h.ends_on for h in holidays)
        ]
        lines.append(
            RecurringLine(
                schedule.id,
                describe_recurrence(rule),
                Period(schedule.opens_at, schedule.closes_at),
                schedule.description,
                upcoming[0] if upcoming else None,
            )
        )
    return lines
