"""`next` parameters never send the browser to another site (login, language switch, consent form)."""

from __future__ import annotations

import pytest

from directory.catalog.services import local_today
from directory.extensions import db
from directory.redirects import safe_next
from directory.referrals import services
from tests.conftest import login, post

NASTY = [
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",  # ?next=/%09/evil.example: browsers drop the tab and go to //evil.example
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,hi",
    "evil.example",
    "/\x00/evil.example",
    "///evil.example",
]
SAFE = ["/", "/search?q=%E7%BE%8E%E6%B2%99%E9%85%AE&page=2", "/clients/abc", "/services/x#hours"]


@pytest.mark.parametrize("target", NASTY)
def test_safe_next_refuses_anything_off_site(app, target):
    with app.test_request_context():
        assert safe_next(target) == "/"
        assert safe_next(target, "/fallback") == "/fallback"


@pytest.mark.parametrize("target", SAFE)
def test_safe_next_keeps_paths_on_this_site(app, target):
    with app.test_request_context():
        assert safe_next(target) == target


def _location(response) -> str:
    return response.headers.get("Location", "")


def _stays_here(location: str) -> bool:
    return location.startswith("/") and not location.startswith(("//", "/\\")) and "evil" not in location


@pytest.mark.parametrize("target", NASTY)
def test_login_language_and_consent_never_redirect_off_site(seeded_app, make_user, target):
    owner = make_user("caseworker", username="owner")
    client_record = services.create_client(owner, {"display_name": "阿芳", "birth_year": 1990}, {})
    db.session.commit()
    browser = seeded_app.test_client()

    response = login_with_next(browser, target)
    assert response.status_code == 302 and _stays_here(_location(response)), _location(response)

    response = post(browser, "/language/en", {"next": target})
    assert response.status_code == 302 and _stays_here(_location(response)), _location(response)

    form = {
        "scope": "category",
        "category": "drug-treatment",
        "organization_id": "",
        "fields": ["name"],
        "purpose": "referral",
        "valid_from": local_today().isoformat(),
        "given_by": "client",
    }
    response = post(browser, f"/clients/{client_record.id}/consents/new", form, query_string={"next": target})
    assert response.status_code == 302 and _stays_here(_location(response)), _location(response)


def login_with_next(browser, target):
    from tests.conftest import PASSWORD, csrf_token

    token = csrf_token(browser, "/login")
    data = {"username": "owner", "password": PASSWORD, "csrf_token": token}
    return browser.post("/login", data=data, query_string={"next": target})


def test_consent_form_still_returns_to_the_referral_form(seeded_app, make_user):
    owner = make_user("caseworker", username="owner")
    client_record = services.create_client(owner, {"display_name": "阿芳", "birth_year": 1990}, {})
    db.session.commit()
    browser = seeded_app.test_client()
    login(browser, "owner")
    form = {
        "scope": "category",
        "category": "drug-treatment",
        "fields": ["name"],
        "purpose": "referral",
        "valid_from": local_today().isoformat(),
        "given_by": "client",
    }
    back = "/referrals/new?client=" + client_record.id + "&service=x"
    response = post(browser, f"/clients/{client_record.id}/consents/new", form, query_string={"next": back})
    assert _location(response) == back
