"""Webhooks: outbox rows for a registered system, its signing secret kept encrypted; and
systems that read the published reports

Revision ID: 5b7e2c9d41a6
Revises: f5b8881afc6a
Create Date: 2026-12-02 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from referrals.encryption import EncryptedText


# revision identifiers, used by Alembic.
revision = '5b7e2c9d41a6'
down_revision = 'f5b8881afc6a'
branch_labels = None
depends_on = None

KINDS = ['new_referral', 'referral_update', 'accepted', 'declined', 'engaged', 'closed', 'overdue_digest', 'stale_listings', 'weekly_summary']
NEW_KINDS = ['webhook']


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
    _kind_checks(KINDS + NEW_KINDS)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_client_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_api_client_id'), ['api_client_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notifications_api_client_id_api_clients'), 'api_clients', ['api_client_id'], ['id'])
    # No secret was ever issued before this revision, so nothing needs re-encrypting.
    op.execute("UPDATE api_clients SET webhook_url = NULL, webhook_secret = NULL")
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_secret_issued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('webhook_secret', existing_type=sa.String(length=128), type_=EncryptedText(), existing_nullable=True)
        batch_op.drop_constraint(op.f('ck_api_clients_client_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_api_clients_client_role'), "role IN ('custody', 'provider', 'lead')")


def downgrade():
    op.execute("DELETE FROM notifications WHERE kind = 'webhook'")
    op.execute("UPDATE api_clients SET webhook_url = NULL, webhook_secret = NULL")
    op.execute("UPDATE api_clients SET revoked_at = CURRENT_TIMESTAMP WHERE role = 'lead' AND revoked_at IS NULL")
    op.execute("UPDATE api_clients SET role = 'provider' WHERE role = 'lead'")
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_api_clients_client_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_api_clients_client_role'), "role IN ('custody', 'provider')")
        batch_op.alter_column('webhook_secret', existing_type=EncryptedText(), type_=sa.String(length=128), existing_nullable=True)
        batch_op.drop_column('webhook_secret_issued_at')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notifications_api_client_id_api_clients'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notifications_api_client_id'))
        batch_op.drop_column('api_client_id')
    _kind_checks(KINDS)
