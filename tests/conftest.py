"""Test fixtures: a real database and a real Whoosh index directory per test, in tmp dirs.

The schema is built once per session with the real Alembic migrations, and the demo catalog is seeded
once into a second template; each test gets its own copy of the one it needs. The database is a SQLite
file, or, with TEST_DATABASE_URL set, a PostgreSQL database created from a template database.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from directory import create_app
from directory.accounts.services import create_user
from directory.extensions import db
from directory.search.index import get_index
from directory.seed import load_seed

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "seed_data"
PASSWORD = "blue-heron-river-42"


# Set TEST_DATABASE_URL (postgresql+psycopg://user:pass@127.0.0.1/dbname) to run the suite on PostgreSQL:
# each test then gets its own database, copied from a migrated or seeded template database.
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def extract_messages(pot: Path) -> Path:
    """Extract the user-facing strings of the code and templates into ``pot``, as `make extract` does."""
    keywords = ["-k", "_l", "-k", "lazy_gettext"]
    command = [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", *keywords, "-o", str(pot)]
    subprocess.run([*command, "."], cwd=ROOT, check=True, capture_output=True)
    return pot


def _database_uri(database: Path | str) -> str:
    return database if isinstance(database, str) else f"sqlite:///{database}"


def make_config(tmp: Path, database: Path | str, **extra) -> dict:
    """Test configuration; ``database`` is a SQLite file or a database URL."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp / "instance"),
        "SQLALCHEMY_DATABASE_URI": _database_uri(database),
        "SEARCH_INDEX_DIR": str(tmp / "index"),
        "SECRET_KEY": "test-secret-key",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        "SEED_DIR": str(SEED_DIR),
        "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",  # still scrypt, cheaper for hundreds of logins
        **extra,
    }


@dataclass(frozen=True)
class DatabaseTemplate:
    """A database to copy for each test: a SQLite file, or a PostgreSQL template database."""

    uri: str
    file: Path | None = None  # SQLite only
    index: Path | None = None  # a search index built from it


class PostgresDatabases:
    """Creates and drops the per-test databases on the server named by TEST_DATABASE_URL."""

    def __init__(self, url: str):
        self.url = make_url(url)
        self.engine = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.created: list[str] = []

    def uri(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        name = f"lj_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with self.engine.connect() as conn:
            # FILE_COPY: copying a small template is many times faster than PostgreSQL 15's default WAL_LOG
            copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        """Drop a test database; one still in use (say, by autovacuum) is left for drop_all at the end."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except DBAPIError:
            return
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        """Drop every database this test process created (also through another copy of this module)."""
        with self.engine.connect() as conn:
            names = conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
                {"prefix": f"lj_test_{os.getpid()}_%"},
            ).scalars()
            for name in list(names):
                with contextlib.suppress(DBAPIError):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


_POSTGRES: PostgresDatabases | None = None


def _postgres() -> PostgresDatabases | None:
    """The PostgreSQL server for per-test databases (None on SQLite), made on first use."""
    global _POSTGRES
    if ON_POSTGRES and _POSTGRES is None:
        _POSTGRES = PostgresDatabases(TEST_DATABASE_URL)
    return _POSTGRES


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases | None]:
    databases = _postgres()
    yield databases
    if databases is not None:
        databases.drop_all()


def new_database(tmp: Path, postgres: PostgresDatabases | None, template: DatabaseTemplate | None = None) -> str:
    """A fresh database (a copy of ``template`` if given) for one app; returns its URI."""
    if postgres is not None:
        source = make_url(template.uri).database if template else None
        return postgres.uri(postgres.create(source))
    db_file = tmp / "app.sqlite3"
    if template is not None:
        shutil.copy(template.file, db_file)
    return _database_uri(db_file)


def drop_database(uri: str, postgres: PostgresDatabases | None) -> None:
    if postgres is not None:
        postgres.drop(make_url(uri).database)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory, postgres) -> DatabaseTemplate:
    tmp = tmp_path_factory.mktemp("migrated")
    uri = new_database(tmp, postgres)
    app = create_app(make_config(tmp, uri))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return DatabaseTemplate(uri, file=None if postgres else tmp / "app.sqlite3")


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory, migrated_db, postgres) -> DatabaseTemplate:
    tmp = tmp_path_factory.mktemp("seeded")
    uri = new_database(tmp, postgres, migrated_db)
    app = create_app(make_config(tmp, uri))
    with app.app_context():
        report = load_seed(SEED_DIR)
        assert not report.errors, report.errors
        db.session.commit()
        get_index(app).catch_up()  # the index beside the template: tmp/index
        db.session.remove()
        db.engine.dispose()
    return DatabaseTemplate(uri, file=None if postgres else tmp / "app.sqlite3", index=tmp / "index")


class IsolatedClient(FlaskClient):
    """Runs each request in its own application context, as a server does.

    Tests hold an app context open for database access; without this, requests would share its
    ``g`` (and so the logged-in user and CSRF token) and its database session with the test.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():  # not inside a redirect that follow_redirects opened
            # End the test's transaction (a snapshot, in SQLite's WAL mode) so that it sees what the
            # request committed. Tests commit their own changes before making requests.
            db.session.rollback()
        return response


def build_app(tmp_path: Path, template: DatabaseTemplate, **extra):
    """An app on a fresh copy of ``template`` (SQLite file or PostgreSQL database), with its index."""
    uri = new_database(tmp_path, _postgres(), template)
    if template.index is not None and template.index.exists():
        shutil.copytree(template.index, tmp_path / "index")
    app = create_app(make_config(tmp_path, uri, **extra))
    app.test_client_class = IsolatedClient
    return app


def _app(tmp_path: Path, template: DatabaseTemplate, **extra):
    app = build_app(tmp_path, template, **extra)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    drop_database(app.config["SQLALCHEMY_DATABASE_URI"], _postgres())


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
