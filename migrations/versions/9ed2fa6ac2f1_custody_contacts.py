"""Custody contacts: everyone seen in custody about drugs or alcohol

Revision ID: 9ed2fa6ac2f1
Revises: 7322b7a44860
Create Date: 2026-12-01 22:31:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9ed2fa6ac2f1'
down_revision = '7322b7a44860'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('custody_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('custody_suite_id', sa.Integer(), nullable=False),
    sa.Column('contact_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('age_band', sa.Enum('under_18', '18_24', '25_34', '35_44', '45_54', '55_64', '65_plus', name='age_band', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('sex', sa.Enum('female', 'male', 'not_known', name='sex', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('postcode_district', sa.String(length=4), nullable=True),
    sa.Column('council_area_id', sa.Integer(), nullable=False),
    sa.Column('offered', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.Enum('referral_made', 'declined', 'not_suitable', 'already_in_treatment', 'released_before_seen', name='outcome', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('decline_reason', sa.Enum('no_problem', 'not_ready', 'self_refer', 'distrust', 'bad_experience', 'no_reason', 'other', name='contact_decline_reason', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('not_suitable_reason', sa.Enum('intoxicated', 'no_need', 'risk', 'capacity', 'under_16', 'other', name='not_suitable_reason', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('treatment_service_id', sa.Integer(), nullable=True),
    sa.Column('naloxone', sa.Enum('supplied', 'declined', 'offered', 'already_carries', 'not_offered', name='naloxone', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('veteran', sa.Boolean(), nullable=True),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(outcome = 'declined') = (decline_reason IS NOT NULL)", name=op.f('ck_custody_contacts_declined_has_reason')),
    sa.CheckConstraint("(outcome = 'not_suitable') = (not_suitable_reason IS NOT NULL)", name=op.f('ck_custody_contacts_not_suitable_has_reason')),
    sa.CheckConstraint("outcome <> 'released_before_seen' OR NOT offered", name=op.f('ck_custody_contacts_unseen')),
    sa.CheckConstraint("outcome NOT IN ('referral_made', 'declined') OR offered", name=op.f('ck_custody_contacts_offered')),
    sa.CheckConstraint("referral_id IS NULL OR outcome = 'referral_made'", name=op.f('ck_custody_contacts_referral')),
    sa.CheckConstraint("treatment_service_id IS NULL OR outcome = 'already_in_treatment'", name=op.f('ck_custody_contacts_treatment_service')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_custody_contacts_version')),
    sa.ForeignKeyConstraint(['council_area_id'], ['council_areas.id'], name=op.f('fk_custody_contacts_council_area_id_council_areas')),
    sa.ForeignKeyConstraint(['custody_suite_id'], ['custody_suites.id'], name=op.f('fk_custody_contacts_custody_suite_id_custody_suites')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_custody_contacts_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_custody_contacts_referral_id_referrals')),
    sa.ForeignKeyConstraint(['treatment_service_id'], ['services.id'], name=op.f('fk_custody_contacts_treatment_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_contacts')),
    sa.UniqueConstraint('referral_id', name=op.f('uq_custody_contacts_referral_id'))
    )
    with op.batch_alter_table('custody_contacts', schema=None) as batch_op:
        batch_op.create_index('ix_custody_contacts_measures', ['contact_on', 'council_area_id', 'custody_suite_id', 'offered', 'outcome', 'naloxone', 'veteran', 'age_band', 'sex', 'decline_reason', 'referral_id'], unique=False)
        batch_op.create_index('ix_custody_contacts_suite_date', ['custody_suite_id', 'contact_on', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('custody_contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_custody_contacts_suite_date')
        batch_op.drop_index('ix_custody_contacts_measures')

    op.drop_table('custody_contacts')
