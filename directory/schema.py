"""Where the database stands against the code's migrations, for commands that need a current schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from directory.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass(frozen=True)
class SchemaState:
    current: frozenset[str]  # the database's alembic revisions (empty: never migrated)
    heads: frozenset[str]  # what the code expects
    known: frozenset[str]  # every revision the code has
    has_tables: bool

    @property
    def empty(self) -> bool:
        return not self.current and not self.has_tables

    @property
    def up_to_date(self) -> bool:
        return self.current == self.heads

    @property
    def from_newer_code(self) -> bool:
        return bool(self.current - self.known)


def _script() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def state_from_revisions(current: frozenset[str] | set[str], has_tables: bool) -> SchemaState:
    """The state of a database (or a backup of one) whose alembic_version holds ``current``."""
    script = _script()
    known = frozenset(revision.revision for revision in script.walk_revisions())
    return SchemaState(frozenset(current), frozenset(script.get_heads()), known, has_tables)


def schema_state(connection: Connection | None = None) -> SchemaState:
    """The database's migration revisions beside the code's (read only); ``connection``: another database's,
    say a backup file's, instead of the app's."""
    if connection is None:
        with db.engine.connect() as own:
            return schema_state(own)
    current = frozenset(MigrationContext.configure(connection).get_current_heads())
    has_tables = bool(inspect(connection).get_table_names())
    return state_from_revisions(current, has_tables)


def includes(state: SchemaState, revision: str) -> bool:
    """Whether the database is at ``revision`` or a later one (known revisions only)."""
    script = _script()
    for head in state.current & state.known:
        if any(r.revision == revision for r in script.iterate_revisions(head, "base")):
            return True
    return False


def schema_problem(state: SchemaState) -> str | None:
    """What keeps the code from using this database, in words an operator can act on; None when current."""
    if state.up_to_date:
        return None
    if state.empty:
        return "The database is empty: run `flask db upgrade` to create its tables."
    if state.from_newer_code:
        return (
            "The database was migrated by a newer version of Lianjie "
            f"(revision {', '.join(sorted(state.current))}); update the code before using it."
        )
    if not state.current:
        return "The database has tables but no migration record: it is not a Lianjie database."
    return "The database is not up to date: run `flask db upgrade` first."
