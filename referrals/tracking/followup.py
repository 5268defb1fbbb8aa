"""Following a referral through without changing its status: the service's contact
attempts and the referrer's updates, and the timeline that shows them among the
status changes.

Three unsuccessful attempts in a row (no answer, a message left, no reply, a wrong
number), counted since the person was last reached, suggest closing the referral as
"not contactable"; the suggestion is only shown, never acted on by itself.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from ..audit import record
from ..choices import UNSUCCESSFUL_OUTCOMES, AttemptMethod, AttemptOutcome, ContactMethod
from ..database import hold_row
from ..models import Referral, User, utcnow
from ..notifications.outbox import announce_update
from ..phones import phone_problem, text_problem
from ..templating import format_date
from .actions import ERASED, OPEN_STATES, StaleReferral, TransitionError
from .models import ContactAttempt, ReferralUpdate

SUGGEST_CLOSING_AFTER = 3
LATEST_RELEASE_WINDOW = dt.timedelta(days=730)


def log_attempt(
    session: Session,
    referral: Referral,
    user: User,
    *,
    attempted_on: dt.date,
    method: str,
    outcome: str,
    note: str | None,
    today: dt.date,
) -> ContactAttempt:
    """Record an attempt to reach the person; the referral's status is left alone.
    The referral is held first and its state read again: a passing-on being undone, or a
    closing, that commits meanwhile is seen, and one that has not yet waits for this."""
    hold_row(session, referral, "status", "personal_data_erased_at")
    if referral.status not in OPEN_STATES:
        raise TransitionError("Contact attempts can only be logged on an open referral.")
    if referral.personal_data_erased_at is not None:
        raise TransitionError(ERASED)  # open again only by an undo of an earlier release
    if attempted_on > today:
        raise TransitionError("The date of the attempt cannot be in the future.")
    if attempted_on < referral.referred_on:
        raise TransitionError(
            f"The date cannot be before the referral was made "
            f"({format_date(referral.referred_on)})."
        )
    attempt = ContactAttempt(
        referral_id=referral.id,
        user_id=user.id,
        attempted_on=attempted_on,
        method=AttemptMethod(method),
        outcome=AttemptOutcome(outcome),
        note=(note or "").strip() or None,
    )
    session.add(attempt)
    record(
        "contact_attempt_logged",
        referral,
        user=user,
        detail={"method": method, "outcome": outcome, "date": attempted_on.isoformat()},
    )
    return attempt


def add_update(
    session: Session,
    referral: Referral,
    user: User,
    *,
    release_on: dt.date | None,
    new_phone: str | None,
    message: str | None,
    today: dt.date,
    expected_version: int | None,
) -> ReferralUpdate:
    """Add the referrer's update; a new phone number replaces the one on the referral.
    The service's inbox is told (by reference only).

    Refused (``StaleReferral``) when the referral changed after the form's page was
    shown (its version is not ``expected_version``): a colleague's new number would be
    overwritten unseen, and the old one is kept nowhere. Any update gives the referral
    a new version. The caller commits;
    ``StaleDataError`` on commit means a concurrent change won."""
    if expected_version is not None and expected_version != referral.version:
        raise StaleReferral()
    new_phone = (new_phone or "").strip() or None
    message = (message or "").strip() or None
    if referral.status not in OPEN_STATES:
        raise TransitionError(
            "This referral is finished, so the service no longer follows it. Make a new "
            "referral if the person still needs one."
        )
    if referral.personal_data_erased_at is not None:
        raise TransitionError(ERASED)  # open again only by an undo of an earlier release
    if release_on is None and new_phone is None and message is None:
        raise TransitionError("Enter a release date, a new phone number or a message.")
    if release_on is not None and not (
        referral.referred_on <= release_on <= today + LATEST_RELEASE_WINDOW
    ):
        raise TransitionError(
            "The release date must be on or after the day the referral was made, and "
            "within two years."
        )
    texted = referral.contact_method == ContactMethod.TEXT
    check = text_problem if texted else phone_problem
    if new_phone is not None and (problem := check(new_phone)):
        raise TransitionError(problem)
    update = ReferralUpdate(
        referral_id=referral.id,
        user_id=user.id,
        release_on=release_on,
        phone_changed=new_phone is not None,
        message=message,
    )
    if new_phone is not None:
        referral.contact_phone = new_phone
    # Every update is a change to the referral, a new version, a message or a release
    # date alone too: a page shown before it (the service's, a colleague's) cannot act
    # on the referral without seeing the update first.
    referral.updated_at = utcnow()
    flag_modified(referral, "updated_at")  # written even when the time reads the same
    session.add(update)
    record(
        "referral_updated_by_referrer",
        referral,
        user=user,
        detail={
            "release_on": release_on.isoformat() if release_on else None,
            "phone_changed": new_phone is not None,
            "message": message is not None,
        },
    )
    announce_update(session, referral)
    return update


def unsuccessful_streak(attempts: list[ContactAttempt]) -> int:
    """Unsuccessful attempts since the person was last reached (``attempts`` oldest first)."""
    streak = 0
    for attempt in attempts:
        streak = streak + 1 if attempt.outcome in UNSUCCESSFUL_OUTCOMES else 0
    return streak


@dataclass
class FollowUp:
    """What the worklist shows of each referral beside its status."""

    attempts: list[ContactAttempt]
    updates: list[ReferralUpdate]

    @property
    def streak(self) -> int:
        return unsuccessful_streak(self.attempts)

    @property
    def suggest_closing(self) -> bool:
        return self.streak >= SUGGEST_CLOSING_AFTER

    @property
    def last_attempt(self) -> ContactAttempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def release_on(self) -> dt.date | None:
        dates = [u.release_on for u in self.updates if u.release_on]
        return dates[-1] if dates else None


def follow_ups(session: Session, referral_ids: list[int]) -> dict[int, FollowUp]:
    """Attempts and updates of many referrals at once (two queries)."""
    attempts: dict[int, list] = defaultdict(list)
    updates: dict[int, list] = defaultdict(list)
    if referral_ids:
        for attempt in session.scalars(
            sa.select(ContactAttempt)
            .where(ContactAttempt.referral_id.in_(referral_ids))
            .order_by(ContactAttempt.attempted_on, ContactAttempt.id)
        ):
            attempts[attempt.referral_id].append(attempt)
        for update in session.scalars(
            sa.select(ReferralUpdate)
            .where(ReferralUpdate.referral_id.in_(referral_ids))
            .order_by(ReferralUpdate.id)
        ):
            updates[update.referral_id].append(update)
    return {i: FollowUp(attempts[i], updates[i]) for i in referral_ids}


@dataclass
class TimelineEntry:
    at: dt.datetime
    kind: str  # "event", "attempt" or "update"
    item: object


@dataclass(frozen=True)
class LoggedAttempt:
    """A contact attempt as the referral's page shows it."""

    id: int
    at: dt.datetime
    attempted_on: dt.date
    method: AttemptMethod
    outcome: AttemptOutcome
    note: str | None
    user_name: str | None


@dataclass(frozen=True)
class LoggedUpdate:
    """An update from the referrer as the referral's page shows it."""

    id: int
    at: dt.datetime
    release_on: dt.date | None
    phone_changed: bool
    message: str | None
    user_name: str | None


@functools.cache
def _logged() -> sa.CompoundSelect:
    """A referral's attempts and updates in one statement (built once; the referral's id
    is a parameter). The result's types are the first part's, so its empty columns are
    typed for the second part's values."""
    attempts = (
        sa.select(
            sa.literal("attempt").label("kind"),
            ContactAttempt.id,
            ContactAttempt.at,
            User.name.label("user_name"),
            ContactAttempt.note.label("text"),
            ContactAttempt.attempted_on,
            ContactAttempt.method,
            ContactAttempt.outcome,
            sa.cast(sa.null(), ReferralUpdate.release_on.type).label("release_on"),
            sa.cast(sa.null(), ReferralUpdate.phone_changed.type).label("phone_changed"),
        )
        .outerjoin(User, User.id == ContactAttempt.user_id)
        .where(ContactAttempt.referral_id == sa.bindparam("referral_id"))
    )
    updates = (
        sa.select(
            sa.literal("update"),
            ReferralUpdate.id,
            ReferralUpdate.at,
            User.name,
            ReferralUpdate.message,
            sa.null(),
            sa.null(),
            sa.null(),
            ReferralUpdate.release_on,
            ReferralUpdate.phone_changed,
        )
        .outerjoin(User, User.id == ReferralUpdate.user_id)
        .where(ReferralUpdate.referral_id == sa.bindparam("referral_id"))
    )
    return sa.union_all(attempts, updates)


def follow_through(session: Session, referral: Referral) -> tuple[FollowUp, list[TimelineEntry]]:
    """One referral's ``FollowUp`` and its ``timeline``, reading its attempts and updates
    once, in one statement, with the names of who logged them."""
    attempts, updates = [], []
    for row in session.execute(_logged(), {"referral_id": referral.id}):
        if row.kind == "attempt":
            attempts.append(
                LoggedAttempt(
                    row.id,
                    row.at,
                    row.attempted_on,
                    row.method,
                    row.outcome,
                    row.text,
                    row.user_name,
                )
            )
        else:
            updates.append(
                LoggedUpdate(
                    row.id,
                    row.at,
                    row.release_on,
                    bool(row.phone_changed),
                    row.text,
                    row.user_name,
                )
            )
    attempts.sort(key=lambda a: a.id)
    updates.sort(key=lambda u: u.id)
    entries = [TimelineEntry(e.at, "event", e) for e in referral.events]
    entries += [TimelineEntry(a.at, "attempt", a) for a in attempts]
    entries += [TimelineEntry(u.at, "update", u) for u in updates]
    attempts.sort(key=lambda a: (a.attempted_on, a.id))
    return FollowUp(attempts, updates), sorted(entries, key=lambda entry: entry.at)
