"""Test fixtures: a real SQLite file and a real Whoosh index directory per test, in tmp dirs.

The schema is built once per session with the real Alembic migrations, and the demo catalog is seeded
once into a second template file; each test gets its own copy of the file it needs.
"""

from __future__ import annotations

import contextvars
import re
import shutil
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

from directory import create_app
from directory.accounts.services import create_user
from directory.extensions import db
from directory.search.index import get_index
from directory.seed import load_seed

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "seed_data"
PASSWORD = "blue-heron-river-42"


def make_config(tmp: Path, db_file: Path, **extra) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp / "instance"),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
        "SEARCH_INDEX_DIR": str(tmp / "index"),
        "SECRET_KEY": "test-secret-key",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        "SEED_DIR": str(SEED_DIR),
        "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",  # still scrypt, cheaper for hundreds of logins
        **extra,
    }


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("migrated")
    db_file = tmp / "empty.sqlite3"
    app = create_app(make_config(tmp, db_file))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return db_file


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory, migrated_db) -> Path:
    tmp = tmp_path_factory.mktemp("seeded")
    db_file = tmp / "seeded.sqlite3"
    shutil.copy(migrated_db, db_file)
    app = create_app(make_config(tmp, db_file))
    with app.app_context():
        report = load_seed(SEED_DIR)
        assert not report.errors, report.errors
        db.session.commit()
        get_index(app).catch_up()  # the index beside the template: tmp/index
        db.engine.dispose()
    return db_file


class IsolatedClient(FlaskClient):
    """Runs each request in its own application context, as a server does.

    Tests hold an app context open for database access; without this, requests would share its
    ``g`` (and so the logged-in user and CSRF token) and its database session with the test.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():  # not inside a redirect that follow_redirects opened
            db.session.expire_all()  # the test sees what the request committed
        return response


def build_app(tmp_path: Path, template: Path, **extra):
    db_file = tmp_path / "app.sqlite3"
    shutil.copy(template, db_file)
    if (template.parent / "index").exists():
        shutil.copytree(template.parent / "index", tmp_path / "index")
    app = create_app(make_config(tmp_path, db_file, **extra))
    app.test_client_class = IsolatedClient
    return app


def _app(tmp_path: Path, template: Path, **extra):
    app = build_app(tmp_path, template, **extra)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(tmp_path, migrated_db):
    """An app on an empty, migrated database."""
    yield from _app(tmp_path, migrated_db)


@pytest.fixture
def seeded_app(tmp_path, seeded_db):
    """An app on a database holding the demo catalog."""
    yield from _app(tmp_path, seeded_db)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def seeded_client(seeded_app):
    return seeded_app.test_client()


@pytest.fixture
def make_user():
    """Create a user in the current app: make_user('agency_staff', organization_id=...)."""
    counter = {"n": 0}

    def _make(role: str, organization_id: str | None = None, username: str | None = None):
        counter["n"] += 1
        user = create_user(username or f"{role}-{counter['n']}", PASSWORD, role, organization_id=organization_id)
        db.session.commit()
        return user

    return _make


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/") -> str:
    page = client.get(path)
    match = CSRF_META.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def post(client, path: str, data: dict | None = None, **kwargs):
    """POST a form the way a browser does: with the CSRF token of the current session."""
    payload = {"csrf_token": csrf_token(client), **(data or {})}
    return client.post(path, data=payload, **kwargs)
