"""Contact summary: custody contacts added up per day, kept current by triggers

Revision ID: 9d4b6e1f2a37
Revises: 4c7e2a91d5b3
Create Date: 2026-12-02 05:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

from referrals.reports import contact_marks


# revision identifiers, used by Alembic.
revision = '9d4b6e1f2a37'
down_revision = '4c7e2a91d5b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contact_day_counts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('council_area_id', sa.Integer(), nullable=False),
    sa.Column('custody_suite_id', sa.Integer(), nullable=False),
    sa.Column('sex', sa.String(length=32), nullable=False),
    sa.Column('age_band', sa.String(length=32), nullable=False),
    sa.Column('profile', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('contacts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'council_area_id', 'custody_suite_id', 'sex', 'age_band', 'profile', name=op.f('pk_contact_day_counts'))
    )
    op.create_index('ix_contact_day_counts_council_area_id', 'contact_day_counts', ['council_area_id', 'month', 'sex', 'age_band', 'profile', 'day', 'contacts'], unique=False)
    op.create_index('ix_contact_day_counts_custody_suite_id', 'contact_day_counts', ['custody_suite_id', 'month', 'sex', 'age_band', 'profile', 'day', 'contacts'], unique=False)
    op.create_table('contact_summary_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_summary_changes'))
    )
    op.create_index(op.f('ix_contact_summary_changes_day'), 'contact_summary_changes', ['day'], unique=False)
    # The summary starts empty and unsigned: the first refresh adds up every day.
    for statement in contact_marks.create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    for statement in contact_marks.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index(op.f('ix_contact_summary_changes_day'), table_name='contact_summary_changes')
    op.drop_table('contact_summary_changes')
    op.drop_index('ix_contact_day_counts_custody_suite_id', table_name='contact_day_counts')
    op.drop_index('ix_contact_day_counts_council_area_id', table_name='contact_day_counts')
    op.drop_table('contact_day_counts')
