"""Opening hours: is a service open at a given moment? Pure functions over schedule rows.

Weekly hours apply on their weekdays. Other regular hours recur by a ``Recurrence`` (the part of RFC 5545
that HSDS uses): every N weeks from a start date, or monthly on given weekdays ("1MO" the first Monday,
"-1FR" the last Friday) or days of the month ("15", "-1" the last day).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # RFC 5545 weekday codes, Monday first

FREQUENCIES = ("WEEKLY", "MONTHLY")
MAX_INTERVAL = 99
_BYDAY_PART = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_SEARCH_DAYS = 3700  # how far ahead next_dates looks (ten years): a rule that recurs later shows no next date


class WeeklyPeriod(Protocol):
    opens_at: time
    closes_at: time

    @property
    def days(self) -> Sequence[str]: ...


class RecurrenceError(ValueError):
    """A recurrence rule we cannot read; the message says why."""


def parse_byday(text: str | None, monthly: bool) -> tuple[tuple[int | None, str], ...]:
    """``"1MO,-1FR,WE"`` as ((1, "MO"), (-1, "FR"), (None, "WE")). Ordinals (1 to 5, or -1 to -5 counted
    from the month's end) only in monthly rules."""
    parts = []
    for raw in (text or "").split(","):
        part = raw.strip().upper()
        if not part:
            continue
        match = _BYDAY_PART.match(part)
        if not match:
            numbered = ", optionally numbered as in 1MO or -1FR" if monthly else ""
            raise RecurrenceError(f"{raw.strip()} is not a weekday ({', '.join(WEEKDAYS)}){numbered}")
        ordinal = int(match[1]) if match[1] else None
        if ordinal is not None and not monthly:
            raise RecurrenceError(f"{part}: a numbered weekday needs freq MONTHLY")
        if ordinal is not None and not 1 <= abs(ordinal) <= 5:
            raise RecurrenceError(f"{part}: a weekday is numbered 1 to 5 (or -1 to -5 from the end of the month)")
        if (ordinal, match[2]) not in parts:
            parts.append((ordinal, match[2]))
    return tuple(parts)


def parse_bymonthday(text: str | None) -> tuple[int, ...]:
    """``"1,15,-1"`` as (1, 15, -1): days of the month, negative ones counted from its end."""
    days = []
    for raw in (text or "").split(","):
        part = raw.strip()
        if not part:
            continue
        try:
            day = int(part)
        except ValueError:
            raise RecurrenceError(f"{part} is not a day of the month (1 to 31, or -1 to -31)") from None
        if not 1 <= abs(day) <= 31:
            raise RecurrenceError(f"{part} is not a day of the month (1 to 31, or -1 to -31)")
        if day not in days:
            days.append(day)
    return tuple(days)


def format_byday(parts: Iterable[tuple[int | None, str]]) -> str:
    return ",".join(f"{ordinal if ordinal is not None else ''}{code}" for ordinal, code in parts)


def _days_in_month(day: date) -> int:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


@dataclass(frozen=True)
class Recurrence:
    """When regular hours apply, other than every week: an RFC 5545 rule of freq WEEKLY or MONTHLY."""

    freq: str  # WEEKLY | MONTHLY
    interval: int = 1  # every N weeks or months, counted from dtstart
    byday: tuple[tuple[int | None, str], ...] = ()  # (ordinal or None, "MO")
    bymonthday: tuple[int, ...] = ()
    dtstart: date | None = None  # the first day the rule may apply
    wkst: str = "MO"  # the day weeks start on (decides which weeks count with an interval)

    def _week(self, day: date) -> int:
        start = day - timedelta(days=(day.weekday() - WEEKDAYS.index(self.wkst)) % 7)
        return start.toordinal() // 7

    def _in_period(self, day: date) -> bool:
        """In one of the weeks or months the interval selects (every one when the interval is 1)."""
        if self.interval == 1:
            return True
        if self.dtstart is None:
            return False  # every N weeks or months from when? Unknown: never claim it applies
        if self.freq == "WEEKLY":
            return (self._week(day) - self._week(self.dtstart)) % self.interval == 0
        months = (day.year - self.dtstart.year) * 12 + day.month - self.dtstart.month
        return months % self.interval == 0

    def _weekday_matches(self, day: date) -> bool:
        code = WEEKDAYS[day.weekday()]
        for ordinal, wanted in self.byday:
            if wanted != code:
                continue
            if ordinal is None:
                return True
            if ordinal > 0 and (day.day - 1) // 7 + 1 == ordinal:
                return True
            if ordinal < 0 and -((_days_in_month(day) - day.day) // 7 + 1) == ordinal:
                return True
        return False

    def _monthday_matches(self, day: date) -> bool:
        last = _days_in_month(day)
        return any(day.day == (n if n > 0 else last + n + 1) for n in self.bymonthday)

    def occurs_on(self, day: date) -> bool:
        """Whether the hours apply on ``day``."""
        if self.dtstart is not None and day < self.dtstart:
            return False
        if not self._in_period(day):
            return False
        if self.freq == "WEEKLY":
            return self._weekday_matches(day)
        if self.byday and self.bymonthday:  # both: the days of the month that are also such weekdays
            return self._weekday_matches(day) and self._monthday_matches(day)
        if self.byday:
            return self._weekday_matches(day)
        if self.bymonthday:
            return self._monthday_matches(day)
        return self.dtstart is not None and day.day == self.dtstart.day  # RFC 5545: dtstart's day

    def next_dates(self, start: date, count: int = 1) -> list[date]:
        """The next ``count`` days from ``start`` (included) on which the hours apply."""
        found: list[date] = []
        day = max(start, self.dtstart) if self.dtstart else start
        for _ in range(_SEARCH_DAYS):
            if self.occurs_on(day):
                found.append(day)
                if len(found) >= count:
                    break
            day += timedelta(days=1)
        return found

    def rrule(self) -> str:
        """The rule in RFC 5545 form (for the change history): FREQ=MONTHLY;BYDAY=1MO."""
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            parts.append(f"BYDAY={format_byday(self.byday)}")
        if self.bymonthday:
            parts.append("BYMONTHDAY=" + ",".join(map(str, self.bymonthday)))
        if self.dtstart is not None:
            parts.append(f"DTSTART={self.dtstart:%Y%m%d}")
        if self.wkst != "MO" and self.interval != 1 and self.freq == "WEEKLY":
            parts.append(f"WKST={self.wkst}")
        return ";".join(parts)


def recurrence_from_fields(
    freq: str | None,
    interval: int | None,
    byday: str | None,
    bymonthday: str | None = None,
    dtstart: date | None = None,
    wkst: str | None = None,
    strict: bool = False,
) -> Recurrence | None:
    """The rule of a schedule's fields; None for plain weekly hours (every week, from always).

    With ``strict`` a rule we cannot read raises ``RecurrenceError``; otherwise (stored rows) such a rule
    never applies: the hours are then never claimed open."""
    freq = (freq or "WEEKLY").upper()
    interval = 1 if interval is None else interval
    plain = freq == "WEEKLY" and interval == 1 and dtstart is None
    if plain and not strict:
        return None  # its weekdays are read as they always were (``days``)
    try:
        if freq not in FREQUENCIES:
            raise RecurrenceError(f"freq {freq} is not one of {', '.join(FREQUENCIES)}")
        if not 1 <= interval <= MAX_INTERVAL:
            raise RecurrenceError(f"interval {interval} is not a whole number from 1 to {MAX_INTERVAL}")
        days = parse_byday(byday, monthly=freq == "MONTHLY")
        monthdays = parse_bymonthday(bymonthday) if freq == "MONTHLY" else ()
        week_start = (wkst or "MO").upper()
        if week_start not in WEEKDAYS:
            raise RecurrenceError(f"wkst '{wkst}' is not a weekday ({', '.join(WEEKDAYS)})")
    except RecurrenceError:
        if strict:
            raise
        return Recurrence("MONTHLY", interval=1)  # matches no day
    if plain:
        return None
    return Recurrence(freq, interval, days, monthdays, dtstart, week_start)


def recurrence_of(schedule) -> Recurrence | None:
    """A schedule row's rule (None for plain weekly hours)."""
    return recurrence_from_fields(
        getattr(schedule, "freq", None),
        getattr(schedule, "interval", None),
        schedule.byday,
        getattr(schedule, "bymonthday", None),
        getattr(schedule, "dtstart", None),
        getattr(schedule, "wkst", None),
    )


def _rule(period) -> Recurrence | None:
    return getattr(period, "recurrence", None)


class HolidayPeriod(Protocol):
    starts_on: date
    ends_on: date
    closed: bool
    opens_at: time | None
    closes_at: time | None


@dataclass(frozen=True)
class Period:
    opens_at: time
    closes_at: time

    @property
    def overnight(self) -> bool:
        """Closing at or before opening means the period runs past midnight (00:00–00:00 = all day)."""
        return self.closes_at <= self.opens_at


def periods_on(day: date, weekly: Iterable[WeeklyPeriod], holidays: Iterable[HolidayPeriod]) -> list[Period]:
    """The opening periods that start on ``day``: holiday hours replace the weekly ones."""
    for holiday in holidays:
        if holiday.starts_on <= day <= holiday.ends_on:
            if holiday.closed or holiday.opens_at is None or holiday.closes_at is None:
                return []
            return [Period(holiday.opens_at, holiday.closes_at)]
    code = WEEKDAYS[day.weekday()]
    periods = []
    for p in weekly:
        rule = _rule(p)
        if rule.occurs_on(day) if rule is not None else code in p.days:
            periods.append(Period(p.opens_at, p.closes_at))
    return periods


def is_open_at(weekly: Sequence[WeeklyPeriod], holidays: Sequence[HolidayPeriod], moment: datetime) -> bool:
    """Open at ``moment`` (local wall-clock time), counting periods that ran over from yesterday."""
    today, now = moment.date(), moment.time()
    for period in periods_on(today, weekly, holidays):
        if period.overnight:
            if now >= period.opens_at:
                return True
        elif period.opens_at <= now < period.closes_at:
            return True
    for period in periods_on(today - timedelta(days=1), weekly, holidays):
        if period.overnight and now < period.closes_at:
            return True
    return False


def weekly_table(weekly: Iterable[WeeklyPeriod]) -> list[tuple[str, list[Period]]]:
    """Monday..Sunday, each with its weekly periods in time order, for display and editing (hours of
    another recurrence are left out: see ``recurring``)."""
    table = []
    periods = [p for p in weekly if _rule(p) is None]
    for code in WEEKDAYS:
        day_periods = sorted(
            (Period(p.opens_at, p.closes_at) for p in periods if code in p.days),
            key=lambda p: p.opens_at,
        )
        table.append((code, day_periods))
    return table


def format_period(period: Period) -> str:
    if period.opens_at == period.closes_at == time(0, 0):
        return "00:00–24:00"
    return f"{period.opens_at:%H:%M}–{period.closes_at:%H:%M}"


def recurring(schedules: Iterable[WeeklyPeriod]) -> list:
    """The schedules that recur other than weekly, in a stable order (by rule, then opening time)."""
    found = [s for s in schedules if _rule(s) is not None]
    return sorted(found, key=lambda s: (_rule(s).rrule(), s.opens_at, s.closes_at))


def describe_hours(weekly: Iterable[WeeklyPeriod]) -> str:
    """A one-line text form of the hours, used in the change history (other recurrences as RFC 5545)."""
    weekly = list(weekly)
    parts = []
    for code, periods in weekly_table(weekly):
        if periods:
            parts.append(f"{code} " + ", ".join(format_period(p) for p in periods))
    for schedule in recurring(weekly):
        parts.append(f"{_rule(schedule).rrule()} {format_period(Period(schedule.opens_at, schedule.closes_at))}")
    return "; ".join(parts)
