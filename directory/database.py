"""Transactions for several app workers at once: read without locking, hold the write lock only to write.

SQLite (nothing to do on PostgreSQL, whose row locks and read-committed snapshots already give this):

- WAL journal: readers never wait for the writer.
- busy_timeout: a writer waits for the write lock instead of failing at once with "database is locked".
- Transactions begin explicitly (the pysqlite driver's own implicit BEGIN is switched off, the recipe in
  SQLAlchemy's SQLite dialect docs) and begin *deferred*: a request reads from a snapshot and takes no
  lock, however long it reads or renders.
- The first write of a transaction ends the read snapshot and begins again with ``BEGIN IMMEDIATE``
  (``_take_write_lock``), which waits its turn for the write lock. A deferred transaction that has read
  cannot wait: when another worker committed since its snapshot, SQLite refuses the upgrade at once with
  "database is locked", whatever the busy timeout. So what a request writes goes to the database in one
  short transaction, from its first write to its commit, and the lock is held for that alone.
- A service that decides what to write from what it reads (the next attempt number, a status derived
  from the attempts) calls ``begin_write()`` first: its reads then happen inside the write transaction,
  where no other writer can change them. On PostgreSQL it takes row locks instead (``FOR UPDATE``).
"""

from __future__ import annotations

import contextvars
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

BUSY_TIMEOUT_MS = 15_000
WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "SAVEPOINT"})
_WRITING = "lianjie_write_lock"  # Connection.info key: this transaction holds the write lock
_immediate_next: contextvars.ContextVar[bool] = contextvars.ContextVar("lianjie_immediate_next", default=False)


def _on_connect(dbapi_connection, connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()


def _on_begin(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    immediate = _immediate_next.get()
    if immediate:
        _immediate_next.set(False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    connection.info[_WRITING] = immediate


def _is_write(statement: str, context) -> bool:
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return True
    verb = statement.lstrip()[:9].split(None, 1)
    return bool(verb) and verb[0].upper() in WRITE_VERBS


def _take_write_lock(connection: Connection, cursor, statement, parameters, context, executemany) -> None:
    """Before the first write of a deferred SQLite transaction: end the snapshot, begin IMMEDIATE."""
    if connection.dialect.name != "sqlite" or connection.info.get(_WRITING, True):
        return
    if not _is_write(statement, context):
        return
    connection.info[_WRITING] = True
    dbapi_connection = cursor.connection
    try:
        dbapi_connection.execute("COMMIT")  # nothing was written yet: this only ends the read snapshot
    except sqlite3.OperationalError:
        return  # a read still in progress keeps the snapshot open: upgrade in place, as SQLite would
    dbapi_connection.execute("BEGIN IMMEDIATE")


def begin_write() -> None:
    """Read what follows under the write lock: for a service whose writes depend on what it reads.

    Ends the request's read snapshot and begins the write transaction at once (pending changes are
    flushed instead, which takes the lock the same way); objects loaded before are expired and read
    again inside it.
    """
    from directory.extensions import db

    session = db.session()  # the request's Session itself (the scoped proxy lacks in_transaction)
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.in_transaction():
        connection = session.connection()
        if connection.info.get(_WRITING):
            return
        if session.new or session.dirty or session.deleted:
            session.flush()  # the first write takes the lock (_take_write_lock); what follows reads under it
            return
        session.commit()  # a read-only transaction: ends the snapshot, expires what was loaded
    _immediate_next.set(True)
    try:
        session.connection()  # begins now, with BEGIN IMMEDIATE (_on_begin): waits its turn for the lock
    finally:
        _immediate_next.set(False)


def lock_for_write(*objects) -> None:
    """``begin_write()``, then read ``objects`` again under the lock (PostgreSQL: ``SELECT … FOR UPDATE``),
    so that two requests changing the same record take turns and each sees the other's change."""
    from directory.extensions import db

    db.session.flush()  # a refresh would drop changes not yet flushed
    begin_write()
    for obj in objects:
        db.session.refresh(obj, with_for_update=True)


def install_sqlite_settings() -> None:
    if not event.contains(Engine, "connect", _on_connect):
        event.listen(Engine, "connect", _on_connect)
        event.listen(Engine, "begin", _on_begin)
        event.listen(Engine, "before_cursor_execute", _take_write_lock)
