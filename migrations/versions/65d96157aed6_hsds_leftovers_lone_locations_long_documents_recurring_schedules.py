"""hsds leftovers: location without organization, long required documents, recurring schedules

- location.organization_id and change_record.organization_id may be NULL: HSDS 3.0 lets a location
  belong to no organization (only admins edit it; its change history has no organization).
- required_document.document is TEXT (it was VARCHAR(200); the importer shortened longer ones).
- schedule gets freq, interval, bymonthday, dtstart and wkst, and a longer byday ("1MO,-1FR"), for hours
  that recur monthly or every N weeks. Existing rows are weekly: freq WEEKLY, interval 1, wkst MO.

Downgrade refuses while a location (or a change record) has no organization, shortens longer documents
to 200 characters as the old importer did, and deletes the schedules the old schema cannot hold (monthly,
every N weeks, or with a start date): the old app skipped them on import too.

Revision ID: 65d96157aed6
Revises: 2437606cd87b
Create Date: 2026-11-23 22:27:21.524160

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '65d96157aed6'
down_revision = '2437606cd87b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('change_record', schema=None) as batch_op:
        batch_op.alter_column('organization_id', existing_type=sa.String(length=36), nullable=True)

    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.alter_column('organization_id', existing_type=sa.String(length=36), nullable=True)

    with op.batch_alter_table('required_document', schema=None) as batch_op:
        batch_op.alter_column(
            'document', existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=False
        )

    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('freq', sa.String(length=10), server_default='WEEKLY', nullable=False))
        batch_op.add_column(sa.Column('interval', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('bymonthday', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('dtstart', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('wkst', sa.String(length=2), server_default='MO', nullable=False))
        batch_op.alter_column(
            'byday', existing_type=sa.String(length=30), type_=sa.String(length=100), existing_nullable=False
        )


def downgrade():
    bind = op.get_bind()
    lone = bind.execute(sa.text('SELECT count(*) FROM location WHERE organization_id IS NULL')).scalar()
    history = bind.execute(sa.text('SELECT count(*) FROM change_record WHERE organization_id IS NULL')).scalar()
    if lone or history:
        raise RuntimeError(
            f'cannot downgrade: {lone} location(s) and {history} change record(s) have no organization, which '
            'the older schema requires; give those locations an organization (and their change records its '
            'id) first'
        )
    op.execute(
        "UPDATE required_document SET document = substr(document, 1, 199) || '…' WHERE length(document) > 200"
    )
    op.execute(
        "DELETE FROM schedule WHERE freq <> 'WEEKLY' OR \"interval\" <> 1 OR dtstart IS NOT NULL "
        "OR length(byday) > 30"
    )

    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.alter_column(
            'byday', existing_type=sa.String(length=100), type_=sa.String(length=30), existing_nullable=False
        )
        batch_op.drop_column('wkst')
        batch_op.drop_column('dtstart')
        batch_op.drop_column('bymonthday')
        batch_op.drop_column('interval')
        batch_op.drop_column('freq')

    with op.batch_alter_table('required_document', schema=None) as batch_op:
        batch_op.alter_column(
            'document', existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=False
        )

    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.alter_column('organization_id', existing_type=sa.String(length=36), nullable=False)

    with op.batch_alter_table('change_record', schema=None) as batch_op:
        batch_op.alter_column('organization_id', existing_type=sa.String(length=36), nullable=False)
