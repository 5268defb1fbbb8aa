"""Outcomes after treatment starts: 12-week check, diversion, blood-borne virus testing

Revision ID: 0222e5465400
Revises: 9ed2fa6ac2f1
Create Date: 2026-12-01 22:32:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0222e5465400'
down_revision = '9ed2fa6ac2f1'
branch_labels = None
depends_on = None

CLOSE_REASONS = ['completed', 'disengaged', 'person_declined', 'not_contactable', 'moved_area', 'in_custody', 'died', 'entered_in_error', 'referred_on']
NEW_CLOSE_REASONS = ['transferred']


def _close_reason_check(batch_op, reasons):
    batch_op.drop_constraint(op.f('ck_referrals_close_reason'), type_='check')
    listed = ", ".join(f"'{reason}'" for reason in reasons)
    batch_op.create_check_constraint(op.f('ck_referrals_close_reason'), f"close_reason IN ({listed})")


def upgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_outcome', sa.Enum('retained', 'completed', 'dropped_out', 'transferred', name='retention_outcome', native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.add_column(sa.Column('retention_outcome_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('diversion_outcome', sa.Enum('completed', 'not_completed', name='diversion_outcome', native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.add_column(sa.Column('diversion_outcome_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('bbv_test_offered_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('bbv_test_taken_on', sa.Date(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_referrals_retention'), '(retention_outcome IS NULL) = (retention_outcome_on IS NULL)')
        batch_op.create_check_constraint(op.f('ck_referrals_diversion'), '(diversion_outcome IS NULL) = (diversion_outcome_on IS NULL)')
        batch_op.create_check_constraint(op.f('ck_referrals_diversion_pathway'), "diversion_outcome IS NULL OR pathway = 'diversion'")
        batch_op.create_check_constraint(op.f('ck_referrals_bbv_test'), 'bbv_test_taken_on IS NULL OR bbv_test_offered_on IS NOT NULL')
        # A referral can now be closed as transferred to another service.
        _close_reason_check(batch_op, CLOSE_REASONS + NEW_CLOSE_REASONS)


def downgrade():
    op.execute("UPDATE referrals SET close_reason = 'moved_area' WHERE close_reason = 'transferred'")
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        _close_reason_check(batch_op, CLOSE_REASONS)
        batch_op.drop_constraint(op.f('ck_referrals_bbv_test'), type_='check')
        batch_op.drop_constraint(op.f('ck_referrals_diversion_pathway'), type_='check')
        batch_op.drop_constraint(op.f('ck_referrals_diversion'), type_='check')
        batch_op.drop_constraint(op.f('ck_referrals_retention'), type_='check')
        batch_op.drop_constraint(op.f('ck_referrals_diversion_outcome'), type_='check')
        batch_op.drop_constraint(op.f('ck_referrals_retention_outcome'), type_='check')
        batch_op.drop_column('bbv_test_taken_on')
        batch_op.drop_column('bbv_test_offered_on')
        batch_op.drop_column('diversion_outcome_on')
        batch_op.drop_column('diversion_outcome')
        batch_op.drop_column('retention_outcome_on')
        batch_op.drop_column('retention_outcome')
