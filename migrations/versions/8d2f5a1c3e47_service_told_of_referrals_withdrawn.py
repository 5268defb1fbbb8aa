"""The service's inbox is told when custody staff or an administrator close a referral
to it or pass it on: a new kind of message

Revision ID: 8d2f5a1c3e47
Revises: 6b1d7c2e9f40
Create Date: 2026-12-04 06:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '8d2f5a1c3e47'
down_revision = '6b1d7c2e9f40'
branch_labels = None
depends_on = None

KINDS = ['new_referral', 'referral_update', 'accepted', 'declined', 'engaged', 'closed', 'overdue_digest', 'stale_listings', 'weekly_summary', 'webhook']
# With the new one, in the order the model lists them.
NEW_KINDS = KINDS[:2] + ['withdrawn'] + KINDS[2:]


def _listed(values):
    return ", ".join(f"'{value}'" for value in values)


def _kind_checks(kinds):
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notification_preferences_preference_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notification_preferences_preference_kind'), f"kind IN ({_listed(kinds)})")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_notification_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notifications_notification_kind'), f"kind IN ({_listed(kinds)})")


def upgrade():
    _kind_checks(NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM notifications WHERE kind = 'withdrawn'")
    _kind_checks(KINDS)
