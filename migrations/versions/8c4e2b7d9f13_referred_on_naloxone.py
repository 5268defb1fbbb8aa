"""A referral passed on carries the naloxone kit offered or supplied in custody: the
referrals passed on so far take it from the one they came from (the measures count the
referral it went to, so the kit was counted nowhere)

Revision ID: 8c4e2b7d9f13
Revises: 6b1d8e3f5a20
Create Date: 2026-12-03 17:30:00.000000

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '8c4e2b7d9f13'
down_revision = '6b1d8e3f5a20'
branch_labels = None
depends_on = None

# Each pass copies the kit one step along a chain of referrals passed on again.
MOST_STEPS = 20


def upgrade():
    referrals = sa.table(
        'referrals',
        sa.column('id', sa.Integer),
        sa.column('referred_from_id', sa.Integer),
        sa.column('close_reason', sa.String),
        sa.column('naloxone_offered', sa.Boolean),
        sa.column('naloxone_supplied', sa.Boolean),
        sa.column('version', sa.Integer),
        sa.column('updated_at', sa.DateTime(timezone=True)),
    )
    # A changed record: systems keeping a copy (the API's changed_since, FHIR's
    # versions) see a new version, changed now. Stored as the app stores it: naive UTC
    # on SQLite.
    bind = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    if bind.dialect.name != 'postgresql':
        now = now.replace(tzinfo=None)
    first = referrals.alias('first')

    def from_first(column):
        return (
            sa.select(first.c[column])
            .where(first.c.id == referrals.c.referred_from_id)
            .scalar_subquery()
        )

    missing = sa.exists().where(
        first.c.id == referrals.c.referred_from_id,
        first.c.close_reason == 'referred_on',
        sa.or_(
            sa.and_(first.c.naloxone_offered, sa.not_(referrals.c.naloxone_offered)),
            sa.and_(first.c.naloxone_supplied, sa.not_(referrals.c.naloxone_supplied)),
        ),
    )
    # The summary triggers mark the days changed, so the next refresh counts the kits.
    for _ in range(MOST_STEPS):
        result = bind.execute(
            sa.update(referrals)
            .where(referrals.c.referred_from_id.is_not(None), missing)
            .values(
                naloxone_offered=sa.or_(
                    referrals.c.naloxone_offered, from_first('naloxone_offered')
                ),
                naloxone_supplied=sa.or_(
                    referrals.c.naloxone_supplied, from_first('naloxone_supplied')
                ),
                version=referrals.c.version + 1,
                updated_at=now,
            )
        )
        if not result.rowcount:
            break
    else:
        raise RuntimeError(f'a chain of referrals passed on more than {MOST_STEPS} times')


def downgrade():
    # The kits stay where they were put: which referral held one first is not recorded.
    pass
