"""The list a client keeps: QR code and short link to a public, read-only, expiring page of services only."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from directory.accounts.audit import AuditEvent
from directory.catalog.models import Service
from directory.extensions import db
from directory.models_base import id_from_key, utcnow
from directory.referrals import services
from directory.referrals.shared_lists import SharedList
from tests.conftest import login, post

MMT = "m-brain-hospital-mmt"
LINK = re.compile(r'class="share-link"><a href="(http://localhost/l/[A-Za-z0-9_-]+)"')


def service(key: str) -> Service:
    return db.session.get(Service, id_from_key("service", key))


@pytest.fixture
def world(seeded_app, make_user):
    mmt = service(MMT)
    owner = make_user("caseworker", username="owner")
    owner.work_phone = "138 0013 8000"
    other = make_user("caseworker", username="other-cw")
    with seeded_app.test_request_context():  # an address the gazetteer does not know is said in words
        client = services.create_client(
            owner,
            {
                "display_name": "阿芳测试",
                "birth_year": 1999,
                "sex": "female",
                "phone": "020-0000-9001",
                "district": "越秀区",
                "address": "北京路秘密巷7号",
            },
            {"substances": ["opioids"], "hiv_status": "negative", "has_children": True, "youngest_child_age": 2},
        )
    need = services.add_need(client, "methadone-clinic", "想减少用药的私密目标", owner)
    db.session.commit()
    return SimpleNamespace(
        owner=owner, other=other, client=client, need=need, mmt=mmt, extra=service("m-skin-institute-mmt")
    )


def make_list(browser, world) -> tuple[str, SharedList]:
    response = post(browser, f"/clients/{world.client.id}/lists", {"service": [world.mmt.id, world.extra.id]})
    assert response.status_code == 302
    page = browser.get(response.headers["Location"])
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    link = LINK.search(body)[1]
    shared = db.session.scalars(select(SharedList)).one()
    return link, shared


def test_the_printed_list_gets_a_qr_code_and_a_short_link_to_a_page_without_client_data(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    printed = caseworker.get(f"/clients/{world.client.id}/print?service={world.mmt.id}").get_data(as_text=True)
    assert "生成二维码和链接" in printed and "打印" in printed and "返回 阿芳测试" in printed

    link, shared = make_list(caseworker, world)
    body = caseworker.get(f"/clients/{world.client.id}/lists/{shared.id}").get_data(as_text=True)
    assert "<svg" in body and 'class="segno"' in body  # the QR code, inline: no image from elsewhere
    assert "你的社工：" in body and "138 0013 8000" in body
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 22 and shared.token == token  # ≥ 128 bits from secrets.token_urlsafe
    assert shared.service_ids == [world.mmt.id, world.extra.id]
    assert (shared.expires_at - shared.created_at) == timedelta(days=30)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "share_list")) == 1

    stranger = seeded_app.test_client()  # no login: the client's phone, or whoever they forwarded it to
    page = stranger.get(link.removeprefix("http://localhost"))
    public = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    for svc in (world.mmt, world.extra):
        assert svc.name in public and svc.organization.name in public
    assert "每天 07:00–11:30" in public or "周一至周五" in public  # condensed hours
    assert (
        "导航" in public and "uri.amap.com" in public and "api.map.baidu.com" in public and "apis.map.qq.com" in public
    )
    assert 'href="tel:13800138000"' in public  # the caseworker's work phone
    for secret in (
        "阿芳测试",
        "北京路秘密巷7号",
        "想减少用药的私密目标",
        "020-0000-9001",
        "1999",
        "opioids",
        "阿片",
        "HIV",
        world.client.id,
        world.need.id,
    ):
        assert secret not in public
    assert 'name="viewport"' in public and "client-list.css" in public


def test_withdrawn_and_expired_links_say_so_with_410_and_unknown_ones_404(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    link, shared = make_list(caseworker, world)
    path = link.removeprefix("http://localhost")
    stranger = seeded_app.test_client()

    shared.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    gone = stranger.get(path)
    assert gone.status_code == 410 and "链接已过期" in gone.get_data(as_text=True)

    shared.expires_at = utcnow() + timedelta(days=1)
    db.session.commit()
    assert stranger.get(path).status_code == 200
    assert post(caseworker, f"/lists/{shared.id}/revoke").status_code == 302
    gone = stranger.get(path)
    assert gone.status_code == 410 and "你的社工已撤销这个链接" in gone.get_data(as_text=True)
    assert "已撤销" in caseworker.get("/lists").get_data(as_text=True)

    assert stranger.get("/l/" + "A" * 24).status_code == 404
    assert stranger.get(path[:-1]).status_code == 404


def test_the_expiry_is_configurable(seeded_app, world):
    seeded_app.config["SHARED_LIST_DAYS"] = 7
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    _link, shared = make_list(caseworker, world)
    assert shared.expires_at - shared.created_at == timedelta(days=7)


def test_only_the_caseworker_who_made_a_list_sees_or_withdraws_it(seeded_app, world, make_user):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    _link, shared = make_list(caseworker, world)
    other = seeded_app.test_client()
    login(other, "other-cw")
    assert other.get(f"/clients/{world.client.id}/lists/{shared.id}").status_code == 403
    assert post(other, f"/lists/{shared.id}/revoke").status_code == 403
    assert post(other, f"/clients/{world.client.id}/lists", {"service": [world.mmt.id]}).status_code == 403
    make_user("agency_staff", organization_id=world.mmt.organization_id, username="agency")
    agency = seeded_app.test_client()
    login(agency, "agency")
    assert agency.get("/lists").status_code == 403
    db.session.refresh(shared)
    assert shared.revoked_at is None
    assert db.session.scalar(select(func.count()).select_from(SharedList)) == 1


def test_a_list_of_no_known_service_is_refused_and_nothing_is_written(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    response = post(caseworker, f"/clients/{world.client.id}/lists", {"service": ["no-such-service"]})
    assert response.status_code == 302
    assert "请至少选择一项服务" in caseworker.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SharedList)) == 0


def test_the_work_phone_is_kept_on_the_account_page_and_checked(seeded_app, world):
    caseworker = seeded_app.test_client()
    login(caseworker, "owner")
    page = caseworker.get("/account")
    assert page.status_code == 200 and "工作电话" in page.get_data(as_text=True)
    bad = post(caseworker, "/account", {"work_phone": "8888"})
    assert bad.status_code == 400 and "请填写手机号" in bad.get_data(as_text=True)
    assert post(caseworker, "/account", {"work_phone": "(020) 8345 6789 转 12"}).status_code == 302
    db.session.refresh(world.owner)
    assert world.owner.work_phone == "020-83456789 转 12"
