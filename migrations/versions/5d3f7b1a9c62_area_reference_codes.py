"""Areas keep the code the reference data names them by, so that an area given a new
code at /admin/areas is found again when the reference data (and official postcode and
boundary files) are loaded

Revision ID: 5d3f7b1a9c62
Revises: 2f7a9c4e6b81
Create Date: 2026-12-03 17:50:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5d3f7b1a9c62'
down_revision = '2f7a9c4e6b81'
branch_labels = None
depends_on = None


def upgrade():
    # Plain columns, so that SQLite adds them in place. Every area so far is named by
    # its code (one given a new code here before now cannot be told apart, and keeps it).
    op.add_column('council_areas', sa.Column('reference_code', sa.String(16), nullable=True))
    op.add_column('area_groups', sa.Column('reference_code', sa.String(32), nullable=True))
    op.execute('UPDATE council_areas SET reference_code = code')
    op.execute('UPDATE area_groups SET reference_code = code')


def downgrade():
    op.drop_column('area_groups', 'reference_code')
    op.drop_column('council_areas', 'reference_code')
