"""report indexes: the reports read covering indexes, already grouped

One index per breakdown of the manager reports (directory/reports/queries.py): it starts with what the
breakdown groups by (the resource, the need, the category, the district, the caseworker; for the
refusals the resource or the category, then who refused and why) and holds every column the figures
count and filter on, so SQLite reads the index in order, already grouped, without sorting the referrals
or looking up their rows. ix_referral_need_id and ix_referral_service_id go: the need and service
indexes start with the same column and serve the foreign keys as well. ix_referral_status goes too: a
status matches a large share of the referrals, so it found rows one look-up at a time, and SQLite
preferred it to the report indexes (without statistics an equality looks selective).

On SQLite three more indexes are on expressions, exactly as the report queries write them: the local
month of the referral (in Asia/Shanghai, the configured TIMEZONE: '+480 minutes', no DST since 1991;
with the attempt facts, so the persistence figures read it too), and the days from the referral to its
acceptance and to its delivery (the medians read the middle of them in order instead of sorting them
all; the second also holds the attempt that delivered, for the curve). Another time zone gets the same figures, its months sorted.
PostgreSQL groups with hashes and needs none of them. They are not in the models: SQLite's reflection
skips expression indexes, so the models and the migrations still compare equal. A later migration that
rebuilds the referral table in batch mode (copy and rename) loses them and must create them again.

Revision ID: 6fe56adf551c
Revises: 7c1e5a9d3b20
Create Date: 2026-12-06 02:17:37

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '6fe56adf551c'
down_revision = '7c1e5a9d3b20'
branch_labels = None
depends_on = None

FILTERS = ('created_at', 'category', 'district', 'organization_id', 'caseworker_id')
INDEXES = {
    'referral': {
        'service': ('service_id', 'organization_id', 'status', 'need_status'),
        'need': ('need_id', 'need_status', 'status'),
        'category': ('category', 'status', 'need_status'),
        'district': ('district', 'status', 'need_status'),
        'caseworker': ('caseworker_id', 'status', 'need_status', 'next_follow_up', 'last_activity_at'),
    },
    'referral_refusal': {
        'service': ('service_id', 'refused_by', 'refusal_reason'),
        'category': ('category', 'refused_by', 'refusal_reason'),
    },
}


def _columns(lead):
    return [*lead, *(c for c in FILTERS if c not in lead)]


ON_EXPRESSIONS = {
    'ix_referral_report_month': (
        "(strftime('%Y-%m', created_at, '+480 minutes'), status, need_status, created_at, attempt_count, "
        "refused_before_delivery, category, district, organization_id, caseworker_id)"
    ),
    'ix_referral_report_days_to_acceptance': (
        "((julianday(accepted_at) - julianday(created_at)), created_at, category, district, organization_id, "
        "caseworker_id) WHERE accepted_at IS NOT NULL"
    ),
    'ix_referral_report_days_to_service': (
        "((julianday(delivered_at) - julianday(created_at)), status, delivered_at_attempt, created_at, category, "
        "district, organization_id, caseworker_id) WHERE delivered_at IS NOT NULL"
    ),
}


def upgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_need_id')
        batch_op.drop_index('ix_referral_service_id')
        batch_op.drop_index('ix_referral_status')
    for table, indexes in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, lead in indexes.items():
                batch_op.create_index(f'ix_{table}_report_{name}', _columns(lead), unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        for name, definition in ON_EXPRESSIONS.items():
            op.execute(f'CREATE INDEX {name} ON referral {definition}')


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for name in ON_EXPRESSIONS:
            op.execute(f'DROP INDEX {name}')
    for table, indexes in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in indexes:
                batch_op.drop_index(f'ix_{table}_report_{name}')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index('ix_referral_status', ['status'], unique=False)
        batch_op.create_index('ix_referral_service_id', ['service_id'], unique=False)
        batch_op.create_index('ix_referral_need_id', ['need_id'], unique=False)
