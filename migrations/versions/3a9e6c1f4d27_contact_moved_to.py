"""Where a referral's custody contact went: a referral closed as entered in error gives
its contact to the referral made in its place, and remembers which one

Revision ID: 3a9e6c1f4d27
Revises: 7d2f4a9c1e58
Create Date: 2026-12-03 11:10:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '3a9e6c1f4d27'
down_revision = '7d2f4a9c1e58'
branch_labels = None
depends_on = None


def upgrade():
    # A plain column (no foreign key), so that SQLite adds it in place: rebuilding the
    # table would drop the triggers that keep the report summaries current.
    op.add_column('referrals', sa.Column('contact_moved_to_id', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('referrals', 'contact_moved_to_id')
