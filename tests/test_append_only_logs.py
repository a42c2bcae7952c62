"""The append-only logs below the app: no REPLACE (SQLite) or TRUNCATE (PostgreSQL), a hash chain that
`flask audit-verify` walks, and `flask restore` that refuses a file it cannot trust before touching
anything."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from directory.accounts.audit import AuditEvent, audit
from directory.backup import row_counts
from directory.catalog.services import local_today
from directory.extensions import db
from directory.referrals.models import Attempt
from directory.referrals.seed import load_demo_clients
from tests.conftest import SEED_DIR


def _on_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


@pytest.fixture
def logs(seeded_app, make_user):
    """Demo clients with their referrals, attempts (refusals among them) and audit rows."""
    make_user("caseworker", username="demo-caseworker")
    assert load_demo_clients(SEED_DIR / "clients.yaml", [], local_today(), demo=False) == 5  # real: chained
    audit("view", "client", "c-1", "c-1")
    db.session.commit()
    refusal = db.session.scalars(select(Attempt).where(Attempt.outcome == "refused").order_by(Attempt.id)).first()
    assert refusal is not None and db.session.scalar(select(func.count()).select_from(AuditEvent)) > 0
    return refusal


def _below_the_app(*statements: str) -> None:
    """Run statements as someone with the database's own role would: triggers taken off and put back."""
    tables = ("audit_event", "outreach_attempt")
    with db.engine.begin() as conn:
        if _on_sqlite():
            saved = conn.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name IN ('audit_event', 'outreach_attempt')"
                )
            ).all()
            for name, _ in saved:
                conn.execute(text(f"DROP TRIGGER {name}"))
        else:
            for table in tables:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        for statement in statements:
            conn.execute(text(statement))
        if _on_sqlite():
            for _, sql in saved:
                conn.execute(text(sql))
        else:
            for table in tables:
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    db.session.rollback()


# --- REPLACE and TRUNCATE --------------------------------------------------------------------------------


def test_insert_or_replace_cannot_rewrite_a_log_row_on_sqlite(seeded_app, logs):
    if not _on_sqlite():
        pytest.skip("INSERT OR REPLACE is SQLite's")
    refusal = logs
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).first()
    path = make_url(seeded_app.config["SQLALCHEMY_DATABASE_URI"]).database
    conn = sqlite3.connect(path, timeout=30)  # any connection: the sqlite3 shell, another program
    try:
        attacks = [
            (
                "INSERT OR REPLACE INTO audit_event (id, at, action, object_type) VALUES (?, '2025-01-01', 'x', 'x')",
                (event.id,),
            ),
            ("REPLACE INTO audit_event (id, at, action, object_type) VALUES (?, '2025-01-01', 'x', 'x')", (event.id,)),
            (
                "INSERT OR REPLACE INTO outreach_attempt (id, referral_id, number, occurred_at, recorded_at, actor_id, "
                "channel, party, outcome) SELECT id, referral_id, number, occurred_at, recorded_at, actor_id, channel, "
                "party, 'accepted' FROM outreach_attempt WHERE id = ?",
                (refusal.id,),
            ),
            (  # another id, the same referral and number: REPLACE would delete the refusal in its way
                "INSERT OR REPLACE INTO outreach_attempt (id, referral_id, number, occurred_at, recorded_at, actor_id, "
                "channel, party, outcome) SELECT 'forged', referral_id, number, occurred_at, recorded_at, actor_id, "
                "channel, party, 'accepted' FROM outreach_attempt WHERE id = ?",
                (refusal.id,),
            ),
        ]
        for statement, parameters in attacks:
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement, parameters)
            conn.rollback()
    finally:
        conn.close()
    db.session.expire_all()
    assert db.session.get(Attempt, refusal.id).outcome == "refused"
    assert db.session.get(AuditEvent, event.id).action == event.action
    assert db.session.get(Attempt, "forged") is None


def test_truncate_is_refused_on_postgresql(seeded_app, logs):
    if _on_sqlite():
        pytest.skip("SQLite has no TRUNCATE")
    before = row_counts()
    for statement in ("TRUNCATE audit_event", "TRUNCATE outreach_attempt CASCADE", 'TRUNCATE "user" CASCADE'):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert row_counts() == before


# --- the hash chain ---------------------------------------------------------------------------------------


def test_audit_verify_passes_an_untouched_log_and_names_the_first_changed_row(seeded_app, logs):
    refusal = logs
    runner = seeded_app.test_cli_runner()
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 0, result.output
    assert "audit_event:" in result.output and "outreach_attempt:" in result.output
    assert "chain intact" in result.output

    # Someone who owns the tables turns a logged refusal into an acceptance below the app …
    _below_the_app(f"UPDATE outreach_attempt SET outcome = 'accepted' WHERE id = '{refusal.id}'")  # noqa: S608
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1
    assert f"outreach_attempt: the row at chain position {refusal.chain_seq} (id {refusal.id})" in result.output


def test_audit_verify_notices_a_removed_row_and_rows_cut_off_the_end(seeded_app, logs):
    first, second, *_, last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.chain_seq)).all()
    runner = seeded_app.test_cli_runner()
    _below_the_app(f"DELETE FROM audit_event WHERE id = {last.id}")  # noqa: S608
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1 and "rows were removed from the end" in result.output
    _below_the_app(f"DELETE FROM audit_event WHERE id = {second.id}")  # noqa: S608
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1 and "audit_event: the row at chain position 2 is missing" in result.output


def test_rows_added_around_the_app_are_reported(seeded_app, logs):
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_event (at, action, object_type) VALUES (CURRENT_TIMESTAMP, 'view', 'x')"))
    result = seeded_app.test_cli_runner().invoke(args=["audit-verify"])
    assert result.exit_code == 1 and "outside the hash chain" in result.output


# --- restore ----------------------------------------------------------------------------------------------


def _restore(app, path, *extra):
    return app.test_cli_runner().invoke(args=["restore", str(path), "--yes", "--no-reindex", *extra])


def _foreign_backup(tmp_path, postgres) -> str:
    """A database file of some other program: a table or two, no Lianjie migration record."""
    if _on_sqlite():
        path = tmp_path / "other.sqlite3"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('hello')")
        conn.commit()
        conn.close()
        return path
    name = postgres.create()
    uri = postgres.uri(name)
    engine = create_engine(uri, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id serial PRIMARY KEY, body text)"))
    engine.dispose()
    path = tmp_path / "other.pgdump"
    url = make_url(uri)
    env = {"PGPASSWORD": url.password or ""}
    subprocess.run(  # noqa: S603
        [
            shutil.which("pg_dump") or "pg_dump",
            "--format=custom",
            "--file",
            str(path),
            "--host",
            url.host,
            "--port",
            str(url.port or 5432),
            "--username",
            url.username,
            url.database,
        ],
        check=True,
        env={**os.environ, **env},
    )
    postgres.drop(name)
    return path


def test_restore_refuses_a_database_that_is_not_lianjie_and_changes_nothing(seeded_app, logs, tmp_path, postgres):
    before = row_counts()
    result = _restore(seeded_app, _foreign_backup(tmp_path, postgres))
    assert result.exit_code != 0
    assert "is not a Lianjie database" in result.output and "Nothing was changed" in result.output
    assert row_counts() == before


def test_restore_refuses_a_backup_whose_logs_were_doctored_unless_forced(seeded_app, logs, tmp_path):
    refusal = logs
    runner = seeded_app.test_cli_runner()
    good = tmp_path / "good.backup"
    assert runner.invoke(args=["backup", str(good)]).exit_code == 0
    _below_the_app(f"UPDATE outreach_attempt SET outcome = 'accepted' WHERE id = '{refusal.id}'")  # noqa: S608
    doctored = tmp_path / "doctored.backup"
    assert runner.invoke(args=["backup", str(doctored)]).exit_code == 0
    _below_the_app(f"UPDATE outreach_attempt SET outcome = 'refused' WHERE id = '{refusal.id}'")  # noqa: S608
    audit("view", "client", "after-backup")  # work goes on after the backups
    db.session.commit()
    before = row_counts()

    result = _restore(seeded_app, doctored)
    assert result.exit_code != 0
    assert "failed the integrity check of its logs" in result.output
    assert f"(id {refusal.id}) does not match its hash" in result.output
    assert row_counts() == before  # nothing restored

    result = _restore(seeded_app, good)
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output
    assert row_counts()["audit_event"] == before["audit_event"] - 1

    result = _restore(seeded_app, doctored, "--force")
    assert result.exit_code == 0, result.output
    assert "Restoring it anyway" in result.output
    db.session.expire_all()
    assert db.session.get(Attempt, refusal.id).outcome == "accepted"


def test_restore_refuses_a_backup_from_before_the_chain_unless_forced(seeded_app, tmp_path, postgres):
    """A Lianjie database at an older migration this code knows: its logs cannot be checked."""
    from flask_migrate import upgrade

    from directory import create_app
    from tests.conftest import drop_database, make_config, new_database

    old_home = tmp_path / "old"
    old_home.mkdir()
    uri = new_database(old_home, postgres)
    old_app = create_app(make_config(old_home, uri))
    with old_app.app_context():
        upgrade(revision="7c1e5a9d3b20")
        backup = tmp_path / "old.backup"
        assert old_app.test_cli_runner().invoke(args=["backup", str(backup)]).exit_code == 0
        db.session.remove()
        db.engine.dispose()
    drop_database(uri, postgres)

    before = row_counts()
    result = _restore(seeded_app, backup)
    assert result.exit_code != 0
    assert "predates the hash chain" in result.output
    assert row_counts() == before
    result = _restore(seeded_app, backup, "--force")
    assert result.exit_code == 0, result.output
    assert "run `flask db upgrade`" in result.output
