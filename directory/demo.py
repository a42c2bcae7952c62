"""Demo data out before going live: ``flask delete-demo-data`` (docs/seed-data.md).

Demo data is what ``flask seed`` loads besides the catalog: the story clients of seed_data/clients.yaml
and the year of referral history (directory/referrals/history.py), with their needs, consents,
referrals, consent overrides, attempts and the report rows of their refusals, all marked ``demo``; the
history's caseworkers (``HISTORY_USERS``); and the demo logins of seed_data/users.yaml, which are
deactivated (not deleted: the audit log names them). The catalog stays: its listings carry their own
demo badge until an agency confirms them.

The append-only logs: a demo client's attempts are outside the hash chain (directory/logchain.py), and
the database lets exactly those rows be deleted, so the chain verifies before and after. A demo client
loaded before revision d7e2a4c9f813 has attempts in the chain: it is kept, and counted apart. The audit
log keeps its rows about demo clients (it is never edited) and gains one for the deletion itself.

Everything happens in one transaction: all of it is removed, or nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Select, and_, delete, exists, func, select, update

from directory.accounts.audit import AuditEvent, audit
from directory.accounts.models import User
from directory.extensions import db
from directory.referrals.history import HISTORY_USERS
from directory.referrals.models import Attempt, Client, Consent, ConsentOverride, Need, Referral, Refusal
from directory.seed import read_yaml

# What is removed, in the order it is deleted (rows that point at others first).
TABLES = ("refusal", "attempt", "consent_override", "referral", "consent", "need", "client")


@dataclass
class DemoData:
    """Rows of demo data per table (``TABLES``), demo clients kept, history caseworkers, demo logins."""

    rows: dict[str, int] = field(default_factory=dict)
    kept_clients: int = 0
    caseworkers: list[str] = field(default_factory=list)  # deleted
    logins: list[str] = field(default_factory=list)  # deactivated

    @property
    def empty(self) -> bool:
        return not any(self.rows.values()) and not self.caseworkers and not self.logins


def _chained_attempt(client_id) -> Select:
    """An attempt of the client's referrals that is in the hash chain (so may not be deleted)."""
    return (
        select(Attempt.id)
        .join(Referral, Referral.id == Attempt.referral_id)
        .where(Referral.client_id == client_id, Attempt.chain_seq.is_not(None))
    )


def _clients() -> Select:
    """The demo clients that can go: demo, with no attempt in the hash chain."""
    return select(Client.id).where(Client.demo.is_(True), ~exists(_chained_attempt(Client.id)))


def _referrals() -> Select:
    return select(Referral.id).where(Referral.client_id.in_(_clients()))


def _selections() -> dict[str, tuple]:
    """Per table: (model, the condition that selects its demo rows)."""
    return {
        "refusal": (Refusal, Refusal.referral_id.in_(_referrals())),
        "attempt": (Attempt, and_(Attempt.referral_id.in_(_referrals()), Attempt.demo.is_(True))),
        "consent_override": (ConsentOverride, ConsentOverride.client_id.in_(_clients())),
        "referral": (Referral, Referral.client_id.in_(_clients())),
        "consent": (Consent, Consent.client_id.in_(_clients())),
        "need": (Need, Need.client_id.in_(_clients())),
        "client": (Client, Client.id.in_(_clients())),
    }


def _history_caseworkers() -> list[str]:
    """The history's caseworkers that can be deleted: none of their work (nor any audit row) would remain."""
    names = [name for name, _ in HISTORY_USERS]
    users = select(User.id, User.username).where(User.username.in_(names))
    keep = set()
    for user_id, username in db.session.execute(users).all():
        uses = (
            select(AuditEvent.id).where(AuditEvent.user_id == user_id),
            select(Client.id).where(Client.owner_id == user_id, Client.id.not_in(_clients())),
            select(Referral.id).where(Referral.created_by_id == user_id, Referral.id.not_in(_referrals())),
            select(Attempt.id).where(Attempt.actor_id == user_id, Attempt.demo.is_(False)),
        )
        if any(db.session.scalar(select(exists(query))) for query in uses):
            keep.add(username)
    return sorted(set(db.session.scalars(users.with_only_columns(User.username))) - keep)


def _demo_logins(seed_dir: Path) -> list[str]:
    """The active demo logins of seed_data/users.yaml."""
    path = seed_dir / "users.yaml"
    names = [u.get("username") for u in (read_yaml(path).get("users") or [])] if path.exists() else []
    return sorted(db.session.scalars(select(User.username).where(User.username.in_(names), User.active.is_(True))))


def find_demo_data(seed_dir: Path, logins: bool = True) -> DemoData:
    """What ``delete_demo_data`` would remove (read only)."""
    found = DemoData()
    for name, (model, condition) in _selections().items():
        found.rows[name] = db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0
    found.kept_clients = db.session.scalar(
        select(func.count()).select_from(Client).where(Client.demo.is_(True), exists(_chained_attempt(Client.id)))
    )
    found.caseworkers = _history_caseworkers()
    found.logins = _demo_logins(seed_dir) if logins else []
    return found


def delete_demo_data(seed_dir: Path, logins: bool = True) -> DemoData:
    """Remove the demo data (``logins``: deactivate the demo logins too) and record it in the audit log;
    returns what was removed. The caller commits."""
    found = find_demo_data(seed_dir, logins)
    removed = DemoData(kept_clients=found.kept_clients, caseworkers=found.caseworkers, logins=found.logins)
    caseworkers = list(found.caseworkers)  # decided before the clients they own go
    for name in TABLES:
        model, condition = _selections()[name]
        removed.rows[name] = db.session.execute(delete(model).where(condition)).rowcount
    if caseworkers:
        db.session.execute(delete(User).where(User.username.in_(caseworkers)))
    for username in removed.logins:  # a new token ends their sessions at once
        db.session.execute(
            update(User).where(User.username == username).values(active=False, session_token=uuid.uuid4().hex)
        )
    detail = {"rows": removed.rows, "caseworkers": caseworkers, "logins": removed.logins}
    audit("delete", "demo_data", None, None, detail)
    db.session.flush()
    return removed
