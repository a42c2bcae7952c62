"""Several workers at once on one database: audited reads and writes never fail, no attempt is lost.

Each process is a worker with its own app and connections, as gunicorn runs them. They all act for one
caseworker on one referral: searching for the client (an audited read), opening the service page and
the referral page for the client (audited reads), and recording attempts (writes whose number follows
from the attempts already there).
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import queue
import stat
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from directory import create_app
from directory.accounts.audit import AuditEvent, audit
from directory.catalog.models import Service
from directory.catalog.services import local_today
from directory.extensions import db
from directory.logchain import verify_connection
from directory.models_base import id_from_key
from directory.referrals import services
from directory.referrals.models import Attempt
from tests.conftest import PASSWORD, csrf_token, login, make_config

ROUNDS = 12


def _worker(tmp: str, database_uri: str, who: str, client_id: str, referral_id: str, results) -> None:
    app = create_app(make_config(Path(tmp), database_uri))
    browser = app.test_client()
    statuses: list[tuple[str, int]] = []
    assert login(browser, who, PASSWORD).status_code == 302
    service_id = id_from_key("service", "m-brain-hospital-mmt")
    for n in range(ROUNDS):
        statuses.append(("search", browser.get(f"/clients/{client_id}/search?q=美沙酮").status_code))
        statuses.append(("service", browser.get(f"/clients/{client_id}/services/{service_id}").status_code))
        statuses.append(("referral", browser.get(f"/referrals/{referral_id}").status_code))
        form = {
            "csrf_token": csrf_token(browser, f"/referrals/{referral_id}"),
            "occurred_at": datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M"),
            "channel": "phone",
            "party": "provider",
            "outcome": "no_answer",
            "note": f"{tmp[-6:]}-{n}",
        }
        statuses.append(("attempt", browser.post(f"/referrals/{referral_id}/attempts", data=form).status_code))
    results.put(statuses)


def test_workers_at_once_never_fail_and_lose_no_attempt(seeded_app, make_user, tmp_path):
    worker = make_user("caseworker", username="busy-cw")
    mmt = db.session.get(Service, id_from_key("service", "m-brain-hospital-mmt"))
    client = services.create_client(worker, {"display_name": "并发案主", "district": "天河区"}, {})
    need = services.add_need(client, "methadone-clinic", "美沙酮维持治疗", worker)
    services.record_consent(
        client,
        {
            "organization_id": mmt.organization_id,
            "fields": ["name"],
            "purpose": "referral",
            "valid_from": local_today() - timedelta(days=1),
        },
        worker,
        local_today(),
    )
    referral = services.create_referral(client, need, mmt, None, worker, local_today())
    db.session.commit()
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEvent))

    database_uri = seeded_app.config["SQLALCHEMY_DATABASE_URI"]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = []
    for n in range(3):
        home = tmp_path / f"worker{n}"
        home.mkdir()
        workers.append(
            context.Process(
                target=_worker, args=(str(home), database_uri, "busy-cw", client.id, referral.id, results)
            )
        )
    started = time.monotonic()
    for process in workers:
        process.start()
    answers = []
    while len(answers) < len(workers) and time.monotonic() - started < 240:
        try:
            answers.append(results.get(timeout=1))
        except queue.Empty:
            assert all(p.is_alive() or p.exitcode == 0 for p in workers), "a worker process failed"
    for process in workers:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert len(answers) == len(workers)

    failed = [(what, status) for statuses in answers for what, status in statuses if status >= 500]
    assert failed == [], failed
    acknowledged = sum(1 for statuses in answers for what, status in statuses if what == "attempt" and status == 302)
    assert acknowledged == 3 * ROUNDS

    db.session.rollback()
    numbers = sorted(db.session.scalars(select(Attempt.number).where(Attempt.referral_id == referral.id)))
    assert numbers == list(range(1, 3 * ROUNDS + 1))  # every attempt kept, numbered once each
    audited = db.session.scalar(select(func.count()).select_from(AuditEvent)) - audit_before
    # a view of the search, the service page and the referral page, and each attempt's own row
    assert audited >= 3 * ROUNDS * 4
    # Written by three workers at once, both logs still form one unbroken hash chain each.
    with db.engine.connect() as connection:
        reports = verify_connection(connection)
    assert [report.problem for report in reports] == [None, None]
    assert {report.chain: report.rows for report in reports}["outreach_attempt"] >= 3 * ROUNDS


def _queue_is_free(lock: Path) -> bool:
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_a_writer_holds_the_write_lock_only_from_its_first_write_to_its_commit(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the writers' queue is for SQLite; PostgreSQL locks rows")
    lock = Path(f"{db.engine.url.database}-writer.lock")
    db.session.scalar(select(func.count()).select_from(Service))  # reading takes no lock
    assert _queue_is_free(lock)
    audit("view", "client", None)
    assert _queue_is_free(lock)  # an audit row waits for the commit
    db.session.scalar(select(func.count()).select_from(Service))
    assert _queue_is_free(lock)
    db.session.commit()  # writes the audit row
    assert _queue_is_free(lock)

    db.session.add(AuditEvent(action="view", object_type="client"))
    db.session.flush()  # the first write: the lock is taken here and kept
    assert not _queue_is_free(lock)
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    db.session.commit()
    assert _queue_is_free(lock)
