"""Hours that recur monthly or every N weeks, in plain Chinese and English."""

from __future__ import annotations

from datetime import date, time
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from directory.catalog.hours import Period, recurrence_from_fields
from directory.catalog.hours_words import describe_recurrence, recurring_lines

START = date(2026, 1, 14)

# (freq, interval, byday, bymonthday, dtstart), Chinese, English
TEXTS = [
    (("MONTHLY", 1, "1MO", None, None), "每月第一个星期一", "First Monday of each month"),
    (("MONTHLY", 1, "-1FR", None, None), "每月最后一个星期五", "Last Friday of each month"),
    (("MONTHLY", 1, "-2FR", None, None), "每月倒数第二个星期五", "Second-to-last Friday of each month"),
    (
        ("MONTHLY", 1, "1MO,3WE", None, None),
        "每月第一个星期一和第三个星期三",
        "First Monday and third Wednesday of each month",
    ),
    (("MONTHLY", 1, "TU", None, None), "每月每个星期二", "Every Tuesday of each month"),
    (("MONTHLY", 1, "", "1,15", None), "每月1日和15日", "Day 1 and day 15 of each month"),
    (("MONTHLY", 1, "", "-1", None), "每月最后一天", "The last day of each month"),
    (("MONTHLY", 1, "", "-3", None), "每月倒数第3天", "Day 3 from the end of each month"),
    (("MONTHLY", 1, "FR", "13", None), "每月13日（逢星期五）", "Day 13 of each month, if it is a Friday"),
    (("MONTHLY", 1, "", None, START), "每月14日，自2026年1月14日起", "Day 14 of each month, from Jan 14, 2026"),
    (
        ("MONTHLY", 3, "2WE", None, START),
        "每3个月的第二个星期三，自2026年1月14日起",
        "Second Wednesday of every 3 months, from Jan 14, 2026",
    ),
    (
        ("WEEKLY", 2, "TU,TH", None, date(2026, 1, 6)),
        "每2周的星期二和星期四，自2026年1月6日起",
        "Tuesday and Thursday, every 2 weeks, from Jan 6, 2026",
    ),
]


@pytest.mark.parametrize(("fields", "zh", "en"), TEXTS)
def test_recurring_hours_in_plain_words(app, fields, zh, en):
    rule = recurrence_from_fields(*fields, strict=True)
    with app.test_request_context():
        with force_locale("zh"):
            assert describe_recurrence(rule) == zh
        with force_locale("en"):
            assert describe_recurrence(rule) == en


def test_recurring_lines_leave_weekly_hours_out_and_give_the_next_day(app):
    def schedule(freq: str, byday: str, opens: int, **fields) -> SimpleNamespace:
        row = SimpleNamespace(
            id=f"{freq}-{byday}",
            freq=freq,
            interval=fields.get("interval", 1),
            byday=byday,
            bymonthday=fields.get("bymonthday"),
            dtstart=fields.get("dtstart"),
            wkst="MO",
            opens_at=time(opens),
            closes_at=time(opens + 2),
            description=fields.get("description"),
        )
        row.days = byday.split(",")
        row.recurrence = recurrence_from_fields(row.freq, row.interval, row.byday, row.bymonthday, row.dtstart)
        return row

    schedules = [
        schedule("WEEKLY", "MO,TU", 9),
        schedule("MONTHLY", "-1FR", 14, description="家长沙龙"),
        schedule("MONTHLY", "", 10, bymonthday="31"),
    ]
    closed = SimpleNamespace(starts_on=date(2026, 12, 24), ends_on=date(2026, 12, 26))  # holiday hours win
    with app.test_request_context(), force_locale("zh"):
        lines = recurring_lines(schedules, date(2026, 11, 28), [closed])
    assert [(line.text, line.period, line.description, line.next_date) for line in lines] == [
        ("每月最后一个星期五", Period(time(14), time(16)), "家长沙龙", date(2027, 1, 29)),
        ("每月31日", Period(time(10), time(12)), None, date(2026, 12, 31)),
    ]
