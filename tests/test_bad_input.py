"""Odd input from anyone gets a clear 400 or a normal page, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory.catalog.models import Service
from directory.eligibility.forms import NUMBER_FACTS
from directory.extensions import db
from tests.conftest import login, post

HUGE = "9" * 400


@pytest.mark.parametrize("path", ["/categories/legal-aid", "/districts/天河区"])
@pytest.mark.parametrize(
    "page", [HUGE, "99999999999999999999", "1" * 5000, "²", "-5", "1e9", "\u0663"], ids=lambda v: repr(v[:12])
)
def test_any_page_number_on_browse_pages(seeded_client, path, page):
    response = seeded_client.get(path, query_string={"page": page})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="cards"' in html  # a page of services (the last one for a page past the end)


@pytest.mark.parametrize("name", NUMBER_FACTS)
@pytest.mark.parametrize("value", [HUGE, "-" + HUGE, "1" * 5000], ids=["400-digits", "minus-400-digits", "5000-digits"])
def test_a_400_digit_client_fact_is_a_clear_400(seeded_client, name, value):
    page = seeded_client.get("/search", query_string={"q": "法律", f"f_{name}": value})
    assert page.status_code == 400
    assert 'role="alert"' in page.get_data(as_text=True) or "aria-invalid" in page.get_data(as_text=True)
    api = seeded_client.get("/api/v1/search", query_string={"search": "法律", f"f_{name}": value})
    assert api.status_code == 400
    assert api.get_json()["error"]["parameter"] == f"f_{name}"


def test_a_remove_that_is_not_a_row_number_in_the_rule_editor(seeded_client, make_user, seeded_app):
    service = db.session.scalars(select(Service).where(Service.name == "保安员招聘")).one()
    user = make_user("agency_staff", organization_id=service.organization_id)
    login(seeded_client, user.username)
    url = f"/manage/services/{service.id}/eligibility"
    form = {"version": str(service.version), "rules-0-criterion": "age", "rules-0-age_min": "18"}
    before = (service.version, service.eligibility_rules)
    for remove in ("²", "1" * 5000, "-1", "x"):
        response = post(seeded_client, url, {**form, "remove": remove})
        assert response.status_code == 400, remove
        db.session.expire_all()
        assert (service.version, service.eligibility_rules) == before
    assert post(seeded_client, url, {**form, "remove": "0"}).status_code == 200
