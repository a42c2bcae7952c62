"""Links in listings are http(s), mailto or tel only: javascript: and the like are refused with a clear
message, in the agency form and in the HSDS import."""

from __future__ import annotations

import pytest

from directory.catalog.models import Service
from directory.extensions import db
from tests.conftest import login, post
from tests.hsds_reference import import_hsds_json, service_record
from tests.test_listings import SERVICE_FORM, catalog  # noqa: F401 (fixture)

ORG = "0b9a5f6e-0000-4000-8000-0000000000f1"
SERVICE = "0b9a5f6e-0000-4000-8000-0000000000f2"
UNSAFE = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,x",
    "vbscript:x",
    "file:///etc/passwd",
    "ftp://example.org/x",
    "javascript://example.org/%0aalert(1)",
]
SAFE = ["https://example.org/help", "http://example.org", "mailto:help@example.org", "tel:+862000000000"]


def _service(**fields) -> dict:
    return service_record(SERVICE, ORG, **fields)


@pytest.mark.parametrize("url", UNSAFE)
def test_unsafe_links_are_refused_on_import(app, tmp_path, url):
    report = import_hsds_json(tmp_path, _service(url=url))
    assert len(report.errors) == 1 and "only http, https, mailto and tel links" in report.errors[0], report.errors
    assert db.session.get(Service, SERVICE) is None
    report = import_hsds_json(tmp_path, {"id": ORG, "name": "Example", "description": "x", "website": url})
    assert len(report.errors) == 1 and "only http, https, mailto and tel links" in report.errors[0]


@pytest.mark.parametrize("url", SAFE)
def test_safe_links_are_kept_on_import(app, tmp_path, url):
    report = import_hsds_json(tmp_path, _service(url=url))
    assert report.errors == []
    assert db.session.get(Service, SERVICE).url == url


@pytest.mark.parametrize("url", UNSAFE)
def test_unsafe_links_are_refused_in_the_form(client, catalog, make_user, url):  # noqa: F811
    user = make_user("agency_staff", organization_id=catalog["org"])
    login(client, user.username)
    form = {**SERVICE_FORM, "location_ids": [catalog["loc"]], "version": "1", "url": url}
    response = post(client, f"/manage/services/{catalog['svc']}/edit", form)
    assert response.status_code == 400
    assert "只能是 http、https、mailto 或 tel 链接" in response.get_data(as_text=True)
    assert db.session.get(Service, catalog["svc"]).url is None


@pytest.mark.parametrize("url", SAFE)
def test_safe_links_are_kept_in_the_form(client, catalog, make_user, url):  # noqa: F811
    user = make_user("agency_staff", organization_id=catalog["org"])
    login(client, user.username)
    form = {**SERVICE_FORM, "location_ids": [catalog["loc"]], "version": "1", "url": url}
    assert post(client, f"/manage/services/{catalog['svc']}/edit", form).status_code == 302
    assert db.session.get(Service, catalog["svc"]).url == url


def test_a_stored_unsafe_link_is_not_made_a_link(client, catalog):  # noqa: F811
    """Rows written before this check (or by hand) are shown as text, not as a link."""
    service = db.session.get(Service, catalog["svc"])
    service.url = "javascript:alert(1)"
    db.session.commit()
    page = client.get(f"/services/{catalog['svc']}").get_data(as_text=True)
    assert 'href="javascript:' not in page
