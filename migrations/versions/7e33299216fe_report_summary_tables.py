"""Report summary tables: referrals added up per day, kept current by triggers

Revision ID: 7e33299216fe
Revises: 4c1d7e2a9b30
Create Date: 2026-12-02 02:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

from referrals.reports import summary_marks


# revision identifiers, used by Alembic.
revision = '7e33299216fe'
down_revision = '4c1d7e2a9b30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('referral_day_counts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('council_area_id', sa.Integer(), nullable=False),
    sa.Column('custody_suite_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('pathway', sa.String(length=32), nullable=False),
    sa.Column('sex', sa.String(length=32), nullable=False),
    sa.Column('age_band', sa.String(length=32), nullable=False),
    sa.Column('profile', sa.Integer(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('referrals', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'council_area_id', 'custody_suite_id', 'service_id', 'pathway', 'sex', 'age_band', 'profile', name=op.f('pk_referral_day_counts'))
    )
    op.create_table('referral_day_waits',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('council_area_id', sa.Integer(), nullable=False),
    sa.Column('custody_suite_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('days_to_engagement', sa.Integer(), nullable=False),
    sa.Column('days_to_treatment', sa.Integer(), nullable=True),
    sa.Column('referrals', sa.Integer(), nullable=False)
    )
    op.create_index(op.f('ix_referral_day_waits_day'), 'referral_day_waits', ['day'], unique=False)
    op.create_table('referral_day_reasons',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('referrals', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'kind', 'reason', name=op.f('pk_referral_day_reasons'))
    )
    op.create_table('summary_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_summary_changes'))
    )
    op.create_index(op.f('ix_summary_changes_day'), 'summary_changes', ['day'], unique=False)
    op.create_table('summary_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_summary_state'))
    )
    # The summaries start empty and unsigned: the first refresh adds up every day.
    for statement in summary_marks.create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in summary_marks.drop_statements(dialect):
        op.execute(statement)
    if dialect == "postgresql":
        op.execute("ALTER TABLE referrals RESET (autovacuum_vacuum_scale_factor, "
                   "autovacuum_analyze_scale_factor, autovacuum_vacuum_insert_scale_factor)")
    op.drop_table('summary_state')
    op.drop_index(op.f('ix_summary_changes_day'), table_name='summary_changes')
    op.drop_table('summary_changes')
    op.drop_table('referral_day_reasons')
    op.drop_index(op.f('ix_referral_day_waits_day'), table_name='referral_day_waits')
    op.drop_table('referral_day_waits')
    op.drop_table('referral_day_counts')
