"""Migrations: a database made by the first migration upgrades to head with its data kept, and back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from directory import create_app
from directory.extensions import db
from tests.conftest import drop_database, make_config, new_database

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


HSDS_LEFTOVERS = "65d96157aed6"  # location without organization, long documents, recurring schedules


def _insert(conn, table: str, **values) -> None:
    """Insert a row into a table as the database has it now (reflected: no model of a later revision)."""
    from sqlalchemy import MetaData, Table

    conn.execute(Table(table, MetaData(), autoload_with=conn).insert().values(**values))


@contextmanager
def _just_before(revision: str, tmp_path, postgres) -> Iterator[str]:
    """A fresh database (SQLite, or PostgreSQL when the suite runs there) upgraded to the revision before
    ``revision``, inside the app context; yields that earlier revision, and afterwards upgrades to head
    and drops the database."""
    uri = new_database(tmp_path, postgres)
    app = create_app(make_config(tmp_path, uri))
    with app.app_context():
        config = current_app.extensions["migrate"].migrate.get_config()
        before = ScriptDirectory.from_config(config).get_revision(revision).down_revision
        upgrade(revision=before)
        yield before
        upgrade()
        db.session.remove()
        db.engine.dispose()
    drop_database(uri, postgres)


def _location(**fields) -> dict:
    """A location row: a physical place in 天河区, Guangzhou, unless ``fields`` say otherwise."""
    row = dict(
        location_type="physical",
        name="站点",
        district="天河区",
        city="广州市",
        state_province="广东省",
        country="CN",
        active=True,
        is_demo=False,
        version=1,
    )
    return {**row, **fields}


def _insert_catalog(conn, now) -> None:
    """An organization with one location and one service (ids org-1, loc-1, svc-1)."""
    _insert(
        conn, "organization", id="org-1", name="机构", description="", is_demo=False, created_at=now, updated_at=now
    )
    _insert(conn, "location", **_location(id="loc-1", organization_id="org-1"))
    _insert(
        conn,
        "service",
        id="svc-1",
        organization_id="org-1",
        name="服务",
        description="",
        status="active",
        eligibility_rules="[]",
        accepting_referrals=True,
        is_demo=False,
        last_modified=now,
        version=1,
    )


def test_hsds_leftovers_migration_keeps_the_hours_and_downgrades_with_care(tmp_path, postgres, capfd):
    """Upgrading keeps weekly hours as weekly; downgrading refuses while a location has no organization,
    shortens long documents and drops the hours the old schema cannot hold. On PostgreSQL too."""
    from datetime import date, datetime, time

    import pytest

    with _just_before(HSDS_LEFTOVERS, tmp_path, postgres) as before:
        now = datetime(2025, 1, 1)
        with db.engine.begin() as conn:
            _insert_catalog(conn, now)
            _insert(
                conn, "schedule", id="sch-1", service_id="svc-1", byday="MO,TU", opens_at=time(9), closes_at=time(17)
            )
            _insert(conn, "required_document", id="doc-1", service_id="svc-1", document="身份证")

        upgrade(revision=HSDS_LEFTOVERS)
        with db.engine.begin() as conn:
            row = conn.execute(text('SELECT freq, "interval", wkst, bymonthday, dtstart, byday FROM schedule')).one()
            assert tuple(row) == ("WEEKLY", 1, "MO", None, None, "MO,TU")
            assert conn.execute(text("SELECT organization_id FROM location")).scalar() == "org-1"
            _insert(conn, "location", **_location(id="loc-2", name="市民中心", district="越秀区"))  # no organization
            _insert(
                conn,
                "change_record",
                changed_at=now,
                entity_type="location",
                entity_id="loc-2",
                action="update",
                field="name",
            )
            _insert(conn, "required_document", id="doc-2", service_id="svc-1", document="长" * 500)
            _insert(
                conn,
                "schedule",
                id="sch-2",
                service_id="svc-1",
                freq="MONTHLY",
                byday="1MO",
                opens_at=time(9),
                closes_at=time(12),
            )
            _insert(
                conn,
                "schedule",
                id="sch-3",
                service_id="svc-1",
                freq="WEEKLY",
                interval=2,
                byday="FR",
                dtstart=date(2026, 1, 2),
                opens_at=time(9),
                closes_at=time(12),
            )

        with pytest.raises(SystemExit):  # flask-migrate logs the reason and exits 1
            downgrade(revision=before)
        assert "1 location(s) and 1 change record(s) have no organization" in capfd.readouterr().err
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE location SET organization_id = 'org-1' WHERE id = 'loc-2'"))
            conn.execute(text("UPDATE change_record SET organization_id = 'org-1'"))
        downgrade(revision=before)
        with db.engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(text("SELECT id, byday FROM schedule"))] == [("sch-1", "MO,TU")]
            documents = dict(conn.execute(text("SELECT id, document FROM required_document")).all())
        assert documents == {"doc-1": "身份证", "doc-2": "长" * 199 + "…"}


def _insert_client_with_need(conn, now, need_status: str) -> None:
    """Caseworker 7 ("cw"), her client cl-1 and the client's need n-1 (methadone), as rows."""
    user = dict(password_hash="x", role="caseworker", active=True, session_token="t", created_at=now)
    _insert(conn, "user", id=7, username="cw", display_name="社工", **user)
    client = dict(display_name="A", district="越秀区", facts={}, created_at=now, updated_at=now, version=1)
    _insert(conn, "client", id="cl-1", owner_id=7, **client)
    need = dict(client_id="cl-1", category="methadone-clinic", goal="g", status=need_status, created_at=now)
    _insert(conn, "need", id="n-1", **need)


def _insert_referral(conn, now, status: str, attempts: int, refused_first: bool, need_status: str) -> None:
    """Referral r-1 of client cl-1's need n-1 to svc-1, with the facts the reports read."""
    _insert(
        conn,
        "referral",
        id="r-1",
        client_id="cl-1",
        need_id="n-1",
        service_id="svc-1",
        organization_id="org-1",
        created_by_id=7,
        created_at=now,
        last_activity_at=now,
        status=status,
        attempt_count=attempts,
        refused_before_delivery=refused_first,
        category="methadone-clinic",
        need_status=need_status,
        caseworker_id=7,
        district="越秀区",
    )


REPORT_FACTS = "2437606cd87b"  # reports read the referral alone: cached attempt facts, referral_refusal


def test_report_facts_migration_fills_the_referral_and_its_standing_refusals(tmp_path, postgres):
    """Existing referrals get their dimensions and attempt facts, and their standing refusals (a corrected
    refusal left out), as record_attempt would keep them. On PostgreSQL too."""
    from datetime import datetime, timedelta

    with _just_before(REPORT_FACTS, tmp_path, postgres) as before:
        now = datetime(2025, 3, 1, 2, 0)
        with db.engine.begin() as conn:
            _insert_catalog(conn, now)
            _insert_client_with_need(conn, now, need_status="met")
            common = dict(
                client_id="cl-1",
                need_id="n-1",
                service_id="svc-1",
                organization_id="org-1",
                created_by_id=7,
                created_at=now,
                last_activity_at=now,
            )
            _insert(conn, "referral", id="r-1", location_id=None, status="delivered", attempt_count=3, **common)
            _insert(conn, "referral", id="r-2", location_id="loc-1", status="sent", attempt_count=0, **common)

            def attempt(number, hours, outcome, corrects=None, **extra):
                _insert(
                    conn,
                    "outreach_attempt",
                    id=f"a-{number}",
                    referral_id="r-1",
                    number=number,
                    occurred_at=now + timedelta(hours=hours),
                    recorded_at=now,
                    actor_id=7,
                    channel="phone",
                    party="provider",
                    outcome=outcome,
                    corrects_id=corrects,
                    **extra,
                )

            attempt(1, 1, "refused", refused_by="provider", refusal_reason="no_capacity")
            attempt(2, 2, "refused", refused_by="family", refusal_reason="cost")
            attempt(3, 2, "no_answer", corrects="a-2")  # the family's refusal was a mistake
            attempt(4, 3, "accepted")
            attempt(5, 4, "service_delivered")

        upgrade(revision=REPORT_FACTS)
        with db.engine.connect() as conn:
            rows = {
                r.id: r
                for r in conn.execute(
                    text(
                        "SELECT id, category, need_status, caseworker_id, district, delivered_at_attempt, "
                        "refused_before_delivery, accepted_at IS NOT NULL AS accepted, "
                        "delivered_at IS NOT NULL AS delivered FROM referral"
                    )
                )
            }
            one, two = rows["r-1"], rows["r-2"]
            assert (one.category, one.need_status, one.caseworker_id, one.district) == (
                "methadone-clinic",
                "met",
                7,
                "越秀区",
            )
            assert two.district == "天河区"  # its location's
            assert (
                one.delivered_at_attempt,
                bool(one.refused_before_delivery),
                bool(one.accepted),
                bool(one.delivered),
            ) == (4, True, True, True)
            assert (two.delivered_at_attempt, bool(two.refused_before_delivery), bool(two.accepted)) == (
                None,
                False,
                False,
            )
            refusals = conn.execute(
                text("SELECT attempt_id, refused_by, service_id, category, district FROM referral_refusal")
            ).all()
            assert [tuple(r) for r in refusals] == [("a-1", "provider", "svc-1", "methadone-clinic", "越秀区")]

        downgrade(revision=before)
        assert "referral_refusal" not in inspect(db.engine).get_table_names()


REPORT_INDEXES = "6fe56adf551c"  # covering indexes for the report breakdowns


def test_report_indexes_migration_replaces_the_need_service_and_status_indexes(tmp_path, postgres):
    """The report indexes are made over the existing rows, which stay; the need, service and status
    indexes they replace come back on downgrade. On SQLite three more are on expressions. On PostgreSQL
    too (without those)."""
    from datetime import datetime

    def indexes(table: str) -> dict[str, list[str]]:
        return {i["name"]: i["column_names"] for i in inspect(db.engine).get_indexes(table)}

    with _just_before(REPORT_INDEXES, tmp_path, postgres) as before:
        now = datetime(2025, 3, 1, 2, 0)
        with db.engine.begin() as conn:
            _insert_catalog(conn, now)
            _insert_client_with_need(conn, now, need_status="met")
            _insert_referral(conn, now, status="delivered", attempts=1, refused_first=False, need_status="met")
        replaced = {"ix_referral_need_id", "ix_referral_service_id", "ix_referral_status"}
        assert replaced <= set(indexes("referral"))

        upgrade(revision=REPORT_INDEXES)
        referral, refusal = indexes("referral"), indexes("referral_refusal")
        assert not replaced & set(referral)
        assert referral["ix_referral_report_service"][:4] == ["service_id", "organization_id", "status", "need_status"]
        assert referral["ix_referral_report_caseworker"][0] == "caseworker_id"
        assert {"ix_referral_report_need", "ix_referral_report_category", "ix_referral_report_district"} <= set(
            referral
        )
        assert refusal["ix_referral_refusal_report_category"][:3] == ["category", "refused_by", "refusal_reason"]
        assert "ix_referral_refusal_report_service" in refusal
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT need_id, service_id, district FROM referral WHERE id = 'r-1'")).one()
        assert tuple(row) == ("n-1", "svc-1", "越秀区")
        sqlite = db.engine.dialect.name == "sqlite"
        on_expressions = {"ix_referral_report_month", "ix_referral_report_days_to_acceptance"}
        on_expressions |= {"ix_referral_report_days_to_service"}

        def expression_indexes() -> set[str]:
            with db.engine.connect() as conn:
                names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars()
                return set(names) & on_expressions

        if sqlite:
            assert expression_indexes() == on_expressions

        downgrade(revision=before)
        referral = indexes("referral")
        assert replaced <= set(referral)
        assert not [name for name in [*referral, *indexes("referral_refusal")] if "_report_" in name]
        if sqlite:
            assert expression_indexes() == set()


LOG_CHAIN = "a3f1c9e2b7d4"  # no REPLACE/TRUNCATE on the logs, a hash chain over them


def test_log_chain_migration_chains_the_rows_already_there(tmp_path, postgres):
    """Audit rows and attempts written before the migration get their places in the chain (which then
    verifies), new rows extend it, and the downgrade keeps the rows and their UPDATE/DELETE refusals."""
    from datetime import datetime, timedelta

    import pytest
    from sqlalchemy.exc import DBAPIError

    from directory.accounts.audit import AuditEvent, audit
    from directory.logchain import verify_connection

    with _just_before(LOG_CHAIN, tmp_path, postgres) as before:
        now = datetime(2025, 3, 1, 2, 0)
        with db.engine.begin() as conn:
            _insert_catalog(conn, now)
            _insert_client_with_need(conn, now, need_status="open")
            _insert_referral(conn, now, status="refused", attempts=2, refused_first=True, need_status="open")
            for number, outcome in ((1, "no_answer"), (2, "refused")):
                _insert(
                    conn,
                    "outreach_attempt",
                    id=f"a-{number}",
                    referral_id="r-1",
                    number=number,
                    occurred_at=now + timedelta(hours=number),
                    recorded_at=now + timedelta(hours=number),
                    actor_id=7,
                    channel="phone",
                    party="provider",
                    outcome=outcome,
                )
            for n in range(3):
                _insert(
                    conn,
                    "audit_event",
                    at=now + timedelta(minutes=n),
                    user_id=7,
                    username="cw",
                    role="caseworker",
                    action="view",
                    object_type="client",
                    object_id="cl-1",
                    client_id="cl-1",
                    detail={"n": n, "词": "值"},
                )

        upgrade(revision=LOG_CHAIN)
        with db.engine.connect() as conn:
            reports = {r.chain: r for r in verify_connection(conn)}
            assert [(r.rows, r.problem) for r in reports.values()] == [(3, None), (2, None)]
            assert [tuple(r) for r in conn.execute(text("SELECT id, chain_seq FROM outreach_attempt ORDER BY id"))] == [
                ("a-1", 1),
                ("a-2", 2),
            ]
        audit("view", "client", "cl-1", "cl-1")  # the app extends the chain
        db.session.commit()
        assert db.session.scalar(select_max_seq()) == 4
        db.session.rollback()  # no transaction of the session may hold the tables the downgrade alters
        with db.engine.connect() as conn:
            assert all(r.ok for r in verify_connection(conn))

        downgrade(revision=before)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar() == 4
        for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM outreach_attempt"):
            with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
                conn.execute(text(statement))
        db.session.remove()
        assert AuditEvent  # the model is the head's; the database goes back up in _just_before


def select_max_seq():
    from sqlalchemy import func, select

    from directory.accounts.audit import AuditEvent

    return select(func.max(AuditEvent.chain_seq))


CONSENT_OVERRIDES = "b8e3f1a7c542"  # overrides of their own: legal basis, expiry, revocation


def test_consent_override_migration_carries_old_overrides_over_ending_30_days_after(tmp_path, postgres):
    """An override made before has a row afterwards (basis "unrecorded", its fields, ending 30 days after
    the referral, Guangzhou days); downgrading drops the table and the client's withheld fields."""
    from datetime import UTC, date, datetime

    with _just_before(CONSENT_OVERRIDES, tmp_path, postgres) as before:
        made = datetime(2025, 3, 1, 17, 0, tzinfo=UTC)  # 2 March, 01:00 in Guangzhou
        with db.engine.begin() as conn:
            _insert_catalog(conn, made)
            _insert(
                conn,
                "user",
                id=7,
                username="boss",
                display_name="督导",
                password_hash="x",
                role="admin",
                active=True,
                session_token="t",
                created_at=made,
            )
            _insert(
                conn,
                "client",
                id="cl-1",
                owner_id=7,
                display_name="A",
                facts={},
                created_at=made,
                updated_at=made,
                version=1,
            )
            _insert(
                conn,
                "need",
                id="n-1",
                client_id="cl-1",
                category="methadone-clinic",
                goal="g",
                status="open",
                created_at=made,
            )
            common = dict(
                client_id="cl-1",
                need_id="n-1",
                service_id="svc-1",
                organization_id="org-1",
                created_by_id=7,
                created_at=made,
                last_activity_at=made,
                status="sent",
                attempt_count=0,
                category="methadone-clinic",
                need_status="open",
                caseworker_id=7,
                refused_before_delivery=False,
            )
            _insert(
                conn,
                "referral",
                id="r-1",
                consent_override_reason="紧急",
                override_fields=["name", "hiv"],
                **common,
            )
            _insert(conn, "referral", id="r-2", **common)  # neither consent nor override: no row

        upgrade(revision=CONSENT_OVERRIDES)
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT referral_id, client_id, organization_id, legal_basis, reason, granted_by_id, "
                    "expires_on, revoked_at FROM consent_override"
                )
            ).all()
            assert len(rows) == 1
            row = rows[0]
            assert (row.referral_id, row.client_id, row.organization_id, row.legal_basis, row.reason) == (
                "r-1",
                "cl-1",
                "org-1",
                "unrecorded",
                "紧急",
            )
            assert row.granted_by_id == 7 and row.revoked_at is None
            expires = row.expires_on if isinstance(row.expires_on, date) else date.fromisoformat(row.expires_on)
            assert expires == date(2025, 4, 1)
            columns = {c["name"] for c in inspect(conn).get_columns("client")}
            assert "withheld_fields" in columns

        downgrade(revision=before)
        assert "consent_override" not in inspect(db.engine).get_table_names()
        assert "withheld_fields" not in {c["name"] for c in inspect(db.engine).get_columns("client")}


DEMO_ROWS = "d7e2a4c9f813"  # demo rows marked; demo attempts outside the chain, the only ones deletable


def test_demo_rows_migration_marks_seed_clients_and_keeps_chained_attempts(tmp_path, postgres):
    """A client loaded by `flask seed` (a seed_key) and its referrals become demo rows; its attempt, already
    in the hash chain, stays in it and undeletable, so delete-demo-data keeps that client. Afterwards only
    a demo attempt outside the chain may be deleted; the downgrade refuses every delete again."""
    from datetime import datetime, timedelta

    import pytest
    from sqlalchemy.exc import DBAPIError

    from directory.demo import find_demo_data
    from directory.logchain import GENESIS, row_hash, verify_connection
    from tests.conftest import SEED_DIR

    with _just_before(DEMO_ROWS, tmp_path, postgres) as before:
        now = datetime(2025, 3, 1, 2, 0)
        with db.engine.begin() as conn:
            _insert_catalog(conn, now)
            _insert_client_with_need(conn, now, need_status="open")
            conn.execute(text("UPDATE client SET seed_key = 'demo-client-a' WHERE id = 'cl-1'"))
            _insert_referral(conn, now, status="in_progress", attempts=1, refused_first=False, need_status="open")
            attempt = dict(
                id="a-1",
                referral_id="r-1",
                number=1,
                occurred_at=now,
                recorded_at=now,
                actor_id=7,
                channel="phone",
                party="provider",
                outcome="no_answer",
            )
            chain_hash = row_hash("outreach_attempt", 1, GENESIS, attempt)
            _insert(conn, "outreach_attempt", chain_seq=1, chain_hash=chain_hash, **attempt)
            conn.execute(
                text("UPDATE log_chain SET seq = 1, hash = :h WHERE name = 'outreach_attempt'"), {"h": chain_hash}
            )
            client = dict(display_name="B", district="越秀区", facts={}, created_at=now, updated_at=now, version=1)
            _insert(conn, "client", id="cl-2", owner_id=7, **client)

        upgrade(revision=DEMO_ROWS)
        with db.engine.connect() as conn:
            demo = dict(conn.execute(text("SELECT id, demo FROM client ORDER BY id")).all())
            assert {k: bool(v) for k, v in demo.items()} == {"cl-1": True, "cl-2": False}
            assert bool(conn.execute(text("SELECT demo FROM referral WHERE id = 'r-1'")).scalar()) is True
            assert bool(conn.execute(text("SELECT demo FROM outreach_attempt WHERE id = 'a-1'")).scalar()) is False
            assert all(r.ok for r in verify_connection(conn))
        found = find_demo_data(SEED_DIR, logins=False)
        assert found.kept_clients == 1 and found.rows["client"] == 0
        db.session.rollback()

        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text("DELETE FROM outreach_attempt WHERE id = 'a-1'"))
        demo_attempt = {**attempt, "id": "a-2", "number": 2, "occurred_at": now + timedelta(hours=1)}
        with db.engine.begin() as conn:
            _insert(conn, "outreach_attempt", demo=True, **demo_attempt)
            assert conn.execute(text("DELETE FROM outreach_attempt WHERE id = 'a-2'")).rowcount == 1

        downgrade(revision=before)
        with db.engine.connect() as conn:
            assert "demo" not in {c["name"] for c in inspect(conn).get_columns("client")}
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text("DELETE FROM outreach_attempt"))
        db.session.remove()
CLIENT_LISTS = "c4d7e2a9f318"  # shared_list, location.email, user.work_phone and start_seen_at


def test_client_lists_migration_adds_empty_columns_and_a_table_and_downgrades_keeping_rows(tmp_path, postgres):
    """Locations and users made before keep their rows, with no e-mail, work phone or start-page visit;
    a shared list can be stored; downgrading drops the table and the columns, never the rows."""
    from datetime import UTC, datetime, timedelta

    with _just_before(CLIENT_LISTS, tmp_path, postgres) as before:
        made = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        with db.engine.begin() as conn:
            _insert_catalog(conn, made)
            user = dict(display_name="社工", password_hash="x", role="caseworker", active=True, session_token="t")
            _insert(conn, "user", id=7, username="cw", created_at=made, **user)

        upgrade(revision=CLIENT_LISTS)
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT name, email FROM location")).one() == ("站点", None)
            assert conn.execute(text('SELECT username, work_phone, start_seen_at FROM "user"')).one() == (
                "cw",
                None,
                None,
            )
            _insert(
                conn,
                "shared_list",
                id="sl-1",
                token="t" * 24,
                service_ids=["svc-1"],
                created_by_id=7,
                created_at=made,
                expires_at=made + timedelta(days=30),
            )

        downgrade(revision=before)
        inspector = inspect(db.engine)
        assert "shared_list" not in inspector.get_table_names()
        assert "email" not in {c["name"] for c in inspector.get_columns("location")}
        assert not {"work_phone", "start_seen_at"} & {c["name"] for c in inspector.get_columns("user")}
        with db.engine.connect() as conn:
            assert conn.execute(text('SELECT username FROM "user"')).scalar_one() == "cw"
            assert conn.execute(text("SELECT name FROM location")).scalar_one() == "站点"
