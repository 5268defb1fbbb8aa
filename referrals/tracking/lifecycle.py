"""The referral lifecycle (DESIGN.md section 5), enforced in one place.

    made -> accepted -> engaged -> treatment_started -> closed
      \\-> declined                any open state -> closed
    closed or declined -> reopened to where it was (administrators only)
    after treatment starts: 12-week check, diversion outcome, BBV testing (see the end)

Only the referring custody suite (before the service responds) and administrators may
close a referral as entered in error, since that removes it from every measure.

Every change checks who may make it, that it is allowed from the current state, that
its date is not in the future, not before the referral and not before the stage
before it (a change that ends the referral: not before any date already recorded on
it, its last reopening included), and that nobody else changed the referral since the
form was shown. Every change writes a ``ReferralEvent``; events are never changed or
deleted, and the referrer hears of it through the outbox (in the same transaction).

Two more changes live here: closing as "referred on" (only by passing the referral on,
``refer_on.py``; custody staff, as with closing, only before the service responds), and
undo: the person who made the last status change may take it back within 15 minutes
(never once the referral's personal details are erased); an outcome recorded after
treatment starts is a change too, and its undo takes back that outcome only. The undo
is an event of its own; the referral's status and stage columns go back exactly to
what they were before the change, so the measures, which read those columns, count the
referral as if the change had never been made.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ..choices import (
    BbvTesting,
    CloseReason,
    DeclinedBy,
    DeclineReason,
    DiversionOutcome,
    ReferralStatus,
    RetentionOutcome,
    Role,
)
from ..clock import now_utc
from ..contacts.linking import take_contact_back
from ..models import Referral, ReferralEvent, User
from ..notifications.outbox import announce_status_change, withdraw_status_message
from ..templating import format_date
from .actions import (
    ACTIONS,
    CLOSED_STATES,
    ENTERED_IN_ERROR_ROLES,
    ERASED,
    OPEN_STATES,
    STAGE_DATE,
    STAGE_NAMES,
    StaleReferral,
    TransitionError,
    next_steps,
    past,
)
from .outcomes import (
    OUTCOME_CHOICES,
    OUTCOME_TITLES,
    outcome_label,
    outcomes_open,
    retention_due_on,
    why_not_open,
)

S = ReferralStatus


def _previous_state(referral: Referral) -> ReferralStatus:
    """The state a closed or declined referral was in before it was closed."""
    for event in reversed(referral.events):
        if event.to_status == referral.status and event.from_status is not None:
            return ReferralStatus(event.from_status)
    return S.MADE


# The dates recorded on a referral, as the messages name them.
RECORDED_DATES = {
    **STAGE_NAMES,
    "retention_outcome_on": "the 12-week check",
    "diversion_outcome_on": "the diversion outcome",
    "bbv_test_offered_on": "the blood-borne virus test was offered",
    "bbv_test_taken_on": "the blood-borne virus test was taken",
}


def _latest_recorded(referral: Referral) -> tuple[dt.date, str]:
    """The latest date recorded on ``referral`` (a stage, an outcome after treatment
    started, or its last reopening, which cannot be undone), with its name."""
    found = [(getattr(referral, column), name) for column, name in RECORDED_DATES.items()]
    found += [
        (event.event_date, "the referral was reopened")
        for event in referral.events
        if event.from_status in CLOSED_STATES and event.reason is None
    ]
    # Of the same date, the later stage is named.
    on, _, name = max((on, n, name) for n, (on, name) in enumerate(found) if on is not None)
    return on, name


def _check_ending_date(referral: Referral, on: dt.date) -> None:
    """A change that ends the referral cannot be dated before anything already recorded
    on it: the retention purge counts from the day it ended, and the measures' waits and
    outcomes read its dates in order."""
    latest, name = _latest_recorded(referral)
    if on < latest:
        raise TransitionError(f"The date cannot be before {name} ({format_date(latest)}).", "date")


def _check_date(referral: Referral, target: ReferralStatus, on: dt.date, today: dt.date) -> None:
    if on > today:
        raise TransitionError("The date cannot be in the future.", "date")
    if on < referral.referred_on:
        made = format_date(referral.referred_on)
        raise TransitionError(f"The date cannot be before the referral was made ({made}).", "date")
    if target in CLOSED_STATES:
        _check_ending_date(referral, on)
        return
    # Not before any earlier stage this referral has reached.
    for column in ("accepted_on", "engaged_on", "treatment_started_on"):
        if STAGE_DATE.get(target) == column:
            break
        earlier = getattr(referral, column)
        if earlier is not None and on < earlier:
            raise TransitionError(
                f"The date cannot be before {STAGE_NAMES[column]} ({format_date(earlier)}).",
                "date",
            )


def apply(
    session: Session,
    referral: Referral,
    action_name: str,
    user: User,
    *,
    on: dt.date,
    today: dt.date,
    expected_version: int | None,
    reason: str | None = None,
    declined_by: str | None = None,
    note: str | None = None,
) -> ReferralEvent:
    """Make the change, or raise ``TransitionError`` with a message saying why not.

    The caller commits; ``StaleDataError`` on commit means a concurrent change won.
    """
    action = ACTIONS.get(action_name)
    if action is None:
        raise TransitionError("That is not something that can be done to a referral.")
    if expected_version is not None and expected_version != referral.version:
        raise StaleReferral()
    if user.role not in action.roles:
        raise TransitionError("Your role cannot make this change.")
    if referral.status not in action.sources:
        raise TransitionError(
            f"A referral that is “{referral.status.label.lower()}” cannot be "
            f"{past(action.name)}. {next_steps(referral.status)}"
        )
    if user.role == Role.CUSTODY and (
        referral.status != S.MADE or reason != CloseReason.ENTERED_IN_ERROR
    ):
        raise TransitionError(
            "Custody staff can only close a referral as entered in error, before the service "
            "has responded."
        )
    if (
        action.name == "close"
        and reason == CloseReason.ENTERED_IN_ERROR
        and user.role not in ENTERED_IN_ERROR_ROLES
    ):
        # "Entered in error" takes a referral out of every measure: the service it was
        # sent to must not be able to drop its own unsuccessful referrals that way.
        raise TransitionError(
            "Only the custody suite that made the referral (before the service responds) "
            "or an administrator can close it as entered in error. Choose the reason "
            "that says what happened, or ask an administrator."
        )
    note = (note or "").strip() or None
    source = referral.status
    if action.name == "reopen":
        if not note:
            raise TransitionError("Say why the referral is being reopened.", "note")
        if referral.close_reason == CloseReason.REFERRED_ON:
            raise TransitionError(
                "This referral was passed on to another service; follow the new referral "
                "instead of reopening this one."
            )
        if referral.personal_data_erased_at is not None:
            # Erased under the retention rules: nothing about the person may be written
            # to it again (the purge erases each referral once).
            raise TransitionError(
                "This referral's personal details were erased under the retention rules, "
                "so it cannot be reopened. Make a new referral instead."
            )
        target = _previous_state(referral)
        _check_date(referral, target, on, today)
        ended = referral.closed_on or referral.declined_on
        if ended is not None and on < ended:
            raise TransitionError(
                f"The date cannot be before the referral was closed ({format_date(ended)}).",
                "date",
            )
        if referral.close_reason == CloseReason.ENTERED_IN_ERROR:
            _take_contact_back(session, referral)
        _forget_closing_outcome(referral)
        referral.closed_on = referral.close_reason = None
        referral.declined_on = referral.declined_by = referral.decline_reason = None
        event_reason = None
    else:
        target = action.target
        _check_date(referral, target, on, today)
        event_reason = None
        if action.name == "decline":
            if reason not in DeclineReason.values():
                raise TransitionError("Choose the reason the referral is declined.", "reason")
            if declined_by not in DeclinedBy.values():
                raise TransitionError(
                    "Say who declined: the service or the person.", "declined_by"
                )
            referral.decline_reason = DeclineReason(reason)
            referral.declined_by = DeclinedBy(declined_by)
            event_reason = reason
        elif action.name == "close":
            if reason not in CloseReason.values():
                raise TransitionError("Choose the reason the referral is closed.", "reason")
            if reason == CloseReason.REFERRED_ON:
                raise TransitionError(
                    "To pass the referral to another service, use “Refer on”: it makes the "
                    "new referral and closes this one in one step."
                )
            referral.close_reason = CloseReason(reason)
            event_reason = reason
        setattr(referral, STAGE_DATE[target], on)
    referral.status = target
    event = ReferralEvent(
        referral=referral,
        user_id=user.id,
        from_status=source,
        to_status=target,
        event_date=on,
        reason=event_reason,
        note=note,
        at=now_utc(),
    )
    session.add(event)
    if action.name == "reopen":
        # Reopening takes a closing back: the referrer hears nothing of either (a held
        # "closed" message is cancelled; nobody "accepted" it again).
        withdraw_status_message(
            session, referral.id, source.value, why="The referral was reopened."
        )
    else:
        announce_status_change(session, referral, event, now_utc())
    return event


def refer_on_problem(referral: Referral, user: User) -> str | None:
    """Why ``user`` cannot pass ``referral`` on now, or None if they can. Passing it on
    closes it, so custody staff may do it only while they may close it themselves:
    before the service has responded."""
    if referral.status not in OPEN_STATES:
        return (
            f"A referral that is “{referral.status.label.lower()}” cannot be passed on. "
            "Make a new referral instead."
        )
    if referral.personal_data_erased_at is not None:
        return ERASED
    if user.role == Role.CUSTODY and referral.status != S.MADE:
        return (
            "Custody staff can only pass a referral on before the service has responded, "
            f"and this one is “{referral.status.label.lower()}”. Ask the service to pass it "
            "on if another service suits the person better."
        )
    return None


def close_as_referred_on(
    session: Session,
    referral: Referral,
    user: User,
    *,
    today: dt.date,
    expected_version: int | None,
    new_reference: str,
) -> ReferralEvent:
    """Close ``referral`` because it was passed on (the new referral is ``new_reference``)."""
    if expected_version is not None and expected_version != referral.version:
        raise StaleReferral()
    problem = refer_on_problem(referral, user)
    if problem:
        raise TransitionError(problem)
    source = referral.status
    referral.status = S.CLOSED
    referral.closed_on = today
    referral.close_reason = CloseReason.REFERRED_ON
    event = ReferralEvent(
        referral=referral,
        user_id=user.id,
        from_status=source,
        to_status=S.CLOSED,
        event_date=today,
        reason=CloseReason.REFERRED_ON.value,
        note=f"Passed on: the new referral is {new_reference}.",
    )
    session.add(event)
    announce_status_change(session, referral, event, now_utc())
    return event


# -- undo --------------------------------------------------------------------------------

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
    if event.reason == CloseReason.REFERRED_ON:
        return (
            "Passing a referral on cannot be undone. Ask the new service to close its "
            "referral as entered in error, and an administrator to reopen this one."
        )
    return None


def undo(
    session: Session,
    referral: Referral,
    user: User,
    *,
    now: dt.datetime,
    today: dt.date,
    expected_version: int | None,
) -> ReferralEvent:
    """Take back the last status change, restoring the referral as it was before it."""
    if expected_version is not None and expected_version != referral.version:
        raise StaleReferral()
    problem = undo_problem(referral, user, now)
    if problem:
        raise TransitionError(problem)
    event = last_change(referral)
    if event.reason == CloseReason.ENTERED_IN_ERROR:
        _take_contact_back(session, referral)
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


def _take_contact_back(session: Session, referral: Referral) -> None:
    """Its custody contact back from the referral made in its place, or refused."""
    problem = take_contact_back(session, referral)
    if problem:
        raise TransitionError(problem)


def change_label(event) -> str:
    """A change as the user recorded it: "Accepted", or an outcome after treatment
    starts ("12-week check: still in treatment")."""
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

CLOSES = {
    ("retention", RetentionOutcome.COMPLETED): CloseReason.COMPLETED,
    ("retention", RetentionOutcome.DROPPED_OUT): CloseReason.DISENGAGED,
    ("retention", RetentionOutcome.TRANSFERRED): CloseReason.TRANSFERRED,
    ("diversion", DiversionOutcome.COMPLETED): CloseReason.COMPLETED,
    ("diversion", DiversionOutcome.NOT_COMPLETED): CloseReason.DISENGAGED,
}


def record_outcome(
    session: Session,
    referral: Referral,
    kind: str,
    value: str | None,
    user: User,
    *,
    on: dt.date,
    today: dt.date,
    expected_version: int | None,
    note: str | None = None,
) -> ReferralEvent:
    """Record an outcome after treatment starts, or raise ``TransitionError`` saying why
    not. The caller commits; ``StaleDataError`` on commit means a concurrent change won."""
    if expected_version is not None and expected_version != referral.version:
        raise StaleReferral()
    choice = OUTCOME_CHOICES.get(kind)
    if choice is None:
        raise TransitionError("That is not an outcome that can be recorded.")
    if value not in choice.values():
        raise TransitionError(f"Choose the {OUTCOME_TITLES[kind].lower()} outcome.")
    value = choice(value)
    if kind not in outcomes_open(referral, user, today):
        raise TransitionError(why_not_open(referral, kind, user))
    if on > today:
        raise TransitionError("The date cannot be in the future.")
    floor, floor_name = referral.engaged_on, "the first attendance"
    if kind == "retention":
        floor, floor_name = referral.treatment_started_on, "treatment started"
        if value == RetentionOutcome.RETAINED:
            floor, floor_name = retention_due_on(referral), "12 weeks after treatment started"
    elif kind == "bbv" and value == BbvTesting.TAKEN and referral.bbv_test_offered_on:
        floor, floor_name = referral.bbv_test_offered_on, "the test was offered"
    if floor is not None and on < floor:
        raise TransitionError(f"The date cannot be before {floor_name} ({format_date(floor)}).")
    close_reason = CLOSES.get((kind, value))
    if close_reason is not None:
        _check_ending_date(referral, on)

    source = referral.status
    if kind == "retention":
        referral.retention_outcome, referral.retention_outcome_on = value, on
    elif kind == "diversion":
        referral.diversion_outcome, referral.diversion_outcome_on = value, on
    else:
        referral.bbv_test_offered_on = referral.bbv_test_offered_on or on
        if value == BbvTesting.TAKEN:
            referral.bbv_test_taken_on = on
    if close_reason is not None:
        referral.status, referral.closed_on, referral.close_reason = S.CLOSED, on, close_reason
    event = ReferralEvent(
        referral=referral,
        user_id=user.id,
        from_status=source,
        to_status=referral.status,
        event_date=on,
        reason=f"{kind}:{value.value}",
        note=(note or "").strip() or None,
        at=now_utc(),
    )
    session.add(event)
    if referral.status != source:  # the outcome closed the referral: tell the referrer
        announce_status_change(session, referral, event, now_utc())
    return event


def _forget_closing_outcome(referral: Referral) -> None:
    """On reopening, the outcome that closed the referral no longer stands."""
    closing = next((e for e in reversed(referral.events) if e.to_status == S.CLOSED), None)
    kind = (closing.reason or "").partition(":")[0] if closing else ""
    if kind == "retention":
        referral.retention_outcome = referral.retention_outcome_on = None
    elif kind == "diversion":
        referral.diversion_outcome = referral.diversion_outcome_on = None
