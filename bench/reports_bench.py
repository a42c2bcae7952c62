"""Reports benchmark: 200,000 referrals and 1,000,000 outreach attempts, then the whole /reports page.

    python -m bench.reports_bench         (make bench-reports)
    BENCH_REFERRALS=20000 BENCH_ATTEMPTS=100000 python -m bench.reports_bench    (a quick run)
    BENCH_DB=/tmp/reports.sqlite3 python -m bench.reports_bench    (keep the database; reuse it next time)
    BENCH_BASELINE=ea23bbb python -m bench.reports_bench    (time that commit's page too, interleaved)

The history is generated with a fixed seed and bulk-inserted with SQLAlchemy Core into a migrated
temporary SQLite file holding the demo catalog (no trigger dropped: the append-only triggers refuse
only UPDATE and DELETE). Statuses, follow-up dates and attempt counts are derived with the app's own
rules (``directory.referrals.rules``), corrections included. A kept database is migrated first.

Timed, several times each, medians written to bench/results/reports.json: ``queries.dashboard`` as GET
/reports calls it, and the page itself, a manager's GET /reports through the test client (form,
queries, tables, charts, template). Every SQLite call (execute and fetch, on any thread) is timed by a
cursor of our own, so each run also has its SQL time (two statements at once count once), the time
outside SQL and the number of statements. With BENCH_BASELINE the reports code and templates of that
commit are loaded beside today's and timed in the same runs, alternately, on the same data.
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import types
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from flask_migrate import upgrade
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import func, insert, select, text

from bench.calibration import calibration_s
from directory import create_app
from directory.accounts.models import User
from directory.catalog.models import DISTRICTS, Location, Service, ServiceAtLocation, TaxonomyTerm
from directory.extensions import db
from directory.referrals import rules
from directory.referrals.models import (
    REFERRAL_DIMENSIONS,
    REFUSAL_REASONS,
    REFUSERS,
    Attempt,
    Client,
    Need,
    Referral,
    Refusal,
)
from directory.reports import queries, routes, tables
from directory.reports.queries import FIGURES, ReportFilter, dashboard
from directory.seed import load_seed

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "reports.json"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Guangzhou
TODAY = date(2026, 11, 23)
TARGET_S = 1.5  # the whole page
MANAGER, MANAGER_PASSWORD = "bench-manager", "长夜漫漫-reports-7319"
BATCH = 10_000

MIDDLE_OUTCOMES = (
    ("no_answer", 30),
    ("left_message", 15),
    ("call_back_later", 15),
    ("refused", 15),
    ("accepted", 10),
    ("waitlisted", 7),
    ("needs_documents", 8),
)
LAST_OUTCOMES = (
    ("service_delivered", 38),
    ("refused", 24),
    ("accepted", 10),
    ("no_answer", 13),
    ("waitlisted", 5),
    ("needs_documents", 5),
    ("call_back_later", 5),
)
CHANNELS = ("phone", "visit", "wechat", "sms", "in_person", "lianjie")


class _Attempt:
    """What ``rules`` reads of an attempt."""

    __slots__ = (
        "id",
        "number",
        "occurred_at",
        "outcome",
        "next_follow_up",
        "corrects_id",
        "refused_by",
        "refusal_reason",
    )

    def __init__(self, row: dict):
        for name in self.__slots__:
            setattr(self, name, row[name])


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    names, weights = zip(*weighted, strict=True)
    return rng.choices(names, weights)[0]


def _counts(rng: random.Random, n_referrals: int, n_attempts: int) -> list[int]:
    """Attempts per referral: 0 to 12, exactly ``n_attempts`` in all."""
    mean = n_attempts / n_referrals
    counts = [max(0, min(12, round(rng.gauss(mean, 2.5)))) for _ in range(n_referrals)]
    diff = n_attempts - sum(counts)
    while diff:
        i = rng.randrange(n_referrals)
        step = 1 if diff > 0 else -1
        if 0 <= counts[i] + step <= 12:
            counts[i] += step
            diff -= step
    return counts


def _insert(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model), rows[start : start + BATCH])


def generate(n_referrals: int, n_attempts: int, seed: int = 6) -> None:
    """Caseworkers, clients, needs, referrals and their attempts, inserted in bulk.

    The inserts go to random places in the id indexes: a large page cache for this connection (1 GB)
    keeps them in memory. The caller disposes of the connection before anything is timed.
    """
    rng = random.Random(seed)
    db.session.execute(text("PRAGMA cache_size = -1000000"))
    services = db.session.execute(select(Service.id, Service.organization_id)).all()
    locations: dict[str, list[str]] = {}
    for service_id, location_id in db.session.execute(
        select(ServiceAtLocation.service_id, ServiceAtLocation.location_id)
    ):
        locations.setdefault(service_id, []).append(location_id)
    codes = list(db.session.scalars(select(TaxonomyTerm.code)))
    districts = dict(db.session.execute(select(Location.id, Location.district)).all())

    _insert(
        User,
        [
            {
                "username": f"bench-cw-{i}",
                "display_name": f"社工{i:02d}",
                "password_hash": "!",
                "role": "caseworker",
                "session_token": uuid.uuid4().hex,
                "active": True,
                "created_at": NOW,
            }
            for i in range(40)
        ],
    )
    workers = list(db.session.scalars(select(User.id).where(User.username.like("bench-cw-%"))))

    n_clients, n_needs = max(1, n_referrals // 3), max(1, n_referrals * 3 // 4)
    clients = []
    for i in range(n_clients):
        clients.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "owner_id": rng.choice(workers),
                "display_name": f"C{i}",
                "district": rng.choice(DISTRICTS) if rng.random() < 0.9 else None,
                "facts": {},
                "created_at": NOW,
                "updated_at": NOW,
                "version": 1,
            }
        )
    _insert(Client, clients)

    needs = []
    for _ in range(n_needs):
        client = rng.choice(clients)
        status = rng.choices(("open", "met", "withdrawn", "unreachable"), (40, 35, 15, 10))[0]
        needs.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "client_id": client["id"],
                "category": rng.choice(codes),
                "goal": "bench",
                "status": status,
                "closed_at": NOW - timedelta(days=rng.randrange(1, 300)) if status != "open" else None,
                "closed_by_id": client["owner_id"] if status != "open" else None,
                "created_at": NOW - timedelta(days=1100),
                "_owner": client["owner_id"],
                "_district": client["district"],
            }
        )
    _insert(Need, [{k: v for k, v in n.items() if not k.startswith("_")} for n in needs])

    referrals, attempts, refusals = [], [], []
    for count in _counts(rng, n_referrals, n_attempts):
        need = rng.choice(needs)
        service_id, organization_id = rng.choice(services)
        created = NOW - timedelta(days=rng.uniform(1, 1095))
        span = min(timedelta(days=90), NOW - created)
        offsets = sorted(rng.uniform(0, span.total_seconds()) for _ in range(count))
        referral_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        location_id = rng.choice(locations[service_id]) if locations.get(service_id) and rng.random() < 0.6 else None
        made: list[dict] = []
        corrected: set[str] = set()
        for i, offset in enumerate(offsets):
            moment = created + timedelta(seconds=offset)
            outcome = _pick(rng, LAST_OUTCOMES if i == count - 1 else MIDDLE_OUTCOMES)
            refused = outcome == "refused"
            refuser = rng.choice(REFUSERS) if refused else None
            target = None
            if made and rng.random() < 0.01:
                choices = [a["id"] for a in made if a["id"] not in corrected]
                target = rng.choice(choices) if choices else None
                if target:
                    corrected.add(target)
            final = outcome in ("service_delivered", "refused")
            made.append(
                {
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "referral_id": referral_id,
                    "number": i + 1,
                    "occurred_at": moment,
                    "recorded_at": moment,
                    "actor_id": need["_owner"],
                    "channel": rng.choice(CHANNELS),
                    "party": refuser or rng.choice(("provider", "client", "family")),
                    "outcome": outcome,
                    "refused_by": refuser,
                    "refusal_reason": rng.choice(REFUSAL_REASONS) if refused else None,
                    "note": "原因" if refused else None,
                    "next_follow_up": None if final else moment.date() + timedelta(days=rng.randrange(2, 15)),
                    "corrects_id": target,
                }
            )
        log = [_Attempt(a) for a in made]
        referrals.append(
            {
                "id": referral_id,
                "client_id": need["client_id"],
                "need_id": need["id"],
                "service_id": service_id,
                "location_id": location_id,
                "organization_id": organization_id,
                "created_by_id": need["_owner"],
                "created_at": created,
                "eligibility_status": "eligible",
                "category": need["category"],
                "need_status": need["status"],
                "caseworker_id": need["_owner"],
                "district": districts.get(location_id) or need["_district"],
                "last_activity_at": made[-1]["occurred_at"] if made else created,
                **vars(rules.summarize_attempts(log)),
            }
        )
        attempts.extend(made)
        dimensions = {k: referrals[-1][k] for k in REFERRAL_DIMENSIONS}
        refusals.extend(
            {
                "referral_id": referral_id,
                "attempt_id": a.id,
                "refused_by": a.refused_by,
                "refusal_reason": a.refusal_reason,
                **dimensions,
            }
            for a in rules.standing_refusals(log)
        )
    _insert(Referral, referrals)
    _insert(Attempt, attempts)
    _insert(Refusal, refusals)
    db.session.commit()


class SqlClock:
    """Every SQL statement run (on any thread): how many, and the wall time during which SQLite was
    executing one or handing over its rows (statements on two connections at once count once)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = 0
        self.started = 0.0
        self.busy = 0.0
        self.statements = 0

    def __enter__(self):
        with self.lock:
            if self.running == 0:
                self.started = time.perf_counter()
            self.running += 1

    def __exit__(self, *exc):
        with self.lock:
            self.running -= 1
            if self.running == 0:
                self.busy += time.perf_counter() - self.started

    def reset(self) -> None:
        with self.lock:
            self.busy, self.statements = 0.0, 0


SQL = SqlClock()


class TimedCursor(sqlite3.Cursor):
    """A cursor whose calls into SQLite are timed by ``SQL``: a UNION ALL computes its later branches
    while its rows are fetched, so fetching counts too."""

    def execute(self, *args):
        SQL.statements += 1
        with SQL:
            return super().execute(*args)

    def executemany(self, *args):
        SQL.statements += 1
        with SQL:
            return super().executemany(*args)

    def fetchone(self):
        with SQL:
            return super().fetchone()

    def fetchmany(self, *args):
        with SQL:
            return super().fetchmany(*args)

    def fetchall(self):
        with SQL:
            return super().fetchall()


class TimedConnection(sqlite3.Connection):
    def cursor(self, factory=TimedCursor):
        return super().cursor(factory)


def _manager_client(app):
    """A test client logged in as a manager (created on first use, kept in a reused database)."""
    from directory.accounts.services import create_user

    with app.app_context():
        if db.session.scalar(select(User.id).where(User.username == MANAGER)) is None:
            create_user(MANAGER, MANAGER_PASSWORD, "manager", display_name="督导")
            db.session.commit()
    client = app.test_client()
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": MANAGER, "password": MANAGER_PASSWORD, "csrf_token": token[1]})
    assert response.status_code == 302, response.status_code
    return client


def _git_show(revision: str, path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{revision}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def _baseline(app, revision: str) -> SimpleNamespace:
    """The reports code and templates of an earlier commit (queries, tables, charts, the page's view and
    its two templates), loaded beside today's: the same run times the old page and the new one,
    interleaved, on the same data. Its modules are bench_baseline_*, its templates baseline/reports/*."""
    baseline = {"sys": "__import__('sys').modules"}
    modules = {}
    for name in ("queries", "tables", "charts", "routes"):
        source = _git_show(revision, f"directory/reports/{name}.py")
        for old, new in (
            (
                "from directory.reports import queries, tables",
                f"queries, tables = ({baseline['sys']}[n] for n in "
                "('bench_baseline_queries', 'bench_baseline_tables'))",
            ),
            ("from directory.reports import queries", f"queries = {baseline['sys']}['bench_baseline_queries']"),
            ("from directory.reports.queries import", "from bench_baseline_queries import"),
            ("from directory.reports.tables import", "from bench_baseline_tables import"),
            ("from directory.reports.charts import", "from bench_baseline_charts import"),
            ('"reports/dashboard.html"', '"baseline/reports/dashboard.html"'),
            ('bp = Blueprint("reports", __name__)', 'bp = Blueprint("baseline_reports", __name__)'),
        ):
            source = source.replace(old, new)
        module = types.ModuleType(f"bench_baseline_{name}")
        sys.modules[module.__name__] = module  # dataclasses look their module up
        exec(compile(source, f"{revision}:directory/reports/{name}.py", "exec"), module.__dict__)
        modules[name] = module
    templates = {
        f"baseline/reports/{name}": _git_show(revision, f"templates/reports/{name}").replace(
            '"reports/macros.html"', '"baseline/reports/macros.html"'
        )
        for name in ("dashboard.html", "macros.html")
    }
    app.jinja_env.loader = ChoiceLoader([DictLoader(templates), app.jinja_env.loader])
    return SimpleNamespace(
        **modules,
        view=modules["routes"].dashboard,
        page_args={},
        build_tables=lambda d: modules["tables"].all_tables(d, False),
        chart_for=modules["charts"].chart_for,
    )


def _use(app, code: SimpleNamespace) -> None:
    """Serve GET /reports with this reports code (today's, or a baseline's)."""
    app.view_functions["reports.dashboard"] = code.view


def main() -> int:
    n_referrals = int(os.environ.get("BENCH_REFERRALS", "200000"))
    n_attempts = int(os.environ.get("BENCH_ATTEMPTS", "1000000"))
    repeats = int(os.environ.get("BENCH_REPEATS", "5"))
    baseline_rev = os.environ.get("BENCH_BASELINE", "")
    work = Path(tempfile.mkdtemp(prefix="lianjie-reports-bench-"))
    db_file = Path(os.environ.get("BENCH_DB") or work / "bench.sqlite3")
    reuse = db_file.exists()
    app = create_app(
        {
            "INSTANCE_PATH": str(work / "instance"),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
            "SEARCH_INDEX_DIR": str(work / "index"),
            "SECRET_KEY": "bench",
            "PASSWORD_HASH_METHOD": "scrypt:4096:8:1",
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"factory": TimedConnection}},
        }
    )
    figures: dict = {}
    with app.app_context():
        started = time.perf_counter()
        upgrade()  # a fresh file, or one kept from a run before a new migration
        print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
        if not reuse:
            load_seed(ROOT / "seed_data")
            db.session.commit()
            generate(n_referrals, n_attempts)
        figures["n_referrals"] = db.session.scalar(select(func.count()).select_from(Referral))
        figures["n_attempts"] = db.session.scalar(select(func.count()).select_from(Attempt))
        print(
            f"{'reused' if reuse else 'generated'} {figures['n_referrals']} referrals and "
            f"{figures['n_attempts']} attempts in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        db.session.remove()
        db.engine.dispose()  # time on fresh connections, as the app opens them
    # The page is requested outside an app context (as a server would: a context per request); the
    # dashboard alone is timed in a context of its own.
    client = _manager_client(app)

    # What GET /reports asks of queries.dashboard (the baseline's page asked for everything).
    page_args = {"top_places": max(routes.PAGE_ROWS, tables.CHART_BARS)}
    current = SimpleNamespace(
        queries=queries,
        view=routes.dashboard,
        page_args=page_args,
        build_tables=lambda d: tables.all_tables(d, False, limit=routes.PAGE_ROWS),
        chart_for=routes.chart_for,
    )
    variants = {"new": current}
    if baseline_rev:
        variants["baseline"] = _baseline(app, baseline_rev)
    figures["calibration_s"] = calibration_s()
    f = ReportFilter(timezone=app.config["TIMEZONE"], today=TODAY, now=NOW)
    runs: dict[str, dict[str, list]] = {name: defaultdict(list) for name in variants}
    for code in variants.values():  # warm up: OS file cache, statement compilation
        with app.app_context():
            code.queries.dashboard(f, **code.page_args)
        _use(app, code)
        assert client.get("/reports").status_code == 200
    for _ in range(repeats):
        for name, code in variants.items():  # interleaved: both see the same moments of the machine
            with app.test_request_context("/reports"):
                SQL.reset()
                started = time.perf_counter()
                result = code.queries.dashboard(f, clock=time.perf_counter, **code.page_args)
                took = time.perf_counter() - started
                runs[name]["dashboard"].append(took)
                runs[name]["dashboard_outside_sql"].append(took - SQL.busy)
                # The report as the page builds it, without Flask, sign-in, filter form or template:
                # the figures, then their tables and charts.
                built = code.build_tables(result)
                for table in built.values():
                    code.chart_for(table)
                took = time.perf_counter() - started
            runs[name]["report"].append(took)
            runs[name]["report_outside_sql"].append(took - SQL.busy)
            for query, seconds in result.timings.items():
                runs[name][f"query:{query}"].append(seconds)
            _use(app, code)
            SQL.reset()
            started = time.perf_counter()
            response = client.get("/reports")
            took = time.perf_counter() - started
            assert response.status_code == 200, response.status_code
            runs[name]["page"].append(took)
            runs[name]["page_sql"].append(SQL.busy)
            runs[name]["page_outside_sql"].append(took - SQL.busy)
            runs[name]["page_statements"].append(SQL.statements)
    _use(app, current)
    figures["calibration_after_s"] = calibration_s()

    def median(name: str, key: str) -> float:
        return round(statistics.median(runs[name][key]), 3)

    new = runs["new"]
    figures["dashboard_s"] = median("new", "dashboard")
    figures["dashboard_runs_s"] = [round(t, 3) for t in new["dashboard"]]
    figures["page_s"] = median("new", "page")
    figures["page_runs_s"] = [round(t, 3) for t in new["page"]]
    figures["page_sql_s"] = median("new", "page_sql")
    figures["page_outside_sql_s"] = median("new", "page_outside_sql")
    figures["dashboard_outside_sql_s"] = median("new", "dashboard_outside_sql")
    figures["dashboard_outside_sql_share"] = round(
        statistics.median(o / t for o, t in zip(new["dashboard_outside_sql"], new["dashboard"], strict=True)), 3
    )
    figures["report_s"] = median("new", "report")
    figures["report_outside_sql_s"] = median("new", "report_outside_sql")
    figures["report_outside_sql_share"] = round(
        statistics.median(o / t for o, t in zip(new["report_outside_sql"], new["report"], strict=True)), 3
    )
    figures["page_outside_sql_share"] = round(
        statistics.median(o / t for o, t in zip(new["page_outside_sql"], new["page"], strict=True)), 3
    )
    figures["page_statements"] = max(new["page_statements"])
    figures["dashboard_per_calibration"] = round(
        figures["dashboard_s"] / statistics.mean((figures["calibration_s"], figures["calibration_after_s"])), 2
    )
    figures["query_s"] = {k.split(":", 1)[1]: median("new", k) for k in new if k.startswith("query:")}
    if baseline_rev:
        old = runs["baseline"]
        figures["baseline"] = {
            "revision": baseline_rev,
            "dashboard_s": median("baseline", "dashboard"),
            "dashboard_runs_s": [round(t, 3) for t in old["dashboard"]],
            "page_s": median("baseline", "page"),
            "page_runs_s": [round(t, 3) for t in old["page"]],
            "page_sql_s": median("baseline", "page_sql"),
            "page_outside_sql_s": median("baseline", "page_outside_sql"),
            "page_statements": max(old["page_statements"]),
            "dashboard_outside_sql_s": median("baseline", "dashboard_outside_sql"),
            "report_s": median("baseline", "report"),
            "report_outside_sql_s": median("baseline", "report_outside_sql"),
            # each run's old time over the new time measured just after it
            "page_ratio": round(statistics.median(o / n for o, n in zip(old["page"], new["page"], strict=True)), 2),
            "dashboard_ratio": round(
                statistics.median(o / n for o, n in zip(old["dashboard"], new["dashboard"], strict=True)), 2
            ),
        }
    # Each figure on its own (as one CSV export computes it): its share of the work.
    alone = {}
    for name in FIGURES:
        with app.app_context():
            started = time.perf_counter()
            dashboard(f, (name,), with_stale=False)
            alone[name] = round(time.perf_counter() - started, 3)
    figures["figure_alone_s"] = alone
    print(
        f"dashboard {figures['dashboard_s']} s, report {figures['report_s']} s "
        f"({figures['report_outside_sql_share']:.1%} outside SQL), page {figures['page_s']} s (median of "
        f"{repeats}; {figures['page_outside_sql_share']:.1%} outside SQL, {figures['page_statements']} statements)",
        flush=True,
    )
    o = result.overview
    figures["check"] = {
        "final": o.final,
        "successes": o.successes,
        "success_rate": round(o.successes / o.final, 4) if o.final else None,
        "attempts_per_success": round(result.persistence.attempts_on_final / o.successes, 2) if o.successes else None,
        "median_days_to_acceptance": result.medians.to_acceptance,
        "median_days_to_service": result.medians.to_service,
    }
    with app.app_context():
        figures["sqlite"] = db.session.scalar(text("SELECT sqlite_version()"))
    figures["target_page_s"] = TARGET_S
    figures["load_average"] = [round(x, 2) for x in os.getloadavg()]  # other work on the machine meanwhile
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
