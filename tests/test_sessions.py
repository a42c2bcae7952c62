"""Login sessions: bound to the browser that logged in, ended after a time without activity, new at login."""

from __future__ import annotations

import time

from tests.conftest import PASSWORD, build_app, csrf_token, login

BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (caseworker's browser)", "REMOTE_ADDR": "10.1.2.3"}


def _signed_in(client, name="chen") -> bool:
    return name in client.get("/").get_data(as_text=True)


def _browser(app, **environ):
    client = app.test_client()
    client.environ_base.update({**BROWSER, **environ})
    return client


def test_a_copied_cookie_does_not_work_from_another_browser(app, make_user):
    make_user("caseworker", username="chen")
    victim = _browser(app)
    login(victim, "chen")
    stolen = victim.get_cookie("session").value

    same = _browser(app)  # the same browser (a second tab) keeps working
    same.set_cookie("session", stolen)
    assert _signed_in(same)

    other_agent = _browser(app, HTTP_USER_AGENT="curl/8.0")
    other_agent.set_cookie("session", stolen)
    assert not _signed_in(other_agent)

    # Another address, even one claiming to forward for the victim's address (no trusted proxy is set).
    elsewhere = _browser(app, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.1.2.3")
    elsewhere.set_cookie("session", stolen)
    assert not _signed_in(elsewhere)
    assert _signed_in(victim)  # the victim's own browser is not logged out by the attempt


def test_the_login_cookie_lasts_only_for_the_browser_session(app, make_user):
    make_user("caseworker", username="chen")
    client = _browser(app)
    response = login(client, "chen")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Expires=" not in cookie and "Max-Age=" not in cookie


def test_an_idle_session_expires(app, make_user):
    make_user("caseworker", username="chen")
    client = _browser(app)
    login(client, "chen")
    assert _signed_in(client)
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    assert idle == 8 * 3600  # the default
    with client.session_transaction() as sess:
        sess["_seen"] = int(time.time()) - idle + 120  # idle for a little less than the limit
    assert _signed_in(client)
    with client.session_transaction() as sess:
        sess["_seen"] = int(time.time()) - idle - 1  # idle for longer
    page = client.get("/").get_data(as_text=True)
    assert "chen" not in page and "登录" in page
    assert "长时间未操作" in page  # says why, in Chinese
    assert client.get("/clients").status_code == 302  # login required again


def test_activity_keeps_the_session_alive_and_the_timeout_is_configurable(tmp_path, migrated_db):
    from directory.accounts.services import create_user
    from directory.extensions import db

    app = build_app(tmp_path, migrated_db, SESSION_IDLE_TIMEOUT=600)
    with app.app_context():
        create_user("chen", PASSWORD, "caseworker")
        db.session.commit()
        client = _browser(app)
        login(client, "chen")
        with client.session_transaction() as sess:
            sess["_seen"] = int(time.time()) - 500
        assert _signed_in(client)  # a request within the limit …
        with client.session_transaction() as sess:
            assert sess["_seen"] >= int(time.time()) - 5  # … counts as activity
        with client.session_transaction() as sess:
            sess["_seen"] = int(time.time()) - 601
        assert not _signed_in(client)
        db.session.remove()
        db.engine.dispose()


def test_login_rotates_the_session(app, make_user):
    make_user("caseworker", username="chen")
    client = _browser(app)
    token_before = csrf_token(client, "/login")
    anonymous_cookie = client.get_cookie("session").value
    client.post("/login", data={"username": "chen", "password": PASSWORD, "csrf_token": token_before})
    assert _signed_in(client)
    assert client.get_cookie("session").value != anonymous_cookie
    assert csrf_token(client) != token_before  # the pre-login CSRF token is gone
    with client.session_transaction() as sess:
        assert sess.get("_sid") and not sess.permanent
        first_sid = sess["_sid"]

    # The cookie from before the login gives no login.
    replay = _browser(app)
    replay.set_cookie("session", anonymous_cookie)
    assert not _signed_in(replay)

    # A second login gets a new session id.
    with client.session_transaction() as sess:
        sess.clear()
    login(client, "chen")
    with client.session_transaction() as sess:
        assert sess["_sid"] != first_sid
