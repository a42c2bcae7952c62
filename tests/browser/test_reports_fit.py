"""The reports in a real browser, on a demo site with a history of referrals: nothing visible is clipped,
the persistence chart has a point for every attempt number, and a figure leads to its breakdown.

- the manager, at desktop size (1366 px), in English: /reports;
- agency staff (the brain hospital's methadone clinic), at phone size (390 px), in Chinese: /reports/agency.

The history is this module's own (``add_history``), added to a copy of the demo site (whatever history
the demo has): 52 referrals of eight clients over six months, delivered at their 1st, 3rd, 4th and 5th
attempt (none at the 2nd), refused, or still open, two thirds of them to the brain hospital.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.browser.conftest import DemoSite, start_server
from tests.browser.test_journeys import expect, log_in
from tests.browser.ui import PHONE, Journey
from tests.conftest import make_config

WIDE_DESKTOP = {"width": 1366, "height": 900}
# delivered at that attempt, "refused" at the 2nd, None: one call, still open
PLAN = [1] * 12 + [3] * 8 + [4] * 6 + [5] * 6 + ["refused"] * 14 + [None] * 6
REASONS = ("no_capacity", "not_eligible", "stigma_drug")

# Every visible header, first cell (the figure or row label), link of the filters' line and chart text:
# a box that needs more room than it has, or a chart text outside its drawing (or cut with "…").
CLIPPED_JS = """
() => {
  const shown = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const name = (el) => el.tagName.toLowerCase() + ' "' + el.textContent.trim().slice(0, 50) + '"';
  const found = [];
  const boxes = '.report-table th, .report-table td:first-child, .report-table td:first-child a, '
    + '.report-compare a, .report h3, label';
  for (const el of document.querySelectorAll(boxes)) {
    if (shown(el) && el.scrollWidth > el.clientWidth + 1) {
      found.push(name(el) + ` needs ${el.scrollWidth} px, has ${el.clientWidth}`);
    }
  }
  for (const wrap of document.querySelectorAll('.table-wrap')) {
    if (shown(wrap) && wrap.scrollWidth > wrap.clientWidth + 1) {
      const table = wrap.getAttribute('aria-labelledby') || '';
      found.push(`table ${table} scrolls: ${wrap.scrollWidth} > ${wrap.clientWidth}`);
    }
  }
  for (const svg of document.querySelectorAll('svg.chart')) {
    if (!shown(svg)) continue;
    const view = svg.viewBox.baseVal;
    for (const text of svg.querySelectorAll('text')) {
      const b = text.getBBox();
      if (b.x < view.x - 0.5 || b.x + b.width > view.x + view.width + 0.5 || b.y < view.y - 0.5
          || b.y + b.height > view.y + view.height + 0.5) {
        found.push('chart ' + svg.id + ' ' + name(text) + ` at ${b.x.toFixed(1)}+${b.width.toFixed(1)}`);
      }
      if (text.textContent.includes('…')) found.push('chart ' + name(text) + ' is cut');
    }
  }
  return found;
}
"""


def add_history(app) -> None:
    """PLAN's referrals, for eight new clients of the demo caseworker, through the referral services."""
    from directory.accounts.models import User
    from directory.catalog.models import DISTRICTS, Service
    from directory.catalog.services import local_today
    from directory.extensions import db
    from directory.models_base import id_from_key, utcnow
    from directory.referrals import services

    with app.app_context():
        caseworker = db.session.scalar(select(User).where(User.username == "demo-caseworker"))
        keys = ("m-brain-hospital-mmt", "m-brain-hospital-mmt", "s-yuewei-kitchen-helper")
        targets = [db.session.get(Service, id_from_key("service", key)) for key in keys]
        categories = {"m-brain-hospital-mmt": "methadone-clinic", "s-yuewei-kitchen-helper": "recovery-employer"}
        today, now = local_today(), utcnow()
        clients = []
        for i in range(8):
            values = {"display_name": f"历史案主{i}", "birth_year": 1980 + i, "district": DISTRICTS[i % 4]}
            client = services.create_client(caseworker, values, {"substances": ["opioids"]})
            for category in ("drug-treatment", "employment"):
                consent = {"category": category, "fields": ["name"], "purpose": "referral"}
                services.record_consent(
                    client, consent | {"valid_from": today - timedelta(days=400)}, caseworker, today
                )
            clients.append(client)
        for n, plan in enumerate(PLAN):
            client, key = clients[n % 8], keys[n % 3]
            need = services.add_need(client, categories[key], f"目标 {n}", caseworker)
            referral = services.create_referral(client, need, targets[n % 3], None, caseworker, today)
            made = now - timedelta(days=12 + (n * 23) % 170)
            referral.created_at = made
            if plan is None:
                outcomes = [("left_message", None)]
            elif plan == "refused":
                outcomes = [("no_answer", None), ("refused", REASONS[n % 3])]
            else:
                outcomes = [("no_answer" if i % 2 else "call_back_later", None) for i in range(1, plan)]
                outcomes.append(("service_delivered", None))
            for day, (outcome, reason) in enumerate(outcomes, start=1):
                moment = made + timedelta(days=day)
                attempt = {"occurred_at": moment, "channel": "phone", "party": "provider", "outcome": outcome}
                attempt |= {"refused_by": "provider" if reason else None, "refusal_reason": reason}
                services.record_attempt(referral, attempt, caseworker, now=moment)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def report_site(demo_site, tmp_path_factory) -> DemoSite:
    """The demo site with the history added (a copy: the other browser tests keep theirs)."""
    from directory import create_app

    folder = tmp_path_factory.mktemp("report-site")
    database, index = folder / "lianjie.sqlite3", folder / "index"
    shutil.copy(demo_site.database, database)
    shutil.copytree(demo_site.index, index)
    config = make_config(folder, database, BABEL_TRANSLATION_DIRECTORIES=str(demo_site.translations))
    add_history(create_app({**config, "SEARCH_INDEX_DIR": str(index)}))
    return DemoSite(database, index, demo_site.translations)


@pytest.fixture
def report_server(report_site, tmp_path) -> str:
    server = start_server(report_site, Path(tmp_path) / "server")
    yield server.url
    server.stop()
    server.wait()


def no_clipping(page, where: str) -> None:
    clipped = page.evaluate(CLIPPED_JS)
    assert not clipped, f"{where}: {len(clipped)} clipped:\n" + "\n".join(clipped)


def test_the_manager_reads_reports_that_fit_at_1366px(browser, report_server, catalogue):
    journey = Journey("reports-fit-manager", "en", catalogue, WIDE_DESKTOP)
    page = journey.open(browser, report_server)
    log_in(journey, page, "demo-manager")
    see = expect()
    page.goto("/reports")
    see(page.locator("#section-persistence svg.chart")).to_be_visible()
    no_clipping(page, "/reports at 1366 px (English)")
    page.set_viewport_size(PHONE)  # and on a phone
    no_clipping(page, "/reports at 390 px (English)")
    page.set_viewport_size(WIDE_DESKTOP)
    journey.look(page, "reports")

    # The persistence chart: a point, a data label and an x label for every attempt number from 1 on (the
    # history's 2nd attempt has no success of its own; the demo's own referrals may add some).
    curve = page.locator("#curve")
    attempts = curve.locator("tbody tr td:first-child").all_inner_texts()
    assert len(attempts) >= 5 and attempts == [*map(str, range(1, len(attempts))), attempts[-1]], attempts
    assert attempts[-1] in (str(len(attempts)), "10+"), attempts
    points = curve.locator("svg circle.chart-point")
    assert [points.nth(i).get_attribute("data-label") for i in range(points.count())] == attempts
    assert curve.locator("svg text.chart-data").count() == len(attempts)  # a data label each
    assert [t.split("\n")[0] for t in curve.locator("svg text.chart-label").all_text_contents()] == attempts
    # The month chart labels its months.
    months = page.locator("#success_month tbody tr").count()
    assert months >= 5 and page.locator("#success_month svg text.chart-label").count() == months

    # The key figures beside the previous period (last 12 months), then a figure leads to its breakdown.
    page.get_by_role("link", name=journey.tr("Last 12 months")).click()
    overview = page.locator("#overview")
    see(overview.locator("thead")).to_contain_text(journey.tr("Previous period"))
    no_clipping(page, "/reports, last 12 months, at 1366 px")
    overview.get_by_role("link", name=journey.tr("Referral success rate")).click()
    see(page).to_have_url(re.compile(r"#success_category$"))
    row = page.locator("#success_category tbody tr").first
    category = row.locator("td").first.inner_text()
    row.get_by_role("link").click()
    see(page).to_have_url(re.compile(r"category=.*#success_resource$"))
    see(page.locator("#success_category tbody tr").first.locator("td").first).to_have_text(category)
    see(page.locator("#success_resource tbody tr").first).to_be_visible()
    assert "历史案主" not in page.content()  # never a client
    no_clipping(page, f"/reports for {category} at 1366 px")

    # "Listings not verified" leads to the list.
    page.locator("#stale-listings").click()
    see(page.get_by_role("heading", level=1)).to_have_text(journey.tr("Listings not verified for 12 months"))
    see(page.locator("tbody tr").first).to_be_visible()
    journey.look(page, "stale-listings")
    journey.finish()


def test_agency_staff_read_their_figures_at_390px_in_chinese(browser, report_server, catalogue):
    journey = Journey("reports-fit-agency", "zh", catalogue, PHONE)
    page = journey.open(browser, report_server)
    log_in(journey, page, "demo-agency")
    tr, see = journey.tr, expect()
    page.get_by_role("navigation", name=tr("Main")).get_by_role("link", name=tr("Our figures")).click()
    see(page.locator("#agency_key tbody tr").first).to_be_visible()
    no_clipping(page, "/reports/agency at 390 px (Chinese)")
    journey.look(page, "agency-figures")
    key = {
        row.locator("td").first.inner_text(): row.locator("td").nth(1).inner_text()
        for row in page.locator("#agency_key tbody tr").all()
    }
    # 35 of the history's 52 referrals (and the demo's own) went to the brain hospital
    assert int(key[tr("Referrals received")]) >= 35 and key[tr("Acceptance rate")].endswith("%"), key

    # A figure leads to its breakdown, a service row to that service's months.
    page.locator("#agency_key").get_by_role("link", name=tr("Referrals received")).click()
    see(page).to_have_url(re.compile(r"#agency_month$"))
    page.locator("#agency_service tbody tr").first.get_by_role("link").click()
    see(page).to_have_url(re.compile(r"service=.*#agency_month$"))
    see(page.locator("#agency_month tbody tr").first).to_be_visible()
    assert "历史案主" not in page.content()
    no_clipping(page, "/reports/agency for one service at 390 px")

    # The monthly summary prints: a page of its own.
    page.goto("/reports/agency/monthly")
    see(page.get_by_role("heading", level=1)).to_contain_text(tr("Monthly summary: %(organization)s", organization=""))
    journey.finish()
