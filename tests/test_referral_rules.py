"""The referral module's pure rules: status from attempts, follow-ups, staleness, consent, need closing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from directory.referrals import rules
from directory.referrals.models import REFUSAL_REASONS, REFUSERS

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class A:  # an attempt, as the rules see it
    id: str
    number: int
    occurred_at: datetime
    outcome: str
    next_follow_up: date | None = None
    corrects_id: str | None = None


def attempts(*outcomes: str) -> list[A]:
    return [A(f"a{i}", i, NOW + timedelta(hours=i), outcome) for i, outcome in enumerate(outcomes, start=1)]


@pytest.mark.parametrize(
    ("outcomes", "status"),
    [
        ((), "sent"),
        (("no_answer",), "in_progress"),
        (("no_answer", "left_message", "call_back_later"), "in_progress"),
        (("refused",), "refused"),
        (("accepted",), "accepted"),
        (("waitlisted",), "waitlisted"),
        (("needs_documents",), "needs_documents"),
        (("service_delivered",), "delivered"),
        (("accepted", "no_answer"), "accepted"),  # contact without a decision keeps the last decision
        (("refused", "other"), "refused"),
        (("refused", "accepted"), "accepted"),  # persistence pays: a refusal is not the end
        (("refused", "refused", "accepted", "service_delivered"), "delivered"),
        (("accepted", "refused"), "refused"),
        (("needs_documents", "accepted"), "accepted"),
    ],
)
def test_status_is_the_last_decision(outcomes, status):
    assert rules.derive_status(attempts(*outcomes)) == status


def test_status_follows_when_attempts_happened_not_when_they_were_recorded():
    late_entry = A("a2", 2, NOW - timedelta(days=1), "refused")  # recorded second, happened first
    assert rules.derive_status([A("a1", 1, NOW, "accepted"), late_entry]) == "accepted"


def test_a_correction_replaces_the_attempt_it_corrects():
    log = attempts("refused")
    log.append(A("a2", 2, log[0].occurred_at, "accepted", corrects_id="a1"))
    assert rules.derive_status(log) == "accepted"
    assert [a.id for a in rules.effective_attempts(log)] == ["a2"]


def test_a_correction_of_a_correction_stands_alone():
    log = [
        A("a1", 1, NOW, "refused"),
        A("a2", 2, NOW, "accepted", corrects_id="a1"),
        A("a3", 3, NOW, "waitlisted", corrects_id="a2"),
    ]
    assert rules.derive_status(log) == "waitlisted"
    assert [a.id for a in rules.effective_attempts(log)] == ["a3"]


def at(hours: int) -> datetime:
    return NOW + timedelta(hours=hours)


@pytest.mark.parametrize(
    ("outcomes", "accepted", "delivered", "position", "after_refusal"),
    [
        ((), None, None, None, False),
        (("no_answer", "refused"), None, None, None, False),
        (("accepted", "no_answer"), 1, None, None, False),
        (("service_delivered",), 1, 1, 1, False),  # delivery is acceptance too
        (("no_answer", "accepted", "service_delivered"), 2, 3, 3, False),
        (("refused", "no_answer", "service_delivered"), 3, 3, 3, True),
        (("refused", "accepted", "refused", "accepted", "service_delivered"), 2, 5, 5, True),
        (("service_delivered", "refused", "service_delivered"), 1, 1, 1, False),  # the first delivery counts
    ],
)
def test_attempt_summary_for_the_reports(outcomes, accepted, delivered, position, after_refusal):
    summary = rules.summarize_attempts(attempts(*outcomes))
    assert summary.accepted_at == (at(accepted) if accepted else None)
    assert summary.delivered_at == (at(delivered) if delivered else None)
    assert summary.delivered_at_attempt == position
    assert summary.refused_before_delivery is after_refusal
    assert summary.status == rules.derive_status(attempts(*outcomes))
    assert summary.attempt_count == len(outcomes)


def test_attempt_summary_counts_standing_attempts_in_the_order_they_happened():
    log = [
        A("a1", 1, at(5), "service_delivered"),
        A("a2", 2, at(1), "refused"),  # recorded later, happened first
        A("a3", 3, at(3), "no_answer"),
        A("a4", 4, at(2), "other"),
        A("a5", 5, at(2), "no_answer", corrects_id="a4"),  # replaces a4: still one attempt at hour 2
    ]
    summary = rules.summarize_attempts(log)
    assert (summary.delivered_at_attempt, summary.attempt_count) == (4, 4)
    assert summary.refused_before_delivery is True
    assert [a.id for a in rules.standing_refusals(log)] == ["a2"]


def test_a_corrected_refusal_or_delivery_is_not_counted():
    log = attempts("refused", "service_delivered")
    log.append(A("a3", 3, log[0].occurred_at, "no_answer", corrects_id="a1"))
    summary = rules.summarize_attempts(log)
    assert summary.refused_before_delivery is False and summary.delivered_at_attempt == 2
    assert rules.standing_refusals(log) == []
    log.append(A("a4", 4, log[1].occurred_at, "accepted", corrects_id="a2"))
    summary = rules.summarize_attempts(log)
    assert (summary.status, summary.delivered_at, summary.delivered_at_attempt) == ("accepted", None, None)
    assert summary.accepted_at == log[1].occurred_at


def test_next_follow_up_comes_from_the_latest_standing_attempt():
    log = attempts("no_answer", "left_message")
    log[0].next_follow_up, log[1].next_follow_up = date(2026, 11, 30), date(2026, 11, 25)
    assert rules.next_follow_up(log) == date(2026, 11, 25)
    log.append(A("a3", 3, NOW + timedelta(days=1), "service_delivered", next_follow_up=date(2026, 12, 1)))
    assert rules.next_follow_up(log) is None  # delivered: nothing left to chase
    assert rules.next_follow_up([]) is None


@pytest.mark.parametrize(
    ("due", "bucket"),
    [(None, None), (date(2026, 11, 22), "overdue"), (date(2026, 11, 23), "today"), (date(2026, 11, 24), None)],
)
def test_follow_up_buckets(due, bucket):
    assert rules.follow_up_bucket(due, date(2026, 11, 23)) == bucket


@pytest.mark.parametrize(
    ("status", "idle", "need_open", "stale"),
    [
        ("in_progress", timedelta(days=14), True, True),
        ("in_progress", timedelta(days=13, hours=23), True, False),
        ("sent", timedelta(days=30), True, True),
        ("accepted", timedelta(days=20), True, True),
        ("waitlisted", timedelta(days=20), True, True),
        ("refused", timedelta(days=30), True, False),  # dead end: the need shows up as "nothing in progress"
        ("delivered", timedelta(days=30), True, False),
        ("in_progress", timedelta(days=30), False, False),  # the need is closed
    ],
)
def test_stale_after_fourteen_quiet_days(status, idle, need_open, stale):
    assert rules.is_stale(status, NOW - idle, NOW, need_open) is stale


def _attempt_values(**overrides) -> dict:
    values = {"occurred_at": NOW, "channel": "phone", "party": "provider", "outcome": "no_answer"}
    return {**values, **overrides}


@pytest.mark.parametrize("refused_by", REFUSERS)
@pytest.mark.parametrize("reason", REFUSAL_REASONS)
def test_every_refusal_party_and_reason_is_accepted(refused_by, reason):
    values = _attempt_values(outcome="refused", refused_by=refused_by, refusal_reason=reason, note="详情")
    assert rules.attempt_problems(values, NOW) == {}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"outcome": "refused", "refusal_reason": "cost"}, "refused_by"),
        ({"outcome": "refused", "refused_by": "client"}, "refusal_reason"),
        ({"outcome": "refused", "refused_by": "neighbour", "refusal_reason": "cost"}, "refused_by"),
        ({"outcome": "refused", "refused_by": "client", "refusal_reason": "mood"}, "refusal_reason"),
        ({"outcome": "refused", "refused_by": "client", "refusal_reason": "other"}, "note"),
        ({"outcome": "accepted", "refused_by": "client"}, "refused_by"),
        ({"outcome": "accepted", "refusal_reason": "cost"}, "refusal_reason"),
        ({"outcome": "other"}, "note"),
        ({"outcome": "maybe"}, "outcome"),
        ({"channel": "pigeon"}, "channel"),
        ({"party": "stranger"}, "party"),
        ({"occurred_at": None}, "occurred_at"),
        ({"occurred_at": NOW + timedelta(hours=1)}, "occurred_at"),
        ({"next_follow_up": date(2026, 11, 22)}, "next_follow_up"),
    ],
)
def test_attempt_problems_name_the_field(overrides, field):
    assert field in rules.attempt_problems(_attempt_values(**overrides), NOW)


def test_a_follow_up_is_compared_with_the_attempts_day_where_the_services_are():
    from zoneinfo import ZoneInfo

    guangzhou = ZoneInfo("Asia/Shanghai")
    early = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 07:00 on the 24th in Guangzhou
    values = _attempt_values(occurred_at=early, next_follow_up=date(2026, 11, 23))
    assert "next_follow_up" in rules.attempt_problems(values, early, guangzhou)
    values = _attempt_values(occurred_at=early, next_follow_up=date(2026, 11, 24))
    assert rules.attempt_problems(values, early, guangzhou) == {}


@pytest.mark.parametrize(
    ("status", "note", "fields"),
    [
        ("met", "已上岗", set()),
        ("withdrawn", "案主不再需要", set()),
        ("unreachable", "三次家访未见", set()),
        ("met", "  ", {"note"}),
        ("met", None, {"note"}),
        ("refused", "被拒绝", {"status"}),  # a refusal never closes a need
        ("open", "x", {"status"}),
    ],
)
def test_need_closing_rules(status, note, fields):
    assert set(rules.need_closing_problems(status, note)) == fields


@dataclass
class C:  # a consent, as the rules see it
    organization_id: str | None = "org-1"
    category: str | None = None
    fields: tuple = ("name", "phone")
    purpose: str = "referral"
    valid_from: date = date(2026, 1, 1)
    valid_until: date | None = None
    revoked_at: datetime | None = None


TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("consent", "org", "codes", "covered"),
    [
        (C(), "org-1", [], True),
        (C(), "org-2", [], False),
        (C(organization_id=None, category="drug-treatment"), "org-9", ["methadone-clinic", "drug-treatment"], True),
        (C(organization_id=None, category="drug-treatment"), "org-9", ["hiv", "hiv-treatment"], False),
        (C(valid_from=date(2026, 11, 24)), "org-1", [], False),
        (C(valid_until=date(2026, 11, 23)), "org-1", [], True),  # the last day still counts
        (C(valid_until=date(2026, 11, 22)), "org-1", [], False),
        (C(revoked_at=NOW), "org-1", [], False),
        (C(purpose="case_coordination"), "org-1", [], False),
        (C(purpose="emergency"), "org-1", [], True),
    ],
)
def test_consent_covers(consent, org, codes, covered):
    assert rules.consent_covers(consent, org, codes, TODAY) is covered


def _consent_values(**overrides) -> dict:
    values = {
        "organization_id": "org-1",
        "category": None,
        "fields": ["name"],
        "purpose": "referral",
        "valid_from": TODAY,
        "valid_until": None,
        "given_by": "client",
        "guardian_name": "",
    }
    return {**values, **overrides}


@pytest.mark.parametrize(
    ("birth_year", "overrides", "fields"),
    [
        (1990, {}, set()),
        (2012, {}, {"guardian_name"}),  # 13 before the birthday this year, so maybe under 14
        (2013, {}, {"guardian_name"}),
        (2011, {}, set()),  # at least 14
        (2013, {"given_by": "guardian", "guardian_name": "外婆"}, set()),
        (2015, {"given_by": "guardian", "guardian_name": " "}, {"guardian_name"}),
        (None, {}, set()),  # unknown age: cannot require a guardian
        (1990, {"organization_id": None}, {"scope"}),
        (1990, {"category": "medical"}, {"scope"}),
        (1990, {"fields": []}, {"fields"}),
        (1990, {"fields": ["bank_account"]}, {"fields"}),
        (1990, {"purpose": "marketing"}, {"purpose"}),
        (1990, {"valid_until": date(2026, 11, 1)}, {"valid_until"}),
        (1990, {"valid_from": None}, {"valid_from"}),
    ],
)
def test_consent_problems(birth_year, overrides, fields):
    assert set(rules.consent_problems(_consent_values(**overrides), birth_year, TODAY)) == fields


def test_guardian_age_boundary():
    # Born 2012: 13 before the birthday, 14 after → may be under 14, so a guardian is needed.
    assert rules.may_be_under(2012, 14, TODAY)
    assert not rules.may_be_under(2011, 14, TODAY)
    problems = rules.consent_problems(_consent_values(), 2012, TODAY)
    assert "guardian_name" in problems


def test_shared_fields_keep_only_known_fields():
    assert rules.shared_fields(["name", "hiv", "bank_account"]) == {"name", "hiv"}
    assert rules.shared_fields(None) == frozenset()
