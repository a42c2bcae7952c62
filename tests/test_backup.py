"""`flask backup` / `flask restore`: a restore gives back exactly the rows of the backup."""

from __future__ import annotations

from directory.backup import row_counts
from directory.catalog.services import local_today
from directory.extensions import db
from directory.referrals import services
from directory.referrals.seed import load_demo_clients
from tests.conftest import SEED_DIR


def test_backup_then_restore_gives_identical_row_counts(seeded_app, make_user, tmp_path):
    make_user("caseworker", username="demo-caseworker")
    assert load_demo_clients(SEED_DIR / "clients.yaml", [], local_today()) == 5
    db.session.commit()
    at_backup = row_counts()
    assert at_backup["client"] == 5 and at_backup["outreach_attempt"] > 0

    runner = seeded_app.test_cli_runner()
    target = tmp_path / "backup.sqlite3"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_mode & 0o077 == 0  # only the owner may read client records

    # Work goes on after the backup …
    owner = make_user("caseworker")
    services.create_client(owner, {"display_name": "备份之后"}, {})
    db.session.commit()
    assert row_counts()["client"] == 6

    # … and the restore brings back the backup exactly, with a search index that matches.
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    assert row_counts() == at_backup
    check = runner.invoke(args=["search-check"])
    assert check.exit_code == 0, check.output


def test_restore_refuses_a_file_that_is_not_a_backup(seeded_app, tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database", encoding="utf-8")
    before = row_counts()
    result = seeded_app.test_cli_runner().invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code != 0
    reasons = ("not a SQLite backup", "not a sound", "does not appear to be a valid archive")  # SQLite, PostgreSQL
    assert any(reason in result.output for reason in reasons), result.output
    assert row_counts() == before
