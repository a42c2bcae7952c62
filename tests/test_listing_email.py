"""A listing with an email address can be saved (the Email validator needs email_validator installed)."""

from directory.catalog.models import Service
from directory.extensions import db
from tests.conftest import login, post
from tests.test_listings import SERVICE_FORM, catalog  # noqa: F401 (fixture)


def test_service_save_with_an_email(client, catalog, make_user):  # noqa: F811
    user = make_user("agency_staff", organization_id=catalog["org"])
    login(client, user.username)
    form = {**SERVICE_FORM, "location_ids": [catalog["loc"]], "version": "1", "email": "help@example.org"}
    response = post(client, f"/manage/services/{catalog['svc']}/edit", form)
    assert response.status_code == 302
    assert db.session.get(Service, catalog["svc"]).email == "help@example.org"

    bad = post(client, f"/manage/services/{catalog['svc']}/edit", {**form, "version": "2", "email": "not an email"})
    assert bad.status_code == 400
    assert db.session.get(Service, catalog["svc"]).email == "help@example.org"
