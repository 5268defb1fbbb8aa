"""Targets for the funnel measures (custody contacts, retention, diversion, children) and
for arrest referral schemes

Revision ID: 4c1d7e2a9b30
Revises: 7c1e4a2b9d30
Create Date: 2026-12-02 02:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '4c1d7e2a9b30'
down_revision = '7c1e4a2b9d30'
branch_labels = None
depends_on = None

MEASURES = ['referrals', 'acceptance_rate', 'engagement_rate', 'conversion_rate', 'engagement_to_treatment', 'within_3_weeks', 'median_days_to_treatment']
NEW_MEASURES = ['naloxone_supplied', 'near_fatal_overdose', 'declined', 'started_over_42', 'retention_12_weeks', 'diversion_completion', 'children_affected', 'contacts', 'offer_rate', 'referral_success_rate', 'naloxone_supply_rate']
GEOGRAPHIES = ['council', 'adp', 'police_division', 'health_board']
NEW_GEOGRAPHIES = ['scheme']


def _check(batch_op, column, values):
    batch_op.drop_constraint(op.f(f'ck_targets_{column}'), type_='check')
    listed = ", ".join(f"'{value}'" for value in values)
    batch_op.create_check_constraint(op.f(f'ck_targets_{column}'), f"{column} IN ({listed})")


def upgrade():
    with op.batch_alter_table('targets', schema=None) as batch_op:
        _check(batch_op, 'measure', MEASURES + NEW_MEASURES)
        _check(batch_op, 'geography', GEOGRAPHIES + NEW_GEOGRAPHIES)


def downgrade():
    listed = ", ".join(f"'{m}'" for m in NEW_MEASURES)
    op.execute(f"DELETE FROM targets WHERE measure IN ({listed}) OR geography = 'scheme'")
    with op.batch_alter_table('targets', schema=None) as batch_op:
        _check(batch_op, 'measure', MEASURES)
        _check(batch_op, 'geography', GEOGRAPHIES)
