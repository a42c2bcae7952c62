"""`flask backup` and `flask restore`: a consistent copy of the database, and putting one back.

SQLite uses the online backup API, so the app may keep serving while a backup runs. PostgreSQL uses
``pg_dump --format=custom`` and ``pg_restore --clean`` (both must be on PATH; see docs/operations.md).
The search index is not backed up: it is rebuilt from the restored database.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import make_url

from directory.extensions import db
from directory.files import PRIVATE_FILE_MODE, create_private_file


class BackupError(RuntimeError):
    pass


def _url():
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _sqlite_path() -> Path:
    database = _url().database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _pg_env_and_args() -> tuple[dict, list[str]]:
    """libpq settings for pg_dump/pg_restore from DATABASE_URL (the password goes in the environment)."""
    import os

    url = _url()
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    args = ["--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    return env, args


def _require(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise BackupError(f"{tool} is not on PATH; install the PostgreSQL client tools")
    return found


def backup_to(target: Path) -> Path:
    """Write a consistent copy of the database to ``target`` (a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not create_private_file(target):  # client records: 0600 from the first byte (pg_dump keeps the mode)
        target.chmod(PRIVATE_FILE_MODE)
    backend = _url().get_backend_name()
    if backend == "sqlite":
        source = sqlite3.connect(_sqlite_path())
        dest = sqlite3.connect(target)
        try:
            with dest:
                source.backup(dest, pages=1024)
        finally:
            dest.close()
            source.close()
    elif backend == "postgresql":
        env, args = _pg_env_and_args()
        cmd = [_require("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), *args]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (argument list, no shell)
        if result.returncode:
            raise BackupError(result.stderr.strip() or "pg_dump failed")
    else:
        raise BackupError(f"backups of {backend} databases are not supported")
    return target


def restore_from(source: Path) -> None:
    """Replace the database's contents with the backup in ``source``."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    backend = _url().get_backend_name()
    db.session.remove()
    db.engine.dispose()  # no pooled connection may keep the old pages or a lock
    if backend == "sqlite":
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is not a sound SQLite database")
            dest = sqlite3.connect(_sqlite_path(), timeout=30)
            try:
                with dest:
                    src.backup(dest)
            finally:
                dest.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a SQLite backup: {exc}") from exc
        finally:
            src.close()
    elif backend == "postgresql":
        env, args = _pg_env_and_args()
        cmd = [
            _require("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            *args,
            str(source),
        ]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (argument list, no shell)
        if result.returncode:
            raise BackupError(result.stderr.strip() or "pg_restore failed")
    else:
        raise BackupError(f"restoring {backend} databases is not supported")


def row_counts() -> dict[str, int]:
    """Rows per table, for checking a restore."""
    names = sorted(inspect(db.engine).get_table_names())
    return {name: db.session.scalar(select(text("count(*)")).select_from(text(f'"{name}"'))) for name in names}


def default_backup_path() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "sqlite3" if _url().get_backend_name() == "sqlite" else "pgdump"
    return Path(current_app.instance_path) / "backups" / f"lianjie-{stamp}.{suffix}"


@click.command("backup")
@click.argument("target", required=False, type=click.Path(dir_okay=False, path_type=Path))
def backup_command(target: Path | None) -> None:
    """Write a consistent copy of the database to TARGET (default: instance/backups/lianjie-<time>).

    SQLite: online backup, safe while the app runs. PostgreSQL: pg_dump in its custom format.
    """
    try:
        written = backup_to(target or default_backup_path())
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    written.chmod(0o600)  # client records: readable by the owner only
    click.echo(f"Backup written to {written}.")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--no-reindex", is_flag=True, help="Leave the search index alone (run `flask reindex` later).")
def restore_command(source: Path, yes: bool, no_reindex: bool) -> None:
    """Replace the whole database with the backup in SOURCE, then rebuild the search index.

    Stop the app servers first: everything written since the backup is lost.
    """
    if not yes:
        click.confirm("This replaces every row in the database with the backup. Continue?", abort=True)
    try:
        restore_from(source)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    counts = row_counts()
    click.echo(f"Restored {sum(counts.values())} rows in {len(counts)} tables from {source}.")
    if not no_reindex:
        from directory.search.index import get_index

        count = get_index().rebuild()
        click.echo(f"Search index rebuilt: {count} document(s).")
