"""SQLite settings for several app workers at once; nothing to do on PostgreSQL.

- WAL journal: readers never wait for the writer.
- busy_timeout: a writer waits for the write lock instead of failing at once with "database is locked".
- Transactions begin explicitly (the pysqlite driver's own implicit BEGIN is switched off, the recipe in
  SQLAlchemy's SQLite dialect docs), and a request that may write begins with ``BEGIN IMMEDIATE``: it
  takes the write lock before reading, so it never reads a snapshot that another worker's commit has made
  stale — the case SQLite cannot wait out and reports as "database is locked" at once.
"""

from __future__ import annotations

import sqlite3

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 15_000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Blueprints whose pages write even on GET (the audit log of client records).
AUDITED_BLUEPRINTS = frozenset({"referrals"})


def _request_may_write() -> bool:
    if not has_request_context():
        return False
    return request.method not in SAFE_METHODS or request.blueprint in AUDITED_BLUEPRINTS


def _on_connect(dbapi_connection, connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()


def _on_begin(connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _request_may_write() else "BEGIN")


def install_sqlite_settings() -> None:
    if not event.contains(Engine, "connect", _on_connect):
        event.listen(Engine, "connect", _on_connect)
        event.listen(Engine, "begin", _on_begin)
