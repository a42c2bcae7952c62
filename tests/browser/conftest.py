"""Browser tests: Playwright drives Debian's Chromium against the real app served on 127.0.0.1.

The demo database is made once per session — the test suite's seeded catalog (migrated, seeded, indexed)
plus the real ``flask seed`` for the demo users and clients — and each test gets a fresh copy of it
(database file and search index) behind its own gunicorn server, so the journeys never see each other's
changes. Without Chromium the tests skip with how to install it; in CI (``CI=1``) they fail instead.
On PostgreSQL (TEST_DATABASE_URL) they skip: the SQLite run covers them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.browser.ui import DEMO_PASSWORD, TRANSLATIONS, Catalogue
from tests.conftest import ON_POSTGRES, ROOT

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # containers often have a small /dev/shm
]
INSTALL_HINT = "install it with `apt-get install chromium fonts-noto-cjk` (CI installs it: .ci/run)"
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def chromium_path() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}: CI must run the browser tests; {INSTALL_HINT}", pytrace=False)
    pytest.skip(f"{reason}; {INSTALL_HINT}")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if ON_POSTGRES:
        pytest.skip("browser tests run once, on SQLite: skipped when TEST_DATABASE_URL is set")
    executable = chromium_path()
    if executable is None:
        _unavailable("Chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("The playwright package is missing (pip install -r requirements-dev.txt)")
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def translations(tmp_path_factory) -> Path:
    """A snapshot of the Chinese catalogue, compiled: the servers and the checks read the same words
    even while someone edits the .po."""
    folder = tmp_path_factory.mktemp("translations")
    messages = folder / "zh" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    shutil.copy(TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po", messages / "messages.po")
    with (messages / "messages.po").open("rb") as po, (messages / "messages.mo").open("wb") as mo:
        write_mo(mo, read_po(po), use_fuzzy=True)  # as `make translations`
    return folder


@pytest.fixture(scope="session")
def catalogue(translations, tmp_path_factory) -> Catalogue:
    return Catalogue.load(translations / "zh" / "LC_MESSAGES" / "messages.po", tmp_path_factory.mktemp("catalogue"))


def _flask_env(database: Path, index: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FLASK_APP", "TEST_DATABASE_URL")}
    return {
        **env,
        "DATABASE_URL": f"sqlite:///{database}",
        "SEARCH_INDEX_DIR": str(index),
        "SECRET_KEY": "browser-tests-secret",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "DEMO_PASSWORD": DEMO_PASSWORD,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _app_spec(instance: Path, translations: Path) -> str:
    """The app factory with its own instance folder (never the developer's instance/) and catalogue."""
    config = {"INSTANCE_PATH": str(instance), "BABEL_TRANSLATION_DIRECTORIES": str(translations)}
    return f"directory:create_app({config!r})"


@dataclass(frozen=True)
class DemoSite:
    """The demo database and its search index, to copy for each server, and the catalogue it speaks."""

    database: Path
    index: Path
    translations: Path


@pytest.fixture(scope="session")
def demo_site(seeded_db, translations, tmp_path_factory) -> DemoSite:
    if seeded_db.file is None:
        pytest.skip("the browser tests run on SQLite only")
    tmp = tmp_path_factory.mktemp("demo-site")
    database, index = tmp / "lianjie.sqlite3", tmp / "index"
    shutil.copy(seeded_db.file, database)
    shutil.copytree(seeded_db.index, index)
    seeded = subprocess.run(
        [sys.executable, "-m", "flask", "--app", _app_spec(tmp / "instance", translations), "seed"],
        cwd=ROOT,
        env=_flask_env(database, index),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert seeded.returncode == 0 and "Demo clients created: 5" in seeded.stdout, seeded.stdout + seeded.stderr
    return DemoSite(database, index, translations)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        """Ask gunicorn for its quick shutdown; ``wait()`` for the process to end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def wait(self) -> None:
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(site: DemoSite, tmp: Path, env: dict | None = None) -> LiveServer:
    """gunicorn (the production settings, one worker with threads) on a fresh copy of the demo site;
    ``env`` adds settings (the notification channels, say)."""
    tmp.mkdir(parents=True, exist_ok=True)
    database, index = tmp / "lianjie.sqlite3", tmp / "index"
    shutil.copy(site.database, database)
    shutil.copytree(site.index, index)
    port = _free_port()
    log = tmp / "server.log"
    env = {**_flask_env(database, index), "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1", **(env or {})}
    command = [
        *(sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"),
        *("-k", "gthread", "--threads", "4"),  # Chromium keeps connections open: a lone sync worker would wait
        "--no-control-socket",  # several servers at once, and none in ~/.gunicorn
        _app_spec(tmp / "instance", site.translations),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    server = LiveServer(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server stopped:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/login", timeout=5) as response:  # noqa: S310 (our server)
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    server.wait()
    raise AssertionError(f"the server did not answer within 90 s:\n{log.read_text(errors='replace')[-3000:]}")


class ServerPool:
    """Starts each test's server while the test before it runs: one spare, started in a thread."""

    def __init__(self, site: DemoSite, folder: Path, needed: int):
        self.site, self.folder, self.needed = site, folder, needed
        self.started = 0
        self.servers: list[LiveServer] = []
        self._spare: tuple[threading.Thread, dict] | None = None

    def _start_spare(self) -> None:
        self.started += 1
        box: dict = {}
        folder = self.folder / f"server-{self.started}"

        def start() -> None:
            try:
                box["server"] = start_server(self.site, folder)
            except BaseException as exc:  # noqa: BLE001 (reported by take())
                box["error"] = exc

        thread = threading.Thread(target=start, name=f"lianjie-server-{self.started}", daemon=True)
        thread.start()
        self._spare = (thread, box)

    def take(self) -> LiveServer:
        if self._spare is None:
            self._start_spare()
        thread, box = self._spare
        thread.join()
        self._spare = None
        if self.started < self.needed:
            self._start_spare()
        if "error" in box:
            raise box["error"]
        self.servers.append(box["server"])
        return box["server"]

    def close(self) -> None:
        """Stop every server, the spare too, and wait for them to end."""
        if self._spare is not None:
            thread, box = self._spare
            thread.join()
            if "server" in box:
                self.servers.append(box["server"])
        for server in self.servers:
            server.stop()
            server.wait()


@pytest.fixture(scope="session")
def server_pool(request, demo_site, tmp_path_factory) -> Iterator[ServerPool]:
    needed = sum("live_server" in item.fixturenames for item in request.session.items)
    pool = ServerPool(demo_site, tmp_path_factory.mktemp("servers"), needed)
    yield pool
    pool.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.journey_failed = True
    return report


@pytest.fixture
def live_server(request, server_pool) -> Iterator[str]:
    """The app on a fresh copy of the demo site, served on 127.0.0.1; yields its base URL.

    When the test fails, the end of the server's log (requests and errors) is shown with it."""
    server = server_pool.take()
    yield server.url
    server.stop()  # ends while the next test runs
    if getattr(request.node, "journey_failed", False):
        print(f"--- the server's log ({server.log}) ends:\n{server.log.read_text(errors='replace')[-4000:]}")
