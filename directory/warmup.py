"""Warm a server process before it forks its workers, so that a new or restarted worker answers at once.

A cold worker spends seconds on its first search: jieba's dictionary, pypinyin's tables, the gazetteer,
the synonym groups, the compiled templates, the catalogues, the place arrays of the index segments.
gunicorn loads the app in its master (``preload_app``) and calls ``warm_up`` there once; every worker
it forks shares that memory. Nothing that must not cross a fork stays open: the master's database
connections and index files are closed, and each worker opens its own (``after_fork``).
"""

from __future__ import annotations

from flask import Flask

from directory.extensions import db
from directory.search.index import close_indexes

WARM_PAGES = ("/", "/search?q=医院&near=天河区", "/search?q=meishatong")


def warm_up(app: Flask) -> None:
    """Serve a few pages in this process, then let go of its connections and open index files."""
    client = app.test_client()
    for path in WARM_PAGES:
        client.get(path)
    release(app)


def release(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    close_indexes()


def after_fork(app: Flask) -> None:
    """In a new worker: forget any connection inherited from the master without closing it (its own)."""
    with app.app_context():
        db.engine.dispose(close=False)
