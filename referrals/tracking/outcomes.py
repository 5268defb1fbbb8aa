"""Outcomes after treatment starts (DESIGN.md section 5): what the provider is asked,
and when. The changes themselves are made by ``lifecycle.record_outcome``.

- **12-week check** ("retention"): once treatment started at least 12 weeks
  (``RETENTION_CHECK_DAYS``) ago and the referral is still open, is the person still in
  treatment, did they complete it, drop out, or transfer to another service? Asked once.
- **Diversion outcome**: a referral on the diversion pathway, once the person has
  attended, records whether the diversion was completed. Asked once.
- **Blood-borne virus testing**: a referral whose needs include BBV testing, once the
  person has attended, records the test offered (not taken yet), then taken. Asked until
  a test is taken or the referral ends.

The worklist lists the open referrals for which any of these is due, oldest first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from ..choices import (
    BbvTesting,
    DiversionOutcome,
    Need,
    Pathway,
    ReferralStatus,
    RetentionOutcome,
    Role,
)
from ..models import Referral, User
from ..templating import format_date

S = ReferralStatus
RETENTION_CHECK_DAYS = 84
ATTENDED = (S.ENGAGED, S.TREATMENT_STARTED)
OUTCOME_TITLES = {
    "retention": "12-week check",
    "diversion": "Diversion outcome",
    "bbv": "Blood-borne virus testing",
}
OUTCOME_CHOICES = {"retention": RetentionOutcome, "diversion": DiversionOutcome, "bbv": BbvTesting}


def has_bbv_need(referral: Referral) -> bool:
    return Need.BBV.value in (referral.needs or "").split(",")


def retention_due_on(referral: Referral) -> dt.date | None:
    started = referral.treatment_started_on
    return started + dt.timedelta(days=RETENTION_CHECK_DAYS) if started else None


def outcomes_open(referral: Referral, user: User, today: dt.date) -> list[str]:
    """The outcomes ``user`` may record for ``referral`` today, in the order asked."""
    if user.role not in (Role.PROVIDER, Role.ADMIN):
        return []
    found = []
    due = retention_due_on(referral)
    if (
        referral.status == S.TREATMENT_STARTED
        and referral.retention_outcome is None
        and due is not None
        and due <= today
    ):
        found.append("retention")
    if (
        referral.pathway == Pathway.DIVERSION
        and referral.diversion_outcome is None
        and referral.status in ATTENDED
    ):
        found.append("diversion")
    if (
        has_bbv_need(referral)
        and referral.bbv_test_taken_on is None
        and referral.status in ATTENDED
    ):
        found.append("bbv")
    return found


def why_not_open(referral: Referral, kind: str, user: User) -> str:
    """Why ``kind`` cannot be recorded now, in words for the person trying."""
    if user.role not in (Role.PROVIDER, Role.ADMIN):
        return "Your role cannot record outcomes."
    if referral.status in (S.CLOSED, S.DECLINED):
        return "The referral is finished, so nothing more can be recorded on it."
    if kind == "retention":
        if referral.retention_outcome is not None:
            return "The 12-week check is already recorded."
        if referral.status != S.TREATMENT_STARTED:
            return "The 12-week check comes after treatment starts."
        return f"The 12-week check is due on {format_date(retention_due_on(referral))}."
    if kind == "diversion":
        if referral.pathway != Pathway.DIVERSION:
            return "Only referrals on the diversion pathway have a diversion outcome."
        if referral.diversion_outcome is not None:
            return "The diversion outcome is already recorded."
        return "The diversion outcome is recorded after the first attendance."
    if not has_bbv_need(referral):
        return "Blood-borne virus testing was not recorded as a need for this referral."
    if referral.bbv_test_taken_on is not None:
        return "The test is already recorded as taken."
    return "Blood-borne virus testing is recorded after the first attendance."


def outcome_label(reason: str | None) -> str | None:
    """An outcome event's reason in words (``"retention:retained"`` -> ``"12-week check:
    still in treatment"``); None for the reasons of other events."""
    kind, _, value = (reason or "").partition(":")
    choice = OUTCOME_CHOICES.get(kind)
    if choice is None or value not in choice.values():
        return None
    return f"{OUTCOME_TITLES[kind]}: {choice(value).label.lower()}"


@dataclass
class Question:
    kind: str
    title: str
    choices: list[tuple[str, str]]
    hint: str


def questions(referral: Referral, user: User, today: dt.date) -> list[Question]:
    """What the provider is asked about ``referral`` now, with the choices offered."""
    found = []
    for kind in outcomes_open(referral, user, today):
        choices = OUTCOME_CHOICES[kind].choices()
        if kind == "retention":
            hint = (
                f"Treatment started {format_date(referral.treatment_started_on)}: "
                f"12 weeks on {format_date(retention_due_on(referral))}."
            )
        elif kind == "diversion":
            hint = "Diversion from prosecution: was it completed?"
        elif referral.bbv_test_offered_on:
            hint = f"Test offered {format_date(referral.bbv_test_offered_on)}, not taken yet."
            choices = [(BbvTesting.TAKEN.value, BbvTesting.TAKEN.label)]
        else:
            hint = "Blood-borne virus testing was recorded as a need."
        found.append(Question(kind, OUTCOME_TITLES[kind], choices, hint))
    return found


def retention_started_before(today: dt.date) -> dt.date:
    """Treatment started on or before this date is due its 12-week check ``today``."""
    return today - dt.timedelta(days=RETENTION_CHECK_DAYS)


def _due(started_before: dt.date | sa.BindParameter) -> sa.ColumnElement[bool]:
    """SQL for "an outcome is due": the same rules as ``outcomes_open``, for the day
    ``retention_started_before`` gives ``started_before`` for."""
    return sa.or_(
        sa.and_(
            Referral.status == S.TREATMENT_STARTED,
            Referral.retention_outcome.is_(None),
            Referral.treatment_started_on <= started_before,
        ),
        sa.and_(
            Referral.status.in_(ATTENDED),
            sa.or_(
                sa.and_(
                    Referral.pathway == Pathway.DIVERSION, Referral.diversion_outcome.is_(None)
                ),
                sa.and_(
                    # Needs are codes joined by commas; "bbv" is part of no other code.
                    Referral.needs.like(f"%{Need.BBV.value}%"),
                    Referral.bbv_test_taken_on.is_(None),
                ),
            ),
        ),
    )


def due_referrals(
    scope: sa.ColumnElement[bool], started_before: dt.date | sa.BindParameter
) -> sa.Select:
    """The ``id`` and ``referred_on`` of the referrals in ``scope`` with an outcome due
    (on the day ``retention_started_before`` gives ``started_before`` for).

    Every due outcome needs the person to have attended, which narrows the search to two
    states before the finer rules. Work them out on their own (a materialised CTE) before
    sorting: otherwise PostgreSQL walks the whole table in date order looking for them."""
    return sa.select(Referral.id, Referral.referred_on).where(
        scope, Referral.status.in_(ATTENDED), _due(started_before)
    )
