"""The preferred contact method is erased by the retention job with the name and phone
number it goes with, so the column may be empty; the referrals erased so far lose it
now

Revision ID: 4c8e1f6a2b93
Revises: 9e2c4a7b1d05
Create Date: 2026-12-04 10:30:00.000000

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

from referrals.reports import summary_marks


# revision identifiers, used by Alembic.
revision = '4c8e1f6a2b93'
down_revision = '9e2c4a7b1d05'
branch_labels = None
depends_on = None


def _mark_days_again():
    """SQLite changes a column by making the table again, without its triggers: those
    marking the days the summaries must add up again are made again."""
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for statement in summary_marks.drop_statements(dialect):
            op.execute(statement)
        for statement in summary_marks.create_statements(dialect):
            op.execute(statement)


def upgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.alter_column('contact_method',
               existing_type=sa.VARCHAR(length=32),
               nullable=True)
    _mark_days_again()
    referrals = sa.table(
        'referrals',
        sa.column('contact_method', sa.String),
        sa.column('personal_data_erased_at', sa.DateTime(timezone=True)),
        sa.column('version', sa.Integer),
        sa.column('updated_at', sa.DateTime(timezone=True)),
    )
    # A changed record: systems keeping a copy (the API's changed_since, FHIR's
    # versions) see a new version, changed now. Stored as the app stores it: naive UTC
    # on SQLite.
    bind = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    if bind.dialect.name != 'postgresql':
        now = now.replace(tzinfo=None)
    bind.execute(
        sa.update(referrals)
        .where(
            referrals.c.personal_data_erased_at.is_not(None),
            referrals.c.contact_method.is_not(None),
        )
        .values(contact_method=None, version=referrals.c.version + 1, updated_at=now)
    )


def downgrade():
    # The older schema needs a method on every referral. The erased ones are finished
    # and nobody contacts the person about them: "via the referrer" claims the least.
    op.execute("UPDATE referrals SET contact_method = 'via_referrer' WHERE contact_method IS NULL")
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.alter_column('contact_method',
               existing_type=sa.VARCHAR(length=32),
               nullable=False)
    _mark_days_again()
