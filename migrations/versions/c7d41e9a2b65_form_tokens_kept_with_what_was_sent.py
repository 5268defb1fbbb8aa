"""A form's one-time token is kept with a digest of what was sent (who, where to, every
field): a form brought back with the browser's Back button, changed and sent again is a
new save, not a repeat of the first

Revision ID: c7d41e9a2b65
Revises: a3c9e5d7f102
Create Date: 2026-12-04 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c7d41e9a2b65'
down_revision = 'a3c9e5d7f102'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("form_submissions") as batch_op:
        batch_op.add_column(sa.Column("digest", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("form_submissions") as batch_op:
        batch_op.drop_column("digest")
