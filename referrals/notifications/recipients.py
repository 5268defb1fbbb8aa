"""Who may be sent a message, asked when it is sent (much can change after a row was
queued, and a failed row may be sent again days later):

- only people: the account a registered system (API client) acts through is nobody's
  inbox; the system hears of changes by webhook;
- a message about a referral only to someone who can still see it (``tracking.scope``):
  an officer moved to another custody suite, a worker to another organisation, or
  someone whose role changed is no longer told of the referrals they left behind;
- a digest about an organisation only to someone still on its staff;
- a service's messages to its referral inbox, else its organisation's, else to each of
  its organisation's staff, as they are set now: an administrator who sets an inbox, or
  a provider who corrects one, and then sends a failed message again, reaches it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import Role
from ..models import Referral, Service, User


def people() -> sa.ColumnElement[bool]:
    """The users who are people, not the accounts registered systems act through."""
    # Asked of the API clients and the scope rules where they live; both packages sit
    # above the notifications (they write to the outbox), so they are imported here.
    from ..api.clients import client_accounts

    return User.id.not_in(client_accounts())


def is_person(session: Session, user: User) -> bool:
    return session.scalar(sa.select(User.id).where(User.id == user.id, people())) is not None


def can_see(session: Session, user: User, referral_id: int) -> bool:
    """Whether ``user`` may still open the referral (exactly as its page decides)."""
    from ..tracking.scope import in_scope

    found = sa.select(Referral.id).where(Referral.id == referral_id, in_scope(user))
    return session.scalar(found) is not None


def on_staff(user: User, organisation_id: int) -> bool:
    """Whether ``user`` still works for the organisation (as a provider)."""
    return user.role == Role.PROVIDER and user.organisation_id == organisation_id


def staff(organisation_ids, *, managers_only: bool = False) -> sa.Select:
    """The active people on the staff of these organisations, oldest account first."""
    query = sa.select(User).where(
        User.organisation_id.in_(organisation_ids),
        User.role == Role.PROVIDER,
        User.active,
        people(),
    )
    if managers_only:
        query = query.where(User.manager)
    return query.order_by(User.id)


def inbox(service: Service) -> str | None:
    """The service's referral inbox now: its own, else its organisation's."""
    return service.referral_email or service.organisation.referral_email or None
