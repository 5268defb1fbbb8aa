"""Boundaries of area groups (ADPs, police divisions, health boards), dissolved from
their council areas

Revision ID: 7d3e1a9c4b21
Revises: b2a662d1d38c
Create Date: 2026-11-23 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d3e1a9c4b21'
down_revision = 'b2a662d1d38c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('area_group_boundaries',
    sa.Column('area_group_id', sa.Integer(), nullable=False),
    sa.Column('geojson', sa.Text(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_group_id'], ['area_groups.id'], name=op.f('fk_area_group_boundaries_area_group_id_area_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('area_group_id', name=op.f('pk_area_group_boundaries'))
    )


def downgrade():
    op.drop_table('area_group_boundaries')
