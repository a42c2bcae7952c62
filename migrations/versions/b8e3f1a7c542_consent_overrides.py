"""consent overrides of their own: legal basis, reason, fields, expiry, revocation; fields a client withholds

Revision ID: b8e3f1a7c542
Revises: a3f1c9e2b7d4
Create Date: 2026-12-06 03:10:00.000000

Existing overrides (referral.consent_override_reason and override_fields) become consent_override rows
with the legal basis "unrecorded", ending 30 days after the referral was made (so most have ended). The
referral's two columns stay, as they were written then.
"""
import uuid
from datetime import timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8e3f1a7c542'
down_revision = 'a3f1c9e2b7d4'
branch_labels = None
depends_on = None

LEGACY_DAYS = 30
TIMEZONE = "Asia/Shanghai"


def upgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withheld_fields', sa.JSON(), nullable=True))

    override = op.create_table('consent_override',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('referral_id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('organization_id', sa.String(length=36), nullable=False),
    sa.Column('legal_basis', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revocation_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_consent_override_client_id_client')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['user.id'], name=op.f('fk_consent_override_granted_by_id_user')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_consent_override_organization_id_organization')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_consent_override_referral_id_referral')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user.id'], name=op.f('fk_consent_override_revoked_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_override')),
    sa.UniqueConstraint('referral_id', name=op.f('uq_consent_override_referral_id'))
    )
    with op.batch_alter_table('consent_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_override_client_id'), ['client_id'], unique=False)

    _backfill(override)


def _backfill(override):
    from zoneinfo import ZoneInfo

    referral = sa.table(
        'referral',
        sa.column('id', sa.String),
        sa.column('client_id', sa.String),
        sa.column('organization_id', sa.String),
        sa.column('created_by_id', sa.Integer),
        sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('consent_id', sa.String),
        sa.column('consent_override_reason', sa.Text),
        sa.column('override_fields', sa.JSON),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(referral).where(referral.c.consent_id.is_(None), referral.c.consent_override_reason.is_not(None))
    ).all()
    zone = ZoneInfo(TIMEZONE)
    for row in rows:
        made = row.created_at
        if made.tzinfo is None:  # SQLite keeps no offset: the app stores UTC
            from datetime import UTC

            made = made.replace(tzinfo=UTC)
        conn.execute(
            override.insert().values(
                id=str(uuid.uuid4()),
                referral_id=row.id,
                client_id=row.client_id,
                organization_id=row.organization_id,
                legal_basis='unrecorded',
                reason=row.consent_override_reason,
                fields=list(row.override_fields or []),
                granted_by_id=row.created_by_id,
                granted_at=made,
                expires_on=made.astimezone(zone).date() + timedelta(days=LEGACY_DAYS),
            )
        )


def downgrade():
    with op.batch_alter_table('consent_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_override_client_id'))
    op.drop_table('consent_override')
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('withheld_fields')
