"""GEOCODER settings are checked when the app starts (a clear error, not a 500 on every place search), can
all be given as environment variables, and an online geocoder's failure never breaks a gazetteer place.
The online geocoder is Nominatim aimed at an unroutable local port: no test reaches the internet."""

from __future__ import annotations

import pytest

from directory import create_app
from directory.geo.geocoder import get_geocoder
from tests.conftest import build_app, make_config

UNROUTABLE = {
    "GEOCODER": "nominatim",
    "GEOCODER_USER_AGENT": "lianjie-tests-unroutable",
    "GEOCODER_DOMAIN": "127.0.0.1:9",
    "GEOCODER_SCHEME": "http",
    "GEOCODER_TIMEOUT": 1,
}


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"GEOCODER": "nominatim"}, "GEOCODER_USER_AGENT"),
        ({"GEOCODER": "no-such-service"}, "unknown GEOCODER"),
        ({**UNROUTABLE, "GEOCODER_TIMEOUT": "soon"}, "GEOCODER_TIMEOUT"),
        ({**UNROUTABLE, "GEOCODER_SCHEME": "gopher"}, "GEOCODER_SCHEME"),
        ({"GEOCODER": "photon", "GEOCODER_OPTIONS": {"no_such_option": 1}}, "GEOCODER_OPTIONS"),
    ],
)
def test_a_misconfigured_geocoder_stops_the_app_with_a_clear_message(tmp_path, settings, fragment):
    with pytest.raises(RuntimeError, match=fragment) as error:
        create_app(make_config(tmp_path, tmp_path / "db.sqlite3", **settings))
    assert "docs/operations.md" in str(error.value)


def test_geocoder_settings_come_from_the_environment(tmp_path, monkeypatch):
    for key, value in UNROUTABLE.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("GEOCODER_OPTIONS", '{"proxies": {}}')
    app = create_app(make_config(tmp_path, tmp_path / "db.sqlite3"))
    assert app.config["GEOCODER_USER_AGENT"] == "lianjie-tests-unroutable"
    assert app.config["GEOCODER_TIMEOUT"] == 1.0 and app.config["GEOCODER_OPTIONS"] == {"proxies": {}}
    geocoder = get_geocoder(app.config)
    assert geocoder is not None and geocoder.geocoder.domain == "127.0.0.1:9"


@pytest.fixture
def online_app(tmp_path, seeded_db):
    from directory.extensions import db

    app = build_app(tmp_path, seeded_db, **UNROUTABLE)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_gazetteer_places_work_while_the_online_geocoder_is_down(online_app):
    client = online_app.test_client()
    page = client.get("/search", query_string={"q": "法律", "near": "天河区"})
    assert page.status_code == 200
    api = client.get("/api/v1/search", query_string={"search": "法律", "near": "天河区"})
    assert api.status_code == 200 and "contents" in api.get_json()
    unknown = client.get("/search", query_string={"q": "法律", "near": "某某不存在的小区"})
    assert unknown.status_code in (200, 400)
    assert "could not be reached" in unknown.get_data(as_text=True) or "无法连接" in unknown.get_data(as_text=True)


def test_a_geocoder_broken_at_run_time_never_breaks_a_gazetteer_place(online_app):
    online_app.config["GEOCODER_USER_AGENT"] = None  # e.g. instance/config.py edited under a running server
    client = online_app.test_client()
    assert client.get("/search", query_string={"q": "法律", "near": "天河区"}).status_code == 200
    assert client.get("/api/v1/search", query_string={"search": "法律", "near": "体育西路"}).status_code == 200
    assert client.get("/search", query_string={"q": "法律", "near": "某某不存在的小区"}).status_code in (200, 400)
