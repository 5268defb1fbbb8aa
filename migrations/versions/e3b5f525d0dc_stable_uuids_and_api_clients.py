"""Stable UUIDs beside internal ids, and API clients

Revision ID: e3b5f525d0dc
Revises: 7d3e1a9c4b21
Create Date: 2026-11-24 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e3b5f525d0dc'
down_revision = '7d3e1a9c4b21'
branch_labels = None
depends_on = None

UUID_TABLES = ('service_types', 'organisations', 'services', 'locations', 'referrals')

# A random (version 4) UUID for each existing row, made by the database itself. SQLite
# stores SQLAlchemy's Uuid as 32 hexadecimal digits without dashes.
SQLITE_UUID4 = (
    "lower(hex(randomblob(4)) || hex(randomblob(2)) || '4' || substr(hex(randomblob(2)), 2)"
    " || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)"
    " || hex(randomblob(6)))"
)


def upgrade():
    bind = op.get_bind()
    for table in UUID_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('uuid', sa.Uuid(), nullable=True))
        fill = 'gen_random_uuid()' if bind.dialect.name == 'postgresql' else SQLITE_UUID4
        op.execute(f"UPDATE {table} SET uuid = {fill} WHERE uuid IS NULL")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('uuid', existing_type=sa.Uuid(), nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_uuid'), ['uuid'])

    op.create_table('api_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('role', sa.Enum('custody', 'provider', 'lead', 'admin', name='api_client_role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('webhook_url', sa.String(length=500), nullable=True),
    sa.Column('webhook_secret', sa.String(length=128), nullable=True),
    sa.CheckConstraint("role IN ('custody', 'provider')", name=op.f('ck_api_clients_client_role')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_clients_created_by_id_users')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_api_clients_revoked_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_clients_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
    sa.UniqueConstraint('name', name=op.f('uq_api_clients_name')),
    sa.UniqueConstraint('token_prefix', name=op.f('uq_api_clients_token_prefix')),
    sa.UniqueConstraint('user_id', name=op.f('uq_api_clients_user_id')),
    sa.UniqueConstraint('uuid', name=op.f('uq_api_clients_uuid'))
    )
    op.create_table('api_client_suites',
    sa.Column('api_client_id', sa.Integer(), nullable=False),
    sa.Column('custody_suite_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['api_client_id'], ['api_clients.id'], name=op.f('fk_api_client_suites_api_client_id_api_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['custody_suite_id'], ['custody_suites.id'], name=op.f('fk_api_client_suites_custody_suite_id_custody_suites')),
    sa.PrimaryKeyConstraint('api_client_id', 'custody_suite_id', name=op.f('pk_api_client_suites'))
    )


def downgrade():
    op.drop_table('api_client_suites')
    op.drop_table('api_clients')
    for table in reversed(UUID_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_uuid'), type_='unique')
            batch_op.drop_column('uuid')
