"""Opening hours: "open now" with periods past midnight and holiday exceptions."""

from dataclasses import dataclass
from datetime import date, datetime, time

import pytest

from directory.catalog.hours import describe_hours, is_open_at


@dataclass
class Weekly:
    byday: str
    opens_at: time
    closes_at: time

    @property
    def days(self):
        return self.byday.split(",")


@dataclass
class Holiday:
    starts_on: date
    ends_on: date
    closed: bool = True
    opens_at: time | None = None
    closes_at: time | None = None


# 2026-11-23 is a Monday.
MON, TUE, SAT = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 28)
OFFICE = [Weekly("MO,TU,WE,TH,FR", time(8, 30), time(12)), Weekly("MO,TU,WE,TH,FR", time(14), time(17, 30))]
NIGHT_SHELTER = [Weekly("MO,TU,WE,TH,FR,SA,SU", time(20), time(8))]
FRIDAY_NIGHT = [Weekly("FR", time(22), time(2))]


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(MON, 8, 29), False),
        (at(MON, 8, 30), True),  # opening minute counts
        (at(MON, 12, 0), False),  # closing minute does not
        (at(MON, 13, 0), False),  # lunch break
        (at(MON, 17, 29), True),
        (at(SAT, 10, 0), False),  # weekend
    ],
)
def test_office_hours(moment, expected):
    assert is_open_at(OFFICE, [], moment) is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(MON, 19, 59), False),
        (at(MON, 20, 0), True),
        (at(MON, 23, 59), True),
        (at(TUE, 0, 0), True),  # past midnight, still Monday's night
        (at(TUE, 7, 59), True),
        (at(TUE, 8, 0), False),
        (at(TUE, 12, 0), False),
    ],
)
def test_period_across_midnight(moment, expected):
    assert is_open_at(NIGHT_SHELTER, [], moment) is expected


def test_friday_night_runs_into_saturday_only():
    assert is_open_at(FRIDAY_NIGHT, [], at(date(2026, 11, 27), 23)) is True  # Friday 23:00
    assert is_open_at(FRIDAY_NIGHT, [], at(SAT, 1, 30)) is True  # Sat 01:30, Friday's night
    assert is_open_at(FRIDAY_NIGHT, [], at(SAT, 2, 0)) is False
    assert is_open_at(FRIDAY_NIGHT, [], at(SAT, 23, 0)) is False  # Saturday itself has no night
    assert is_open_at(FRIDAY_NIGHT, [], at(MON, 1, 0)) is False


def test_all_day():
    all_day = [Weekly("MO,TU,WE,TH,FR,SA,SU", time(0), time(0))]
    assert all(is_open_at(all_day, [], at(MON, h)) for h in range(24))
    assert describe_hours(all_day).startswith("MO 00:00–24:00")


def test_holiday_closure_overrides_weekly_hours():
    holidays = [Holiday(MON, TUE)]
    assert is_open_at(OFFICE, holidays, at(MON, 9)) is False
    assert is_open_at(OFFICE, holidays, at(TUE, 9)) is False
    assert is_open_at(OFFICE, holidays, at(date(2026, 11, 25), 9)) is True  # the day after


def test_holiday_special_hours_replace_weekly_hours():
    holidays = [Holiday(MON, MON, closed=False, opens_at=time(10), closes_at=time(11))]
    assert is_open_at(OFFICE, holidays, at(MON, 9)) is False
    assert is_open_at(OFFICE, holidays, at(MON, 10, 30)) is True
    assert is_open_at(OFFICE, holidays, at(MON, 15)) is False
    # A holiday on a day with no weekly hours opens the service that day.
    assert is_open_at(OFFICE, [Holiday(SAT, SAT, False, time(9), time(12))], at(SAT, 10)) is True


def test_holiday_on_previous_day_cancels_its_overnight_period():
    closed_monday = [Holiday(MON, MON)]
    assert is_open_at(NIGHT_SHELTER, closed_monday, at(TUE, 1)) is False  # Monday night cancelled
    assert is_open_at(NIGHT_SHELTER, closed_monday, at(TUE, 21)) is True  # Tuesday night as usual


def test_holiday_overnight_hours_run_past_midnight():
    late = [Holiday(MON, MON, closed=False, opens_at=time(18), closes_at=time(3))]
    assert is_open_at(OFFICE, late, at(TUE, 2, 30)) is True
    assert is_open_at(OFFICE, late, at(TUE, 3, 0)) is False
