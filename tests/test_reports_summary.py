"""Monthly summaries: the printable page per manager and per agency, and `flask monthly-summaries`,
which renders them for a month into a folder. On the history of test_reports.py (March 2026)."""

from __future__ import annotations

import re
import stat

import pytest
from sqlalchemy import func, select

from directory.extensions import db
from directory.reports import summary
from directory.reports.tables import month_bounds
from tests.conftest import login, post
from tests.test_reports import build_history


@pytest.fixture
def history(seeded_app):
    return build_history(seeded_app)


def english(client, username: str) -> None:
    with client.session_transaction() as session:
        session["lang"] = "en"
    login(client, username)


def key_figures(page: str) -> dict[str, list[str]]:
    body = re.search(r'id="(?:overview|agency_key)".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return {row[0]: row[1:] for row in rows}


def test_parse_month():
    assert summary.parse_month("2026-02") == month_bounds("2026-02")
    for bad in ("2026-13", "2026-2", "26-02", "", "2026-02-01", "0001-01"):
        with pytest.raises(summary.MonthError, match="YYYY-MM"):
            summary.parse_month(bad)


def test_the_managers_monthly_page(history, seeded_client):
    english(seeded_client, "boss")
    response = seeded_client.get("/reports/monthly?month=2026-03")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    page = response.get_data(as_text=True)
    assert "<h1>Monthly summary: referrals across the network</h1>" in page and "css/print.css" in page
    figures = key_figures(page)
    assert figures["Referrals"] == ["15", "—", "—"]  # 15 made in March (local time); February: none
    assert "Month: 2026-03, beside the month before." in page
    assert "案主" not in page and "私密" not in page and "<nav" not in page
    assert seeded_client.get("/reports/monthly?month=2026-13").status_code == 400
    assert 'href="/reports/monthly"' in seeded_client.get("/reports").get_data(as_text=True)


def test_the_agencys_monthly_page_and_who_may_see_it(history, seeded_client):
    english(seeded_client, history.users.agency.username)
    page = seeded_client.get("/reports/agency/monthly?month=2026-03").get_data(as_text=True)
    assert key_figures(page)["Referrals received"] == ["10", "—", "—"]
    assert "Monthly summary: Affiliated Brain Hospital" in page
    other = history.svc["S2"].organization_id
    assert seeded_client.get(f"/reports/agency/monthly?organization={other}").status_code == 403
    assert seeded_client.get("/reports/monthly").status_code == 403  # the network's is the managers'
    post(seeded_client, "/logout")
    english(seeded_client, history.users.a.username)  # a caseworker
    assert seeded_client.get("/reports/agency/monthly").status_code == 403
    assert seeded_client.get("/reports/monthly").status_code == 403


def test_the_command_writes_one_page_per_manager_and_agency(history, seeded_app, tmp_path):
    out = tmp_path / "summaries"
    runner = seeded_app.test_cli_runner()
    result = runner.invoke(args=["monthly-summaries", "--month", "2026-03", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 1 manager and 1 agency summaries for 2026-03" in result.output
    organization = history.svc["S1"].organization_id
    assert sorted(p.name for p in out.iterdir()) == ["agency-" + organization + ".html", "manager-boss.html"]
    manager = (out / "manager-boss.html").read_text(encoding="utf-8")
    assert "<style>" in manager and "@page" in manager and "css/print.css" not in manager  # self-contained
    assert 'lang="zh-CN"' in manager and "月度摘要" in manager  # the manager's language: Chinese by default
    assert not re.search("案主[PQR]|私密", manager)  # no client, no goal or note
    assert stat.S_IMODE((out / "manager-boss.html").stat().st_mode) == 0o600
    agency_page = (out / f"agency-{organization}.html").read_text(encoding="utf-8")
    assert "广州医科大学附属脑科医院" in agency_page and "<svg" in agency_page
    bad = runner.invoke(args=["monthly-summaries", "--month", "2026-3", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output and not (tmp_path / "bad").exists()


def test_the_command_tells_the_readers_once_a_month(history, seeded_app, tmp_path):
    """--notify: each manager and each agency staff member gets one notification with the link to their
    summary (the bell, and e-mail or webhook where configured); running it again for the month adds none."""
    from directory.notifications.models import Notification

    runner = seeded_app.test_cli_runner()
    args = ["monthly-summaries", "--month", "2026-03", "--out", str(tmp_path / "s"), "--notify"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Notified 2 reader(s) that the 2026-03 summaries are ready." in result.output
    monthly = select(Notification).where(Notification.kind == "monthly_summary")
    notes = {n.user.username: n for n in db.session.scalars(monthly).all()}
    assert notes["boss"].link == "/reports/monthly?month=2026-03" and "2026-03" in notes["boss"].title
    staff = [n for name, n in notes.items() if name != "boss"]
    assert len(staff) == 1 and staff[0].link == "/reports/agency/monthly?month=2026-03"
    again = runner.invoke(args=args)
    assert again.exit_code == 0 and "Notified 0 reader(s)" in again.output
    assert db.session.scalar(select(func.count()).select_from(monthly.subquery())) == 2
