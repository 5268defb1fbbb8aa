"""Feedback from the contact page; areas edited by administrators

Revision ID: f5b8881afc6a
Revises: 0222e5465400
Create Date: 2026-12-01 23:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f5b8881afc6a'
down_revision = "0222e5465400"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=True),
        sa.Column('page', sa.String(length=200), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('reply_to', sa.String(length=254), nullable=True),
        sa.Column('dealt_with_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('dealt_with_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['dealt_with_by_id'], ['users.id'], name=op.f('fk_feedback_dealt_with_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback')),
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_sent_at'), ['sent_at'], unique=False)

    with op.batch_alter_table('area_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('council_areas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('council_areas', schema=None) as batch_op:
        batch_op.drop_column('edited_at')
    with op.batch_alter_table('area_groups', schema=None) as batch_op:
        batch_op.drop_column('edited_at')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_sent_at'))
    op.drop_table('feedback')
