"""The status changes a provider made in the last 15 minutes and can still undo, as the
worklist lists them above its sections (each with an "Undo" button).

Whether a change can be undone is the lifecycle's rule (``undo.undo_problem``,
reading the referral's status changes oldest first); this module only reads those
changes, in one statement of plain rows, and puts each in words once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import ReferralStatus
from ..models import Referral, ReferralEvent, User
from ..templating import format_datetime
from .scope import scope_clause, scope_shape
from .undo import UNDO_REASON, UNDO_WINDOW, change_label, last_change, undo_problem


@dataclass(slots=True)
class Changed:
    """A referral the user changed lately, with its status changes oldest first."""

    id: int
    reference: str
    version: int
    personal_data_erased_at: dt.datetime | None
    events: list


class Event(NamedTuple):
    """A status change, as ``undo.last_change`` and ``undo_problem`` read it (the
    first columns of ``_statement``, in its order)."""

    id: int
    referral_id: int
    at: dt.datetime
    user_id: int | None
    from_status: ReferralStatus | None
    to_status: ReferralStatus
    reason: str | None
    undoes_event_id: int | None


STATES = {state.value: state for state in ReferralStatus}


@dataclass(slots=True)
class Undoable:
    """One change as the worklist offers to undo it."""

    id: int
    reference: str
    version: int
    change: str  # "accepted", "marked as attended"... as the status reads, in lower case
    at: str  # when, in local time
    undo_url: str


@lru_cache(maxsize=8)
def _statement(shape: str) -> sa.Select:
    """Every status change of the referrals in scope that the user (``user_id``)
    changed since ``since`` (the fields of ``Event``, the states as their codes), with
    the referral's reference, version and when it was erased, latest changed referral
    first."""
    e = ReferralEvent
    changed = sa.select(e.referral_id).where(
        e.user_id == sa.bindparam("user_id", type_=sa.Integer),
        e.at >= sa.bindparam("since", type_=e.at.type),
        e.from_status.is_not(None),
        sa.or_(e.reason.is_(None), e.reason != UNDO_REASON),
    )
    return (
        sa.select(
            e.id,
            e.referral_id,
            e.at,
            e.user_id,
            sa.type_coerce(e.from_status, sa.String).label("from_status"),
            sa.type_coerce(e.to_status, sa.String).label("to_status"),
            e.reason,
            e.undoes_event_id,
            Referral.reference,
            Referral.version,
            Referral.personal_data_erased_at,
        )
        .join(Referral, Referral.id == e.referral_id)
        .where(e.referral_id.in_(changed), scope_clause(shape))
        .order_by(Referral.updated_at.desc(), Referral.id, e.id)
    )


def recent_changes(
    session: Session, user: User, now: dt.datetime, undo_url: str
) -> list[Undoable]:
    """The user's status changes of the last 15 minutes that they can still undo, latest
    first; ``undo_url`` is the address of the undo form with ``{id}`` for the referral."""
    shape, params = scope_shape(user)
    rows = (
        session.connection()
        .execute(_statement(shape), params | {"user_id": user.id, "since": now - UNDO_WINDOW})
        .all()
    )
    referrals: dict[int, Changed] = {}
    # Plain tuples (the states from their codes by a look-up): the rules below read each
    # change's fields several times.
    for (
        event_id,
        referral_id,
        at,
        user_id,
        from_status,
        to_status,
        reason,
        undoes_event_id,
        reference,
        version,
        erased_at,
    ) in rows:
        event = Event(
            event_id,
            referral_id,
            at,
            user_id,
            STATES.get(from_status),
            STATES[to_status],
            reason,
            undoes_event_id,
        )
        referral = referrals.get(referral_id)
        if referral is None:
            referral = referrals[referral_id] = Changed(
                referral_id, reference, version, erased_at, []
            )
        referral.events.append(event)
    found = []
    # Times are shown to the minute, and a busy user makes several changes a minute:
    # each minute is put in words once.
    minutes: dict[dt.datetime, str] = {}
    for referral in referrals.values():
        if undo_problem(referral, user, now) is not None:
            continue
        event = last_change(referral)
        minute = event.at.replace(second=0, microsecond=0)
        at = minutes.get(minute)
        if at is None:
            at = minutes[minute] = format_datetime(minute)
        found.append(
            Undoable(
                referral.id,
                referral.reference,
                referral.version,
                change_label(event).lower(),
                at,
                undo_url.replace("{id}", str(referral.id)),
            )
        )
    return found
