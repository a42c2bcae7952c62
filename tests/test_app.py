"""The app factory and configuration."""

import os
import stat

from directory import create_app
from directory.extensions import db


def test_defaults_use_files_under_the_instance_folder(tmp_path, monkeypatch):
    for key in ("DATABASE_URL", "SECRET_KEY", "SEARCH_INDEX_DIR"):
        monkeypatch.delenv(key, raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inst' / 'lianjie.sqlite3'}"
    assert app.config["SEARCH_INDEX_DIR"] == str(tmp_path / "inst" / "search-index")
    secret_file = tmp_path / "inst" / "secret_key"
    assert app.config["SECRET_KEY"] == secret_file.read_text()
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    # The same installation keeps its key across restarts.
    assert create_app({"INSTANCE_PATH": str(tmp_path / "inst")}).config["SECRET_KEY"] == app.config["SECRET_KEY"]
    assert app.config["BABEL_DEFAULT_LOCALE"] == "zh"


def test_environment_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("SEARCH_INDEX_DIR", str(tmp_path / "idx"))
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("other.db")
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["SEARCH_INDEX_DIR"] == str(tmp_path / "idx")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "inst" / "secret_key").exists()


def test_instance_config_file_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("PER_PAGE", raising=False)
    inst = tmp_path / "inst"
    inst.mkdir()
    (inst / "config.py").write_text("PER_PAGE = 7\n")
    assert create_app({"INSTANCE_PATH": str(inst)}).config["PER_PAGE"] == 7


def test_migrations_create_every_model_table(app):
    from sqlalchemy import inspect

    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrations_match_the_models(app):
    """A model change without a migration fails here (the next upgrade would need a wipe)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_cli_commands_are_registered(app):
    result = app.test_cli_runner().invoke(args=["--help"])
    for command in ("seed", "create-user", "db"):
        assert command in result.output
