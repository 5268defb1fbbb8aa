"""Tile map layout and the nation's settings, as reference data

Revision ID: 7c1e4a2b9d30
Revises: 5b7e2c9d41a6
Create Date: 2026-12-02 01:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e4a2b9d30'
down_revision = '5b7e2c9d41a6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'area_tiles',
        sa.Column('level', sa.String(length=32), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('short_name', sa.String(length=24), nullable=False),
        sa.Column('col', sa.Integer(), nullable=False),
        sa.Column('row', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('level', 'code', name=op.f('pk_area_tiles')),
    )
    op.create_table(
        'nation_settings',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('value', sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_nation_settings')),
    )


def downgrade():
    op.drop_table('nation_settings')
    op.drop_table('area_tiles')
