"""Lost updates on listings: a change to any part of a listing (categories, locations, languages, documents)
bumps the service's version, so a form loaded before it gets the conflict page instead of silently
undoing it. Two editors, two browsers, the real forms."""

from __future__ import annotations

import re

import pytest

from directory.catalog.models import Location, Service
from directory.extensions import db
from tests.conftest import login, post
from tests.test_listings import SERVICE_FORM, catalog  # noqa: F401  (the fixture)

VERSION = re.compile(r'name="version"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="version"')


def _shown_version(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = VERSION.search(page)
    assert match, "the form carries no version"
    return match.group(1) or match.group(2)


@pytest.fixture
def second_location(catalog):  # noqa: F811
    location = Location(organization_id=catalog["org"], name="第二站点", district="越秀区")
    db.session.add(location)
    db.session.commit()
    return location.id


def _changes(catalog, second_location):  # noqa: F811
    """(what the first editor changes, how to read that part back)."""
    return {
        "category": (
            {"taxonomy_codes": ["legal-aid", "food-bank"]},
            lambda s: sorted(t.code for t in s.taxonomy_terms),
        ),
        "location": (
            {"location_ids": [catalog["loc"], second_location]},
            lambda s: sorted(sal.location_id for sal in s.service_at_locations),
        ),
        "language": ({"languages": ["zh", "en"]}, lambda s: sorted(lang.code for lang in s.languages)),
        "document": (
            {"required_documents": "身份证\n户口本\n低保证"},
            lambda s: [d.document for d in s.required_documents],
        ),
    }


@pytest.mark.parametrize("part", ["category", "location", "language", "document"])
def test_a_stale_form_cannot_undo_a_change_to_a_part_of_the_listing(app, catalog, second_location, make_user, part):  # noqa: F811
    staff = make_user("agency_staff", organization_id=catalog["org"])
    admin = make_user("admin")
    first, second = app.test_client(), app.test_client()
    login(first, staff.username)
    login(second, admin.username)
    path = f"/manage/services/{catalog['svc']}/edit"
    base = {**SERVICE_FORM, "location_ids": [catalog["loc"]]}
    assert post(first, path, {**base, "version": _shown_version(first, path)}).status_code == 302  # a known start

    # Both load the form; the first changes one part of the listing and saves.
    first_version, second_version = _shown_version(first, path), _shown_version(second, path)
    change, read = _changes(catalog, second_location)[part]
    assert post(first, path, {**base, **change, "version": first_version}).status_code == 302
    db.session.expire_all()
    changed = read(db.session.get(Service, catalog["svc"]))

    # The second, from the form loaded before, renames the service: a conflict, with what they typed kept.
    response = post(second, path, {**base, "name": "第二位编辑的名称", "version": second_version})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "第二位编辑的名称" in page
    db.session.expire_all()
    service = db.session.get(Service, catalog["svc"])
    assert read(service) == changed  # the first editor's change stands
    assert service.name == SERVICE_FORM["name"]

    # Loading the form again shows the current listing, and saving from it goes through.
    again = _shown_version(second, path)
    assert again != second_version
    assert post(second, path, {**base, **change, "name": "第二位编辑的名称", "version": again}).status_code == 302
