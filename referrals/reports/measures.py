"""The measures of DESIGN.md section 6: what is counted, and the SQL that counts it.

For every referral, not closed as entered in error, these facts are counted (W is the
engagement window, 28 days, T the treatment window, 84 days):

- made: the referral itself;
- accepted: accepted by the service (or any later stage);
- engaged in window: first attendance within W days of the referral;
- converted: treatment started within T days of the referral;
- engaged: first attendance recorded; started: treatment start recorded;
- started within 21 days, started after 42 days (the 3-week standard, and nobody over 6);
- naloxone supplied in custody; near-fatal overdose (the referral's pathway); declined;
- retained: treatment started within T days and the 12-week check found the person still in
  treatment or having completed it (or, with nothing recorded at the check, the referral
  was closed as completed, not by a diversion's end);
- diversion outcome: a diversion outcome recorded; diversion completed: recorded as completed;
- children: children in the household.

Referrals closed as referred on to another service are left out too: the referral the
person was referred on to counts instead, from its own date.

Every published figure is a sum of *units*: the referrals of one area (a council area of
residence, a custody suite or a service), made in one calendar month, by one kind of person
(women or men, five age groups, six pathways). The rates are:

- acceptance rate = accepted / made; engagement rate = engaged in window / made, both only
  for periods whose every referral was made at least W days before the as-of date;
- conversion rate = converted / made, only for periods followed up for T days;
- engagement to treatment = started / engaged; within 3 weeks = started within 21 days /
  started (the completed waits), for every complete period;
- retention at 12 weeks = retained / converted, only for periods followed up for T + 84
  days (every start in the period at least 84 days before the as-of date);
- diversion completion = diversion completed / diversion outcome recorded, for every
  complete period.

Custody contacts are a second kind of unit, with their own facts and measures: see
``contact_measures``.

A rate is never worked out over part of a period ("pending" referrals): a period either has
had its follow-up or is shown as not yet followed up, so the figures do not change day by
day as referrals mature. Waits are the days from referral to first attendance and to
treatment start: the median (the mean of the two middle values when the count is even) and
the 90th percentile (the smallest wait that at least 90% do not exceed). Nothing here
loads referrals into Python one by one, and nothing here knows about Flask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from .. import nation
from ..choices import AgeBand, CloseReason, DiversionOutcome, Pathway, RetentionOutcome, Sex
from ..models import Referral
from .periods import month_index, month_start

GEOGRAPHIES = ("council", "adp", "police_division", "health_board")
GROUPINGS = (*GEOGRAPHIES, "custody_suite", "scheme", "service", "provider", "pathway")


class GroupingLabels(Mapping[str, str]):
    """Grouping names: the geography levels as the nation's data pack names them
    (``referrals.nation``), the other groupings as written here."""

    def __init__(self, others: dict[str, str], plural: bool):
        self.others, self.plural = others, plural

    def __getitem__(self, key: str) -> str:
        if key in GEOGRAPHIES:
            here = nation.current()
            if self.plural:
                return here.plural(key)
            return here.label(key) + (" of residence" if key == "council" else "")
        return self.others[key]

    def __iter__(self) -> Iterator[str]:
        return iter((*GEOGRAPHIES, *self.others))

    def __len__(self) -> int:
        return len(GEOGRAPHIES) + len(self.others)


GROUPING_LABELS = GroupingLabels(
    {
        "custody_suite": "Custody suite",
        "scheme": "Arrest referral scheme",
        "service": "Service",
        "provider": "Provider organisation",
        "pathway": "Pathway",
    },
    plural=False,
)
GROUPING_LABELS_PLURAL = GroupingLabels(
    {
        "custody_suite": "custody suites",
        "scheme": "arrest referral schemes",
        "service": "services",
        "provider": "provider organisations",
        "pathway": "pathways",
    },
    plural=True,
)

BASE = (
    "made",
    "accepted",
    "engaged_in_window",
    "converted",
    "engaged",
    "started",
    "started_within_21",
    "started_over_42",
    "naloxone_supplied",
    "near_fatal_overdose",
    "declined",
    "retained",
    "diversion_outcome",
    "diversion_completed",
    "children",
)
B = {name: i for i, name in enumerate(BASE)}


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    kind: str  # "count", "rate" or "days"
    numerator: str | None = None
    denominator: str | None = None
    # "engagement", "treatment" or "retention": the window to wait for
    follow_up: str | None = None
    scotland_only: bool = False  # too rare to publish for areas
    higher_is_better: bool = True
    amber: float = 0.05  # how far short of a target still counts as amber
    unit: str = "referral"  # what is counted: "referral" or "contact"

    @property
    def counted(self) -> str:
        """What the measure counts, in words ("referrals" or "contacts")."""
        return "contacts" if self.unit == "contact" else "referrals"


MEASURES = {
    m.code: m
    for m in (
        Measure("referrals", "Referrals made", "count", "made", amber=0.1),
        Measure("acceptance_rate", "Acceptance rate", "rate", "accepted", "made", "engagement"),
        Measure(
            "engagement_rate", "Engagement rate", "rate", "engaged_in_window", "made", "engagement"
        ),
        Measure("conversion_rate", "Conversion rate", "rate", "converted", "made", "treatment"),
        Measure(
            "engagement_to_treatment", "Engagement to treatment", "rate", "started", "engaged"
        ),
        Measure(
            "within_3_weeks", "Treatment within 3 weeks", "rate", "started_within_21", "started"
        ),
        Measure(
            "median_days_to_treatment",
            "Median days to treatment",
            "days",
            higher_is_better=False,
            amber=7,
        ),
        Measure(
            "naloxone_supplied",
            "Naloxone kits supplied in custody",
            "count",
            "naloxone_supplied",
            scotland_only=True,
        ),
        Measure(
            "near_fatal_overdose", "Near-fatal overdose follow-ups", "count", "near_fatal_overdose"
        ),
        # Fewer is better: a target for declines is a most, not a least.
        Measure(
            "declined",
            "Referrals declined",
            "count",
            "declined",
            scotland_only=True,
            higher_is_better=False,
        ),
        Measure(
            "started_over_42",
            "Started treatment after more than 6 weeks",
            "count",
            "started_over_42",
            higher_is_better=False,
            scotland_only=True,
        ),
        Measure(
            "retention_12_weeks",
            "Retained at 12 weeks",
            "rate",
            "retained",
            "converted",
            "retention",
        ),
        Measure(
            "diversion_completion",
            "Diversion completion",
            "rate",
            "diversion_completed",
            "diversion_outcome",
        ),
        Measure(
            "children_affected", "Referrals with children in the household", "count", "children"
        ),
        Measure("contacts", "Custody contacts", "count", "contacts", unit="contact", amber=0.1),
        Measure("offer_rate", "Offer rate", "rate", "offered", "contacts", unit="contact"),
        Measure(
            "referral_success_rate",
            "Referral success rate",
            "rate",
            "referral_made",
            "offered",
            unit="contact",
        ),
        Measure(
            "naloxone_supply_rate",
            "Naloxone supply rate",
            "rate",
            "naloxone_supplied",
            "not_carrying",
            unit="contact",
        ),
    )
}
RETENTION_DAYS = 84  # the 12-week check
RATES = [m.code for m in MEASURES.values() if m.kind == "rate"]
COUNTS = [m.code for m in MEASURES.values() if m.kind == "count"]
RATE_LABELS = {code: MEASURES[code].label for code in RATES}


# Kinds of person: each breakdown a reader can filter by, and the groups it has. Small
# groups are merged (under 18 with 18 to 24, 55 and over, sex not recorded with men) so
# that a breakdown is not mostly "<5".
SEX_GROUP = {Sex.FEMALE.value: 0, Sex.MALE.value: 1, Sex.NOT_KNOWN.value: 1}
AGE_GROUP = {
    AgeBand.UNDER_18.value: 0,
    AgeBand.AGE_18_24.value: 0,
    AgeBand.AGE_25_34.value: 1,
    AgeBand.AGE_35_44.value: 2,
    AgeBand.AGE_45_54.value: 3,
    AgeBand.AGE_55_64.value: 4,
    AgeBand.AGE_65_PLUS.value: 4,
}
PATHWAY_GROUP = {p.value: i for i, p in enumerate(Pathway)}
BREAKDOWNS = {
    "sex": ("Sex", ("female", "male"), ("Women", "Men and sex not recorded")),
    "age": (
        "Age",
        ("under_25", "25_34", "35_44", "45_54", "55_plus"),
        ("Under 25", "25 to 34", "35 to 44", "45 to 54", "55 and over"),
    ),
    "pathway": ("Pathway", tuple(PATHWAY_GROUP), tuple(p.label for p in Pathway)),
}
DIMENSIONS = tuple(len(values) for _, values, _ in BREAKDOWNS.values())
# The levels with breakdowns and quarterly rates: large enough that few are small.
LARGE_LEVELS = ("police_division", "health_board")
NFO_PATHWAY = PATHWAY_GROUP[Pathway.NEAR_FATAL_OVERDOSE.value]


def combo(sex: str, age_band: str, pathway: str) -> tuple[int, int, int]:
    return (SEX_GROUP[str(sex)], AGE_GROUP[str(age_band)], PATHWAY_GROUP[str(pathway)])


def _value(code: Any) -> str:
    return str(code.value if hasattr(code, "value") else code)


def counted() -> sa.ColumnElement:
    """Referrals the measures count: all but those closed as entered in error, or closed
    as referred on to another service (the referral they were referred on to counts).
    A referral referred on counts after all when every referral it was referred on to
    was closed as entered in error: the person was referred once, and only this one
    stands (so along a chain of referrals passed on, exactly one counts).

    Those are found once, uncorrelated (the referrals passed on from each, grouped), not
    by a look-up per referral: the summaries' full rebuild costs what it did."""
    r, later = Referral, aliased(Referral)
    in_error = sa.case((later.close_reason == CloseReason.ENTERED_IN_ERROR, 1), else_=0)
    only_in_error_after = (
        sa.select(later.referred_from_id)
        .where(later.referred_from_id.is_not(None))
        .group_by(later.referred_from_id)
        .having(sa.func.min(in_error) == 1)
    )
    return sa.or_(
        r.close_reason.is_(None),
        r.close_reason.not_in([CloseReason.ENTERED_IN_ERROR, CloseReason.REFERRED_ON]),
        sa.and_(r.close_reason == CloseReason.REFERRED_ON, r.id.in_(only_in_error_after)),
    )


def retained_or_completed() -> sa.ColumnElement[bool]:
    """Retained at the 12-week check, or completed: as recorded at the check, or, with
    nothing recorded there, closed as completed (a short treatment finished before the
    check, or a provider who closed the referral instead of recording it)."""
    r = Referral
    recorded = r.retention_outcome.in_([RetentionOutcome.RETAINED, RetentionOutcome.COMPLETED])
    closed_completed = sa.and_(
        r.retention_outcome.is_(None),
        r.close_reason == CloseReason.COMPLETED,
        # A diversion completed closes its referral as completed too: not a treatment.
        r.diversion_outcome.is_(None),
    )
    return sa.or_(recorded, closed_completed)


def _month(column) -> sa.ColumnElement:
    return (
        sa.cast(sa.extract("year", column), sa.Integer) * 12
        + sa.cast(sa.extract("month", column), sa.Integer)
        - 1
    )


def _flags(engagement_days: int, treatment_days: int) -> list[sa.ColumnElement]:
    """One referral's facts as 0 or 1, in BASE order after ``made`` (near-fatal overdose
    comes from the pathway, so it is left 0 here)."""
    r = Referral

    def flag(condition) -> sa.ColumnElement:
        return sa.case((condition, 1), else_=0)

    return [
        flag(r.accepted_on.is_not(None)).label("accepted"),
        flag(r.days_to_engagement <= engagement_days).label("engaged_in_window"),
        flag(r.days_to_treatment <= treatment_days).label("converted"),
        flag(r.engaged_on.is_not(None)).label("engaged"),
        flag(r.treatment_started_on.is_not(None)).label("started"),
        flag(r.days_to_treatment <= 21).label("started_within_21"),
        flag(r.days_to_treatment > 42).label("started_over_42"),
        flag(r.naloxone_supplied).label("naloxone_supplied"),
        flag(r.declined_on.is_not(None)).label("declined"),
        flag((r.days_to_treatment <= treatment_days) & retained_or_completed()).label("retained"),
        flag(r.diversion_outcome.is_not(None)).label("diversion_outcome"),
        flag(r.diversion_outcome == DiversionOutcome.COMPLETED).label("diversion_completed"),
        flag(r.children_in_household.is_(True)).label("children"),
    ]


def possible(treatment_days: int):
    """Whether a profile of facts is possible for one referral: the lifecycle's stages come
    in order, a referral is accepted or declined, and a start after the treatment window
    is a start after 6 weeks when that window is at least 6 weeks."""

    def check(profile) -> bool:
        f = dict(zip(BASE, profile, strict=True))
        return (
            f["made"] == 1
            and f["near_fatal_overdose"] == 0
            and f["accepted"] + f["declined"] <= 1
            and f["engaged"] <= f["accepted"]
            and f["engaged_in_window"] <= f["engaged"]
            and f["started"] <= f["engaged"]
            and f["converted"] <= f["started"]
            and f["started_within_21"]
            <= (f["converted"] if treatment_days >= 21 else f["started"])
            and f["started_over_42"] <= f["started"]
            and f["started_within_21"] + f["started_over_42"] <= 1
            and (treatment_days < 42 or f["started"] - f["converted"] <= f["started_over_42"])
            and f["retained"] <= f["converted"]
            and f["diversion_completed"] <= f["diversion_outcome"]
        )

    return check


@dataclass(frozen=True)
class Window:
    """The referrals a snapshot counts: complete months from ``first`` to ``last``."""

    last: int  # month index of the last complete month
    engagement_days: int = 28
    treatment_days: int = 84

    @property
    def end(self) -> dt.date:
        return month_start(self.last + 1)


def unit_rows(session: Session, key: sa.ColumnElement, window: Window) -> Iterator[tuple]:
    """(area key, month, (sex, age, pathway) group, profile, referrals): how many referrals
    of each area, month and kind of person had each profile of facts (BASE order), in one
    GROUP BY over the referrals made before the window's end."""
    r = Referral
    month = _month(r.referred_on)
    flags = _flags(window.engagement_days, window.treatment_days)
    query = (
        sa.select(
            key.label("k"), month.label("m"), r.sex, r.age_band, r.pathway, *flags, sa.func.count()
        )
        .where(r.referred_on < window.end, counted())
        .group_by(key, month, r.sex, r.age_band, r.pathway, *flags)
    )
    for row in session.execute(query):
        k, m, sex, age, pathway, *bits, n = row
        yield k, int(m), combo(_value(sex), _value(age), _value(pathway)), profile_of(bits), n


def profile_of(bits) -> tuple[int, ...]:
    """A profile (BASE order) from the values of ``_flags``: ``made`` is 1, and near-fatal
    overdose (from the pathway) 0."""
    nfo = B["near_fatal_overdose"]
    return (1, *(int(b) for b in bits[: nfo - 1]), 0, *(int(b) for b in bits[nfo - 1 :]))


def wait_rows(session: Session, key: sa.ColumnElement, window: Window) -> Iterator[tuple]:
    """(area key, month, days to first attendance, days to treatment or None, count) for
    the referrals with a first attendance."""
    r = Referral
    month = _month(r.referred_on)
    query = (
        sa.select(key, month, r.days_to_engagement, r.days_to_treatment, sa.func.count())
        .where(r.referred_on < window.end, counted(), r.days_to_engagement.is_not(None))
        .group_by(key, month, r.days_to_engagement, r.days_to_treatment)
    )
    for k, m, attend, treat, n in session.execute(query):
        yield k, int(m), attend, treat, n


def reason_rows(session: Session, window: Window) -> Iterator[tuple[str, int, str, int]]:
    """("closed" or "declined", month, reason, count), Nationwide. Closures count the
    referrals closed as entered in error too (the only place they appear); declines leave
    them out, so that their total is the "declined" count published everywhere."""
    r = Referral
    month = _month(r.referred_on)
    for kind, column in (("closed", r.close_reason), ("declined", r.decline_reason)):
        query = (
            sa.select(month, column, sa.func.count())
            .where(r.referred_on < window.end, column.is_not(None))
            .group_by(month, column)
        )
        if kind == "declined":
            query = query.where(counted())
        for m, reason, n in session.execute(query):
            yield kind, int(m), _value(reason), n


ONGOING_BANDS = (
    ("ongoing_up_to_1_week", "up to 1 week", 0, 7),
    ("ongoing_1_to_3_weeks", "1 to 3 weeks", 7, 21),
    ("ongoing_3_to_6_weeks", "3 to 6 weeks", 21, 42),
    ("ongoing_over_6_weeks", "over 6 weeks", 42, None),
)


def ongoing_waits(session: Session, start: dt.date, end: dt.date) -> dict[str, int]:
    """Nationwide: referrals made from ``start`` to ``end`` that had been accepted but had
    not started treatment and were still open at the end of ``end``, by how long they had
    waited by then (a census at the period's end, so it does not change day by day)."""
    r = Referral
    waiting = (
        sa.select(r.referred_on, sa.func.count())
        .where(
            r.referred_on.between(start, end),
            counted(),
            r.accepted_on <= end,
            sa.or_(r.treatment_started_on.is_(None), r.treatment_started_on > end),
            sa.or_(r.closed_on.is_(None), r.closed_on > end),
            sa.or_(r.declined_on.is_(None), r.declined_on > end),
        )
        .group_by(r.referred_on)
    )
    bands = dict.fromkeys((name for name, *_ in ONGOING_BANDS), 0)
    for day, n in session.execute(waiting):
        waited = (end - day).days
        for name, _, low, high in ONGOING_BANDS:
            if waited >= low and (high is None or waited < high):
                bands[name] += n
    return bands


def first_month(session: Session) -> int | None:
    """The month of the earliest referral counted, or None when there are none."""
    day = session.scalar(sa.select(sa.func.min(Referral.referred_on)).where(counted()))
    return month_index(day) if day else None
