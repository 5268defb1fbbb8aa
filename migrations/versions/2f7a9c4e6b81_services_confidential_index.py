"""An index of the services whose address is hidden, which every search reads wherever
they are: found without reading every service

Revision ID: 2f7a9c4e6b81
Revises: 8c4e2b7d9f13
Create Date: 2026-12-03 17:40:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '2f7a9c4e6b81'
down_revision = '8c4e2b7d9f13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_services_confidential',
        'services',
        ['id'],
        postgresql_where=sa.text('confidential_address'),
        sqlite_where=sa.text('confidential_address = 1'),
    )


def downgrade():
    op.drop_index('ix_services_confidential', table_name='services')
