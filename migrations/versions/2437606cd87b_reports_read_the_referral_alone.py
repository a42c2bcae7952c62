"""reports read the referral alone: cached attempt facts, need category and status, caseworker, district;
standing refusals in referral_refusal

Revision ID: 2437606cd87b
Revises: 343f52565c0e
Create Date: 2026-11-23 22:26:29.763894

"""
from types import SimpleNamespace

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2437606cd87b'
down_revision = '343f52565c0e'
branch_labels = None
depends_on = None

BATCH = 2000


def _backfill_from_need_client_location():
    op.execute(
        "UPDATE referral SET "
        "category = (SELECT need.category FROM need WHERE need.id = referral.need_id), "
        "need_status = (SELECT need.status FROM need WHERE need.id = referral.need_id), "
        "caseworker_id = (SELECT client.owner_id FROM client WHERE client.id = referral.client_id), "
        "district = COALESCE("
        "(SELECT location.district FROM location WHERE location.id = referral.location_id), "
        "(SELECT client.district FROM client WHERE client.id = referral.client_id)), "
        "refused_before_delivery = false"
    )


def _backfill_attempt_facts():
    """accepted_at, delivered_at, delivered_at_attempt, refused_before_delivery from each referral's
    attempts, as the app computes them (rules.summarize_attempts). Raw driver values are read and
    written back, so the stored time format stays the database's own."""
    from directory.referrals.rules import summarize_attempts

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT referral_id, id, number, occurred_at, outcome, next_follow_up, corrects_id "
            "FROM outreach_attempt ORDER BY referral_id"
        )
    )
    statement = sa.text(
        "UPDATE referral SET accepted_at = :accepted_at, delivered_at = :delivered_at, "
        "delivered_at_attempt = :delivered_at_attempt, refused_before_delivery = :refused_before_delivery "
        "WHERE id = :id"
    )
    pending, current, attempts = [], None, []

    def flush_referral():
        if current is None:
            return
        summary = summarize_attempts(attempts)
        pending.append(
            {
                "id": current,
                "accepted_at": summary.accepted_at,
                "delivered_at": summary.delivered_at,
                "delivered_at_attempt": summary.delivered_at_attempt,
                "refused_before_delivery": summary.refused_before_delivery,
            }
        )

    for referral_id, *values in rows.all():
        if referral_id != current:
            flush_referral()
            current, attempts = referral_id, []
        attempts.append(
            SimpleNamespace(**dict(zip(("id", "number", "occurred_at", "outcome", "next_follow_up", "corrects_id"), values)))
        )
    flush_referral()
    for start in range(0, len(pending), BATCH):
        bind.execute(statement, pending[start : start + BATCH])


def upgrade():
    # Added as nullable, filled, then made NOT NULL (SQLite cannot add a NOT NULL column without a default).
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivered_at_attempt', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('refused_before_delivery', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('category', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('need_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('caseworker_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('district', sa.String(length=20), nullable=True))

    _backfill_from_need_client_location()
    _backfill_attempt_facts()

    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.alter_column('refused_before_delivery', existing_type=sa.Boolean(), nullable=False)
        batch_op.alter_column('category', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('need_status', existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column('caseworker_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_referral_caseworker_id_user'), 'user', ['caseworker_id'], ['id'])

    op.create_table('referral_refusal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('attempt_id', sa.String(length=36), nullable=False),
    sa.Column('refused_by', sa.String(length=20), nullable=True),
    sa.Column('refusal_reason', sa.String(length=30), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('service_id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('district', sa.String(length=20), nullable=True),
    sa.Column('caseworker_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['outreach_attempt.id'], name=op.f('fk_referral_refusal_attempt_id_outreach_attempt')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_refusal_referral_id_referral')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_refusal')),
    sa.UniqueConstraint('attempt_id', name=op.f('uq_referral_refusal_attempt_id'))
    )
    with op.batch_alter_table('referral_refusal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_refusal_referral_id'), ['referral_id'], unique=False)
    # The standing refusals: refused attempts no other attempt corrects.
    op.execute(
        "INSERT INTO referral_refusal (referral_id, attempt_id, refused_by, refusal_reason, created_at, "
        "service_id, organization_id, category, district, caseworker_id) "
        "SELECT r.id, a.id, a.refused_by, a.refusal_reason, r.created_at, r.service_id, r.organization_id, "
        "r.category, r.district, r.caseworker_id "
        "FROM outreach_attempt a JOIN referral r ON r.id = a.referral_id "
        "WHERE a.outcome = 'refused' "
        "AND a.id NOT IN (SELECT corrects_id FROM outreach_attempt WHERE corrects_id IS NOT NULL)"
    )


def downgrade():
    with op.batch_alter_table('referral_refusal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_refusal_referral_id'))
    op.drop_table('referral_refusal')

    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_referral_caseworker_id_user'), type_='foreignkey')
        batch_op.drop_column('district')
        batch_op.drop_column('caseworker_id')
        batch_op.drop_column('need_status')
        batch_op.drop_column('category')
        batch_op.drop_column('refused_before_delivery')
        batch_op.drop_column('delivered_at_attempt')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('accepted_at')

