"""Hours condensed for the client's list, and the history's values in words (pure parts and their words)."""

from __future__ import annotations

from datetime import time

import pytest
from flask_babel import force_locale

from directory.catalog.change_words import holiday_in_words, hours_in_words, value_in_words
from directory.catalog.hours import Period
from directory.catalog.hours_summary import condensed_weekly, day_groups

MORNING = Period(time(8, 30), time(12))
AFTERNOON = Period(time(14), time(17, 30))


class Row:
    def __init__(self, byday: str, opens: time, closes: time):
        self.byday, self.opens_at, self.closes_at = byday, opens, closes
        self.recurrence = None

    @property
    def days(self):
        return self.byday.split(",")


def test_days_with_the_same_hours_go_together_in_week_order():
    table = [
        ("MO", [MORNING, AFTERNOON]),
        ("TU", [MORNING, AFTERNOON]),
        ("WE", []),
        ("TH", [MORNING, AFTERNOON]),
        ("FR", [MORNING]),
        ("SA", []),
        ("SU", [MORNING]),
    ]
    assert day_groups(table) == [(("MO", "TU", "TH"), (MORNING, AFTERNOON)), (("FR", "SU"), (MORNING,))]
    assert day_groups([(d, []) for d in ("MO", "TU")]) == []


@pytest.mark.parametrize(
    ("rows", "zh", "en"),
    [
        ([Row("MO,TU,WE,TH,FR,SA,SU", time(7), time(11, 30))], ["每天 07:00–11:30"], ["Every day 07:00–11:30"]),
        (
            [
                Row("MO,TU,WE,TH,FR", time(8, 30), time(12)),
                Row("MO,TU,WE,TH,FR", time(14), time(17, 30)),
                Row("SA", time(9), time(12)),
            ],
            ["周一至周五 08:30–12:00, 14:00–17:30", "周六 09:00–12:00"],
            ["Mon–Fri 08:30–12:00, 14:00–17:30", "Sat 09:00–12:00"],
        ),
        ([Row("MO,WE,FR", time(9), time(11))], ["周一、周三、周五 09:00–11:00"], ["Mon, Wed, Fri 09:00–11:00"]),
        ([Row("SA,SU", time(20), time(8))], ["周六、周日 20:00–08:00"], ["Sat, Sun 20:00–08:00"]),
        ([], [], []),
    ],
)
def test_condensed_hours_in_both_languages(app, rows, zh, en):
    with app.test_request_context():
        with force_locale("zh"):
            assert condensed_weekly(rows) == zh
        with force_locale("en"):
            assert condensed_weekly(rows) == en


def test_stored_history_values_read_as_words(app):
    with app.test_request_context():
        with force_locale("zh"):
            assert value_in_words("accepting_referrals", "false") == "否"
            assert value_in_words("active", "true") == "是"
            assert value_in_words("status", "temporarily closed") != "temporarily closed"
            assert value_in_words("languages", "zh, yue") == "普通话、粤语"
            assert hours_in_words("MO 07:00–11:30; TU 07:00–11:30; FREQ=MONTHLY;BYDAY=1MO 09:00–12:00") == (
                "周一、周二 07:00–11:30；每月第一个星期一 09:00–12:00"
            )
            assert (
                holiday_in_words("2027-02-06..2027-02-12 closed (春节)") == "2027年2月6日至2027年2月12日：闭馆（春节）"
            )
            assert value_in_words("name", "服务A") == "服务A"
            assert value_in_words("hours", "") == ""
            assert hours_in_words("garbled text") == "garbled text"  # what cannot be read stays as stored
        with force_locale("en"):
            assert value_in_words("accepting_referrals", "true") == "Yes"
            assert hours_in_words("SA 20:00–08:00") == "Sat 20:00–08:00"
