"""An index for the worklist's outcomes after treatment starts: attended referrals only,
covering what decides whether an outcome is due

Revision ID: 9b4d2e7f1a60
Revises: 9d4b6e1f2a37
Create Date: 2026-12-02 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9b4d2e7f1a60'
down_revision = '9d4b6e1f2a37'
branch_labels = None
depends_on = None

ATTENDED = "status IN ('engaged', 'treatment_started')"


def upgrade():
    op.create_index(
        'ix_referrals_attended',
        'referrals',
        ['service_id', 'referred_on', 'id'],
        postgresql_include=[
            'status',
            'retention_outcome',
            'treatment_started_on',
            'pathway',
            'diversion_outcome',
            'needs',
            'bbv_test_taken_on',
        ],
        postgresql_where=sa.text(ATTENDED),
        sqlite_where=sa.text(ATTENDED),
    )


def downgrade():
    op.drop_index('ix_referrals_attended', table_name='referrals')
