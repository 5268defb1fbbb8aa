"""Each person's choice of the messages their role may turn off."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import Role
from ..models import User
from .kinds import OPTIONAL_KINDS, Kind
from .models import NotificationPreference


def choosable(user: User) -> tuple[Kind, ...]:
    """The kinds ``user`` gets and may turn off (the overdue digest: managers only)."""
    kinds = OPTIONAL_KINDS.get(user.role, ())
    if user.role == Role.PROVIDER and not user.manager:
        kinds = tuple(k for k in kinds if k != Kind.OVERDUE_DIGEST)
    return kinds


def current_choices(session: Session, user: User) -> dict[Kind, bool]:
    saved = {
        p.kind: p.enabled
        for p in session.scalars(
            sa.select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    return {kind: saved.get(kind, True) for kind in choosable(user)}


def save_choices(session: Session, user: User, wanted: set[str]) -> dict[str, list[bool]]:
    """Store which of ``user``'s choosable kinds are on; returns what changed."""
    before = current_choices(session, user)
    changes = {}
    for kind, was_on in before.items():
        on = kind.value in wanted
        if on == was_on:
            continue
        row = session.get(NotificationPreference, (user.id, kind))
        if row is None:
            session.add(NotificationPreference(user_id=user.id, kind=kind, enabled=on))
        else:
            row.enabled = on
        changes[kind.value] = [was_on, on]
    return changes
