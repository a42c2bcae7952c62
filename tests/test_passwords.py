"""Password strength (zxcvbn, score 3 or more, knowing the user's names) and changing one's password."""

from __future__ import annotations

import pytest

from directory.accounts.models import User
from directory.accounts.passwords import MIN_SCORE, password_problems
from directory.accounts.services import UserError, create_user
from directory.extensions import db
from tests.conftest import PASSWORD, login, post

LOAD_BENCH_PASSWORD = "load-test-password-2026"  # bench/load_bench.py
BROWSER_DEMO_PASSWORD = "demo-journeys-2468"  # tests/browser/ui.py


@pytest.mark.parametrize("password", ["aaaaaaaa", "Password2026", "qwertyuiop", "abcd1234abcd", "1q2w3e4r5t"])
def test_easily_guessed_passwords_are_refused(app, password):
    with pytest.raises(UserError, match="too easy to guess|too common"):
        create_user("chen", password, "caseworker")
    assert db.session.scalar(db.select(User).filter_by(username="chen")) is None


def test_the_user_s_own_names_count_against_the_password(app):
    assert password_problems("linxiaoming1") == []  # strong for a stranger …
    with pytest.raises(UserError, match="too easy to guess"):  # … not when it is the user's name
        create_user("wu", "linxiaoming1", "caseworker", display_name="linxiaoming")


@pytest.mark.parametrize("password", [PASSWORD, LOAD_BENCH_PASSWORD, BROWSER_DEMO_PASSWORD])
def test_the_passwords_of_the_tests_and_benchmarks_pass(app, password):
    assert MIN_SCORE == 3
    assert password_problems(password, "load-cw-1", ["demo-caseworker"]) == []


def test_a_very_long_password_is_checked_quickly(app):
    import time

    started = time.perf_counter()
    password_problems("x7-" * 400)
    assert time.perf_counter() - started < 2


# --- changing one's password in the web UI ------------------------------------------------------------

NEW_PASSWORD = "grey-egret-harbour-77"


def test_change_password_page_is_linked_and_needs_a_login(client, make_user):
    assert client.get("/account/password").status_code == 302  # to the login page
    make_user("caseworker", username="chen")
    login(client, "chen")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/account/password"' in home
    page = client.get("/account/password").get_data(as_text=True)
    assert "修改密码" in page and 'name="current_password"' in page


def test_change_password_asks_for_the_old_one_and_refuses_a_weak_one(app, client, make_user):
    user = make_user("caseworker", username="chen")
    login(client, "chen")
    old_hash = user.password_hash

    wrong = post(
        client, "/account/password", {"current_password": "nope", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)

    weak = post(
        client,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "Password2026", "confirm": "Password2026"},
    )
    assert weak.status_code == 400 and "太容易被猜到" in weak.get_data(as_text=True)

    mismatch = post(
        client,
        "/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
    )
    assert mismatch.status_code == 400 and "两次输入的新密码不一致" in mismatch.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == old_hash


def test_change_password_works_and_ends_the_other_sessions(app, make_user):
    make_user("caseworker", username="chen")
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "chen")
    login(elsewhere, "chen")
    response = post(
        here, "/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert "chen" in here.get("/").get_data(as_text=True)  # this browser stays logged in
    assert "chen" not in elsewhere.get("/").get_data(as_text=True)  # every other login ends
    fresh = app.test_client()
    assert login(fresh, "chen", PASSWORD).status_code == 401
    assert login(fresh, "chen", NEW_PASSWORD).status_code == 302
