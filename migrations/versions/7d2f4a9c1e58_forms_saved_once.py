"""Forms saved once: the one-time tokens of forms that made something, kept a day

Revision ID: 7d2f4a9c1e58
Revises: 5e8a1c3d7b42
Create Date: 2026-12-02 16:40:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '7d2f4a9c1e58'
down_revision = '5e8a1c3d7b42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'form_submissions',
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('object_id', sa.Integer(), nullable=True),
        sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('token', name=op.f('pk_form_submissions')),
    )
    op.create_index(
        op.f('ix_form_submissions_made_at'), 'form_submissions', ['made_at'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_form_submissions_made_at'), table_name='form_submissions')
    op.drop_table('form_submissions')
