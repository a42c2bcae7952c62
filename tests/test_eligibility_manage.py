"""The rule editor for agency staff: permissions, saving with history, validation, preview, conflicts."""

import json
import re

import pytest
from sqlalchemy import select

from directory.catalog.models import ChangeRecord, Organization, Service
from directory.extensions import db
from tests.conftest import login, post

RULE_ROWS = {
    "rules-0-criterion": "age",
    "rules-0-exclude": "0",
    "rules-0-age_min": "18",
    "rules-0-age_max": "60",
    "rules-1-criterion": "substance",
    "rules-1-exclude": "1",
    "rules-1-substances": ["opioids", "stimulants"],
    "rules-2-criterion": "residence_district",
    "rules-2-exclude": "0",
    "rules-2-districts": ["越秀区", "天河区"],
    "rules-2-note": "户籍不限",
    "rules-3-criterion": "documents",
    "rules-3-exclude": "0",
    "rules-3-documents": "居民身份证\n低保证明\n",
}
SAVED_RULES = [
    {"criterion": "age", "min": 18, "max": 60},
    {"criterion": "substance", "any_of": ["opioids", "stimulants"], "exclude": True},
    {"criterion": "residence_district", "any_of": ["越秀区", "天河区"], "note": "户籍不限"},
    {"criterion": "documents", "all_of": ["居民身份证", "低保证明"]},
]


@pytest.fixture
def service(seeded_app):
    return db.session.scalars(select(Service).where(Service.name == "保安员招聘")).one()


def _form(service, **extra):
    return {
        "version": str(service.version),
        "eligibility_description": "18至55周岁。",
        **RULE_ROWS,
        "action": "save",
        **extra,
    }


def _as(client, make_user, role, service):
    if role == "anonymous":
        return
    if role in ("agency_own", "agency_foreign"):
        other = db.session.scalars(select(Organization).where(Organization.id != service.organization_id)).first()
        org = service.organization_id if role == "agency_own" else other.id
        user = make_user("agency_staff", organization_id=org)
    else:
        user = make_user(role)
    login(client, user.username)


def _state(service_id):
    db.session.expire_all()
    service = db.session.get(Service, service_id)
    changes = db.session.scalars(select(ChangeRecord).where(ChangeRecord.entity_id == service_id)).all()
    return service.eligibility_rules, service.eligibility_description, service.version, len(changes)


@pytest.mark.parametrize("role", ["anonymous", "caseworker", "manager", "agency_foreign", "agency_own", "admin"])
def test_who_may_edit_rules(seeded_client, make_user, service, role):
    _as(seeded_client, make_user, role, service)
    before = _state(service.id)
    page = seeded_client.get(f"/manage/services/{service.id}/eligibility")
    saved = post(seeded_client, f"/manage/services/{service.id}/eligibility", _form(service))
    preview = post(seeded_client, f"/manage/services/{service.id}/eligibility/preview", RULE_ROWS)
    if role == "anonymous":
        for response in (page, saved, preview):
            assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert _state(service.id) == before
    elif role in ("caseworker", "manager", "agency_foreign"):
        assert page.status_code == saved.status_code == preview.status_code == 403
        assert _state(service.id) == before
    else:
        assert page.status_code == 200 and preview.status_code == 200
        assert saved.status_code == 302
        assert _state(service.id)[0] == SAVED_RULES


def test_the_form_shows_the_saved_rules_as_rows(seeded_client, make_user, service):
    _as(seeded_client, make_user, "agency_own", service)
    page = seeded_client.get(f"/manage/services/{service.id}/eligibility").get_data(as_text=True)
    assert re.search(r'<option value="age" selected>', page)
    assert 'name="rules-0-age_min" value="18"' in page and 'name="rules-0-age_max" value="55"' in page
    assert re.search(r'name="rules-1-substances" value="stimulants" checked', page)
    assert re.search(r'<option value="1" selected>', page)  # an exclusion
    assert 'id="rule-row-template"' in page and 'name="rules-__index__-criterion"' in page
    assert 'src="/static/js/eligibility-editor.js"' in page and "<script>" not in page and "style=" not in page
    dashboard = seeded_client.get("/manage/").get_data(as_text=True)
    assert f"/manage/services/{service.id}/eligibility" in dashboard
    edit = seeded_client.get(f"/manage/services/{service.id}/edit").get_data(as_text=True)
    assert f"/manage/services/{service.id}/eligibility" in edit


def test_saving_records_the_change_and_the_page_reads_it_in_plain_words(seeded_client, make_user, service):
    _as(seeded_client, make_user, "agency_own", service)
    old_rules, old_version = list(service.eligibility_rules), service.version
    response = post(seeded_client, f"/manage/services/{service.id}/eligibility", _form(service))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/services/{service.id}#eligibility")
    rules, description, version, _ = _state(service.id)
    assert rules == SAVED_RULES and description == "18至55周岁。" and version == old_version + 1
    changes = {c.field: c for c in db.session.scalars(select(ChangeRecord).where(ChangeRecord.entity_id == service.id))}
    assert json.loads(changes["eligibility_rules"].old_value) == old_rules
    assert json.loads(changes["eligibility_rules"].new_value) == SAVED_RULES
    assert changes["eligibility_description"].new_value == "18至55周岁。"
    page = seeded_client.get(f"/services/{service.id}").get_data(as_text=True)
    assert "须携带：居民身份证、低保证明" in page
    assert "须居住在越秀区或天河区（户籍不限）" in page
    history = page[page.index('class="history"') :]
    assert "不接受使用阿片类物质或兴奋剂类物质者" in history  # the history reads as words, not JSON
    again = post(
        seeded_client, f"/manage/services/{service.id}/eligibility", _form(db.session.get(Service, service.id))
    )
    assert again.status_code == 302 and _state(service.id)[3] == len(changes)  # unchanged: nothing recorded


def test_invalid_rows_keep_what_was_typed_and_save_nothing(seeded_client, make_user, service):
    _as(seeded_client, make_user, "agency_own", service)
    before = _state(service.id)
    bad = {
        **RULE_ROWS,
        "rules-0-age_min": "60",
        "rules-0-age_max": "18",
        "rules-4-criterion": "income",
        "rules-4-income": "两千",
        "rules-5-criterion": "hiv",
        "rules-6-criterion": "",
        "rules-6-note": "只写了备注",
        "rules-7-criterion": "",  # a row added but left blank is left out, not refused
    }
    response = post(seeded_client, f"/manage/services/{service.id}/eligibility", _form(service, **bad))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert _state(service.id) == before
    assert 'value="两千"' in page and "户籍不限" in page and "居民身份证\n低保证明" in page  # kept
    assert "最小年龄大于最大年龄。" in page
    assert "请以数字填写金额（元），0 或以上。" in page
    assert "请选择或填写一个值。" in page and page.count("请选择条件。") == 2  # beside the row and in the preview
    assert "请更正下面标出的规则。未保存任何内容。" in page


def test_preview_endpoint_gives_plain_words_and_a_verdict(seeded_client, make_user, service):
    _as(seeded_client, make_user, "agency_own", service)
    response = post(
        seeded_client,
        f"/manage/services/{service.id}/eligibility/preview",
        {**RULE_ROWS, "f_age": "27", "f_substances": "opioids"},
        headers={"Accept": "application/json"},
    )
    data = response.get_json()
    assert data["ok"] and data["rules"] == SAVED_RULES
    assert data["requirements"] == [
        "年龄 18–60 岁",
        "须居住在越秀区或天河区（户籍不限）",
        "须携带：居民身份证、低保证明",
    ]
    assert data["exclusions"] == ["不接受使用阿片类物质或兴奋剂类物质者"]
    assert data["verdict"]["status"] == "ineligible"
    assert "不符合：不接受使用阿片类物质或兴奋剂类物质者" in data["verdict"]["lines"]
    broken = post(
        seeded_client,
        f"/manage/services/{service.id}/eligibility/preview",
        {"rules-0-criterion": "age", "rules-0-age_min": "abc", "rules-1-criterion": "pregnant", "f_age": "abc"},
    ).get_json()
    assert not broken["ok"] and broken["verdict"] is None
    assert broken["problems"] == [{"row": 1, "messages": ["请以整数填写年龄（岁）。"]}]
    assert broken["requirements"] == ["须为孕妇"]  # the valid rows still read as words
    assert broken["facts_problems"]
    assert _state(service.id)[0] == service.eligibility_rules  # a preview saves nothing


def test_without_javascript_preview_add_and_remove_rerender_and_save_nothing(seeded_client, make_user, service):
    _as(seeded_client, make_user, "agency_own", service)
    before = _state(service.id)
    url = f"/manage/services/{service.id}/eligibility"
    preview = post(seeded_client, url, _form(service, action="preview", f_age="16"))
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    box = page[page.index('id="rule-preview-body"') :]
    assert "须携带：居民身份证、低保证明" in box and "不符合：年龄 18–60 岁" in box
    assert 'name="f_age" type="text" value="16"' in page  # the sample client is kept too
    added = post(seeded_client, url, _form(service, action="add")).get_data(as_text=True)
    assert 'name="rules-4-criterion"' in added and 'name="rules-5-criterion"' not in added
    removed = post(seeded_client, url, _form(service, remove="1")).get_data(as_text=True)
    assert not re.search(r'value="stimulants" checked', removed)  # the substance row is gone
    assert 'name="rules-3-criterion"' not in removed
    assert re.search(r'name="rules-2-documents" rows="3">居民身份证\n低保证明</textarea>', removed)  # moved up
    assert _state(service.id) == before


def test_a_stale_version_gets_a_conflict_not_an_overwrite(seeded_client, make_user, service):
    _as(seeded_client, make_user, "agency_own", service)
    loaded = str(service.version)
    first = _form(service)
    assert post(seeded_client, f"/manage/services/{service.id}/eligibility", first).status_code == 302
    saved = _state(service.id)
    second = _form(service, version=loaded, **{"rules-0-age_min": "21"})  # loaded before the first save
    response = post(seeded_client, f"/manage/services/{service.id}/eligibility", second)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "其他人修改了此服务信息" in page
    assert 'name="rules-0-age_min" value="21"' in page  # their input is kept to compare
    assert _state(service.id) == saved
