"""A referral referred on counts in the measures while every referral it was passed on
to is closed as entered in error; so closing such a referral so, or taking that closing
back, marks the day of the referral it was passed on from as well as its contact's, as
does adding, removing or relinking a referral passed on (an import, a repair). The
referral summaries are added up again in full at their next refresh (what counts
changed, and with it their signature)

Revision ID: a3c9e5d7f102
Revises: 8d2f5a1c3e47
Create Date: 2026-12-04 11:00:00.000000

"""
from alembic import op

from referrals.reports import contact_marks


# revision identifiers, used by Alembic.
revision = 'a3c9e5d7f102'
down_revision = '8d2f5a1c3e47'
branch_labels = None
depends_on = None


def _remake(passed_on_from: bool) -> None:
    dialect = op.get_bind().dialect.name
    for statement in contact_marks.in_error_drop_statements(dialect):
        op.execute(statement)
    for statement in contact_marks.in_error_create_statements(dialect, passed_on_from):
        op.execute(statement)


def upgrade():
    _remake(passed_on_from=True)


def downgrade():
    _remake(passed_on_from=False)
