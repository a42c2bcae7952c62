"""One vocabulary: the same code is shown in the same words on every page that shows it."""

from __future__ import annotations

import re

from flask import render_template_string
from sqlalchemy import select

from directory.catalog.models import Organization, Service, TaxonomyTerm
from directory.extensions import db
from directory.referrals import services as referrals
from tests.conftest import login

OPTION = re.compile(r'<option value="([^"]*)"[^>]*>([^<]*)</option>')
CHECKBOX = re.compile(r'<input id="[^"]*" name="([^"]+)"[^>]* type="checkbox" value="([^"]*)">([^<]*)</label>')


def _options(page: str, select_name: str) -> list[tuple[str, str]]:
    """The (value, text) options of the first <select> named ``select_name``, without the blank one."""
    start = page.index(f'name="{select_name}"')
    return [(v, t.strip()) for v, t in OPTION.findall(page[start : page.index("</select>", start)]) if v]


def test_sex_is_worded_alike_in_the_rule_editor_the_facts_form_and_the_agency_view(seeded_app, make_user):
    service = db.session.scalar(select(Service).where(Service.eligibility_rules.is_not(None)).limit(1))
    admin = seeded_app.test_client()
    login(admin, make_user("admin").username)
    editor = admin.get(f"/manage/services/{service.id}/eligibility").get_data(as_text=True)
    facts_form = admin.get("/search?facts=1").get_data(as_text=True)
    words = [("female", "女"), ("male", "男")]
    assert _options(editor, "rules-__index__-sex") == words  # was 女性 / 男性 in the editor alone
    assert _options(facts_form, "f_sex") == words
    with seeded_app.test_request_context("/inbox"):  # the agency's view of a shared client (_shared_client.html)
        sex_label = render_template_string("{{ sex_label('female') }}/{{ sex_label('male') }}")
    assert sex_label == "女/男"


def test_every_category_choice_list_is_the_taxonomy_in_order_with_one_dash_per_level(seeded_app, make_user):
    admin, manager, caseworker = (seeded_app.test_client() for _ in range(3))
    login(admin, make_user("admin").username)
    login(manager, make_user("manager").username)
    owner = make_user("caseworker")
    login(caseworker, owner.username)
    client = referrals.create_client(owner, {"display_name": "阿梅"}, {})
    db.session.commit()
    org = db.session.scalar(select(Organization).limit(1))
    service_form = admin.get(f"/manage/organizations/{org.id}/services/new").get_data(as_text=True)
    need_form = caseworker.get(f"/clients/{client.id}").get_data(as_text=True)
    report_filter = manager.get("/reports").get_data(as_text=True)
    in_service_form = [(v, t.strip()) for name, v, t in CHECKBOX.findall(service_form) if name == "taxonomy_codes"]
    assert in_service_form == _options(need_form, "category") == _options(report_filter, "category")
    assert len(in_service_form) == db.session.scalar(select(db.func.count()).select_from(TaxonomyTerm))
    codes = [code for code, _text in in_service_form]
    # A sub-sub-category follows its parent, two levels in; a top-level term has no dash.
    assert codes.index("hospital-general") == codes.index("hospital") + 1
    assert dict(in_service_form)["hospital-general"] == "— — 综合医院"
    assert dict(in_service_form)["medical"] == "医疗服务"
