"""An agency's own figures (GET /reports/agency): its referrals received, acceptance rate, hours to the
first answer, refusal reasons and delivered share, by service and month, under the small-cell rule, and
who may see whose (agency staff of one organization never see another's, nobody sees a client).

On the history of test_reports.py: the agency user works for S1's organization (the brain hospital),
which received R1–R7 and R14 (clients P, Q and R)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from directory.accounts.audit import AuditEvent
from directory.accounts.services import create_user
from directory.extensions import db
from directory.i18n import local_name
from directory.reports import agency
from tests.conftest import PASSWORD, login, post
from tests.test_reports import build_history


@pytest.fixture
def history(seeded_app):
    return build_history(seeded_app)


def english(client, username: str) -> None:
    with client.session_transaction() as session:
        session["lang"] = "en"
    login(client, username)


def rows(page: str, table: str) -> list[list[str]]:
    body = re.search(rf'id="{table}".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def at(hours: int) -> datetime:
    return datetime(2026, 3, 1, tzinfo=UTC).replace(hour=hours)


def attempt(id_, number, hour, outcome, party="provider", corrects=None):
    return SimpleNamespace(
        id=id_, number=number, occurred_at=at(hour), outcome=outcome, party=party, corrects_id=corrects
    )


def test_first_answer_is_the_providers_first_standing_decision():
    assert agency.first_answer([]) is None
    calls = [attempt("a", 1, 1, "no_answer"), attempt("b", 2, 2, "refused", party="family")]
    assert agency.first_answer(calls) is None  # no decision of the provider's yet
    assert agency.first_answer([*calls, attempt("c", 3, 5, "waitlisted")]) == at(5)
    corrected = [attempt("a", 1, 1, "accepted"), attempt("b", 2, 1, "no_answer", corrects="a")]
    assert agency.first_answer([*corrected, attempt("c", 3, 7, "refused")]) == at(7)  # a corrected answer is none


def test_counts_per_key():
    made = [
        agency.Received("s1", "2026-03", "p", True, True, 2.0),
        agency.Received("s1", "2026-04", "q", True, False, 4.0),
        agency.Received("s2", "2026-04", "q", False, False, None),
    ]
    by_service = agency.count(made, lambda r: r.service_id)
    assert (by_service["s1"].received, by_service["s1"].accepted, by_service["s1"].delivered) == (2, 2, 1)
    assert by_service["s1"].median_hours == 3.0 and by_service["s2"].median_hours is None
    assert agency.count(made)[""].received == 3


def test_agency_staff_see_their_own_figures(history, seeded_client):
    english(seeded_client, history.users.agency.username)
    home = seeded_client.get("/").get_data(as_text=True)
    assert 'href="/reports/agency">Our figures</a>' in home
    response = seeded_client.get("/reports/agency")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    assert {row[0]: row[1] for row in rows(page, "agency_key")} == {
        "Referrals received": "10",  # 8, rounded
        "Accepted": "5",  # 7: all but R7
        "Acceptance rate": "50.0%",  # of the counts as shown
        # First answers after 24 (R1, R3, R7, R14), 48 (R6), 72 (R2), 96 (R4: the family's refusal is not
        # the provider's answer) and 144 hours (R5): the median of eight.
        "Median hours to the first answer": "36.0",
        "Clients who got the service": "5",
        "Delivered share": "50.0%",
    }
    s1 = history.svc["S1"]
    assert [row[0] for row in rows(page, "agency_service")] == [local_name(s1.name, s1.alternate_name, "en")]
    assert [row[0] for row in rows(page, "agency_month")] == ["2026-03"]
    reasons = {(row[0], row[1]): row[2] for row in rows(page, "agency_refusals")}
    assert reasons == {  # one each: R3, R7 by the provider, R4 by the family
        ("No capacity", "The provider"): "<5",
        ("Stigma — drug history", "The provider"): "<5",
        ("Family unwilling", "The family"): "<5",
    }
    for other in ("S2", "S3"):  # nothing of the other organizations' services
        service = history.svc[other]
        assert f">{local_name(service.name, service.alternate_name, 'en')}<" not in page
    assert "案主" not in page and "私密" not in page and "1390000" not in page  # no client anywhere
    # A service row leads to that service's months; a month row to that month's services.
    link = re.search(r'<a class="drill" href="([^"]+)">', page.split('id="agency_service"')[1]).group(1)
    assert link == f"/reports/agency?service={s1.id}#agency_month"
    assert seeded_client.get(link.replace("#agency_month", "")).status_code == 200
    month = re.search(r'<a class="drill" href="([^"]+)">2026-03', page).group(1).replace("&amp;", "&")
    assert "start=2026-03-01" in month and "end=2026-03-31" in month and month.endswith("#agency_service")


def test_the_previous_period_and_the_small_cell_rule(history, seeded_app, seeded_client):
    english(seeded_client, history.users.agency.username)
    page = seeded_client.get("/reports/agency?start=2026-03-01&end=2026-03-31").get_data(as_text=True)
    received = next(row for row in rows(page, "agency_key") if row[0] == "Referrals received")
    assert received == ["Referrals received", "10", "—", "—"]  # February: no client, so no figure
    seeded_app.config["REPORT_MIN_CLIENTS"] = 4  # three clients are too few: nothing is shown
    page = seeded_client.get("/reports/agency").get_data(as_text=True)
    assert "Fewer than 4 clients match this selection" in page and 'id="agency_key"' in page
    assert "<tbody>" not in page


def test_who_may_see_which_agency(history, seeded_client):
    s1_org, s2_org = history.svc["S1"].organization_id, history.svc["S2"].organization_id
    other = create_user("agency-2", PASSWORD, "agency_staff", organization_id=s2_org)
    db.session.commit()
    assert seeded_client.get("/reports/agency").status_code == 302  # anonymous: to the login page
    english(seeded_client, history.users.agency.username)
    assert seeded_client.get(f"/reports/agency?organization={s1_org}").status_code == 200
    assert seeded_client.get(f"/reports/agency?organization={s2_org}").status_code == 403
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")).all()
    assert any(e.object_type == "agency_report" and e.object_id == s2_org for e in denied)
    s2 = history.svc["S2"]
    assert seeded_client.get(f"/reports/agency?service={s2.id}").status_code == 400  # not one of ours
    for url in ("/reports", "/reports/overview.csv", "/reports/stale-listings"):
        assert seeded_client.get(url).status_code == 403  # the manager reports stay the managers'
    post(seeded_client, "/logout")
    english(seeded_client, other.username)
    page = seeded_client.get("/reports/agency").get_data(as_text=True)
    assert "Guangzhou Institute of Dermatology" in page  # its own name, and nothing of S1's
    s1 = history.svc["S1"]
    assert f">{local_name(s1.name, s1.alternate_name, 'en')}<" not in page
    assert seeded_client.get(f"/reports/agency?organization={s1_org}").status_code == 403
    post(seeded_client, "/logout")
    english(seeded_client, history.users.a.username)  # a caseworker
    assert seeded_client.get("/reports/agency").status_code == 403
    assert seeded_client.get(f"/reports/agency?organization={s1_org}").status_code == 403
    post(seeded_client, "/logout")
    english(seeded_client, history.users.manager.username)
    assert seeded_client.get(f"/reports/agency?organization={s1_org}").status_code == 200
    assert seeded_client.get("/reports/agency").status_code == 302  # which one? the organizations' table
    assert seeded_client.get("/reports/agency?organization=nope").status_code == 404


def test_dates_are_checked(history, seeded_client):
    english(seeded_client, history.users.agency.username)
    assert seeded_client.get("/reports/agency?start=2026-04-01&end=2026-03-01").status_code == 400
    assert seeded_client.get("/reports/agency?start=99999-01-01").status_code == 400
