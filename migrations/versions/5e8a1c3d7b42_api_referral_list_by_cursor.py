"""An index for the referral API's list, oldest change first, read a page at a time by
cursor

Revision ID: 5e8a1c3d7b42
Revises: 9b4d2e7f1a60
Create Date: 2026-12-02 08:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5e8a1c3d7b42'
down_revision = '9b4d2e7f1a60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_referrals_updated_at', 'referrals', ['updated_at', 'id'])


def downgrade():
    op.drop_index('ix_referrals_updated_at', table_name='referrals')
