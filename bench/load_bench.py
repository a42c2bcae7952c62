"""Load and fault test: simulated caseworkers against gunicorn, then a killed worker and a held index lock.

    python -m bench.load_bench [--database sqlite|postgresql] [--users 50] [--seconds 120] [--workers 4]

On 127.0.0.1 only, bounded in time. For PostgreSQL set BENCH_POSTGRES_URL (a database the bench may use
to create and drop its own database), e.g. postgresql+psycopg://lianjie:lianjie@127.0.0.1/lianjie.

What it checks and prints (JSON in bench/results/load-<database>.json):
- zero 5xx responses and zero "database is locked" in the server log;
- every attempt the server acknowledged (302 after the POST) is in the database afterwards;
- search latency p50/p95;
- faults: at a third of the run a worker is killed with SIGKILL while writes are under way; at half the
  run another process holds the search index's update lock for 10 s. The app must keep answering, and
  afterwards the index must match the database (every service document present, nothing pending).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.cookiejar
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "load-test-password-2026"
QUERIES = ["美沙酮", "医院", "低保", "就业", "心理咨询", "法律援助", "托育", "艾滋病检测", "meishatong", "shelter"]
PLACES = ["天河", "越秀区", "北京路", "体育西路", "白云区", "海珠区", "番禺区", "23.13,113.32"]
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: dict[int, int] = field(default_factory=dict)
    search_ms: list[float] = field(default_factory=list)
    search_done: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, status)
    acknowledged: list[str] = field(default_factory=list)
    connection_errors: int = 0
    server_errors: list[str] = field(default_factory=list)

    def count(self, status: int, what: str) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status >= 500:
                self.server_errors.append(f"{status} {what}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.token = ""

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body)
        try:
            with self.opener.open(req, timeout=60) as resp:
                text = resp.read().decode("utf-8", "replace")
                status = resp.status
        except urllib.error.HTTPError as exc:
            text, status = exc.read().decode("utf-8", "replace"), exc.code
        match = CSRF.search(text)
        if match:
            self.token = match.group(1)
        return status, text


def _prepare(database_uri: str, tmp: Path, users: int) -> dict:
    """Migrate, seed the catalog, create the caseworkers, each with a client, a need and a referral."""
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from directory import create_app
    from directory.accounts.services import create_user
    from directory.catalog.models import Service
    from directory.catalog.services import local_today
    from directory.extensions import db
    from directory.models_base import id_from_key
    from directory.referrals import services
    from directory.search.index import get_index
    from directory.seed import load_seed

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp / "instance"),
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "SEARCH_INDEX_DIR": str(tmp / "index"),
            "SECRET_KEY": "load-bench",
            "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",
        }
    )
    plan = {"caseworkers": [], "agency": []}
    with app.app_context():
        upgrade()
        load_seed(ROOT / "seed_data")
        db.session.commit()
        mmt = db.session.get(Service, id_from_key("service", "m-brain-hospital-mmt"))
        for n in range(users):
            worker = create_user(f"load-cw-{n}", PASSWORD, "caseworker")
            client = services.create_client(worker, {"display_name": f"压测案主{n}", "district": "天河区"}, {})
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
            plan["caseworkers"].append({"username": worker.username, "referral": referral.id})
        staff = db.session.scalars(
            db.select(Service).where(Service.status == "active").order_by(Service.name).limit(5)
        ).all()
        for n, service in enumerate(staff):
            create_user(f"load-agency-{n}", PASSWORD, "agency_staff", organization_id=service.organization_id)
            plan["agency"].append({"username": f"load-agency-{n}", "service": service.id})
        db.session.commit()
        get_index(app).rebuild()
        db.session.remove()
        db.engine.dispose()
    return plan


def _caseworker(base: str, who: dict, deadline: float, tally: Tally) -> None:
    browser = Browser(base)
    browser.request("/login")
    status, _ = browser.request(
        "/login", {"username": who["username"], "password": PASSWORD, "csrf_token": browser.token}
    )
    if status != 302:
        tally.count(status, "login")
        return
    n = 0
    rng = random.Random(who["username"])
    while time.monotonic() < deadline:
        n += 1
        try:
            q = {"q": rng.choice(QUERIES), "near": rng.choice(PLACES)}
            start = time.perf_counter()
            status, _ = browser.request("/search?" + urllib.parse.urlencode(q))
            elapsed = (time.perf_counter() - start) * 1000
            tally.count(status, "search")
            with tally.lock:
                tally.search_done.append((time.monotonic(), status))
            if status == 200:
                with tally.lock:
                    tally.search_ms.append(elapsed)
            status, _ = browser.request(f"/referrals/{who['referral']}")
            tally.count(status, "referral page")
            note = f"load-{who['username']}-{n}"
            form = {
                "csrf_token": browser.token,
                "occurred_at": time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 8 * 3600)),
                "channel": "phone",
                "party": "provider",
                "outcome": rng.choice(["no_answer", "left_message", "call_back_later"]),
                "note": note,
                "refused_by": "",
                "refusal_reason": "",
                "next_follow_up": "",
            }
            status, _ = browser.request(f"/referrals/{who['referral']}/attempts", form)
            tally.count(status, "attempt")
            if status == 302:
                with tally.lock:
                    tally.acknowledged.append(note)
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException):
            with tally.lock:
                tally.connection_errors += 1  # the worker serving it was killed: not acknowledged
            time.sleep(0.2)


def _agency(base: str, who: dict, deadline: float, tally: Tally) -> None:
    """Agency staff pressing "still accurate": catalog writes that the search index must follow."""
    browser = Browser(base)
    browser.request("/login")
    browser.request("/login", {"username": who["username"], "password": PASSWORD, "csrf_token": browser.token})
    while time.monotonic() < deadline:
        try:
            browser.request(f"/services/{who['service']}")
            status, _ = browser.request(f"/manage/services/{who['service']}/verify", {"csrf_token": browser.token})
            tally.count(status, "verify")
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException):
            with tally.lock:
                tally.connection_errors += 1
        time.sleep(1.0)


def _hold_index_lock(env: dict, seconds: float) -> subprocess.Popen:
    code = (
        "import time; from directory import create_app; from directory.search.index import get_index\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    with get_index(app).sync_lock(timeout=30):\n"
        f"        print('held', flush=True); time.sleep({seconds})\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def _worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def _check(database_uri: str, tmp: Path, acknowledged: list[str]) -> dict:
    from sqlalchemy import func, select

    from directory import create_app
    from directory.extensions import db
    from directory.referrals.models import Attempt
    from directory.search.index import expected_doc_ids, get_index
    from directory.search.models import SearchChange

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp / "instance"),
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "SEARCH_INDEX_DIR": str(tmp / "index"),
            "SECRET_KEY": "load-bench",
        }
    )
    with app.app_context():
        notes = set(db.session.scalars(select(Attempt.note).where(Attempt.note.like("load-%"))))
        missing = [n for n in acknowledged if n not in notes]
        index = get_index(app)
        pending_before = db.session.scalar(
            select(func.count()).select_from(SearchChange).where(SearchChange.id > index.cursor())
        )
        index.catch_up()  # what the next search would do
        expected, indexed = expected_doc_ids(), index.indexed_doc_ids()
        latest = db.session.scalar(select(func.max(SearchChange.id))) or 0
        result = {
            "attempts_acknowledged": len(acknowledged),
            "attempts_in_database": len(notes),
            "acknowledged_missing": len(missing),
            "index_pending_before_catch_up": pending_before,
            "index_missing_docs": len(expected - indexed),
            "index_extra_docs": len(indexed - expected),
            "index_cursor_at_latest": index.cursor() >= latest,
        }
        db.session.remove()
        db.engine.dispose()
    return result


def run(database: str, users: int, seconds: float, workers: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="lianjie-load-"))
    pg_admin = None
    if database == "postgresql":
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin_url = os.environ.get("BENCH_POSTGRES_URL")
        if not admin_url:
            raise SystemExit("Set BENCH_POSTGRES_URL to run the load test on PostgreSQL.")
        name = f"lj_load_{os.getpid()}"
        pg_admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        database_uri = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    else:
        database_uri = f"sqlite:///{tmp / 'load.sqlite3'}"
    print(f"preparing {database} database with {users} caseworkers …", flush=True)
    plan = _prepare(database_uri, tmp, users)

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_uri,
        "SEARCH_INDEX_DIR": str(tmp / "index"),
        "SECRET_KEY": "load-bench",
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
    }
    log_path = tmp / "gunicorn.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed below, after the server stops)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        time.sleep(0.1)
    print(f"gunicorn with {workers} workers on {base}; {users} caseworkers for {seconds:.0f} s", flush=True)

    tally = Tally()
    start = time.monotonic()
    deadline = start + seconds
    threads = [threading.Thread(target=_caseworker, args=(base, who, deadline, tally)) for who in plan["caseworkers"]]
    threads += [threading.Thread(target=_agency, args=(base, who, deadline, tally)) for who in plan["agency"]]
    for thread in threads:
        thread.start()

    faults = {}
    time.sleep(seconds / 3)
    victims = _worker_pids(server.pid)
    if victims:
        os.kill(victims[0], signal.SIGKILL)
        faults["killed_worker_pid"] = victims[0]
        faults["killed_at_s"] = round(time.monotonic() - start, 1)
        print(f"killed worker {victims[0]} with SIGKILL", flush=True)
    time.sleep(max(0.0, start + seconds / 2 - time.monotonic()))
    holder = _hold_index_lock(env, 10.0)
    held_line = holder.stdout.readline().strip()
    faults["index_lock_held"] = held_line == "held"
    lock_start = time.monotonic()
    holder.wait(timeout=30)
    lock_end = time.monotonic()
    during = [status for moment, status in tally.search_done if lock_start <= moment <= lock_end]
    faults["lock_held_s"] = round(lock_end - lock_start, 1)
    faults["searches_while_lock_held"] = len(during)
    faults["searches_ok_while_lock_held"] = sum(1 for status in during if status == 200)

    for thread in threads:
        thread.join(timeout=120)
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    log.close()
    server_log = log_path.read_text(errors="replace")

    checks = _check(database_uri, tmp, tally.acknowledged)
    latencies = sorted(tally.search_ms)
    result = {
        "database": database,
        "users": users,
        "seconds": seconds,
        "workers": workers,
        "requests": sum(tally.statuses.values()),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "server_errors_5xx": len(tally.server_errors),
        "database_locked_in_log": server_log.count("database is locked"),
        "tracebacks_in_log": server_log.count("Traceback"),
        "connection_errors": tally.connection_errors,
        "searches": len(latencies),
        "search_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "search_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1) if latencies else None,
        "faults": faults,
        **checks,
    }
    result["passed"] = (
        result["server_errors_5xx"] == 0
        and result["database_locked_in_log"] == 0
        and result["acknowledged_missing"] == 0
        and result["index_missing_docs"] == 0
        and result["index_extra_docs"] == 0
        and faults.get("searches_while_lock_held", 0) > 0
        and faults.get("searches_ok_while_lock_held") == faults.get("searches_while_lock_held")
    )
    if pg_admin is not None:
        from sqlalchemy import text

        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(database_uri).database}" WITH (FORCE)'))
        pg_admin.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    result = run(args.database, args.users, args.seconds, args.workers)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"load-{args.database}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    raise SystemExit(0 if result["passed"] else 1)


if __name__ == "__main__":
    main()
