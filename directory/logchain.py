"""A hash chain over the append-only logs (audit events, outreach attempts): a changed row is detected.

Each row stores its place in its table's chain (``chain_seq``: 1, 2, 3 … with no gap) and
``chain_hash = sha256(previous row's chain_hash + the row's canonical content)``; the first row follows
``GENESIS``. The ``log_chain`` table holds each chain's head (last seq and hash). Changing, removing or
inserting a row anywhere — below the app, or in a backup file — breaks the link at that row (or, for rows
cut off at the end, the head), and ``flask audit-verify`` names the first broken link.

What it does not do: someone who can rewrite a table can also recompute every hash after the row they
changed. Record the head that ``flask audit-verify`` prints somewhere the database's users cannot write
(a ticket, a signed e-mail): a later head must extend it.

Rows are chained as the ORM inserts them (a ``before_insert`` hook, so foreign keys set through
relationships are there, whichever code path added the row): the flush's first log row locks both chain
heads (PostgreSQL ``SELECT … FOR UPDATE``; on SQLite an ``UPDATE``, which takes the database's write lock,
see ``directory.database``), each row gets the next place and its hash, and after the flush the heads
move — one read and one write of a one-row-per-chain table per flush. The lock is held to the commit, so
concurrent writers extend the chain one after another. Rows inserted in bulk around the ORM
(``session.execute(insert(…))`` or raw SQL) are not chained, and ``audit-verify`` reports them.

Demo data is outside the chain: an attempt marked ``demo`` (one of a demo client's referrals, loaded by
``flask seed``) gets no place in it, ``audit-verify`` counts such rows apart, and the database lets them
(and only them) be deleted, so ``flask delete-demo-data`` removes them before going live without
breaking a link (docs/seed-data.md). A row of real work is never demo: the flag cannot be changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Integer, String, column, event, inspect, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from directory.accounts.audit import AuditEvent
from directory.extensions import db
from directory.models_base import UTCDateTime, new_id, utcnow
from directory.referrals.models import Attempt

GENESIS = "0" * 64
HEAD_TABLE = "log_chain"

# The columns each chain hashes (not the chain columns themselves, nor audit_event.id, which the database
# gives at insert: chain_seq orders that table's rows). Each with the type it is read back as.
CHAINS: dict[str, dict[str, Any]] = {
    "audit_event": {
        "at": UTCDateTime(),
        "user_id": Integer(),
        "username": String(),
        "role": String(),
        "action": String(),
        "object_type": String(),
        "object_id": String(),
        "client_id": String(),
        "ip": String(),
        "method": String(),
        "path": String(),
        "detail": JSON(),
    },
    "outreach_attempt": {
        "id": String(),
        "referral_id": String(),
        "number": Integer(),
        "occurred_at": UTCDateTime(),
        "recorded_at": UTCDateTime(),
        "actor_id": Integer(),
        "channel": String(),
        "party": String(),
        "outcome": String(),
        "refused_by": String(),
        "refusal_reason": String(),
        "note": String(),
        "next_follow_up": Date(),
        "corrects_id": String(),
    },
}
# The row's own key, to name it in a report.
ROW_KEY = {"audit_event": "id", "outreach_attempt": "id"}
# The column that marks a chain's demo rows, which stay outside it (absent before revision d7e2a4c9f813).
DEMO_COLUMN = {"outreach_attempt": "demo"}


class LogChain(db.Model):
    """The head of each chain: its last position and hash."""

    __tablename__ = HEAD_TABLE
    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


def _canonical_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite drops the offset; every stored time is UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        return json.loads(json.dumps(value))  # as the JSON column gives it back
    return value


def row_hash(chain: str, seq: int, previous: str, values: dict[str, Any]) -> str:
    """The chain hash of a row: sha256 of the previous hash and the row's canonical content."""
    content = {name: _canonical_value(values.get(name)) for name in CHAINS[chain]}
    canonical = json.dumps([chain, seq, content], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((previous + canonical).encode("utf-8")).hexdigest()


# --- writing: every new row is chained in the flush that inserts it ---------------------------------------


def _lock_heads(connection: Connection) -> dict[str, tuple[int, str]]:
    """Both chains' heads, locked until the commit (one lock order for every writer: no deadlock)."""
    if connection.dialect.name == "sqlite":
        # A write: takes the database's write lock first (directory.database), so what it returns is current.
        statement = "UPDATE log_chain SET seq = seq RETURNING name, seq, hash"
    else:
        statement = "SELECT name, seq, hash FROM log_chain ORDER BY name FOR UPDATE"
    heads = {name: (seq, hash_) for name, seq, hash_ in connection.execute(text(statement))}
    missing = set(CHAINS) - set(heads)
    if missing:
        raise RuntimeError(f"the log_chain table lacks {', '.join(sorted(missing))}: run `flask db upgrade`")
    return heads


def _fill_defaults(obj) -> None:
    """Values the ORM would fill in at the INSERT, needed now to hash the row."""
    table_name = obj.__table__.name
    if table_name == "outreach_attempt":
        obj.id = obj.id or new_id()
        obj.recorded_at = obj.recorded_at or utcnow()
    elif table_name == "audit_event":
        obj.at = obj.at or utcnow()


_HEADS = "lianjie_chain_heads"  # Session.info key: the chain heads as this flush moves them
_MOVED = "lianjie_chain_moved"


def _chain_row(mapper, connection: Connection, target) -> None:
    """Before each INSERT of a log row (foreign keys filled in by then): its place and hash in its chain."""
    if getattr(target, "demo", False):
        return  # demo data stays outside the chain (see the module's docstring)
    session = object_session(target)
    info = session.info if session is not None else connection.info
    heads = info.get(_HEADS)
    if heads is None:
        heads = info[_HEADS] = _lock_heads(connection)
        info[_MOVED] = set()
    chain = target.__tablename__
    _fill_defaults(target)
    seq, previous = heads[chain]
    seq += 1
    target.chain_seq = seq
    target.chain_hash = row_hash(chain, seq, previous, {name: getattr(target, name) for name in CHAINS[chain]})
    heads[chain] = (seq, target.chain_hash)
    info[_MOVED].add(chain)


def _start_flush(session: Session, flush_context, instances) -> None:
    session.info.pop(_HEADS, None)  # heads are read again, under the lock, by the flush's first log row
    session.info.pop(_MOVED, None)


def _move_heads(session: Session, flush_context) -> None:
    heads, moved = session.info.pop(_HEADS, None), session.info.pop(_MOVED, None)
    if not moved:
        return
    connection = session.connection()
    for chain in sorted(moved):
        seq, hash_ = heads[chain]
        connection.execute(
            text("UPDATE log_chain SET seq = :seq, hash = :hash WHERE name = :name"),
            {"seq": seq, "hash": hash_, "name": chain},
        )


def install_log_chain() -> None:
    """Chain each audit and attempt row as the ORM inserts it (whichever code path added it)."""
    if not event.contains(Session, "before_flush", _start_flush):
        event.listen(Session, "before_flush", _start_flush)
        event.listen(Session, "after_flush", _move_heads)
        for model in (AuditEvent, Attempt):
            event.listen(model, "before_insert", _chain_row)


# --- checking ------------------------------------------------------------------------------------------------


@dataclass
class ChainReport:
    chain: str
    rows: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problem: str | None = None
    demo_rows: int = 0  # demo rows, outside the chain

    @property
    def ok(self) -> bool:
        return self.problem is None


def walk_chain(
    chain: str,
    rows: Iterable[dict[str, Any]],
    unchained: list[Any],
    head: tuple[int, str] | None,
) -> ChainReport:
    """Check rows (dicts with the chain's columns, ``chain_seq`` and ``chain_hash``) in ``chain_seq`` order.

    ``unchained``: keys of rows without a chain position; ``head``: the recorded head (None: not known)."""
    report = ChainReport(chain)
    key = ROW_KEY[chain]
    if unchained:
        report.problem = (
            f"{chain}: {len(unchained)} row(s) are outside the hash chain (first: {key} {unchained[0]}); "
            "they were inserted around the application"
        )
        return report
    previous, expected = GENESIS, 1
    for row in rows:
        seq = row["chain_seq"]
        if seq != expected:
            what = "is missing" if seq > expected else "appears twice"
            report.problem = f"{chain}: the row at chain position {min(seq, expected)} {what} (next {key} {row[key]})"
            return report
        if row_hash(chain, seq, previous, row) != row["chain_hash"]:
            report.problem = (
                f"{chain}: the row at chain position {seq} ({key} {row[key]}) does not match its hash: "
                "it was changed, or put in place of another"
            )
            return report
        previous, expected = row["chain_hash"], expected + 1
        report.rows += 1
    report.head_seq, report.head_hash = report.rows, previous
    if head is not None and (head[0], head[1]) != (report.head_seq, report.head_hash):
        report.problem = (
            f"{chain}: the chain ends at position {report.head_seq} but its recorded head is at {head[0]}: "
            "rows were removed from the end, or the head was changed"
        )
    return report


def _table(chain: str):
    columns = [column(name, type_) for name, type_ in CHAINS[chain].items()]
    if "id" not in CHAINS[chain]:
        columns.append(column("id"))
    return table(chain, *columns, column("chain_seq", Integer()), column("chain_hash", String()))


def _rows(connection: Connection, chain: str) -> Iterator[dict[str, Any]]:
    rows = _table(chain)
    result = connection.execution_options(stream_results=True, yield_per=2000).execute(
        select(rows).where(rows.c.chain_seq.is_not(None)).order_by(rows.c.chain_seq)
    )
    for row in result.mappings():
        yield dict(row)


def verify_connection(connection: Connection) -> list[ChainReport]:
    """Walk both chains of the database behind ``connection`` (read only)."""
    heads = {
        name: (seq, hash_) for name, seq, hash_ in connection.execute(text("SELECT name, seq, hash FROM log_chain"))
    }
    reports = []
    for chain in CHAINS:
        rows = _table(chain)
        key = rows.c[ROW_KEY[chain]]
        outside = [rows.c.chain_seq.is_(None)]
        demo_rows = 0
        demo_name = DEMO_COLUMN.get(chain)
        if demo_name and demo_name in {c["name"] for c in inspect(connection).get_columns(chain)}:
            demo = column(demo_name, Boolean())
            outside.append(demo.is_not(True))
            demo_rows = connection.execute(
                select(text("count(*)")).select_from(rows).where(rows.c.chain_seq.is_(None), demo.is_(True))
            ).scalar()
        unchained = list(connection.execute(select(key).where(*outside).order_by(key).limit(1)).scalars())
        if unchained:
            count = connection.execute(select(text("count(*)")).select_from(rows).where(*outside)).scalar()
            unchained = unchained * int(count)
        head = heads.get(chain)
        report = walk_chain(chain, _rows(connection, chain), unchained, head)
        report.demo_rows = int(demo_rows or 0)
        if head is None and report.ok:
            report.problem = f"{chain}: the log_chain table has no head for this chain"
        reports.append(report)
    return reports


def chain_in_place(connection: Connection) -> None:
    """Chain the rows of both tables as they are, in order (``id`` for audit events, time recorded for
    attempts), and record the heads: for the migration that brings the chain in."""
    order = {"audit_event": ("id",), "outreach_attempt": ("recorded_at", "id")}
    for chain in CHAINS:
        rows = _table(chain)
        selected = select(*[rows.c[name] for name in CHAINS[chain] if name != "id"], rows.c.id)
        previous, seq = GENESIS, 0
        for row in connection.execute(selected.order_by(*[rows.c[name] for name in order[chain]])).mappings().all():
            seq += 1
            previous = row_hash(chain, seq, previous, row)
            connection.execute(rows.update().where(rows.c.id == row["id"]).values(chain_seq=seq, chain_hash=previous))
        connection.execute(
            text("INSERT INTO log_chain (name, seq, hash) VALUES (:name, :seq, :hash)"),
            {"name": chain, "seq": seq, "hash": previous},
        )
