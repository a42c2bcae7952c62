"""Load and fault test: simulated caseworkers against gunicorn, the code compared with an older commit.

    python -m bench.load_bench [--database sqlite|postgresql] [--users 50] [--seconds 120] [--workers 4]
                               [--compare REV] [--rounds 3]

On 127.0.0.1 only, bounded in time. For PostgreSQL set BENCH_POSTGRES_URL (a database the bench may use
to create and drop its own databases), e.g. postgresql+psycopg://lianjie:lianjie@127.0.0.1/lianjie.

Each caseworker logs in and loops over what a caseworker does: a search near a place, a search for a saved
client (audited), the service page for that client (audited), the referral page (audited) and an attempt
(a write). Agency staff press "still accurate" now and then (catalog writes the index must follow).

With ``--compare REV`` the same load runs against REV too (a git worktree of it, in a temporary folder,
with its own database prepared by its own code), in alternating phases of equal length (old, new, old,
new …), so that both see the same machine; the figures are medians over each side's phases and the
ratios new / old. Server CPU is read from /proc for gunicorn's master and workers.

What it checks and prints (JSON in bench/results/load-<database>.json):
- zero 5xx responses and zero "database is locked" in the server logs;
- every attempt the server acknowledged (302 after the POST) is in the database afterwards;
- throughput (requests/s), search page latency p50/p95, cores used by the server;
- SQL statements per request for the referral pages (they must not grow with rows shown);
- cold start: the time from killing the only worker to the first search its replacement answers;
- faults (new code only, in a phase of their own after the compared ones): a third into it a worker is
  killed with SIGKILL while writes are under way; at half of it another process holds the search index's
  update lock for 10 s. The app must keep answering, and afterwards the index must match the database.
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
from pathlib import Path

from bench.calibration import calibration_s

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "load-test-password-2026"
QUERIES = ["美沙酮", "医院", "低保", "就业", "心理咨询", "法律援助", "托育", "艾滋病检测", "meishatong", "shelter"]
PLACES = ["天河", "越秀区", "北京路", "体育西路", "白云区", "海珠区", "番禺区", "23.13,113.32"]
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
# A saved client's search and service pages, as this tree serves them; a plan made by an older tree (for
# --compare) has none and gets the old addresses (``client_urls``).
CLIENT_URLS = {"search": "/clients/{client}/search?{query}", "service": "/clients/{client}/services/{service}"}
OLD_CLIENT_URLS = {"search": "/search?client={client}&{query}", "service": "/services/{service}?client={client}"}
WARM_SEARCH = "/search?q=%E5%8C%BB%E9%99%A2&near=%E5%A4%A9%E6%B2%B3%E5%8C%BA"  # 医院 near 天河区
TICKS = os.sysconf("SC_CLK_TCK")
TRANSLATIONS = "directory/translations"
COMPARED = ("throughput_rps", "search_rps", "search_p50_ms", "search_p95_ms", "server_cores", "restart_median_s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * share + 0.5) - 1)], 1)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: dict[int, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    search_ms: list[float] = field(default_factory=list)
    search_done: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, status)
    acknowledged: list[str] = field(default_factory=list)
    connection_errors: int = 0
    server_errors: list[str] = field(default_factory=list)

    def count(self, status: int, what: str) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.by_kind[what] = self.by_kind.get(what, 0) + 1
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


# --- preparing a database (run inside the tree under test, by its own code) -----------------------------


def _prepare(database_uri: str, tmp: Path, users: int) -> dict:
    """Migrate, seed the catalog, create the caseworkers, each with a client, a need and a referral."""
    sys.path.insert(0, str(ROOT))
    from datetime import timedelta

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
            db.session.commit()
            plan["caseworkers"].append({"username": worker.username, "referral": referral.id, "client": client.id})
        staff = db.session.scalars(
            db.select(Service).where(Service.status == "active").order_by(Service.name).limit(5)
        ).all()
        for n, service in enumerate(staff):
            create_user(f"load-agency-{n}", PASSWORD, "agency_staff", organization_id=service.organization_id)
            plan["agency"].append({"username": f"load-agency-{n}", "service": service.id})
        db.session.commit()
        get_index(app).rebuild()
        plan["service"] = mmt.id
        plan["client_urls"] = CLIENT_URLS
        db.session.remove()
        db.engine.dispose()
    return plan


def _prepare_in(tree: Path, database_uri: str, tmp: Path, users: int) -> dict:
    """``_prepare`` run by the code of ``tree`` (this checkout or an older commit's worktree)."""
    code = (
        "import json, sys; from pathlib import Path; from bench.load_bench import _prepare\n"
        f"print('PLAN ' + json.dumps(_prepare({database_uri!r}, Path({str(tmp)!r}), {users})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True, env=_clean_env()
    ).stdout
    plan = json.loads(next(line[5:] for line in out.splitlines() if line.startswith("PLAN ")))
    if any("client" not in who for who in plan["caseworkers"]):  # an older bench did not record the clients
        clients = _referral_clients(database_uri, [who["referral"] for who in plan["caseworkers"]])
        for who in plan["caseworkers"]:
            who["client"] = clients[who["referral"]]
    if "service" not in plan:
        from directory.models_base import id_from_key

        plan["service"] = id_from_key("service", "m-brain-hospital-mmt")
    return plan


def _referral_clients(database_uri: str, referral_ids: list[str]) -> dict[str, str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_uri)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, client_id FROM referral")).all()
    engine.dispose()
    return {row.id: row.client_id for row in rows if row.id in set(referral_ids)}


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SEARCH_INDEX_DIR", "FLASK_APP"}}


def statement_counts(database_uri: str, tmp: Path, plan: dict) -> dict[str, dict[str, int]]:
    """SQL statements per request for the referral pages, before and after ten more attempts on the
    referral: a page whose count grows with the rows it shows reads them one by one (N+1)."""
    from sqlalchemy import event

    from directory import create_app
    from directory.extensions import db

    app = create_app(
        {
            "INSTANCE_PATH": str(tmp / "instance"),
            "SQLALCHEMY_DATABASE_URI": database_uri,
            "SEARCH_INDEX_DIR": str(tmp / "index"),
            "SECRET_KEY": "load-bench",
            "WTF_CSRF_ENABLED": False,
            "LOGIN_RATE_LIMIT": "100000 per minute",
        }
    )
    who = plan["caseworkers"][-1]
    urls = client_urls(plan)
    client = app.test_client()
    client.post("/login", data={"username": who["username"], "password": PASSWORD})
    counted = {"n": 0}

    def count(*args) -> None:
        counted["n"] += 1

    pages = {
        "referral page": f"/referrals/{who['referral']}",
        "client page": f"/clients/{who['client']}",
        "search for a client": urls["search"].format(client=who["client"], query="q=%E7%BE%8E%E6%B2%99%E9%85%AE"),
        "service page for a client": urls["service"].format(client=who["client"], service=plan["service"]),
        "follow-ups": "/followups",
    }
    attempt = {
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 8 * 3600)),
        "channel": "phone",
        "party": "provider",
        "outcome": "no_answer",
    }
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    result: dict[str, dict[str, int]] = {name: {} for name in [*pages, "attempt POST"]}
    try:
        for when in ("before", "after 10 more attempts"):
            if when != "before":
                for _ in range(10):
                    client.post(f"/referrals/{who['referral']}/attempts", data=attempt)
            for name, path in pages.items():
                client.get(path)  # once to warm
                counted["n"] = 0
                status = client.get(path).status_code
                result[name][when] = counted["n"] if status == 200 else -status
            counted["n"] = 0
            status = client.post(f"/referrals/{who['referral']}/attempts", data=attempt).status_code
            result["attempt POST"][when] = counted["n"] if status == 302 else -status
    finally:
        event.remove(engine, "before_cursor_execute", count)
        with app.app_context():
            db.engine.dispose()
    return result


# --- the server -------------------------------------------------------------------------------------------


class Server:
    """gunicorn serving ``tree`` on a free port, with its log, and the CPU time of its processes."""

    def __init__(self, tree: Path, database_uri: str, tmp: Path, workers: int, name: str):
        self.tree, self.tmp, self.name = tree, tmp, name
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **_clean_env(),
            "DATABASE_URL": database_uri,
            "SEARCH_INDEX_DIR": str(tmp / "index"),
            "SECRET_KEY": "load-bench",
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
        }
        self.log_path = tmp / f"gunicorn-{name}.log"
        self._cpu_seen: dict[int, float] = {}
        self.cpu_total = 0.0

    def start(self) -> Server:
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=self.tree,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_until_searching(timeout=300)
        return self

    def wait_until_searching(self, timeout: float) -> float:
        """Seconds until a search page answers 200 (polled every 20 ms)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with contextlib.suppress(OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                connection.request("GET", WARM_SEARCH)
                if connection.getresponse().status == 200:
                    return time.monotonic() - started
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} server did not answer a search within {timeout} s")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False)
        return [int(p) for p in out.stdout.split()]

    def sample_cpu(self) -> float:
        """Add the CPU seconds used by the master and workers since the last sample; return the total."""
        for pid in [self.process.pid, *self.worker_pids()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
            self.cpu_total += used - self._cpu_seen.get(pid, 0.0)
            self._cpu_seen[pid] = used
        return self.cpu_total

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        return self.log_path.read_text(errors="replace")


# --- the simulated users ------------------------------------------------------------------------------------


def _login(browser: Browser, username: str) -> int:
    browser.request("/login")
    status, _ = browser.request("/login", {"username": username, "password": PASSWORD, "csrf_token": browser.token})
    return status


def client_urls(plan: dict) -> dict[str, str]:
    return plan.get("client_urls") or OLD_CLIENT_URLS


def _caseworker(
    browser: Browser, who: dict, service: str, stop: threading.Event, tally: Tally, urls: dict[str, str]
) -> None:
    n = 0
    rng = random.Random(who["username"])
    while not stop.is_set():
        n += 1
        try:
            q = {"q": rng.choice(QUERIES), "near": rng.choice(PLACES)}
            started = time.perf_counter()
            status, _ = browser.request("/search?" + urllib.parse.urlencode(q))
            elapsed = (time.perf_counter() - started) * 1000
            tally.count(status, "search")
            with tally.lock:
                tally.search_done.append((time.monotonic(), status))
                if status == 200:
                    tally.search_ms.append(elapsed)
            query = urllib.parse.urlencode({"q": rng.choice(QUERIES)})
            status, _ = browser.request(urls["search"].format(client=who["client"], query=query))
            tally.count(status, "client search")
            status, _ = browser.request(urls["service"].format(client=who["client"], service=service))
            tally.count(status, "client service page")
            status, _ = browser.request(f"/referrals/{who['referral']}")
            tally.count(status, "referral page")
            note = f"load-{who['username']}-{n}-{time.monotonic_ns()}"
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


def _agency(browser: Browser, who: dict, stop: threading.Event, tally: Tally) -> None:
    """Agency staff pressing "still accurate": catalog writes that the search index must follow."""
    while not stop.is_set():
        try:
            browser.request(f"/services/{who['service']}")
            status, _ = browser.request(f"/manage/services/{who['service']}/verify", {"csrf_token": browser.token})
            tally.count(status, "verify")
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException):
            with tally.lock:
                tally.connection_errors += 1
        stop.wait(1.0)


def _logged_in(server: Server, plan: dict) -> tuple[list[Browser], list[Browser]]:
    caseworkers, agency = [], []
    for who in plan["caseworkers"]:
        browser = Browser(server.base)
        if _login(browser, who["username"]) != 302:
            raise RuntimeError(f"{who['username']} could not log in to the {server.name} server")
        caseworkers.append(browser)
    for who in plan["agency"]:
        browser = Browser(server.base)
        _login(browser, who["username"])
        agency.append(browser)
    return caseworkers, agency


def run_phase(server: Server, plan: dict, sessions, seconds: float, tally: Tally, faults: dict | None = None) -> dict:
    """Every simulated user busy against ``server`` for ``seconds``; the phase's own figures."""
    caseworkers, agency = sessions
    phase = Tally()
    stop = threading.Event()
    threads = [
        threading.Thread(target=_caseworker, args=(browser, who, plan["service"], stop, phase, client_urls(plan)))
        for browser, who in zip(caseworkers, plan["caseworkers"], strict=True)
    ]
    threads += [
        threading.Thread(target=_agency, args=(browser, who, stop, phase))
        for browser, who in zip(agency, plan["agency"], strict=True)
    ]
    cpu_before = server.sample_cpu()
    own_before = time.process_time()
    started = time.monotonic()
    for thread in threads:
        thread.start()
    sampler_stop = threading.Event()

    def sample() -> None:  # a worker killed mid-phase keeps the CPU it used up to its last sample
        while not sampler_stop.wait(0.5):
            server.sample_cpu()

    sampler = threading.Thread(target=sample)
    sampler.start()
    if faults is not None:
        _inject_faults(server, started, seconds, phase, faults)
    stop.wait(max(0.0, started + seconds - time.monotonic()))
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started
    sampler_stop.set()
    sampler.join()
    cpu = server.sample_cpu() - cpu_before
    own_cpu = time.process_time() - own_before
    with tally.lock:
        for status, n in phase.statuses.items():
            tally.statuses[status] = tally.statuses.get(status, 0) + n
        for kind, n in phase.by_kind.items():
            tally.by_kind[kind] = tally.by_kind.get(kind, 0) + n
        tally.search_ms += phase.search_ms
        tally.acknowledged += phase.acknowledged
        tally.server_errors += phase.server_errors
        tally.connection_errors += phase.connection_errors
    requests = sum(phase.statuses.values())
    answered = sum(n for status, n in phase.statuses.items() if status < 500)
    return {
        "seconds": round(elapsed, 1),
        "requests": requests,
        "throughput_rps": round(answered / elapsed, 1),  # 5xx answers are not counted as served
        "search_rps": round(phase.by_kind.get("search", 0) / elapsed, 1),
        "search_p50_ms": _percentile(phase.search_ms, 0.5),
        "search_p95_ms": _percentile(phase.search_ms, 0.95),
        "server_cores": round(cpu / elapsed, 2),
        "load_generator_cores": round(own_cpu / elapsed, 2),
        "server_errors_5xx": len(phase.server_errors),
    }


def _inject_faults(server: Server, started: float, seconds: float, phase: Tally, faults: dict) -> None:
    time.sleep(max(0.0, started + seconds / 3 - time.monotonic()))
    victims = server.worker_pids()
    if victims:
        os.kill(victims[0], signal.SIGKILL)
        faults["killed_worker_pid"] = victims[0]
        print(f"killed worker {victims[0]} with SIGKILL", flush=True)
    time.sleep(max(0.0, started + seconds / 2 - time.monotonic()))
    holder = _hold_index_lock(server.tree, server.env, 10.0)
    faults["index_lock_held"] = holder.stdout.readline().strip() == "held"
    lock_start = time.monotonic()
    holder.wait(timeout=30)
    lock_end = time.monotonic()
    during = [status for moment, status in list(phase.search_done) if lock_start <= moment <= lock_end]
    faults["lock_held_s"] = round(lock_end - lock_start, 1)
    faults["searches_while_lock_held"] = len(during)
    faults["searches_ok_while_lock_held"] = sum(1 for status in during if status == 200)


def _hold_index_lock(tree: Path, env: dict, seconds: float) -> subprocess.Popen:
    code = (
        "import time; from directory import create_app; from directory.search.index import get_index\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    with get_index(app).sync_lock(timeout=30):\n"
        f"        print('held', flush=True); time.sleep({seconds})\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tree, stdout=subprocess.PIPE, text=True)


def restart_seconds(tree: Path, database_uri: str, tmp: Path, repeats: int = 3) -> list[float]:
    """A one-worker server: kill its worker, time until the replacement answers a search."""
    server = Server(tree, database_uri, tmp, 1, "restart").start()
    times = []
    try:
        for _ in range(repeats):
            (victim,) = server.worker_pids()
            os.kill(victim, signal.SIGKILL)
            times.append(round(server.wait_until_searching(timeout=120), 2))
    finally:
        server.stop()
    return times


# --- checks afterwards ---------------------------------------------------------------------------------------


def _check(database_uri: str, tmp: Path, acknowledged: list[str]) -> dict:
    from sqlalchemy import func, select

    from directory import create_app
    from directory.catalog.outbox import SearchChange
    from directory.extensions import db
    from directory.referrals.models import Attempt
    from directory.search.index import expected_doc_ids, get_index

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


# --- databases and trees --------------------------------------------------------------------------------------


class Databases:
    """A fresh database per side: a SQLite file in its folder, or a PostgreSQL database (dropped after)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.admin = None
        self.names: list[str] = []
        if kind == "postgresql":
            from sqlalchemy import create_engine

            url = os.environ.get("BENCH_POSTGRES_URL")
            if not url:
                raise SystemExit("Set BENCH_POSTGRES_URL to run the load test on PostgreSQL.")
            self.url = url
            self.admin = create_engine(url, isolation_level="AUTOCOMMIT")

    def new(self, tmp: Path, name: str) -> str:
        if self.admin is None:
            return f"sqlite:///{tmp / 'load.sqlite3'}"
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        database = f"lj_load_{os.getpid()}_{name}"
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        self.names.append(database)
        return make_url(self.url).set(database=database).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if self.admin is None:
            return
        from sqlalchemy import text

        with self.admin.connect() as conn:
            for database in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        self.admin.dispose()


@contextlib.contextmanager
def worktree(rev: str):
    """A detached git worktree of ``rev`` in a temporary folder (removed afterwards)."""
    folder = Path(tempfile.mkdtemp(prefix="lianjie-compare-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), rev], cwd=ROOT, check=True, capture_output=True)
    try:
        subprocess.run(
            [str(Path(sys.executable).parent / "pybabel"), "compile", "--use-fuzzy", "-f", "-d", TRANSLATIONS],
            cwd=folder,
            check=True,
            capture_output=True,
        )
        yield folder
    finally:
        remove = ["git", "worktree", "remove", "--force", str(folder)]
        subprocess.run(remove, cwd=ROOT, check=False, capture_output=True)


def _side_summary(phases: list[dict]) -> dict:
    keys = ("throughput_rps", "search_rps", "search_p50_ms", "search_p95_ms", "server_cores", "load_generator_cores")
    summary = {key: _median([p[key] for p in phases if p[key] is not None]) for key in keys}
    summary["server_errors_5xx"] = sum(p["server_errors_5xx"] for p in phases)
    return summary


def run(database: str, users: int, seconds: float, workers: int, compare: str | None, rounds: int) -> dict:
    databases = Databases(database)
    sides: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        trees = {"new": ROOT}
        if compare:
            trees = {"old": stack.enter_context(worktree(compare)), "new": ROOT}
        for name, tree in trees.items():
            tmp = Path(tempfile.mkdtemp(prefix=f"lianjie-load-{name}-"))
            uri = databases.new(tmp, name)
            print(f"preparing the {name} side's {database} database with {users} caseworkers …", flush=True)
            plan = _prepare_in(tree, uri, tmp, users)
            sides[name] = {"tree": tree, "tmp": tmp, "uri": uri, "plan": plan, "tally": Tally(), "phases": []}
        calibration_before = calibration_s()
        for name, side in sides.items():
            side["server"] = Server(side["tree"], side["uri"], side["tmp"], workers, name).start()
            side["sessions"] = _logged_in(side["server"], side["plan"])
        order = [name for _ in range(rounds) for name in sides]
        phase_seconds = seconds / len(order)
        faults: dict = {}
        print(f"{len(order)} phases of {phase_seconds:.0f} s: {' '.join(order)}; {users} caseworkers", flush=True)
        for name in order:
            side = sides[name]
            figures = run_phase(side["server"], side["plan"], side["sessions"], phase_seconds, side["tally"])
            side["phases"].append(figures)
            print(f"  {name}: {json.dumps(figures)}", flush=True)
        new = sides["new"]
        fault_seconds = max(30.0, phase_seconds)
        print(
            f"faults (new code): a killed worker and a held index lock, in a phase of {fault_seconds:.0f} s", flush=True
        )
        fault_phase = run_phase(new["server"], new["plan"], new["sessions"], fault_seconds, new["tally"], faults)
        logs = {name: side["server"].stop() for name, side in sides.items()}
        calibration_after = calibration_s()

        result: dict = {
            "database": database,
            "users": users,
            "seconds": seconds,
            "workers": workers,
            "compare": compare,
            "calibration_s": [calibration_before, calibration_after],
        }
        for name, side in sides.items():
            tally = side["tally"]
            summary = _side_summary(side["phases"])
            summary.update(
                requests=sum(tally.statuses.values()),
                statuses={str(k): v for k, v in sorted(tally.statuses.items())},
                requests_by_kind=dict(sorted(tally.by_kind.items())),
                database_locked_in_log=logs[name].count("database is locked"),
                tracebacks_in_log=logs[name].count("Traceback"),
                connection_errors=tally.connection_errors,
                phases=side["phases"],
            )
            print(f"timing a restarted worker ({name}) …", flush=True)
            summary["restart_to_first_search_s"] = restart_seconds(side["tree"], side["uri"], side["tmp"])
            summary["restart_median_s"] = _median(summary["restart_to_first_search_s"])
            result[name] = summary
        result["new"]["faults"] = {**faults, "phase": fault_phase}
        result["new"].update(_check(new["uri"], new["tmp"], new["tally"].acknowledged))
        result["new"]["sql_statements"] = statement_counts(new["uri"], new["tmp"], new["plan"])
        if compare:
            old, fresh = result["old"], result["new"]
            result["ratio_new_to_old"] = {
                key: round(fresh[key] / old[key], 2) if old.get(key) and fresh.get(key) else None for key in COMPARED
            }
        fresh = result["new"]
        result["passed"] = (
            fresh["server_errors_5xx"] == 0
            and fresh["database_locked_in_log"] == 0
            and fault_phase["server_errors_5xx"] == 0
            and fresh["acknowledged_missing"] == 0
            and fresh["index_missing_docs"] == 0
            and fresh["index_extra_docs"] == 0
            and faults.get("searches_while_lock_held", 0) > 0
            and faults.get("searches_ok_while_lock_held") == faults.get("searches_while_lock_held")
        )
    databases.drop_all()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120.0, help="all phases together (default 120)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--compare", metavar="REV", help="also run this git revision, in alternating phases")
    parser.add_argument("--rounds", type=int, default=3, help="phases per side with --compare (default 3)")
    args = parser.parse_args()
    rounds = args.rounds if args.compare else 1
    result = run(args.database, args.users, args.seconds, args.workers, args.compare, rounds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"load-{args.database}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    raise SystemExit(0 if result["passed"] else 1)


if __name__ == "__main__":
    main()
