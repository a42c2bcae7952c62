"""Files holding client records or secrets are created readable by their owner only (0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from directory import create_app
from directory.extensions import db
from tests.conftest import ON_POSTGRES, make_config


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The usual umask (022) that makes new files world-readable, whatever the test runner's is."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite files")
def test_database_wal_shm_secret_key_and_backup_are_private(tmp_path, open_umask):
    database = tmp_path / "data" / "fresh.sqlite3"
    database.parent.mkdir()
    config = make_config(tmp_path, database)
    del config["SECRET_KEY"]  # generated into instance/secret_key
    app = create_app(config)
    with app.app_context():
        upgrade()
        db.session.execute(text("CREATE TABLE probe (x INTEGER)"))
        db.session.execute(text("INSERT INTO probe VALUES (1)"))
        db.session.commit()
        connection = db.engine.connect()  # keeps the -wal and -shm files in place
        try:
            wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
            assert wal.exists() and shm.exists()
            for path in (database, wal, shm, Path(app.instance_path) / "secret_key"):
                assert _mode(path) == 0o600, (path.name, oct(_mode(path)))

            target = tmp_path / "backups" / "copy.sqlite3"
            result = app.test_cli_runner().invoke(args=["backup", str(target)])
            assert result.exit_code == 0, result.output
            assert _mode(target) == 0o600
        finally:
            connection.close()
            db.session.remove()
            db.engine.dispose()


def test_backup_file_is_private_from_its_creation(tmp_path, open_umask, app):
    """Not world-readable even while the backup is being written (no chmod after the fact)."""
    from directory.backup import backup_to

    if ON_POSTGRES:
        pytest.skip("pg_dump may be missing; the file is created the same way")
    target = tmp_path / "direct" / "copy.sqlite3"
    backup_to(target)
    assert _mode(target) == 0o600


def test_existing_secret_key_is_read_back(tmp_path, open_umask):
    config = make_config(tmp_path, tmp_path / "db.sqlite3")
    del config["SECRET_KEY"]
    first = create_app(config).config["SECRET_KEY"]
    assert create_app(config).config["SECRET_KEY"] == first
    assert _mode(Path(config["INSTANCE_PATH"]) / "secret_key") == 0o600
