"""service areas: the city, a district or a 街道/镇 a service serves (HSDS service_area)

Revision ID: c4d2a9e6f310
Revises: c4d7e2a9f318
Create Date: 2026-12-06 05:10:00.000000

A new table; existing services have no area (they are found by their locations, as before).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d2a9e6f310'
down_revision = 'c4d7e2a9f318'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('service_area',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('service_id', sa.String(length=36), nullable=False),
    sa.Column('district', sa.String(length=20), nullable=True),
    sa.Column('street', sa.String(length=50), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_area_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_area'))
    )
    with op.batch_alter_table('service_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_area_service_id'), ['service_id'], unique=False)


def downgrade():
    with op.batch_alter_table('service_area', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_area_service_id'))
    op.drop_table('service_area')
