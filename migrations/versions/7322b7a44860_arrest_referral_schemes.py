"""Arrest referral schemes: provider teams serving custody suites, and scheme leads

Revision ID: 7322b7a44860
Revises: 2c0f40d47a52
Create Date: 2026-12-01 22:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7322b7a44860'
down_revision = '2c0f40d47a52'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('schemes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_schemes_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schemes')),
    sa.UniqueConstraint('code', name=op.f('uq_schemes_code')),
    sa.UniqueConstraint('name', name=op.f('uq_schemes_name'))
    )
    with op.batch_alter_table('schemes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schemes_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('scheme_suites',
    sa.Column('custody_suite_id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['custody_suite_id'], ['custody_suites.id'], name=op.f('fk_scheme_suites_custody_suite_id_custody_suites')),
    sa.ForeignKeyConstraint(['scheme_id'], ['schemes.id'], name=op.f('fk_scheme_suites_scheme_id_schemes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('custody_suite_id', name=op.f('pk_scheme_suites'))
    )
    with op.batch_alter_table('scheme_suites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheme_suites_scheme_id'), ['scheme_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scheme_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_scheme_id'), ['scheme_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_scheme_id_schemes'), 'schemes', ['scheme_id'], ['id'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_scheme_id_schemes'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_scheme_id'))
        batch_op.drop_column('scheme_id')

    with op.batch_alter_table('scheme_suites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheme_suites_scheme_id'))

    op.drop_table('scheme_suites')
    with op.batch_alter_table('schemes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schemes_organisation_id'))

    op.drop_table('schemes')
