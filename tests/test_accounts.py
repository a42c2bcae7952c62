"""Login, sessions, password policy, rate limit, CSRF, security headers, create-user."""

import pytest

from directory.accounts.models import User
from directory.accounts.services import UserError, create_user
from directory.extensions import db
from tests.conftest import PASSWORD, build_app, csrf_token, login, post


def test_login_and_logout(client, make_user):
    make_user("caseworker", username="chen")
    response = login(client, "chen")
    assert response.status_code == 302
    assert "chen" in client.get("/").get_data(as_text=True)
    response = post(client, "/logout")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "chen" not in page and "登录" in page  # the Chinese UI offers to log in again


def test_unknown_user_and_wrong_password_get_the_same_answer(client, make_user):
    make_user("caseworker", username="chen")
    wrong = login(client, "chen", "not-the-password")
    unknown = login(client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401

    def message(response):
        # the alert element alone: the form after it carries a time-stamped CSRF token
        html = response.get_data(as_text=True)
        alert = html[html.index('role="alert"') :]
        return alert[: alert.index("</div>")]

    assert message(wrong) == message(unknown)


def test_inactive_user_cannot_log_in(client, make_user):
    user = make_user("caseworker", username="chen")
    user.active = False
    db.session.commit()
    assert login(client, "chen").status_code == 401


def test_login_is_rate_limited(tmp_path, migrated_db):
    app = build_app(tmp_path, migrated_db, LOGIN_RATE_LIMIT="3 per minute")
    with app.app_context():
        create_user("chen", PASSWORD, "caseworker")
        db.session.commit()
        client = app.test_client()
        statuses = [login(client, "chen", "wrong-password").status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        blocked = login(client, "chen", PASSWORD)  # even the right password waits
        assert blocked.status_code == 429
        assert client.get("/").status_code == 200  # only login attempts are limited
        db.session.remove()
        db.engine.dispose()


def test_session_cookie_flags_and_renewal_at_login(client, make_user):
    make_user("caseworker", username="chen")
    client.get("/login")
    before = client.get_cookie("session")
    response = login(client, "chen")
    cookie_header = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie_header
    assert "SameSite=Lax" in cookie_header
    after = client.get_cookie("session")
    assert before is None or before.value != after.value
    with client.session_transaction() as sess:
        assert "_user_id" in sess and "csrf_token" not in sess  # pre-login token discarded


def test_logout_ends_the_session_everywhere(app, make_user):
    make_user("caseworker", username="chen")
    first, second = app.test_client(), app.test_client()
    login(first, "chen")
    # Copy the logged-in cookie to a second client, as a stolen cookie would be.
    second.set_cookie("session", first.get_cookie("session").value)
    assert "chen" in second.get("/").get_data(as_text=True)
    post(first, "/logout")
    assert "chen" not in second.get("/").get_data(as_text=True)


def test_post_without_csrf_token_is_rejected_and_changes_nothing(client, make_user):
    make_user("caseworker", username="chen")
    response = client.post("/login", data={"username": "chen", "password": PASSWORD})
    assert response.status_code == 400
    assert "_user_id" not in (client.get_cookie("session").value if client.get_cookie("session") else "")
    login(client, "chen")
    response = client.post("/logout")  # no token
    assert response.status_code == 400
    assert "chen" in client.get("/").get_data(as_text=True)  # still logged in


def test_wrong_csrf_token_is_rejected(client, make_user):
    make_user("caseworker", username="chen")
    csrf_token(client, "/login")
    response = client.post("/login", data={"username": "chen", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short1!", "at least 8"), ("password1", "too common"), ("12345678", "too common"), ("chen-chen-99", "username")],
)
def test_weak_passwords_are_refused(app, password, reason):
    with pytest.raises(UserError, match=reason):
        create_user("chen", password, "caseworker")
    assert db.session.scalar(db.select(User).filter_by(username="chen")) is None


def test_password_is_hashed_with_scrypt(app):
    user = create_user("chen", PASSWORD, "caseworker")
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


def test_agency_staff_need_an_organization(app):
    with pytest.raises(UserError, match="organization"):
        create_user("agency", PASSWORD, "agency_staff")


def test_create_user_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "lin", "--role", "manager", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(db.select(User).filter_by(username="lin")).role == "manager"
    result = runner.invoke(args=["create-user", "wu", "--role", "manager", "--password", "password"])
    assert result.exit_code != 0
    assert "too common" in result.output
    assert db.session.scalar(db.select(User).filter_by(username="wu")) is None


def test_security_headers_on_pages_and_errors(client):
    for path in ("/", "/no-such-page"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_error_pages_are_friendly(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/services/does-not-exist")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)

    response = client.get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret internals" not in body and "Traceback" not in body
    assert "<!doctype html>" in body


def test_login_redirect_ignores_foreign_next(client, make_user):
    make_user("caseworker", username="chen")
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=https://evil.example/x", data={"username": "chen", "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/start"  # the user's start page, never the foreign site
