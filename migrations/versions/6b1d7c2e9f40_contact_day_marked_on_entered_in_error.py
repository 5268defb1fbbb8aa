"""A contact counts as a referral made only while its referral is not closed as entered
in error, so closing a referral so, or taking that closing back, marks the contact's day
for the contact summary to add up again; the summary is added up again in full at its
next refresh (its facts' SQL changed)

Revision ID: 6b1d7c2e9f40
Revises: 4c8e1f6a2b93
Create Date: 2026-12-04 06:00:00.000000

"""
from alembic import op

from referrals.reports import contact_marks


# revision identifiers, used by Alembic.
revision = '6b1d7c2e9f40'
down_revision = '4c8e1f6a2b93'
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in contact_marks.in_error_create_statements(dialect, passed_on_from=False):
        op.execute(statement)


def downgrade():
    for statement in contact_marks.in_error_drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
