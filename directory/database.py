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
- Writers of this machine queue for the lock in the kernel (``WriterQueue``: an exclusive ``flock`` on
  ``<database>-writer.lock``, taken just before ``BEGIN IMMEDIATE`` and let go when the connection goes
  back to the pool, right after its commit or rollback). SQLite's own wait for a busy lock sleeps and
  polls (1, 2, 5, 10 … 100 ms), so under load the lock would often sit free while every waiter sleeps;
  a queued writer wakes the moment the one before it is done. Other processes (the sqlite3 shell, a
  backup) still meet SQLite's busy timeout as before.
- A service that decides what to write from what it reads (the next attempt number, a status derived
  from the attempts) calls ``begin_write()`` first: its reads then happen inside the write transaction,
  where no other writer can change them. On PostgreSQL it takes row locks instead (``FOR UPDATE``).
"""

from __future__ import annotations

import contextvars
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask
from flask import session as cookie_session
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from directory.extensions import db

BUSY_TIMEOUT_MS = 15_000
WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "SAVEPOINT"})
_WRITING = "lianjie_write_lock"  # Connection.info key: this transaction holds the write lock
_QUEUE_FD = "lianjie_writer_fd"  # Connection.info key: the open writer-lock file, and whether it is held
_QUEUE_HELD = "lianjie_writer_held"
_immediate_next: contextvars.ContextVar[bool] = contextvars.ContextVar("lianjie_immediate_next", default=False)


def _on_connect(dbapi_connection, connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()


class WriterQueue:
    """Writers of one SQLite file on this machine take turns through an exclusive flock beside it."""

    _held = threading.local()  # how many writer locks this thread holds (through other connections)

    @classmethod
    def acquire(cls, connection: Connection) -> None:
        database = connection.engine.url.database
        if not database or database == ":memory:" or connection.info.get(_QUEUE_HELD):
            return
        if getattr(cls._held, "count", 0):
            return  # this thread writes through another connection already: SQLite's busy timeout decides
        fd = connection.info.get(_QUEUE_FD)
        if fd is None:
            fd = connection.info[_QUEUE_FD] = os.open(f"{database}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        connection.info[_QUEUE_HELD] = True
        cls._held.count = getattr(cls._held, "count", 0) + 1

    @classmethod
    def release(cls, dbapi_connection, connection_record, *exception) -> None:
        info = connection_record.info if connection_record is not None else {}
        if info.pop(_QUEUE_HELD, False):
            fcntl.flock(info[_QUEUE_FD], fcntl.LOCK_UN)
            cls._held.count -= 1

    @classmethod
    def close(cls, dbapi_connection, connection_record) -> None:
        cls.release(dbapi_connection, connection_record)
        fd = connection_record.info.pop(_QUEUE_FD, None) if connection_record is not None else None
        if fd is not None:
            os.close(fd)


def _on_begin(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    immediate = _immediate_next.get()
    if immediate:
        _immediate_next.set(False)
        WriterQueue.acquire(connection)
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
    WriterQueue.acquire(connection)
    dbapi_connection.execute("BEGIN IMMEDIATE")


def begin_write() -> None:
    """Read what follows under the write lock: for a service whose writes depend on what it reads.

    Ends the request's read snapshot and begins the write transaction at once (pending changes are
    flushed instead, which takes the lock the same way); objects loaded before are expired and read
    again inside it.
    """
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
    db.session.flush()  # a refresh would drop changes not yet flushed
    begin_write()
    for obj in objects:
        # OF its own table: an object loaded with joined relationships (a referral's page) is read again
        # with them, and PostgreSQL cannot lock the nullable side of an outer join.
        db.session.refresh(obj, with_for_update={"of": type(obj)})


# --- one transaction per request ---------------------------------------------------------------------
# Services add and flush, never commit; a route never commits either. The request's view runs, and when it
# returns, what it changed and the audit rows of what it showed are committed together, once (an
# exception rolls it all back, and the error handlers show that nothing was saved). The rows still wait
# beside the session until that commit, so the write lock is held for the inserts alone (see above).

_FLUSHED = "lianjie_flushed"  # Session.info key: this transaction has written (flushed or executed)
_waiting: list[str] = []  # Session.info keys under which rows wait to be added at the commit (audit rows)


def rows_wait_in(key: str) -> None:
    """Rows kept in ``Session.info[key]`` are added at the commit: a request holding some must commit."""
    if key not in _waiting:
        _waiting.append(key)


def has_writes(session: Session) -> bool:
    """Whether committing ``session`` would write anything: changes, flushed or not, or waiting rows."""
    info = session.info
    return bool(
        session.new or session.dirty or session.deleted or info.get(_FLUSHED) or any(info.get(k) for k in _waiting)
    )


def _flushed(session: Session, flush_context) -> None:
    session.info[_FLUSHED] = True


def _executed(state) -> None:
    """An INSERT, UPDATE or DELETE statement run through the session (the login throttle's) is a write too."""
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_FLUSHED] = True


def _transaction_ended(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_FLUSHED, None)


def in_one_transaction(view: Callable[..., Any]) -> Callable[..., Any]:
    """``view``, committing what the request wrote once it returns (nothing to write: no commit)."""

    @wraps(view)
    def run(*args, **kwargs):
        try:
            response = view(*args, **kwargs)
            session = db.session()
            if has_writes(session):
                try:
                    session.commit()
                except Exception:
                    if "_flashes" in cookie_session:
                        cookie_session.pop("_flashes")  # what the view announced was not saved
                    raise
        except BaseException:
            db.session.rollback()
            raise
        return response

    run.in_one_transaction = True  # type: ignore[attr-defined]
    return run


def install_request_transactions(app: Flask) -> None:
    """Run every view of ``app`` (registered before this call) in one transaction."""
    if not event.contains(Session, "after_flush", _flushed):
        event.listen(Session, "after_flush", _flushed)
        event.listen(Session, "do_orm_execute", _executed)
        event.listen(Session, "after_transaction_end", _transaction_ended)
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static" and not getattr(view, "in_one_transaction", False):
            app.view_functions[endpoint] = in_one_transaction(view)


def install_sqlite_settings() -> None:
    if not event.contains(Engine, "connect", _on_connect):
        event.listen(Engine, "connect", _on_connect)
        event.listen(Engine, "begin", _on_begin)
        event.listen(Engine, "before_cursor_execute", _take_write_lock)
        event.listen(Pool, "checkin", WriterQueue.release)
        event.listen(Pool, "close", WriterQueue.close)
        event.listen(Pool, "invalidate", WriterQueue.release)
