"""A custody contact given another outcome after its referral was closed as entered in
error lets the referral go, and remembers which one

Revision ID: 6b1d8e3f5a20
Revises: 3a9e6c1f4d27
Create Date: 2026-12-03 17:20:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '6b1d8e3f5a20'
down_revision = '3a9e6c1f4d27'
branch_labels = None
depends_on = None


def upgrade():
    # A plain column (no foreign key), so that SQLite adds it in place: rebuilding the
    # table would drop the triggers that keep the contact summaries current.
    op.add_column('custody_contacts', sa.Column('released_from_id', sa.Integer(), nullable=True))
    op.create_index(
        'ix_custody_contacts_released_from',
        'custody_contacts',
        ['released_from_id'],
        postgresql_where=sa.text('released_from_id IS NOT NULL'),
        sqlite_where=sa.text('released_from_id IS NOT NULL'),
    )


def downgrade():
    op.drop_index('ix_custody_contacts_released_from', table_name='custody_contacts')
    op.drop_column('custody_contacts', 'released_from_id')
