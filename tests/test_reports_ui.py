"""Reports that speak: charts and tables that fit, the persistence chart by attempt number, months on
the month chart, text equivalents, key figures beside the previous period, breakdown rows that lead to
the next level, and the list behind "listings not verified". The figures themselves are tested in
test_reports.py, on the same history (its ``history`` fixture)."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from directory.catalog.models import TaxonomyTerm
from directory.catalog.services import local_today, stale_services
from directory.extensions import db
from directory.i18n import local_name
from directory.reports import charts, tables
from directory.reports.queries import Curve, CurvePoint, RateRow
from tests.conftest import login, post
from tests.test_reports import build_history


@pytest.fixture
def history(seeded_app):
    return build_history(seeded_app)


SKIN_EN = "Methadone maintenance treatment clinic, Yuexiu"
SKIN_ORG_EN = "Guangzhou Institute of Dermatology"
LONG = "广州市白云区同德街社区戒毒社区康复工作站（美沙酮维持治疗转介与随访服务点）"


def svg_texts(svg: str, css_class: str) -> list[list[str]]:
    """The lines (tspans) of each <text> of a class."""
    found = re.findall(rf'<text[^>]*class="{css_class}"[^>]*>(.*?)</text>', svg)
    return [re.findall(r"<tspan[^>]*>(.*?)</tspan>", text) or [text] for text in found]


# --- charts ------------------------------------------------------------------------------------------


def test_bar_labels_wrap_instead_of_being_cut_and_stay_inside_the_chart():
    bars = [tables.Bar(LONG, 0.5, "50.0%"), tables.Bar("Successful referrals of the provider", 0.2, "20.0%")]
    svg = str(charts.bar_chart("c", "title", bars, percent=True))
    labels = svg_texts(svg, "chart-label")
    assert "".join(labels[0]) == LONG and len(labels[0]) >= 3  # the whole name, on several lines
    assert " ".join(labels[1]) == "Successful referrals of the provider"  # broken between words
    assert "…" not in svg
    for lines in labels:  # right-aligned at LABEL_WIDTH - 6: each line must fit left of it
        assert all(charts.text_width(line) <= charts.LABEL_WIDTH - 6 for line in lines)
    height = float(re.search(r'viewBox="0 0 \d+ (\d+)"', svg).group(1))
    assert height >= 6 + len(labels[0]) * charts.LINE_HEIGHT + len(labels[1]) * charts.LINE_HEIGHT


def test_every_chart_has_a_text_equivalent():
    svg = str(charts.bar_chart("c", "Refusals", [tables.Bar("拒绝", 5.0, "5"), tables.Bar("无", None, "<5")]))
    assert 'aria-labelledby="c-title"' in svg and 'aria-describedby="c-desc"' in svg
    assert '<desc id="c-desc">拒绝: 5; 无: &lt;5</desc>' in svg
    line = str(charts.line_chart("m", "Months", [tables.Bar("2026-03", 0.5, "50.0%")]))
    assert '<desc id="m-desc">2026-03: 50.0%</desc>' in line


def test_fill_attempts_puts_every_attempt_number_on_the_axis():
    points = [CurvePoint(1, 10, 10), CurvePoint(3, 5, 15), CurvePoint(5, 5, 20)]
    assert tables.fill_attempts(points) == [
        CurvePoint(1, 10, 10),
        CurvePoint(2, 0, 10),  # no success at the 2nd attempt: 0, the cumulative count stays
        CurvePoint(3, 5, 15),
        CurvePoint(4, 0, 15),
        CurvePoint(5, 5, 20),
    ]
    assert tables.fill_attempts([]) == []


def test_persistence_chart_has_a_labelled_point_for_every_attempt():
    table = tables.curve_table(SimpleNamespace(curve=Curve(40, [CurvePoint(1, 10, 10), CurvePoint(3, 10, 20)])))
    assert [row[:3] for row in table.rows] == [["1", "10", "10"], ["2", "0", "10"], ["3", "10", "20"]]
    svg = str(charts.chart_for(table))
    assert re.findall(r'class="chart-point" data-label="([^"]+)"', svg) == ["1", "2", "3"]
    assert [lines[0] for lines in svg_texts(svg, "chart-label")] == ["1", "2", "3"]  # the x-axis
    assert [lines[0] for lines in svg_texts(svg, "chart-data")] == ["25.0%", "25.0%", "50.0%"]  # data labels
    xs = [float(x) for x in re.findall(r'<circle[^>]*cx="([\d.]+)"', svg)]
    assert xs[1] - xs[0] == xs[2] - xs[1]  # one step per attempt number


def test_the_month_chart_shows_every_month_with_its_year():
    rows = [RateRow("2025-11", "2025-11", 10, 10, 5), RateRow("2026-02", "2026-02", 10, 10, 5)]
    filled = tables.fill_months(rows)
    assert [r.key for r in filled] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert filled[1] == RateRow("2025-12", "2025-12", 0, 0, 0)
    months = [f"{2025 + (m // 12)}-{m % 12 + 1:02d}" for m in range(2, 14)]  # 2025-03 … 2026-02
    table = tables.success_table("month", [RateRow(m, m, 10, 10, 5) for m in months])
    svg = str(charts.chart_for(table))
    ticks = svg_texts(svg, "chart-label")
    assert [t[0] for t in ticks] == [m[5:] for m in months]  # all twelve months, none thinned out
    assert ticks[0] == ["03", "2025"] and ticks[10] == ["01", "2026"]  # the year at the start and in January
    assert all(len(t) == 1 for i, t in enumerate(ticks) if i not in (0, 10))


def test_data_labels_and_x_labels_stay_inside_the_chart():
    table = tables.curve_table(SimpleNamespace(curve=Curve(10, [CurvePoint(n, 1, n) for n in range(1, 11)])))
    svg = str(charts.chart_for(table))
    for x, text in re.findall(r'<t(?:ext|span)[^>]*x="([\d.]+)"[^>]*text-anchor="middle"[^>]*>([^<]+)<', svg) + [
        (x, t) for x, t in re.findall(r'<tspan x="([\d.]+)"[^>]*>([^<]+)<', svg)
    ]:
        half = charts.text_width(text) / 2
        assert float(x) - half >= 0 and float(x) + half <= charts.WIDTH, (x, text)


# --- key figures beside the previous period ----------------------------------------------------------


def test_previous_period_and_quick_periods():
    assert tables.previous_period(date(2026, 11, 1), date(2026, 11, 30)) == (date(2026, 10, 1), date(2026, 10, 31))
    assert tables.previous_period(date(2026, 1, 1), date(2026, 3, 31)) == (date(2025, 10, 1), date(2025, 12, 31))
    assert tables.previous_period(date(2026, 3, 1), date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert tables.previous_period(date(2026, 3, 10), date(2026, 3, 19)) == (date(2026, 2, 28), date(2026, 3, 9))
    assert tables.previous_range(date(1900, 1, 1), date(2999, 12, 31)) == (date(800, 1, 1), date(1899, 12, 31))
    assert tables.previous_range(date(1, 1, 1), date(1, 1, 31)) is None  # before the calendar begins
    assert tables.previous_range(date(1, 1, 2), date(1, 1, 10)) is None
    assert tables.previous_range(date(2026, 3, 1), None) is None
    assert [(start, end) for _, start, end in tables.quick_periods(date(2026, 12, 6))] == [
        (date(2026, 11, 1), date(2026, 11, 30)),
        (date(2026, 9, 1), date(2026, 11, 30)),
        (date(2025, 12, 1), date(2026, 11, 30)),
    ]


def test_change_cells_follow_the_values_as_shown(seeded_app):
    with seeded_app.test_request_context(), force_locale("en"):
        assert tables.change_cell("count", 10.0, 5.0) == "+5"
        assert tables.change_cell("count", 5.0, 10.0) == "-5"
        assert tables.change_cell("rate", 50.0, 47.5) == "+2.5 pts"
        assert tables.change_cell("days", 3.0, 3.0) == "0"
        assert tables.change_cell("rate", None, 47.5) == "—"  # a hidden figure gives no change either
    with seeded_app.test_request_context(), force_locale("zh"):
        assert tables.change_cell("rate", 50.0, 47.5) == "+2.5个百分点"


def manager(client, username: str = "boss") -> None:
    """Log in, in English (the labels the tests read)."""
    with client.session_transaction() as session:
        session["lang"] = "en"
    login(client, username)


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _rows(page: str, table: str) -> list[list[str]]:
    body = re.search(rf'id="{table}".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_key_figures_beside_the_previous_period(history, seeded_app, seeded_client):
    seeded_app.config["REPORT_MIN_CLIENTS"] = 2  # the week before concerns two clients (P and Q)
    manager(seeded_client)
    # 9–16 March: R8, R9, R10, R11, R13, R14, R15, R16; the eight days before: R1–R7.
    page = _page(seeded_client, "/reports?start=2026-03-09&end=2026-03-16")
    rows = {row[0]: row[1:] for row in _rows(page, "overview")}
    assert rows["Referrals"] == ["10", "5", "+5"]  # 8 → 10, 7 → 5, as shown
    # Now 1 of 5 final referrals served (hidden: "—"), before 6 of 7 (5 of 5 as shown): no change shown.
    assert rows["Referral success rate"] == ["—", "100.0%", "—"]
    assert "Previous period: 2026-03-01 to 2026-03-08." in page
    csv = seeded_client.get("/reports/overview.csv?start=2026-03-09&end=2026-03-16").get_data(as_text=True)
    assert "Referrals,10,5,+5" in csv.replace("'+5", "+5")
    # Without a date range there is nothing to compare: the figure and its value, and the periods to pick.
    plain = _page(seeded_client, "/reports")
    assert [len(row) for row in _rows(plain, "overview")] == [2] * len(tables.KEY_FIGURES)
    assert "start=2026-" in plain or "start=20" in plain  # the quick periods


def test_a_figure_leads_to_its_breakdown_and_a_row_to_the_next_level(history, seeded_client):
    manager(seeded_client)
    page = _page(seeded_client, "/reports")
    assert re.search(r'<a class="drill" href="#success_category">[^<]*success rate', page, re.I)
    drug = db.session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.code == "drug-treatment")).name_en
    category = re.search(rf'<a class="drill" href="([^"]+)">{drug}</a>', page)
    assert category, "the category row leads on"
    url = category.group(1).replace("&amp;", "&")
    assert url.endswith("#success_resource") and "category=drug-treatment" in url
    drilled = _page(seeded_client, url)
    resources = [row[0] for row in _rows(drilled, "success_resource")]
    svc = history.svc
    english = {key: local_name(s.name, s.alternate_name, "en") for key, s in svc.items()}
    assert sorted(resources) == sorted([english["S1"], english["S2"]])  # not the kitchen job (employment)
    brain = re.escape(svc["S1"].organization.alternate_name)  # S1's organization, three clients
    organization = re.search(rf'<a class="drill" href="([^"]+)">{brain}</a>', page)
    orgs = _page(seeded_client, organization.group(1).replace("&amp;", "&"))
    assert [row[0] for row in _rows(orgs, "success_resource")] == [english["S1"]]
    for text in (page, drilled, orgs):  # never a client
        assert "案主" not in text and "私密" not in text


def test_breakdown_links_keep_the_small_cell_rule(history, seeded_client):
    manager(seeded_client)
    # Caseworker B has one client: following that row shows no figure at all.
    page = _page(seeded_client, f"/reports?caseworker={history.users.b.id}#success_resource")
    assert "no figures are shown" in page.lower() or "clients match this selection" in page


def test_listings_not_verified_lead_to_a_read_only_list(history, seeded_client, make_user):
    manager(seeded_client)
    page = _page(seeded_client, "/reports")
    assert 'id="stale-listings" href="/reports/stale-listings"' in page
    listed = _page(seeded_client, "/reports/stale-listings")
    total = db.session.scalar(select(func.count()).select_from(stale_services(local_today()).subquery()))
    assert total > 0 and re.search(rf"\b{total} services?\b", listed)
    assert "/manage/" not in listed.split("<main", 1)[-1]  # no editing link for a manager
    for user in (history.users.a, history.users.agency):
        post(seeded_client, "/logout")
        manager(seeded_client, user.username)
        assert seeded_client.get("/reports/stale-listings").status_code == 403


def test_reports_in_english_show_english_names(history, seeded_client):
    manager(seeded_client)
    page = _page(seeded_client, "/reports")
    resources = _rows(page, "success_resource")
    skin = next(row for row in resources if row[0] == SKIN_EN)
    assert skin[1] == SKIN_ORG_EN
    assert [row[0] for row in _rows(page, "success_district")].count("Yuexiu District") == 1
    assert SKIN_ORG_EN in [row[0] for row in _rows(page, "success_organization")]
