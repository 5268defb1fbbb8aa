"""PDFs made once and kept: a pack's PDF is kept under a hash of the HTML, stylesheets
and layout engine it was made from, so the next download reads it back

Revision ID: 9e2c4a7b1d05
Revises: 5d3f7b1a9c62
Create Date: 2026-12-03 19:45:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '9e2c4a7b1d05'
down_revision = '5d3f7b1a9c62'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'pdf_copies',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('pdf', sa.LargeBinary(), nullable=False),
        sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_pdf_copies')),
    )
    op.create_index(op.f('ix_pdf_copies_made_at'), 'pdf_copies', ['made_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_pdf_copies_made_at'), table_name='pdf_copies')
    op.drop_table('pdf_copies')
