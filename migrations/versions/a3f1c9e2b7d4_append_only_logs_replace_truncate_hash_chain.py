"""append-only logs: no INSERT OR REPLACE (SQLite) or TRUNCATE (PostgreSQL), and a hash chain over them

Revision ID: a3f1c9e2b7d4
Revises: 6fe56adf551c
Create Date: 2026-12-06 03:00:00.000000

SQLite's REPLACE conflict resolution deletes the row in the way without firing its DELETE triggers (with
recursive_triggers off, the default), so ``INSERT OR REPLACE`` could rewrite an audit row or an attempt:
a BEFORE INSERT trigger now refuses a row whose id (or other unique key) is taken. PostgreSQL's TRUNCATE
fires no row trigger: a BEFORE TRUNCATE statement trigger refuses it. Each row gets its place in a hash
chain (directory/logchain.py); the rows already there are chained in their order.
"""
from alembic import op
import sqlalchemy as sa

from directory.logchain import chain_in_place


# revision identifiers, used by Alembic.
revision = 'a3f1c9e2b7d4'
down_revision = '6fe56adf551c'
branch_labels = None
depends_on = None

TABLES = ("outreach_attempt", "audit_event")
# The unique keys a REPLACE could collide with, besides the id.
OTHER_UNIQUE_KEYS = {
    "outreach_attempt": ("referral_id = NEW.referral_id AND number = NEW.number", "chain_seq = NEW.chain_seq"),
    "audit_event": ("chain_seq = NEW.chain_seq",),
}


def _sqlite_refusal(table, verb):
    return (
        f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END"
    )


def _set_update_triggers(dialect, present):
    """Drop (present=False) or recreate the UPDATE refusals of revision 343f52565c0e."""
    for table in TABLES:
        if not present:
            suffix = f" ON {table}" if dialect == "postgresql" else ""
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update{suffix}")
        elif dialect == "sqlite":
            op.execute(_sqlite_refusal(table, "UPDATE"))
        elif dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()"
            )


def upgrade():
    dialect = op.get_bind().dialect.name
    op.create_table(
        'log_chain',
        sa.Column('name', sa.String(length=30), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_log_chain')),
    )
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('chain_seq', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('chain_hash', sa.String(length=64), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_chain_seq'), ['chain_seq'], unique=True)

    _set_update_triggers(dialect, present=False)  # the rows already there get their place in the chain
    chain_in_place(op.get_bind())
    _set_update_triggers(dialect, present=True)

    for table in TABLES:
        if dialect == "sqlite":
            taken = " OR ".join(
                f"EXISTS (SELECT 1 FROM {table} WHERE {key})" for key in ("id = NEW.id", *OTHER_UNIQUE_KEYS[table])
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {taken} "
                f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: that row exists already'); END"
            )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()"
            )


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for name in (f"{table}_no_replace", f"{table}_no_truncate", f"{table}_no_update", f"{table}_no_delete"):
            suffix = f" ON {table}" if dialect == "postgresql" else ""
            op.execute(f"DROP TRIGGER IF EXISTS {name}{suffix}")
        with op.batch_alter_table(table, schema=None) as batch_op:  # SQLite copies the table: no triggers now
            batch_op.drop_index(batch_op.f(f'ix_{table}_chain_seq'))
            batch_op.drop_column('chain_hash')
            batch_op.drop_column('chain_seq')
    op.drop_table('log_chain')
    for table in TABLES:  # the refusals of revision 343f52565c0e
        for verb in ("UPDATE", "DELETE"):
            if dialect == "sqlite":
                op.execute(_sqlite_refusal(table, verb))
            elif dialect == "postgresql":
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()"
                )
