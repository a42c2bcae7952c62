"""Opening hours: is a service open at a given moment? Pure functions over schedule rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from directory.catalog.models import WEEKDAYS


class WeeklyPeriod(Protocol):
    opens_at: time
    closes_at: time

    @property
    def days(self) -> Sequence[str]: ...


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
    return [Period(p.opens_at, p.closes_at) for p in weekly if code in p.days]


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
    """Monday..Sunday, each with its periods in time order, for display and editing."""
    table = []
    periods = list(weekly)
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


def describe_hours(weekly: Iterable[WeeklyPeriod]) -> str:
    """A one-line text form of the weekly hours, used in the change history."""
    parts = []
    for code, periods in weekly_table(weekly):
        if periods:
            parts.append(f"{code} " + ", ".join(format_period(p) for p in periods))
    return "; ".join(parts)
