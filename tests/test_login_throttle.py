"""Failed logins are counted per account in the database (so across workers, restarts and servers), with a
growing delay; the per-address limit stays; behind a proxy the address comes from the trusted proxy count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, update

from directory import create_app
from directory.accounts.models import LoginThrottle
from directory.accounts.services import create_user
from directory.accounts.throttle import FREE_FAILURES, delay_for
from directory.extensions import db
from directory.models_base import utcnow
from tests.conftest import PASSWORD, build_app, drop_database, login, make_config, new_database

WRONG = "not-the-password"


def _throttle_row():
    db.session.expire_all()
    return db.session.scalars(select(LoginThrottle)).first()


def _let_the_delay_pass():
    db.session.execute(update(LoginThrottle).values(last_failed_at=utcnow() - timedelta(hours=1)))
    db.session.commit()


def test_the_delay_grows_and_has_a_ceiling():
    delays = [delay_for(n) for n in range(FREE_FAILURES + 12)]
    assert delays[:FREE_FAILURES] == [0] * FREE_FAILURES
    growing = delays[FREE_FAILURES:]
    assert growing[0] > 0 and all(b >= a for a, b in zip(growing, growing[1:], strict=False))
    assert growing[1] > growing[0] and max(growing) <= 15 * 60


def test_failed_logins_for_an_account_bring_a_delay_with_a_clear_message(app, client, make_user):
    make_user("caseworker", username="chen")
    for _ in range(FREE_FAILURES - 1):
        assert login(client, "chen", WRONG).status_code == 401
    last_free = login(client, "chen", WRONG)
    assert last_free.status_code == 401 and "登录失败次数过多" in last_free.get_data(as_text=True)  # warned
    assert login(client, "chen", WRONG).status_code == 429  # the delay runs
    blocked = login(client, "chen", PASSWORD)  # even the right password waits: no guess is checked
    assert blocked.status_code == 429
    page = blocked.get_data(as_text=True)
    assert "登录失败次数过多" in page and "秒" in page
    assert "_user_id" not in (client.get_cookie("session").value if client.get_cookie("session") else "")
    count = _throttle_row().failures
    login(client, "chen", WRONG)
    assert _throttle_row().failures == count  # attempts during the delay do not lengthen it

    _let_the_delay_pass()
    assert login(client, "chen", PASSWORD).status_code == 302  # not a lock-out
    assert _throttle_row() is None  # a successful login clears the count


def test_the_count_holds_across_workers_and_restarts(tmp_path, migrated_db, postgres):
    """Two apps on one database: two workers, two servers, or one server before and after a restart."""
    (tmp_path / "a").mkdir()
    first = build_app(tmp_path / "a", migrated_db)
    uri = first.config["SQLALCHEMY_DATABASE_URI"]
    second = create_app(make_config(tmp_path / "b", uri))
    with first.app_context():
        create_user("chen", PASSWORD, "caseworker")
        db.session.commit()
        browser = first.test_client()
        for _ in range(FREE_FAILURES):
            login(browser, "chen", WRONG)
        db.session.remove()
        db.engine.dispose()
    with second.app_context():
        other = second.test_client()  # another worker, another address: the account's count is shared
        other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
        assert login(other, "chen", PASSWORD).status_code == 429
        db.session.remove()
        db.engine.dispose()
    drop_database(uri, postgres)


def test_unknown_usernames_are_treated_alike(client, make_user):
    """The delay does not tell whether an account exists."""
    make_user("caseworker", username="chen")
    answers = {}
    for name in ("chen", "nobody"):
        statuses = [login(client, name, WRONG).status_code for _ in range(FREE_FAILURES + 1)]
        answers[name] = statuses
    assert answers["chen"] == answers["nobody"] == [401] * FREE_FAILURES + [429]


def test_per_address_limit_still_applies(tmp_path, migrated_db):
    app = build_app(tmp_path, migrated_db, LOGIN_RATE_LIMIT="3 per minute")
    with app.app_context():
        client = app.test_client()
        statuses = [login(client, f"user{n}", WRONG).status_code for n in range(4)]
        assert statuses == [401, 401, 401, 429]
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_client_address_comes_from_the_trusted_proxy_count(tmp_path, migrated_db, proxies):
    app = build_app(tmp_path, migrated_db, LOGIN_RATE_LIMIT="2 per minute", TRUSTED_PROXY_COUNT=proxies)
    with app.app_context():
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "10.0.0.1"  # the proxy

        def attempt(forwarded_for: str) -> int:
            client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
            return login(client, "someone", WRONG).status_code

        first = [attempt("203.0.113.1") for _ in range(3)]
        second = attempt("203.0.113.2")
        assert first == [401, 401, 429]
        if proxies:
            assert second == 401  # another client behind the proxy has its own limit
        else:
            assert second == 429  # without a trusted proxy the header is ignored: it cannot dodge the limit
        db.session.remove()
        db.engine.dispose()


def test_trusted_proxy_count_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", "2")
    app = create_app(make_config(tmp_path, tmp_path / "x.sqlite3"))
    assert app.config["TRUSTED_PROXY_COUNT"] == 2
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", "many")
    with pytest.raises(RuntimeError, match="TRUSTED_PROXY_COUNT"):
        create_app(make_config(tmp_path, tmp_path / "x.sqlite3"))


def test_migration_adds_and_removes_the_login_throttle_table(tmp_path, postgres):
    uri = new_database(tmp_path, postgres)
    app = create_app(make_config(tmp_path, uri))
    with app.app_context():
        upgrade(revision="65d96157aed6")
        assert "login_throttle" not in inspect(db.engine).get_table_names()
        upgrade()
        assert "login_throttle" in inspect(db.engine).get_table_names()
        downgrade(revision="65d96157aed6")
        assert "login_throttle" not in inspect(db.engine).get_table_names()
        db.engine.dispose()
    drop_database(uri, postgres)


def test_wrong_current_passwords_on_the_change_page_count_too(client, make_user):
    from tests.conftest import post

    make_user("caseworker", username="chen")
    login(client, "chen")
    form = {"current_password": WRONG, "new_password": "grey-egret-harbour-77", "confirm": "grey-egret-harbour-77"}
    for _ in range(FREE_FAILURES):
        post(client, "/account/password", form)
    right = {**form, "current_password": PASSWORD}
    page = post(client, "/account/password", right)
    assert page.status_code == 400 and "登录失败次数过多" in page.get_data(as_text=True)


# --- a shared limiter store: Redis (skipped when redis-server is not installed) --------------------------


@pytest.fixture
def redis_url(tmp_path):
    import shutil
    import socket
    import subprocess
    import time

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    import redis

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*args, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_address_limit_is_shared_through_redis(tmp_path, migrated_db, postgres, redis_url):
    """Two workers (two apps) counting one client's attempts in one Redis."""
    (tmp_path / "a").mkdir()
    first = build_app(tmp_path / "a", migrated_db, LOGIN_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=redis_url)
    uri = first.config["SQLALCHEMY_DATABASE_URI"]
    second = create_app(
        make_config(tmp_path / "b", uri, LOGIN_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=redis_url)
    )
    statuses = []
    for app in (first, second, first, second):
        with app.app_context():
            statuses.append(login(app.test_client(), f"user{len(statuses)}", WRONG).status_code)
            db.session.remove()
            db.engine.dispose()
    assert statuses == [401, 401, 401, 429]
    import redis

    store = redis.Redis.from_url(redis_url)
    counters = [key for key in store.keys("LIMITS*") if b"login" in key]
    assert counters and int(store.get(counters[0])) >= 3  # counted in Redis, where every server sees it
    drop_database(uri, postgres)
