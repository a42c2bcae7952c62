"""lists a client keeps (shared_list), a location's e-mail, a user's work phone and last start-page visit

Revision ID: c4d7e2a9f318
Revises: d7e2a4c9f813
Create Date: 2026-12-06 05:40:00.000000

All additions: existing rows keep their values (the new columns are empty).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4d7e2a9f318"
down_revision = "d7e2a4c9f813"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shared_list",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("service_ids", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_shared_list_created_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_list")),
    )
    with op.batch_alter_table("shared_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shared_list_token"), ["token"], unique=True)
        batch_op.create_index(batch_op.f("ix_shared_list_created_by_id"), ["created_by_id"], unique=False)
    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=200), nullable=True))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("work_phone", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("start_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("start_seen_at")
        batch_op.drop_column("work_phone")
    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.drop_column("email")
    with op.batch_alter_table("shared_list", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shared_list_created_by_id"))
        batch_op.drop_index(batch_op.f("ix_shared_list_token"))
    op.drop_table("shared_list")
