"""Each role's start page after login: the caseworker's day, the agency's waiting work, the manager's key
figures (aggregates only), the admin's stale listings and idle accounts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from directory.accounts.audit import AuditEvent
from directory.catalog.models import Service
from directory.catalog.services import local_today
from directory.extensions import db
from directory.models_base import utcnow
from directory.referrals import services
from tests.conftest import PASSWORD, csrf_token, login, post
from tests.test_referrals import service, world  # noqa: F401 (a fixture)


def test_login_lands_on_the_start_page_unless_a_safe_next_says_otherwise(seeded_app, world):  # noqa: F811
    browser = seeded_app.test_client()
    assert login(browser, "owner").headers["Location"] == "/start"
    assert browser.get("/login").headers["Location"] == "/start"  # already logged in
    home = browser.get("/").get_data(as_text=True)
    assert 'href="/start"' in home
    other = seeded_app.test_client()
    token = csrf_token(other, "/login")
    response = other.post(
        "/login?next=/search?q=x", data={"username": "boss", "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/search?q=x"
    assert 'href="/start"' not in seeded_app.test_client().get("/").get_data(as_text=True)  # not logged in


def test_the_caseworkers_day_follow_ups_new_answers_and_idle_needs(seeded_app, world):  # noqa: F811
    today = local_today()
    world.referral.next_follow_up = today - timedelta(days=2)
    services.add_need(world.client, "employment", "找一份厨房工作", world.users.owner)
    db.session.commit()

    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    page = caseworker.get("/start")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    overdue = body[body.index("逾期") : body.index("今天到期")]
    assert "阿芳" in overdue and world.mmt.name in overdue
    idle = body[body.index("没有进行中转介的需求") :]
    assert "阿芳" in idle
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view")).all()[-1].detail == {
        "list": "start"
    }

    agency = seeded_app.test_client()
    login(agency, "mmt-staff")
    assert post(agency, f"/referrals/{world.referral.id}/answer", {"answer": "accept"}).status_code == 302

    body = caseworker.get("/start").get_data(as_text=True)
    answers = body[body.index("上次查看后收到的答复") : body.index("没有进行中转介的需求")]
    assert "阿芳" in answers and world.mmt.name in answers and "已接受" in answers
    again = caseworker.get("/start").get_data(as_text=True)  # seen: no longer new
    answers = again[again.index("上次查看后收到的答复") : again.index("没有进行中转介的需求")]
    assert "阿芳" not in answers and "没有新的机构答复" in answers

    other = seeded_app.test_client()
    login(other, "other-cw")
    assert "阿芳" not in other.get("/start").get_data(as_text=True)


def test_the_agencys_waiting_referrals_show_only_consented_fields_and_its_listings_due(seeded_app, world):  # noqa: F811
    owner = world.users.owner
    today = local_today()
    hidden = services.create_client(owner, {"display_name": "不愿具名者"}, {})
    need = services.add_need(hidden, "methadone-clinic", "美沙酮", owner)
    services.record_consent(
        hidden,
        {
            "organization_id": world.mmt.organization_id,
            "fields": ["need"],
            "purpose": "referral",
            "valid_from": today - timedelta(days=1),
        },
        owner,
        today,
    )
    services.create_referral(hidden, need, world.mmt, None, owner, today)
    world.mmt.assured_date = today - timedelta(days=400)
    other_org_service = service("s-andun-security-guard")
    other_org_service.assured_date = None
    db.session.commit()

    agency = seeded_app.test_client()
    login(agency, "mmt-staff")
    body = agency.get("/start").get_data(as_text=True)
    waiting = body[body.index("等待你们答复的转介") : body.index("需要核实的服务信息")]
    assert "阿芳" in waiting and "不愿具名者" not in waiting and "未提供" in waiting
    assert "020-0000-9001" not in body  # the start page shows no phone, consented or not
    due = body[body.index("需要核实的服务信息") :]
    assert world.mmt.name in due and other_org_service.name not in due
    others = [
        s
        for s in world.mmt.organization.services
        if s.status == "active" and s.assured_date and s.assured_date > today - timedelta(days=300)
    ]
    assert all(s.name not in due for s in others if s.name != world.mmt.name)


def test_the_managers_key_figures_are_aggregates_and_withheld_for_few_clients(seeded_app, world):  # noqa: F811
    manager = seeded_app.test_client()
    login(manager, "boss")
    seeded_app.config["REPORT_MIN_CLIENTS"] = 1
    body = manager.get("/start").get_data(as_text=True)
    assert "关键数据" in body and "转介" in body and "中位" in body
    names = [c.display_name for c in db.session.scalars(select(services.Client))]
    assert names and not any(name in body for name in names)
    seeded_app.config["REPORT_MIN_CLIENTS"] = 100000
    body = manager.get("/start").get_data(as_text=True)
    assert "服务对象太少" in body


def test_the_admin_sees_stale_listings_and_idle_accounts(seeded_app, world, make_user):  # noqa: F811
    idle = make_user("caseworker", username="long-gone")
    idle.created_at = utcnow() - timedelta(days=200)
    stale = db.session.scalar(select(Service).where(Service.status == "active").order_by(Service.name))
    stale.assured_date = None
    db.session.commit()
    admin = seeded_app.test_client()
    login(admin, "root")
    body = admin.get("/start").get_data(as_text=True)
    assert "超过12个月未核实" in body and stale.name in body
    assert "long-gone" in body and "从未登录" in body
    assert "阿芳" not in body
