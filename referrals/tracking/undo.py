"""Undo: the person who made a referral's last status change may take it back within 15
minutes; an outcome recorded after treatment starts is a change too, and its undo takes
back that outcome only. The undo is an event of its own; the referral's status and stage
columns go back exactly to what they were before the change, so the measures, which read
those columns, count the referral as if the change had never been made. Never once the
referral's personal details are erased. Passing a referral on is undone too while nobody
has acted on the new referral, which is then withdrawn (closed as entered in error, its
service told). Also here: how the last change reads, and
whether a change asked for again is the one just made (a double click, a lost answer).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import record
from ..choices import BbvTesting, CloseReason, ReferralStatus
from ..database import hold_row
from ..models import Referral, ReferralEvent, User
from ..notifications.outbox import withdraw_new_referral, withdraw_status_message
from .actions import ACTIONS, CLOSED_STATES, ERASED, StaleReferral, TransitionError
from .lifecycle import take_back_contact
from .models import ContactAttempt
from .outcomes import outcome_label

S = ReferralStatus
UNDO_WINDOW = dt.timedelta(minutes=15)
UNDO_REASON = "undo"
# What each stage reached set, to be cleared when the change is undone.
STAGE_COLUMNS = {
    S.ACCEPTED: ("accepted_on",),
    S.ENGAGED: ("engaged_on",),
    S.TREATMENT_STARTED: ("treatment_started_on",),
    S.DECLINED: ("declined_on", "declined_by", "decline_reason"),
    S.CLOSED: ("closed_on", "close_reason"),
}


def undone_ids(events) -> set[int]:
    """The ids of the events an undo among ``events`` took back."""
    return {e.undoes_event_id for e in events if e.undoes_event_id}


def last_change(referral: Referral) -> ReferralEvent | None:
    """The latest status change still in force (not undone, not an undo itself)."""
    undone = undone_ids(referral.events)
    for event in reversed(referral.events):
        if event.reason == UNDO_REASON or event.id in undone:
            continue
        return event if event.from_status is not None else None
    return None


SAME_CHANGE_WINDOW = dt.timedelta(minutes=2)


def made_just_now(
    referral: Referral, action_name: str, user: User, version: int | None, now: dt.datetime
) -> bool:
    """Whether the change a form shown at ``version`` asks for is already made, by
    ``user``, in the last two minutes: the referral has moved on from that version and
    its latest change in force is that change (the same form sent twice)."""
    action = ACTIONS.get(action_name)
    event = last_change(referral)
    return (
        action is not None
        and action.target is not None
        and event is not None
        and version is not None
        and referral.version > version
        and event.user_id == user.id
        and event.to_status == action.target
        and now - event.at <= SAME_CHANGE_WINDOW
    )


def sent_again(
    referral: Referral, user: User, version: int | None, now: dt.datetime, same
) -> ReferralEvent | None:
    """The event a form already made, when it comes again (a double click): the
    referral has moved on from the ``version`` the form showed, and its latest event is
    ``user``'s, of the last two minutes, and what the form asks for (``same(event)``)."""
    if version is None or referral.version <= version or not referral.events:
        return None
    event = referral.events[-1]
    if event.user_id == user.id and now - event.at <= SAME_CHANGE_WINDOW and same(event):
        return event
    return None


def undo_problem(referral: Referral, user: User, now: dt.datetime) -> str | None:
    """Why ``user`` cannot undo the last change now, or None if they can."""
    event = last_change(referral)
    if event is None:
        return "There is no change to undo."
    if event.user_id != user.id:
        return "Only the person who made the last change can undo it."
    if now - event.at > UNDO_WINDOW:
        return "A change can only be undone within 15 minutes of making it."
    if referral.personal_data_erased_at is not None:
        # A closing the retention purge erased since: undoing it would reopen a referral
        # the purge never erases again.
        return ERASED
    if event.from_status in CLOSED_STATES:
        return "Reopening cannot be undone; close the referral again instead."
    return None


def passed_on_to(session: Session, referral: Referral) -> Referral | None:
    """The referral ``referral`` was last passed on to, if any."""
    return session.scalar(
        sa.select(Referral)
        .where(Referral.referred_from_id == referral.id)
        .order_by(Referral.id.desc())
        .limit(1)
    )


def _take_back_passing_on(
    session: Session, referral: Referral, user: User, *, now: dt.datetime, today: dt.date
) -> Referral:
    """Passing ``referral`` on, taken back while nobody has acted on the new referral:
    the new one is closed as entered in error (so no measure counts it) and its service
    told it is withdrawn, or its message cancelled if it has not gone yet."""
    new = passed_on_to(session, referral)
    if new is None:  # pragma: no cover - passing on always makes one
        raise TransitionError("The referral this one was passed on to is not found.")
    # Held and read again, so that the new service's change or contact attempt either
    # committed before (and is seen here) or waits for this to end (and then finds it
    # withdrawn): a contact attempt does not change the referral's version.
    hold_row(session, new)
    attempted = session.scalar(sa.select(sa.exists().where(ContactAttempt.referral_id == new.id)))
    # Untouched by its service: still made, with no change of status (an update from
    # the referrer gives it a new version, but is not the service acting), no attempt.
    if new.status != S.MADE or len(new.events) > 1 or attempted:
        raise TransitionError(
            f"{new.service.name} has already started on the new referral {new.reference}, "
            "so passing this one on cannot be undone. Ask them to pass it back or close it."
        )
    new.status, new.closed_on, new.close_reason = S.CLOSED, today, CloseReason.ENTERED_IN_ERROR
    # Nobody's change of its own (no user): it is taken back only with the undo that
    # made it, which cannot be undone, so the person is never counted twice; who did it
    # is in the audit log.
    session.add(
        ReferralEvent(
            referral=new,
            user_id=None,
            from_status=S.MADE,
            to_status=S.CLOSED,
            event_date=today,
            reason=CloseReason.ENTERED_IN_ERROR.value,
            note=f"Passed on from {referral.reference} by mistake: taken back.",
            at=now,
        )
    )
    withdraw_new_referral(session, new, new.service)
    record(
        "referral_withdrawn",
        new,
        user=user,
        detail={"passing_on_undone": referral.id, "reference": referral.reference},
    )
    return new


def undo(
    session: Session,
    referral: Referral,
    user: User,
    *,
    now: dt.datetime,
    today: dt.date,
    expected_version: int | None,
) -> ReferralEvent:
    """Take back the last status change, restoring the referral as it was before it.
    The referral is held and read again first: of two undos sent at once (a double
    click), the second finds it changed (``StaleReferral``) rather than a referral
    passed on already withdrawn."""
    hold_row(session, referral)
    if expected_version is not None and expected_version != referral.version:
        raise StaleReferral()
    problem = undo_problem(referral, user, now)
    if problem:
        raise TransitionError(problem)
    event = last_change(referral)
    if event.reason == CloseReason.ENTERED_IN_ERROR:
        take_back_contact(session, referral)
    if event.reason == CloseReason.REFERRED_ON:
        _take_back_passing_on(session, referral, user, now=now, today=today)
    outcome = _outcome_of(event)
    if outcome is not None:
        _take_back_outcome(referral, event, *outcome)
        closed = event.to_status != event.from_status
        if closed:
            referral.closed_on = referral.close_reason = None
    else:
        closed = True
        for column in STAGE_COLUMNS[event.to_status]:
            setattr(referral, column, None)
    referral.status = event.from_status
    undo_event = ReferralEvent(
        referral=referral,
        user_id=user.id,
        from_status=event.to_status,
        to_status=event.from_status,
        event_date=today,
        reason=UNDO_REASON,
        note=f"Undid “{change_label(event)}”, recorded by mistake.",
        undoes_event_id=event.id,
        at=now,
    )
    session.add(undo_event)
    if closed:  # only a change of status was announced to the referrer
        withdraw_status_message(session, referral.id, event.to_status.value)
    return undo_event


def change_label(event) -> str:
    """A change as the user recorded it: "Accepted", "Passed on to another service", or
    an outcome after treatment starts ("12-week check: still in treatment")."""
    if event.reason == CloseReason.REFERRED_ON:
        return "Passed on to another service"
    return outcome_label(event.reason) or event.to_status.label


def _outcome_of(event) -> tuple[str, str] | None:
    """The (kind, value) of an outcome event recorded after treatment started."""
    if outcome_label(event.reason) is None:
        return None
    kind, _, value = event.reason.partition(":")
    return kind, value


def _take_back_outcome(referral: Referral, event: ReferralEvent, kind: str, value: str) -> None:
    """Clear what recording the outcome ``event`` set, leaving the stages before it."""
    if kind == "retention":
        referral.retention_outcome = referral.retention_outcome_on = None
    elif kind == "diversion":
        referral.diversion_outcome = referral.diversion_outcome_on = None
    else:
        if value == BbvTesting.TAKEN:
            referral.bbv_test_taken_on = None
        # The offer's date stays when an earlier testing outcome (still in force) set it.
        undone = undone_ids(referral.events)
        earlier = any(
            e.id < event.id and e.id not in undone and (e.reason or "").startswith("bbv:")
            for e in referral.events
        )
        if not earlier:
            referral.bbv_test_offered_on = None


# -- After treatment starts: the 12-week check, diversion, blood-borne virus testing ------
#
# What may be recorded when is in ``outcomes.py``; these are the changes. Each is an event
# on its date; an outcome that ends the referral (completed, dropped out, transferred, a
# diversion finished either way) also closes it with the matching reason.
