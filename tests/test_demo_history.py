"""The demo's year of referral history (`flask seed`): its figures, as the manager's reports show them, are
pinned here, so a change to the generator (or to what the reports count) is noticed."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from directory.accounts.audit import AuditEvent
from directory.accounts.models import User
from directory.extensions import db
from directory.models_base import id_from_key
from directory.referrals.history import HISTORY_USERS, load_history
from directory.referrals.models import Attempt, Client, Referral, Refusal
from directory.reports import queries, tables
from directory.reports.queries import ReportFilter
from tests.conftest import login

AS_OF = date(2026, 7, 15)  # the history covers 2025-07-15 … 2026-07-14


def _seed(app, *args: str):
    result = app.test_cli_runner().invoke(args=["seed", "--as-of", AS_OF.isoformat(), *args])
    assert result.exit_code == 0, result.output
    return result


def _filter(**kwargs) -> ReportFilter:
    now = datetime(2026, 7, 15, 2, 0, tzinfo=UTC)  # 10:00 in Guangzhou on the seed date
    return ReportFilter(today=AS_OF, now=now, locale="en", **kwargs)


def _count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def test_seed_loads_a_year_of_history_with_the_figures_a_manager_reads(seeded_app):
    result = _seed(seeded_app)
    assert "Demo referral history: 1191 clients, 1716 needs, 2230 referrals, 5093 attempts" in result.output
    assert "from 2025-08-01 to the day before 2026-07-15" in result.output

    # With the five story clients of clients.yaml (13 referrals, 20 attempts), all of it demo data.
    assert _count(Client, Client.seed_key.like("history-%")) == 1191  # of 1300 drawn: some only before
    assert _count(Referral) == _count(Referral, Referral.demo.is_(True)) == 2243
    assert _count(Attempt) == _count(Attempt, Attempt.demo.is_(True)) == 5113

    d = queries.dashboard(_filter())
    o = d.overview
    assert (o.referrals, o.final, o.successes) == (2243, 2147, 1300)  # 60.5% success
    assert (o.needs_closed, o.needs_met, o.needs_met_after_refusal) == (1442, 1178, 223)
    # Persistence: 3.9 attempts per success; 129 successes came after a refusal of the same referral.
    assert (d.persistence.attempts_on_final, d.persistence.successes_after_refusal) == (5013, 129)
    success = {row.key: (row.referrals, row.final, row.successes) for row in d.success["category"]}
    assert success["drug-treatment"] == (311, 305, 256)  # 84%
    assert success["employment"] == (420, 411, 108)  # 26%
    reasons = {row.key: row.count for row in d.refusals["reason"]}
    assert sum(reasons.values()) == 1005
    assert (reasons["no_capacity"], reasons["stigma_drug"], reasons["stigma_hiv"]) == (224, 170, 18)
    assert len(reasons) == 11
    months = [row.key for row in d.success["month"]]
    assert months == [f"2025-{m:02d}" for m in range(8, 13)] + [f"2026-{m:02d}" for m in range(1, 8)]
    by_month = {row.key: row.referrals for row in d.success["month"]}
    assert by_month["2026-02"] < 0.8 * by_month["2026-03"]  # the Spring Festival is quiet
    assert {row.label for row in d.success["caseworker"]} >= {name for _, name in HISTORY_USERS}
    assert len(d.success["district"]) == 11
    # The demo agency's organization (demo-agency's own figures): enough referrals for every month.
    agency = {row.key: (row.referrals, row.final, row.successes) for row in d.success["organization"]}
    assert agency[id_from_key("organization", "m-brain-hospital")] == (181, 176, 145)
    by_agency_month = queries.success_by(
        _filter(organization_id=id_from_key("organization", "m-brain-hospital")), "month"
    )
    assert len(by_agency_month) == 12 and min(row.referrals for row in by_agency_month) >= 5
    assert d.medians.to_acceptance is not None and 2 < d.medians.to_acceptance < 15
    assert [p.attempt for p in d.curve.points][:6] == [1, 2, 3, 4, 5, 6]


def test_the_managers_dashboard_shows_figures_not_hidden_cells(seeded_app, make_user):
    _seed(seeded_app)
    make_user("manager", username="boss")
    client = seeded_app.test_client()
    login(client, "boss")
    page = client.get("/reports").get_data(as_text=True)
    cells = re.findall(r'<td class="num">([^<]*)</td>', page)
    hidden = [cell for cell in cells if cell in ("&lt;5", tables.NO_RATE)]
    assert len(cells) > 300
    assert len(hidden) < len(cells) // 5, f"{len(hidden)} of {len(cells)} cells hidden"
    figures = re.findall(r'<td class="num">(\d+)</td>', page)
    assert "2245" in figures  # the referrals, rounded to 5


def test_same_seed_and_date_give_the_same_rows_and_loading_again_adds_nothing(seeded_app):
    _seed(seeded_app, "--without-history")
    started = time.process_time()  # this process's CPU time: the machine may be shared (wall time: docs)
    first = load_history(AS_OF)
    assert time.process_time() - started < 10
    rows = sorted(db.session.execute(select(Referral.id, Referral.status, Referral.created_at)).all())
    db.session.rollback()
    again = load_history(AS_OF)
    assert again.rows == first.rows
    assert sorted(db.session.execute(select(Referral.id, Referral.status, Referral.created_at)).all()) == rows
    db.session.commit()
    assert load_history(AS_OF + timedelta(days=3)).skipped


def test_seed_without_history_loads_none(seeded_app):
    result = _seed(seeded_app, "--without-history")
    assert "referral history" not in result.output
    assert _count(Client, Client.seed_key.like("history-%")) == 0
    assert _count(Client) == 5  # the story clients of clients.yaml only
    assert _count(Referral, Referral.demo.is_(False)) == 0


def test_audit_verify_passes_after_seeding_with_history(seeded_app):
    _seed(seeded_app)
    result = seeded_app.test_cli_runner().invoke(args=["audit-verify"])
    assert result.exit_code == 0, result.output
    assert "outreach_attempt: 0 row(s), chain intact, " in result.output
    assert f"{_count(Attempt)} demo row(s) outside it" in result.output


def _real_client_with_a_refused_referral():
    """A real caseworker's client, referred through the app's services, with a logged refusal (chained)."""
    from directory.accounts.services import create_user
    from directory.catalog.models import Service
    from directory.catalog.services import local_today
    from directory.models_base import id_from_key
    from directory.referrals import services

    owner = create_user("real-cw", "blue-heron-river-42", "caseworker")
    mmt = db.session.get(Service, id_from_key("service", "m-brain-hospital-mmt"))
    client = services.create_client(owner, {"display_name": "真实案主", "district": "越秀区"}, {})
    need = services.add_need(client, "methadone-clinic", "美沙酮维持治疗", owner)
    values = {"organization_id": mmt.organization_id, "fields": ["name", "need"], "purpose": "referral"}
    services.record_consent(client, {**values, "valid_from": local_today()}, owner, local_today())
    referral = services.create_referral(client, need, mmt, None, owner, local_today())
    services.record_attempt(
        referral,
        {
            "occurred_at": datetime.now(UTC),
            "channel": "phone",
            "party": "provider",
            "outcome": "refused",
            "refused_by": "provider",
            "refusal_reason": "no_capacity",
        },
        owner,
    )
    db.session.commit()
    return client, referral


def test_delete_demo_data_removes_it_all_and_leaves_real_records_and_the_chain_intact(seeded_app):
    _seed(seeded_app)
    client, referral = _real_client_with_a_refused_referral()
    runner = seeded_app.test_cli_runner()

    dry = runner.invoke(args=["delete-demo-data", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "clients 1196, needs 1728" in dry.output and "outreach attempts 5113" in dry.output
    assert "demo-history-wang" in dry.output and "demo-manager" in dry.output
    assert _count(Client) == 1197  # nothing removed yet
    refused = runner.invoke(args=["delete-demo-data"], input="n\n")
    assert refused.exit_code == 1 and _count(Client) == 1197

    done = runner.invoke(args=["delete-demo-data", "--yes"])
    assert done.exit_code == 0, done.output
    assert "Removed:" in done.output and "referrals 2243" in done.output
    db.session.expire_all()
    assert [c.id for c in db.session.scalars(select(Client))] == [client.id]
    assert [r.id for r in db.session.scalars(select(Referral))] == [referral.id]
    assert db.session.get(Referral, referral.id).status == "refused"
    assert _count(Attempt) == 1 and _count(Refusal) == 1
    users = {u.username: u.active for u in db.session.scalars(select(User))}
    assert not any(name.startswith("demo-history-") for name in users)
    assert users["real-cw"] is True and users["demo-manager"] is False and users["demo-caseworker"] is False
    assert "No active admin is left" in done.output
    deletion = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "demo_data")).one()
    assert deletion.detail["rows"]["attempt"] == 5113

    verify = runner.invoke(args=["audit-verify"])
    assert verify.exit_code == 0, verify.output
    assert "outreach_attempt: 1 row(s), chain intact, head" in verify.output
    assert runner.invoke(args=["delete-demo-data", "--yes"]).output.strip() == "No demo data to remove."


def test_only_demo_attempts_outside_the_chain_may_be_deleted_below_the_app(seeded_app):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    _seed(seeded_app, "--without-history")
    _, referral = _real_client_with_a_refused_referral()
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM outreach_attempt WHERE referral_id = :r"), {"r": referral.id})
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM referral_refusal WHERE referral_id IN (SELECT id FROM referral WHERE demo)"))
        removed = conn.execute(text("DELETE FROM outreach_attempt WHERE demo = true AND chain_seq IS NULL"))
        assert removed.rowcount == 20  # the story clients' attempts
    db.session.rollback()  # a new snapshot
    assert _count(Attempt) == 1
