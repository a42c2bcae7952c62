"""Migrations: a database made by the first migration upgrades to head with its data kept, and back."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from directory import create_app
from directory.extensions import db
from tests.conftest import make_config

FIRST = "15867853b0e7"


def test_first_migration_upgrades_to_head_with_data_kept(tmp_path):
    app = create_app(make_config(tmp_path, tmp_path / "old.sqlite3"))
    with app.app_context():
        upgrade(revision=FIRST)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organization (id, name, description, is_demo, created_at, updated_at) "
                    "VALUES ('org-1', '老机构', '升级前的数据', 0, '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO user (id, username, display_name, password_hash, role, active, session_token, "
                    "created_at) VALUES (1, 'old-worker', '老社工', 'x', 'caseworker', 1, 't', '2025-01-01 00:00:00')"
                )
            )
        assert "client" not in inspect(db.engine).get_table_names()

        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"client", "referral", "outreach_attempt", "audit_event", "search_change"} <= tables
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM organization WHERE id = 'org-1'")).scalar() == "老机构"
            assert conn.execute(text("SELECT username FROM user WHERE id = 1")).scalar() == "old-worker"
            triggers = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
        assert "outreach_attempt_no_update" in triggers

        downgrade(revision=FIRST)
        assert "client" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM organization WHERE id = 'org-1'")).scalar() == "老机构"
        upgrade()
        db.engine.dispose()
