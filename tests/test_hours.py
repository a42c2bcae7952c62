"""Opening hours: "open now" with periods past midnight, holiday exceptions, and hours that recur monthly or
every N weeks."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from directory.catalog.hours import (
    Recurrence,
    RecurrenceError,
    describe_hours,
    is_open_at,
    recurrence_from_fields,
    recurrence_of,
    recurring,
    weekly_table,
)
from directory.catalog.models import WEEKDAYS


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


# --- hours that recur other than weekly (HSDS monthly and every-N-weeks schedules) ---------------


@dataclass
class Recurring:
    """A schedule row with a rule, as the model holds it."""

    freq: str
    byday: str
    opens_at: time
    closes_at: time
    interval: int = 1
    bymonthday: str | None = None
    dtstart: date | None = None
    wkst: str = "MO"

    @property
    def days(self):
        return [d.lstrip("+-0123456789") for d in self.byday.split(",") if d]

    @property
    def recurrence(self):
        return recurrence_of(self)


def rule(freq: str, byday: str = "", **fields) -> Recurrence:
    found = recurrence_from_fields(
        freq,
        fields.get("interval", 1),
        byday,
        fields.get("bymonthday"),
        fields.get("dtstart"),
        fields.get("wkst"),
        strict=True,
    )
    assert found is not None
    return found


# November 2026: Sunday 1st, Monday 2nd … Monday 30th. December 2026: Tuesday 1st … Thursday 31st.
@pytest.mark.parametrize(
    ("recurrence", "day", "expected"),
    [
        (rule("MONTHLY", "1MO"), date(2026, 11, 2), True),  # first Monday of November
        (rule("MONTHLY", "1MO"), date(2026, 11, 9), False),  # the second
        (rule("MONTHLY", "1MO"), date(2026, 11, 3), False),  # a Tuesday
        (rule("MONTHLY", "1MO"), date(2026, 12, 7), True),
        (rule("MONTHLY", "2MO"), date(2026, 11, 9), True),
        (rule("MONTHLY", "5MO"), date(2026, 11, 30), True),  # November has five Mondays
        (rule("MONTHLY", "5MO"), date(2026, 12, 28), False),  # December has four
        (rule("MONTHLY", "-1MO"), date(2026, 11, 30), True),  # last Monday
        (rule("MONTHLY", "-1MO"), date(2026, 11, 23), False),
        (rule("MONTHLY", "-1MO"), date(2026, 12, 28), True),
        (rule("MONTHLY", "-2MO"), date(2026, 11, 23), True),  # second-to-last
        (rule("MONTHLY", "-1FR"), date(2026, 11, 27), True),
        (rule("MONTHLY", "-1FR"), date(2026, 11, 20), False),
        (rule("MONTHLY", "1MO,3WE"), date(2026, 11, 18), True),
        (rule("MONTHLY", "1MO,3WE"), date(2026, 11, 11), False),
        (rule("MONTHLY", "TU"), date(2026, 11, 10), True),  # every Tuesday of the month
        (rule("MONTHLY", bymonthday="1,15"), date(2026, 11, 15), True),
        (rule("MONTHLY", bymonthday="1,15"), date(2026, 11, 16), False),
        (rule("MONTHLY", bymonthday="-1"), date(2026, 11, 30), True),  # last day
        (rule("MONTHLY", bymonthday="-1"), date(2026, 12, 31), True),
        (rule("MONTHLY", bymonthday="-1"), date(2027, 2, 28), True),
        (rule("MONTHLY", bymonthday="-1"), date(2028, 2, 28), False),  # leap year: the 29th
        (rule("MONTHLY", bymonthday="31"), date(2026, 11, 30), False),  # no 31st in November
        (rule("MONTHLY", bymonthday="31"), date(2026, 12, 31), True),
        (rule("MONTHLY", "FR", bymonthday="13"), date(2026, 11, 13), True),  # Friday the 13th
        (rule("MONTHLY", "FR", bymonthday="13"), date(2026, 12, 13), False),  # a Sunday
        (rule("MONTHLY", dtstart=date(2026, 1, 20)), date(2026, 11, 20), True),  # dtstart's day of the month
        (rule("MONTHLY", dtstart=date(2026, 1, 20)), date(2025, 11, 20), False),  # before dtstart
        (rule("MONTHLY", "1MO", dtstart=date(2026, 12, 1)), date(2026, 11, 2), False),
        (rule("MONTHLY", "1MO", interval=2, dtstart=date(2026, 11, 2)), date(2026, 11, 2), True),
        (rule("MONTHLY", "1MO", interval=2, dtstart=date(2026, 11, 2)), date(2026, 12, 7), False),
        (rule("MONTHLY", "1MO", interval=2, dtstart=date(2026, 11, 2)), date(2027, 1, 4), True),
        (rule("WEEKLY", "MO,WE", interval=2, dtstart=date(2026, 11, 2)), date(2026, 11, 2), True),
        (rule("WEEKLY", "MO,WE", interval=2, dtstart=date(2026, 11, 2)), date(2026, 11, 4), True),
        (rule("WEEKLY", "MO,WE", interval=2, dtstart=date(2026, 11, 2)), date(2026, 11, 9), False),
        (rule("WEEKLY", "MO,WE", interval=2, dtstart=date(2026, 11, 2)), date(2026, 11, 16), True),
        (rule("WEEKLY", "MO,WE", interval=2, dtstart=date(2026, 11, 2)), date(2026, 10, 19), False),  # before
        (rule("WEEKLY", "MO", interval=3, dtstart=date(2026, 11, 4)), date(2026, 11, 2), False),  # before dtstart
        (rule("WEEKLY", "MO", interval=3, dtstart=date(2026, 11, 4)), date(2026, 11, 23), True),
        # The week start decides which weeks count: with weeks from Sunday, Sunday 8th is in the week of
        # Monday 9th (skipped); with weeks from Monday it is in the week of Monday 2nd (counted).
        (rule("WEEKLY", "MO,SU", interval=2, dtstart=date(2026, 11, 2)), date(2026, 11, 8), True),
        (rule("WEEKLY", "MO,SU", interval=2, dtstart=date(2026, 11, 2), wkst="SU"), date(2026, 11, 8), False),
        (rule("WEEKLY", "MO,SU", interval=2, dtstart=date(2026, 11, 2), wkst="SU"), date(2026, 11, 15), True),
    ],
)
def test_recurrence_occurs_on(recurrence, day, expected):
    assert recurrence.occurs_on(day) is expected


def test_plain_weekly_hours_have_no_rule():
    assert recurrence_from_fields("WEEKLY", 1, "MO,TU") is None
    assert recurrence_from_fields(None, None, "MO") is None
    assert recurrence_from_fields("WEEKLY", 1, "MO", dtstart=date(2027, 1, 4)) is not None  # from a day on


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (("MONTHLY", 1, "0MO"), "numbered 1 to 5"),
        (("MONTHLY", 1, "6MO"), "numbered 1 to 5"),
        (("MONTHLY", 1, "1XX"), "1XX is not a weekday"),
        (("WEEKLY", 1, "1MO"), "needs freq MONTHLY"),
        (("MONTHLY", 1, "", "32"), "32 is not a day of the month"),
        (("MONTHLY", 1, "", "0"), "0 is not a day of the month"),
        (("MONTHLY", 1, "", "x"), "x is not a day of the month"),
        (("MONTHLY", 0, "1MO"), "interval 0"),
        (("DAILY", 1, "MO"), "freq DAILY"),
        (("WEEKLY", 2, "MO", None, date(2026, 1, 5), "XX"), "wkst 'XX'"),
    ],
)
def test_unreadable_rules_are_refused_with_a_reason(fields, message):
    with pytest.raises(RecurrenceError, match=message):
        recurrence_from_fields(*fields, strict=True)


def test_an_unreadable_stored_rule_never_claims_open():
    broken = recurrence_from_fields("MONTHLY", 1, "9ZZ")
    assert not any(broken.occurs_on(date(2026, 11, 1) + timedelta(days=i)) for i in range(62))
    every_other_week_from_when = recurrence_from_fields("WEEKLY", 2, "MO")  # no dtstart: unknown weeks
    assert not every_other_week_from_when.occurs_on(date(2026, 11, 2))


def _brute_force_nth_weekday(day: date, ordinal: int) -> bool:
    """Every date of the month that falls on day's weekday, counted from the start or from the end."""
    same = [
        d
        for d in range(1, 32)
        if _is_date(day.year, day.month, d) and date(day.year, day.month, d).weekday() == day.weekday()
    ]
    return (same[ordinal - 1] if ordinal > 0 else same[ordinal]) == day.day if abs(ordinal) <= len(same) else False


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    ordinal=st.sampled_from([1, 2, 3, 4, 5, -1, -2, -3, -4, -5]),
)
def test_numbered_weekdays_agree_with_counting_the_month(day, ordinal):
    code = WEEKDAYS[day.weekday()]
    assert rule("MONTHLY", f"{ordinal}{code}").occurs_on(day) is _brute_force_nth_weekday(day, ordinal)


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    interval=st.integers(2, 5),
)
def test_every_n_weeks_counts_whole_weeks_from_the_start(day, start, interval):
    every_day = ",".join(WEEKDAYS)
    monday = lambda d: d - timedelta(days=d.weekday())  # noqa: E731
    expected = day >= start and ((monday(day) - monday(start)).days // 7) % interval == 0
    assert rule("WEEKLY", every_day, interval=interval, dtstart=start).occurs_on(day) is expected


FIRST_MONDAY_CLINIC = [Recurring("MONTHLY", "1MO", time(9), time(12))]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(date(2026, 11, 2), 9), True),  # the first Monday of November
        (at(date(2026, 11, 2), 12), False),
        (at(date(2026, 11, 9), 10), False),  # the second Monday: closed
        (at(MON, 10), False),  # the fourth
        (at(date(2026, 12, 7), 11, 59), True),
    ],
)
def test_open_now_on_a_monthly_schedule_only_on_its_days(moment, expected):
    assert is_open_at(FIRST_MONDAY_CLINIC, [], moment) is expected


def test_monthly_night_runs_past_midnight_and_holidays_still_close():
    last_friday_night = [Recurring("MONTHLY", "-1FR", time(22), time(2))]
    assert is_open_at(last_friday_night, [], at(date(2026, 11, 28), 1)) is True  # Saturday after the last Friday
    assert is_open_at(last_friday_night, [], at(date(2026, 11, 21), 1)) is False
    closed = [Holiday(date(2026, 11, 2), date(2026, 11, 2))]
    assert is_open_at(FIRST_MONDAY_CLINIC, closed, at(date(2026, 11, 2), 10)) is False


def test_weekly_table_leaves_other_recurrences_out_and_describe_keeps_them():
    hours = [*OFFICE, *FIRST_MONDAY_CLINIC]
    table = dict(weekly_table(hours))
    assert [f"{p.opens_at:%H:%M}" for p in table["MO"]] == ["08:30", "14:00"]  # not the clinic's 09:00
    assert [s.byday for s in recurring(hours)] == ["1MO"]
    assert describe_hours(hours).endswith("; FREQ=MONTHLY;BYDAY=1MO 09:00–12:00")


def test_next_dates():
    assert rule("MONTHLY", "-1FR").next_dates(date(2026, 11, 28), 2) == [date(2026, 12, 25), date(2027, 1, 29)]
    assert rule("MONTHLY", bymonthday="29").next_dates(date(2027, 2, 1)) == [date(2027, 3, 29)]
    assert rule("MONTHLY", "1MO", dtstart=date(2027, 6, 1)).next_dates(date(2026, 11, 1)) == [date(2027, 6, 7)]
    assert rule("MONTHLY", "FR", bymonthday="31").next_dates(date(2026, 11, 1)) == [date(2027, 12, 31)]
