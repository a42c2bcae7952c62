"""Opening hours in as few words as possible, for a phone screen or a printed list:
"每天 07:00–11:30, 14:30–17:00", "周一至周五 08:30–12:00, 14:00–17:30；周六 09:00–12:00".

``day_groups`` is pure; the word functions go through Flask-Babel (call them in an application context).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask_babel import gettext as _
from flask_babel import pgettext

from directory.catalog.hours import Period, format_period, weekly_table
from directory.catalog.models import WEEKDAYS

DayGroup = tuple[tuple[str, ...], tuple[Period, ...]]


def day_groups(table: Iterable[tuple[str, Sequence[Period]]]) -> list[DayGroup]:
    """Weekdays with the same periods together, in the order of their first day; closed days left out."""
    groups: dict[tuple[Period, ...], list[str]] = {}
    for code, periods in table:
        if periods:
            groups.setdefault(tuple(periods), []).append(code)
    return sorted(((tuple(days), periods) for periods, days in groups.items()), key=lambda g: WEEKDAYS.index(g[0][0]))


def _runs(days: Sequence[str]) -> list[list[str]]:
    """Consecutive weekdays (Monday..Sunday) together: MO TU WE FR → [[MO, TU, WE], [FR]]."""
    runs: list[list[str]] = []
    for code in days:
        if runs and WEEKDAYS.index(code) == WEEKDAYS.index(runs[-1][-1]) + 1:
            runs[-1].append(code)
        else:
            runs.append([code])
    return runs


def short_weekday(code: str) -> str:
    names = {
        "MO": pgettext("short weekday", "Mon"),
        "TU": pgettext("short weekday", "Tue"),
        "WE": pgettext("short weekday", "Wed"),
        "TH": pgettext("short weekday", "Thu"),
        "FR": pgettext("short weekday", "Fri"),
        "SA": pgettext("short weekday", "Sat"),
        "SU": pgettext("short weekday", "Sun"),
    }
    return names[code]


def days_in_words(days: Sequence[str]) -> str:
    """ "Every day", "Mon–Fri", "Mon, Wed, Fri", "Mon–Wed, Sat"."""
    if len(days) == len(WEEKDAYS):
        return _("Every day")
    parts = []
    for run in _runs(days):
        if len(run) >= 3:
            parts.append(_("%(first)s–%(last)s", first=short_weekday(run[0]), last=short_weekday(run[-1])))
        else:
            parts.extend(short_weekday(code) for code in run)
    return _(", ").join(parts) if len(parts) > 1 else parts[0]


def group_line(group: DayGroup) -> str:
    days, periods = group
    return f"{days_in_words(days)} " + ", ".join(format_period(p) for p in periods)


def condensed_weekly(weekly: Iterable) -> list[str]:
    """The weekly hours of schedule rows, one line per group of days with the same hours."""
    return [group_line(group) for group in day_groups(weekly_table(weekly))]
