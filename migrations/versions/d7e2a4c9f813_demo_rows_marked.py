"""demo rows marked: client, referral and outreach attempt get a demo flag; demo attempts stay outside the
hash chain and are the only attempts that may be deleted (flask delete-demo-data)

Revision ID: d7e2a4c9f813
Revises: c4d2e8f1a9b3
Create Date: 2026-12-06 05:20:00.000000

Clients loaded by `flask seed` (those with a seed_key) and their referrals become demo rows. Their attempts
written before this revision are in the hash chain: they stay as they are (not demo; an attempt is never
changed), and `flask delete-demo-data` keeps the clients they belong to. The DELETE refusal on
outreach_attempt now lets through a demo attempt outside the chain, and nothing else.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d7e2a4c9f813"
down_revision = "c4d2e8f1a9b3"
branch_labels = None
depends_on = None

SQLITE_REFUSAL = "BEGIN SELECT RAISE(ABORT, 'outreach_attempt rows are append-only'); END"


def _replace_delete_trigger(dialect, demo_allowed):
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS outreach_attempt_no_delete")
        when = " WHEN NOT (OLD.demo AND OLD.chain_seq IS NULL)" if demo_allowed else ""
        op.execute(
            f"CREATE TRIGGER outreach_attempt_no_delete BEFORE DELETE ON outreach_attempt{when} {SQLITE_REFUSAL}"
        )
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outreach_attempt_no_delete ON outreach_attempt")
        function = "refuse_attempt_delete" if demo_allowed else "refuse_append_only_change"
        if demo_allowed:
            op.execute(
                "CREATE OR REPLACE FUNCTION refuse_attempt_delete() RETURNS trigger AS $$ "
                "BEGIN IF OLD.demo AND OLD.chain_seq IS NULL THEN RETURN OLD; END IF; "
                "RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
            )
        op.execute(
            "CREATE TRIGGER outreach_attempt_no_delete BEFORE DELETE ON outreach_attempt "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
        if not demo_allowed:
            op.execute("DROP FUNCTION IF EXISTS refuse_attempt_delete()")


def upgrade():
    dialect = op.get_bind().dialect.name
    # Plain ADD COLUMN (no batch copy of the table, which would drop the append-only triggers on SQLite).
    for table in ("client", "referral", "outreach_attempt"):
        op.add_column(table, sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE client SET demo = true WHERE seed_key IS NOT NULL")
    op.execute("UPDATE referral SET demo = true WHERE client_id IN (SELECT id FROM client WHERE demo = true)")
    _replace_delete_trigger(dialect, demo_allowed=True)


def downgrade():
    dialect = op.get_bind().dialect.name
    _replace_delete_trigger(dialect, demo_allowed=False)
    op.drop_column("outreach_attempt", "demo")  # SQLite 3.35+: a plain DROP COLUMN, triggers kept
    op.drop_column("referral", "demo")
    op.drop_column("client", "demo")
