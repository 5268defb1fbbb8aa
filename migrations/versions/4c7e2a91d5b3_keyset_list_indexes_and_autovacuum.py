"""Indexes for the person-level lists a page at a time (keyset), and autovacuum settings
for the tables the reports read from their indexes alone (PostgreSQL only)

Revision ID: 4c7e2a91d5b3
Revises: 7e33299216fe
Create Date: 2026-12-02 02:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '4c7e2a91d5b3'
down_revision = '7e33299216fe'
branch_labels = None
depends_on = None

# The reports aggregate referrals and contacts from covering indexes; an index-only scan
# visits the table for every row on a page the visibility map does not mark all-visible,
# so after a day of status changes the reports slow down until VACUUM runs. PostgreSQL's
# default waits for 20% of a table to change (200,000 rows of 1,000,000); these settings
# vacuum after about 1% (and after inserts too, which also clear the map's bits), and
# analyse more often so the planner knows how recent rows are spread.
AUTOVACUUM = {
    'referrals': {
        'autovacuum_vacuum_scale_factor': '0.01',
        'autovacuum_vacuum_threshold': '1000',
        'autovacuum_vacuum_insert_scale_factor': '0.01',
        'autovacuum_vacuum_insert_threshold': '1000',
        'autovacuum_analyze_scale_factor': '0.01',
        'autovacuum_analyze_threshold': '1000',
    },
    'custody_contacts': {
        'autovacuum_vacuum_scale_factor': '0.02',
        'autovacuum_vacuum_insert_scale_factor': '0.02',
        'autovacuum_analyze_scale_factor': '0.02',
    },
    'referral_events': {
        'autovacuum_vacuum_insert_scale_factor': '0.02',
        'autovacuum_analyze_scale_factor': '0.02',
    },
}


def upgrade():
    # Custody's list: one suite's referrals, newest first.
    op.create_index('ix_referrals_suite_made_at', 'referrals', ['custody_suite_id', 'made_at', 'id'])
    # Everyone else's list (administrators, providers across their services).
    op.create_index('ix_referrals_made_at', 'referrals', ['made_at', 'id'])
    # The worklist: a service's referrals in one state, oldest first. Replaces the index
    # on (service_id, status), which it begins with.
    op.drop_index('ix_referrals_service_status', table_name='referrals')
    op.create_index(
        'ix_referrals_service_status', 'referrals', ['service_id', 'status', 'referred_on', 'id']
    )
    # The audit log, newest first.
    op.drop_index('ix_audit_events_at', table_name='audit_events')
    op.create_index('ix_audit_events_at_id', 'audit_events', ['at', 'id'])
    if op.get_bind().dialect.name == 'postgresql':
        for table, settings in AUTOVACUUM.items():
            listed = ', '.join(f'{name} = {value}' for name, value in settings.items())
            op.execute(f'ALTER TABLE {table} SET ({listed})')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table, settings in AUTOVACUUM.items():
            op.execute(f"ALTER TABLE {table} RESET ({', '.join(settings)})")
    op.drop_index('ix_audit_events_at_id', table_name='audit_events')
    op.create_index('ix_audit_events_at', 'audit_events', ['at'])
    op.drop_index('ix_referrals_service_status', table_name='referrals')
    op.create_index('ix_referrals_service_status', 'referrals', ['service_id', 'status'])
    op.drop_index('ix_referrals_made_at', table_name='referrals')
    op.drop_index('ix_referrals_suite_made_at', table_name='referrals')
