"""`flask backup` and `flask restore`: a consistent copy of the database, and putting one back.

SQLite uses the online backup API, so the app may keep serving while a backup runs. PostgreSQL uses
``pg_dump --format=custom``, and ``pg_restore`` turning it into SQL that ``psql`` runs in one transaction
after dropping the live tables (all three must be on PATH; see docs/operations.md).
The search index is not backed up: it is rebuilt from the restored database.

A restore checks the backup first, without touching the database (``check_backup``): a Lianjie database at
a migration this code knows, with its append-only logs' triggers and hash chains intact
(``directory.logchain``). ``flask audit-verify`` runs the same chain check on the live database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import JSON, Date, Integer, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from directory.extensions import db
from directory.files import PRIVATE_FILE_MODE, create_private_file
from directory.logchain import CHAINS, DEMO_COLUMN, ChainReport, verify_connection, walk_chain
from directory.models_base import UTCDateTime
from directory.schema import SchemaState, includes, schema_problem, schema_state, state_from_revisions
from directory.search.index import get_index


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


CHAIN_REVISION = "a3f1c9e2b7d4"  # the migration that brought the hash chain and the REPLACE/TRUNCATE refusals
APPEND_ONLY_REVISION = "343f52565c0e"  # the append-only tables and their UPDATE/DELETE refusals
LOG_TABLES = ("outreach_attempt", "audit_event")


@dataclass
class BackupCheck:
    """What a backup holds, checked before anything of the live database is touched."""

    revision: str = ""
    up_to_date: bool = False
    refusal: str | None = None  # not a Lianjie database at a known migration: never restored
    log_problems: list[str] = field(default_factory=list)  # the logs' integrity: restored only with --force
    chains: list[ChainReport] = field(default_factory=list)
    checked_file: Path | None = None  # what to restore: the file that was checked


def _expected_triggers(state: SchemaState, backend: str) -> set[str]:
    names = set()
    if includes(state, APPEND_ONLY_REVISION):
        names |= {f"{table}_no_{verb}" for table in LOG_TABLES for verb in ("update", "delete")}
    if includes(state, CHAIN_REVISION):
        extra = "replace" if backend == "sqlite" else "truncate"
        names |= {f"{table}_no_{extra}" for table in LOG_TABLES}
    return names


def _judge(check: BackupCheck, state: SchemaState, backend: str, triggers: set[str], chains) -> BackupCheck:
    """Fill ``check`` from the backup's schema state, its trigger names and (a callable giving) its chains."""
    check.revision = ", ".join(sorted(state.current))
    check.up_to_date = state.up_to_date
    if state.empty or not state.current:
        check.refusal = "it is not a Lianjie database (no migration record)"
        return check
    if state.from_newer_code:
        check.refusal = f"it was made by a newer version of Lianjie (revision {check.revision}); update the code first"
        return check
    missing = _expected_triggers(state, backend) - triggers
    if missing:
        check.log_problems.append("the append-only logs lack their database triggers: " + ", ".join(sorted(missing)))
    if includes(state, CHAIN_REVISION):
        check.chains = chains()
        check.log_problems += [report.problem for report in check.chains if not report.ok]
    elif includes(state, APPEND_ONLY_REVISION):
        check.log_problems.append(
            f"it predates the hash chain over the logs (revision {check.revision}): their integrity cannot be checked"
        )
    return check


def _check_sqlite_backup(source: Path, scratch: Path) -> BackupCheck:
    """Copy the backup (opened read-only, with SQLite's backup API) into ``scratch`` and check the copy: the
    copy is what gets restored, so nothing can change between the check and the restore."""
    copy = scratch / "checked.sqlite3"
    create_private_file(copy)
    try:
        src = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is not a sound SQLite database")
            dest = sqlite3.connect(copy)
            try:
                with dest:
                    src.backup(dest)
            finally:
                dest.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a SQLite backup: {exc}") from exc
    engine = create_engine(f"sqlite:///{copy}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            state = schema_state(connection)
            triggers = set(
                connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
            )
            check = _judge(BackupCheck(), state, "sqlite", triggers, lambda: verify_connection(connection))
    finally:
        engine.dispose()
    check.checked_file = copy
    return check


def _pg_restore_output(source: Path, *args: str) -> str:
    cmd = [_require("pg_restore"), *args, str(source)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 (argument list, no shell)
    if result.returncode:
        raise BackupError(result.stderr.strip() or "pg_restore failed")
    return result.stdout


_COPY_SIMPLE = {ord("b"): 8, ord("f"): 12, ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("v"): 11}


def _copy_field(raw: str) -> str | None:
    """One field of PostgreSQL's COPY text format (backslash escapes; a backslash and N is NULL)."""
    if raw == "\\N":
        return None
    if "\\" not in raw:
        return raw
    data, out, i = raw.encode("utf-8"), bytearray(), 0
    while i < len(data):
        byte = data[i]
        if byte != 0x5C or i + 1 == len(data):
            out.append(byte)
            i += 1
            continue
        nxt = data[i + 1]
        hex_digits = re.match(rb"[0-9a-fA-F]{1,2}", data[i + 2 :]) if nxt == ord("x") else None
        if nxt in _COPY_SIMPLE:
            out.append(_COPY_SIMPLE[nxt])
            i += 2
        elif hex_digits:
            out.append(int(hex_digits.group(), 16))
            i += 2 + len(hex_digits.group())
        elif 0x30 <= nxt <= 0x37:
            digits = re.match(rb"[0-7]{1,3}", data[i + 1 :]).group()
            out.append(int(digits, 8) & 0xFF)
            i += 1 + len(digits)
        else:
            out.append(nxt)
            i += 2
    return out.decode("utf-8")


def _copy_rows(dump: str, table_name: str) -> list[dict[str, str | None]]:
    """The rows of ``table_name`` in pg_restore's SQL output, as text (COPY … FROM stdin)."""
    rows: list[dict[str, str | None]] = []
    lines = iter(dump.split("\n"))
    for line in lines:
        match = re.match(r"COPY (?:\w+\.)?\"?(\w+)\"? \((.*)\) FROM stdin;", line)
        if not match or match.group(1) != table_name:
            continue
        names = [name.strip().strip('"') for name in match.group(2).split(",")]
        for data in lines:
            if data == "\\.":
                break
            rows.append(dict(zip(names, [_copy_field(value) for value in data.split("\t")], strict=True)))
    return rows


def _typed(value: str | None, type_) -> object:
    if value is None:
        return None
    if isinstance(type_, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(type_, Date):
        return date.fromisoformat(value)
    if isinstance(type_, Integer):
        return int(value)
    if isinstance(type_, JSON):
        return json.loads(value)
    return value


def _pg_chains(source: Path) -> list[ChainReport]:
    heads = {
        row["name"]: (int(row["seq"]), row["hash"])
        for row in _copy_rows(_pg_restore_output(source, "--data-only", "--table=log_chain", "--file=-"), "log_chain")
    }
    reports = []
    for chain, types in CHAINS.items():
        dump = _pg_restore_output(source, "--data-only", f"--table={chain}", "--file=-")
        rows, unchained, demo_rows = [], [], 0
        demo_name = DEMO_COLUMN.get(chain)
        for raw in _copy_rows(dump, chain):
            row = {name: _typed(raw.get(name), type_) for name, type_ in types.items()}
            row["id"] = raw["id"]
            row["chain_hash"] = raw.get("chain_hash")
            if raw.get("chain_seq") is None:
                if demo_name and raw.get(demo_name) == "t":  # demo rows stay outside the chain (as verify_connection)
                    demo_rows += 1
                else:
                    unchained.append(raw["id"])
                continue
            row["chain_seq"] = int(raw["chain_seq"])
            rows.append(row)
        rows.sort(key=lambda row: row["chain_seq"])
        report = walk_chain(chain, rows, sorted(unchained), heads.get(chain))
        report.demo_rows = demo_rows
        if chain not in heads and report.ok:
            report.problem = f"{chain}: the log_chain table has no head for this chain"
        reports.append(report)
    return reports


def _check_pg_backup(source: Path) -> BackupCheck:
    toc = _pg_restore_output(source, "--list")
    tables, triggers = set(), set()
    for line in toc.splitlines():
        parts = line.split()
        if line.startswith(";") or len(parts) < 6:
            continue
        if parts[3] == "TABLE" and parts[4] != "DATA":
            tables.add(parts[5])
        elif parts[3] == "TRIGGER" and len(parts) >= 7:
            triggers.add(parts[6])
    current: set[str] = set()
    if "alembic_version" in tables:
        dump = _pg_restore_output(source, "--data-only", "--table=alembic_version", "--file=-")
        current = {row["version_num"] for row in _copy_rows(dump, "alembic_version") if row["version_num"]}
    state = state_from_revisions(current, bool(tables))
    check = _judge(BackupCheck(), state, "postgresql", triggers, lambda: _pg_chains(source))
    check.checked_file = source
    return check


def check_backup(source: Path, scratch: Path) -> BackupCheck:
    """Read the backup in ``source`` (never writing to it, nor to the live database) and say what it holds:
    whether it is a Lianjie database at a migration this code knows, and whether its logs are intact.
    ``scratch``: a private directory for a copy to check (SQLite)."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    backend = _url().get_backend_name()
    if backend == "sqlite":
        return _check_sqlite_backup(source, scratch)
    if backend == "postgresql":
        return _check_pg_backup(source)
    raise BackupError(f"restoring {backend} databases is not supported")


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
        # The live database may hold tables the backup does not (a backup from an older migration), whose
        # foreign keys would keep pg_restore --clean from dropping the tables they point at: drop every
        # live table first, then run the backup's SQL, all in one transaction (psql --single-transaction).
        env, args = _pg_env_and_args()
        live = inspect(db.engine).get_table_names()
        db.engine.dispose()
        preamble = "DROP TABLE IF EXISTS " + ", ".join(f'"{name}"' for name in live) + " CASCADE;\n" if live else ""
        sql = _pg_restore_output(source, "--clean", "--if-exists", "--no-owner", "--file=-")
        cmd = [_require("psql"), "--no-psqlrc", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1", *args]
        result = subprocess.run(cmd, input=preamble + sql, env=env, capture_output=True, text=True, check=False)  # noqa: S603 (argument list, no shell)
        if result.returncode:
            raise BackupError(result.stderr.strip() or "the restore failed")
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


def _chain_lines(reports: list[ChainReport]) -> list[str]:
    return [f"  {r.chain}: {r.rows} row(s), chain intact, head {r.head_hash}" for r in reports if r.ok]


def _checked(source: Path, scratch: Path, force: bool) -> BackupCheck:
    """Check the backup before the database is touched; refuse (ClickException) what must not be restored."""
    try:
        check = check_backup(source, scratch)
    except BackupError as exc:
        raise click.ClickException(f"{exc}. Nothing was changed.") from exc
    if check.refusal:
        raise click.ClickException(f"{source} cannot be restored: {check.refusal}. Nothing was changed.")
    if check.log_problems:
        listed = "\n".join(f"  - {problem}" for problem in check.log_problems)
        if not force:
            raise click.ClickException(
                f"{source} failed the integrity check of its logs:\n{listed}\n"
                "Nothing was changed. If you must restore it all the same, run again with --force."
            )
        click.echo(
            f"Warning: {source} failed the integrity check of its logs:\n{listed}\nRestoring it anyway (--force)."
        )
    else:
        lines = [f"{source}: a Lianjie database at revision {check.revision}; its logs:", *_chain_lines(check.chains)]
        click.echo("\n".join(lines))
    return check


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--no-reindex", is_flag=True, help="Leave the search index alone (run `flask reindex` later).")
@click.option("--force", is_flag=True, help="Restore even when the backup's logs fail their integrity check.")
def restore_command(source: Path, yes: bool, no_reindex: bool, force: bool) -> None:
    """Replace the whole database with the backup in SOURCE, then rebuild the search index.

    The backup is checked first, without touching the database: it must be a Lianjie database at a
    migration this code knows, and its audit log and outreach attempts must pass their hash chain check
    (the same as `flask audit-verify`; --force restores a backup that fails it). Stop the app servers
    first: everything written since the backup is lost.
    """
    with tempfile.TemporaryDirectory(prefix="lianjie-restore-") as scratch:
        check = _checked(source, Path(scratch), force)
        if not yes:
            click.confirm("This replaces every row in the database with the backup. Continue?", abort=True)
        try:
            restore_from(check.checked_file or source)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
    counts = row_counts()
    click.echo(f"Restored {sum(counts.values())} rows in {len(counts)} tables from {source}.")
    if not check.up_to_date:
        click.echo(
            f"The backup is at revision {check.revision}, older than the code: "
            "run `flask db upgrade`, then `flask reindex`."
        )
        return
    with db.engine.connect() as connection:  # the restored logs, as `flask audit-verify` checks them
        restored = verify_connection(connection)
    for report in restored:
        click.echo(f"{report.chain}: {report.problem}" if not report.ok else _chain_lines([report])[0].strip())
    if not no_reindex:
        count = get_index().rebuild()
        click.echo(f"Search index rebuilt: {count} document(s).")


@click.command("audit-verify")
def audit_verify_command() -> None:
    """Walk the hash chains of the audit log and the outreach attempts; exit 1 at the first broken link.

    Prints each chain's head: keep it where the database's users cannot write; a later head must extend it.
    """
    state = schema_state()
    if not includes(state, CHAIN_REVISION) or state.from_newer_code:
        raise click.ClickException(schema_problem(state) or "The database has no hash chain.")
    with db.engine.connect() as connection:
        reports = verify_connection(connection)
    for report in reports:
        if report.ok:
            demo = f", {report.demo_rows} demo row(s) outside it" if report.demo_rows else ""
            click.echo(f"{report.chain}: {report.rows} row(s), chain intact{demo}, head {report.head_hash}")
        else:
            click.echo(f"BROKEN {report.problem}", err=True)
    if not all(report.ok for report in reports):
        raise SystemExit(1)
