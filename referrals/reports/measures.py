"""The measures of DESIGN.md section 6, computed in SQL.

For a period of referral dates, an as-of date and a grouping, one statement returns, per
group and for Scotland as a whole, every count the rates need and the median and 90th
percentile waits. Nothing here loads referrals into Python, and nothing here knows about
Flask: every function takes a session and plain arguments.

Definitions (W = engagement window, T = treatment window, both in days):

- made: referrals in the period, not closed as entered in error;
- pending: made fewer than W days before the as-of date (too recent to judge);
- mature: made at least W days before the as-of date;
- acceptance rate: accepted (or later) by the as-of date / mature;
- engagement rate: first attendance within W days of referral / mature;
- conversion rate: treatment started within T days / made at least T days before as-of;
- engagement to treatment: treatment started / engaged (first attendance recorded);
- within 3 weeks: treatment started within 21 days / treatment started;
- waits: days from referral to first attendance and to treatment start: the median
  (mean of the two middle values when the count is even) and the 90th percentile
  (nearest rank: the smallest wait at least 90% of waits do not exceed);
- ongoing waits: accepted, not yet started and still open at the as-of date, by the
  time waited so far (up to 1 week, 1 to 3, 3 to 6, over 6 weeks).

Dates after the as-of date are ignored, so a report as at a past date gives the figures
that date would have shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import CloseReason, Pathway, ReferralStatus, ServiceStatus
from ..models import (
    AreaGroup,
    CouncilArea,
    CustodySuite,
    Location,
    Organisation,
    Referral,
    Service,
    ServiceType,
    service_type_links,
)

GEOGRAPHIES = ("council", "adp", "police_division", "health_board")
GROUPINGS = (*GEOGRAPHIES, "custody_suite", "service", "provider", "pathway")
GROUPING_LABELS = {
    "council": "Council area of residence",
    "adp": "Alcohol and Drug Partnership",
    "police_division": "Police division",
    "health_board": "Health board",
    "custody_suite": "Custody suite",
    "service": "Service",
    "provider": "Provider organisation",
    "pathway": "Pathway",
}
COUNT_FIELDS = (
    "made",
    "pending",
    "mature",
    "accepted",
    "engaged_in_window",
    "conversion_base",
    "converted",
    "engaged",
    "engaged_started",
    "started",
    "started_within_21",
    "started_over_42",
    "naloxone_supplied",
    "near_fatal_overdose",
    "declined",
    "ongoing_up_to_1_week",
    "ongoing_1_to_3_weeks",
    "ongoing_3_to_6_weeks",
    "ongoing_over_6_weeks",
)
# rate name: (numerator field, denominator field)
RATES = {
    "acceptance_rate": ("accepted", "mature"),
    "engagement_rate": ("engaged_in_window", "mature"),
    "conversion_rate": ("converted", "conversion_base"),
    "engagement_to_treatment": ("engaged_started", "engaged"),
    "within_3_weeks": ("started_within_21", "started"),
}
RATE_LABELS = {
    "acceptance_rate": "Acceptance rate",
    "engagement_rate": "Engagement rate",
    "conversion_rate": "Conversion rate",
    "engagement_to_treatment": "Engagement to treatment",
    "within_3_weeks": "Treatment within 3 weeks",
}
NATIONAL = "__national__"


@dataclass(frozen=True)
class Params:
    start: dt.date
    end: dt.date
    as_of: dt.date
    engagement_days: int = 28
    treatment_days: int = 84
    pathway: str | None = None
    service_type: str | None = None
    sex: str | None = None
    age_band: str | None = None
    current: bool = False
    """True when ``as_of`` is today. The lifecycle refuses dates in the future, so every
    recorded stage date is on or before today and "reached by the as-of date" is simply
    "reached": the queries test for a date instead of comparing every one."""

    def with_period(self, start: dt.date, end: dt.date) -> Params:
        return replace(self, start=start, end=end)

    def reached(self, stage_date: sa.ColumnElement) -> sa.ColumnElement:
        """The stage with this date was reached by the as-of date."""
        return stage_date.is_not(None) if self.current else stage_date <= self.as_of

    def count_reached(self, stage_date: sa.ColumnElement) -> sa.ColumnElement:
        """The number of rows whose stage was reached by the as-of date."""
        return sa.func.count(stage_date) if self.current else _one_if(stage_date <= self.as_of)


@dataclass
class Wait:
    n: int = 0
    median: float | None = None
    p90: int | None = None


@dataclass
class GroupCounts:
    """Everything counted for one group (or for the nation)."""

    key: Any
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_FIELDS, 0))
    to_attendance: Wait = field(default_factory=Wait)
    to_treatment: Wait = field(default_factory=Wait)

    def __getitem__(self, name: str) -> int:
        return self.counts[name]


def group_key(grouping: str) -> tuple[sa.ColumnElement, list]:
    """The SQL expression a grouping groups by, and the joins it needs."""
    council_join = (CouncilArea, CouncilArea.id == Referral.council_area_id)
    service_join = (Service, Service.id == Referral.service_id)
    return {
        "council": (Referral.council_area_id, []),
        "adp": (CouncilArea.adp_id, [council_join]),
        "police_division": (CouncilArea.police_division_id, [council_join]),
        "health_board": (CouncilArea.health_board_id, [council_join]),
        "custody_suite": (Referral.custody_suite_id, []),
        "service": (Referral.service_id, []),
        "provider": (Service.organisation_id, [service_join]),
        "pathway": (Referral.pathway, []),
    }[grouping]


def _filtered(query: sa.Select, params: Params) -> sa.Select:
    query = query.where(
        Referral.referred_on.between(params.start, params.end),
        Referral.referred_on <= params.as_of,
        sa.or_(
            Referral.close_reason.is_(None), Referral.close_reason != CloseReason.ENTERED_IN_ERROR
        ),
    )
    if params.pathway:
        query = query.where(Referral.pathway == params.pathway)
    if params.sex:
        query = query.where(Referral.sex == params.sex)
    if params.age_band:
        query = query.where(Referral.age_band == params.age_band)
    if params.service_type:
        query = query.where(
            Referral.service_id.in_(
                sa.select(service_type_links.c.service_id)
                .join(ServiceType, ServiceType.id == service_type_links.c.service_type_id)
                .where(ServiceType.code == params.service_type)
            )
        )
    return query


def _one_if(condition) -> sa.ColumnElement:
    """The number of rows meeting the condition (an aggregate FILTER clause: cheaper than
    summing a CASE on both SQLite and PostgreSQL)."""
    return sa.func.count().filter(condition)


# Counts read from the histogram of waits rather than counted per day.
WAIT_FIELDS = ("engaged", "engaged_started", "started", "started_within_21", "started_over_42")
DAY_FIELDS = tuple(name for name in COUNT_FIELDS if name not in WAIT_FIELDS)


def _per_day(key, joins, params: Params) -> sa.CTE:
    """Stage one: per referral date and group, the counts that depend on each referral's
    own stages. (Grouped by date first, so the windows that depend on the referral date
    are applied to a few thousand rows in stage two, not to every referral; on SQLite the
    covering index delivers the rows already in this order.)"""
    r = Referral
    as_of = params.as_of
    accepted = params.reached(r.accepted_on)
    engaged = params.reached(r.engaged_on)
    started = params.reached(r.treatment_started_on)
    still_open = sa.or_(
        r.status.in_([ReferralStatus.ACCEPTED, ReferralStatus.ENGAGED]), r.closed_on > as_of
    )
    if params.current:  # a recorded wait means the stage was reached
        engaged_in_window = r.days_to_engagement <= params.engagement_days
        converted = r.days_to_treatment <= params.treatment_days
    else:
        engaged_in_window = sa.and_(engaged, r.days_to_engagement <= params.engagement_days)
        converted = sa.and_(started, r.days_to_treatment <= params.treatment_days)
    query = sa.select(
        r.referred_on.label("day"),
        key.label("g"),
        sa.func.count().label("n"),
        params.count_reached(r.accepted_on).label("accepted"),
        _one_if(engaged_in_window).label("engaged_in_window"),
        _one_if(converted).label("converted"),
        _one_if(r.naloxone_supplied).label("naloxone_supplied"),
        _one_if(r.pathway == Pathway.NEAR_FATAL_OVERDOSE).label("near_fatal_overdose"),
        params.count_reached(r.declined_on).label("declined"),
        _one_if(sa.and_(accepted, sa.not_(sa.func.coalesce(started, False)), still_open)).label(
            "ongoing"
        ),
    )
    for target, on in joins:
        query = query.join(target, on)
    return _filtered(query, params).group_by(r.referred_on, key).cte("per_day")


def _per_group_columns(day_rows: sa.CTE, params: Params) -> list:
    """Stage two: the counts per group, applying the windows to the referral date."""
    c = day_rows.c
    as_of = params.as_of
    mature = c.day <= as_of - dt.timedelta(days=params.engagement_days)
    converted_by = c.day <= as_of - dt.timedelta(days=params.treatment_days)

    def total(column, condition=None):
        value = column if condition is None else sa.case((condition, column), else_=0)
        return sa.cast(sa.func.coalesce(sa.func.sum(value), 0), sa.Integer)

    def waited(low: int | None, high: int | None):
        """Made between ``high`` and ``low`` days before the as-of date."""
        parts = []
        if low is not None:
            parts.append(c.day < as_of - dt.timedelta(days=low))
        if high is not None:
            parts.append(c.day >= as_of - dt.timedelta(days=high))
        return sa.and_(*parts)

    return [
        total(c.n).label("made"),
        total(c.n, sa.not_(mature)).label("pending"),
        total(c.n, mature).label("mature"),
        total(c.accepted, mature).label("accepted"),
        total(c.engaged_in_window, mature).label("engaged_in_window"),
        total(c.n, converted_by).label("conversion_base"),
        total(c.converted, converted_by).label("converted"),
        total(c.naloxone_supplied).label("naloxone_supplied"),
        total(c.near_fatal_overdose).label("near_fatal_overdose"),
        total(c.declined).label("declined"),
        total(c.ongoing, waited(None, 7)).label("ongoing_up_to_1_week"),
        total(c.ongoing, waited(7, 21)).label("ongoing_1_to_3_weeks"),
        total(c.ongoing, waited(21, 42)).label("ongoing_3_to_6_weeks"),
        total(c.ongoing, waited(42, None)).label("ongoing_over_6_weeks"),
    ]


def _wait_histogram(key, joins, params: Params) -> sa.CTE:
    """Referrals that reached first attendance by the as-of date, counted per group and
    pair of waits: days to attendance, and days to treatment start (null when treatment
    had not started by then). Treatment can only start after first attendance (the
    lifecycle allows it from the engaged state only), so this one pass over the referrals
    also holds every treatment start."""
    r = Referral
    if params.current:
        to_treatment = r.days_to_treatment
        reached = r.days_to_engagement.is_not(None)
    else:
        to_treatment = sa.case((r.treatment_started_on <= params.as_of, r.days_to_treatment))
        reached = r.engaged_on <= params.as_of
    query = sa.select(
        key.label("g"),
        r.days_to_engagement.label("attend"),
        to_treatment.label("treat"),
        sa.func.count().label("c"),
    )
    for target, on in joins:
        query = query.join(target, on)
    query = _filtered(query, params).where(reached)
    return query.group_by(key, r.days_to_engagement, to_treatment).cte("wait_pairs")


def _wait_figures(pairs: sa.CTE, wait: str) -> sa.Subquery:
    """Per group and for the nation (key ``NATIONAL``): how many waited (``n``), the two
    middle values for the median, the 90th percentile, and how many waited up to 21 days
    and over 42 days; from the histogram of one wait, with window functions over a few
    thousand histogram rows."""
    days = pairs.c[wait]
    by_group = (
        sa.select(
            sa.cast(pairs.c.g, sa.String(40)).label("g"),
            days.label("d"),
            sa.cast(sa.func.sum(pairs.c.c), sa.Integer).label("c"),
        )
        .where(days.is_not(None))
        .group_by(pairs.c.g, days)
        .cte(f"histogram_{wait}")
    )
    histogram = sa.union_all(
        sa.select(by_group.c.g, by_group.c.d, by_group.c.c),
        sa.select(
            sa.literal(NATIONAL, sa.String(40)).label("g"),
            by_group.c.d,
            sa.cast(sa.func.sum(by_group.c.c), sa.Integer).label("c"),
        ).group_by(by_group.c.d),
    ).subquery(f"histogram_{wait}_national")
    h = histogram.c
    running = sa.select(
        h.g,
        h.d,
        h.c,
        sa.cast(sa.func.sum(h.c).over(partition_by=h.g, order_by=h.d), sa.Integer).label("upto"),
        sa.cast(sa.func.sum(h.c).over(partition_by=h.g), sa.Integer).label("n"),
    ).subquery(f"running_{wait}")
    n, d, c = running.c.n, running.c.d, running.c.c
    return (
        sa.select(
            running.c.g,
            sa.func.max(n).label("n"),
            sa.func.min(sa.case((running.c.upto >= (n + 1) // 2, d))).label("low"),
            sa.func.min(sa.case((running.c.upto >= (n + 2) // 2, d))).label("high"),
            sa.func.min(sa.case((running.c.upto >= (9 * n + 9) // 10, d))).label("p90"),
            sa.func.sum(sa.case((d <= 21, c), else_=0)).label("within_21"),
            sa.func.sum(sa.case((d > 42, c), else_=0)).label("over_42"),
        )
        .group_by(running.c.g)
        .subquery(f"{wait}_figures")
    )


def _statement(key, joins, params: Params) -> sa.Select:
    """One statement: counts per group plus a national row (the sum of the groups'
    counts), joined to the waits per group and nationally. Group keys leave as text, so
    the groups and the national row share their columns."""
    day_rows = _per_day(key, joins, params)
    per_group = (
        sa.select(
            sa.cast(day_rows.c.g, sa.String(40)).label("g"), *_per_group_columns(day_rows, params)
        )
        .group_by(day_rows.c.g)
        .cte("per_group")
    )
    counts = sa.union_all(
        sa.select(per_group),
        sa.select(
            sa.literal(NATIONAL, sa.String(40)).label("g"),
            *[
                sa.cast(sa.func.coalesce(sa.func.sum(per_group.c[name]), 0), sa.Integer).label(
                    name
                )
                for name in DAY_FIELDS
            ],
        ),
    ).subquery("counts")
    pairs = _wait_histogram(key, joins, params)
    attend = _wait_figures(pairs, "attend")
    treat = _wait_figures(pairs, "treat")

    def number(column):
        return sa.cast(sa.func.coalesce(column, 0), sa.Integer)

    return (
        sa.select(
            counts,
            number(attend.c.n).label("engaged"),
            # treatment starts only after first attendance: every start is also engaged
            number(treat.c.n).label("engaged_started"),
            number(treat.c.n).label("started"),
            number(treat.c.within_21).label("started_within_21"),
            number(treat.c.over_42).label("started_over_42"),
            attend.c.n.label("attend_n"),
            attend.c.low.label("attend_low"),
            attend.c.high.label("attend_high"),
            attend.c.p90.label("attend_p90"),
            treat.c.n.label("treat_n"),
            treat.c.low.label("treat_low"),
            treat.c.high.label("treat_high"),
            treat.c.p90.label("treat_p90"),
        )
        .select_from(counts)
        .outerjoin(attend, attend.c.g == counts.c.g)
        .outerjoin(treat, treat.c.g == counts.c.g)
    )


def _row_to_counts(row) -> GroupCounts:
    mapping = row._mapping
    result = GroupCounts(mapping["g"])
    result.counts = {name: int(mapping[name] or 0) for name in COUNT_FIELDS}
    for prefix, target in (("attend", "to_attendance"), ("treat", "to_treatment")):
        n = int(mapping[f"{prefix}_n"] or 0)
        if n:
            median = (mapping[f"{prefix}_low"] + mapping[f"{prefix}_high"]) / 2
            setattr(result, target, Wait(n, median, int(mapping[f"{prefix}_p90"])))
    return result


def grouped_counts(
    session: Session, grouping: str, params: Params
) -> tuple[dict[Any, GroupCounts], GroupCounts]:
    """Counts and waits per group, and for the nation, in one SQL statement."""
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}")
    key, joins = group_key(grouping)
    statement = _statement(key, joins, params)
    groups: dict[Any, GroupCounts] = {}
    national = GroupCounts(NATIONAL)
    for row in session.execute(statement):
        counts = _row_to_counts(row)
        if counts.key == NATIONAL:
            national = counts
        else:
            counts.key = _typed_key(grouping, counts.key)
            groups[counts.key] = counts
    return groups, national


def _typed_key(grouping: str, key: str) -> Any:
    return key if grouping == "pathway" else int(key)


@dataclass(frozen=True)
class Group:
    key: Any
    code: str
    name: str


def groups_of(session: Session, grouping: str, keys: set | None = None) -> list[Group]:
    """The groups a table lists: every area for geographies and pathways; otherwise those
    with referrals (``keys``)."""
    if grouping == "council":
        rows = session.execute(sa.select(CouncilArea.id, CouncilArea.code, CouncilArea.name))
    elif grouping in ("adp", "police_division", "health_board"):
        rows = session.execute(
            sa.select(AreaGroup.id, AreaGroup.code, AreaGroup.name).where(
                AreaGroup.kind == grouping
            )
        )
    elif grouping == "pathway":
        return [Group(p.value, p.value, p.label) for p in Pathway]
    elif grouping == "custody_suite":
        rows = session.execute(
            sa.select(CustodySuite.id, CustodySuite.code, CustodySuite.name).where(
                CustodySuite.id.in_(keys or [])
            )
        )
    elif grouping == "service":
        rows = session.execute(
            sa.select(Service.id, Service.external_id, Service.name).where(
                Service.id.in_(keys or [])
            )
        )
    elif grouping == "provider":
        rows = session.execute(
            sa.select(Organisation.id, Organisation.external_id, Organisation.name).where(
                Organisation.id.in_(keys or [])
            )
        )
    else:
        raise ValueError(f"unknown grouping {grouping!r}")
    return sorted(
        (Group(key, code or str(key), name) for key, code, name in rows), key=lambda g: g.name
    )


def council_parents(session: Session) -> dict[str, dict[int, int]]:
    """For each parent geography, which parent each council belongs to."""
    rows = session.execute(
        sa.select(
            CouncilArea.id,
            CouncilArea.adp_id,
            CouncilArea.police_division_id,
            CouncilArea.health_board_id,
        )
    ).all()
    return {
        "adp": {r[0]: r[1] for r in rows},
        "police_division": {r[0]: r[2] for r in rows},
        "health_board": {r[0]: r[3] for r in rows},
    }


def reason_counts(session: Session, params: Params) -> tuple[dict[str, int], dict[str, int]]:
    """Closures by reason and declines by reason, for referrals made in the period."""
    closed = _filtered(
        sa.select(Referral.close_reason, sa.func.count()).where(
            Referral.close_reason.is_not(None), Referral.closed_on <= params.as_of
        ),
        params,
    ).group_by(Referral.close_reason)
    declined = _filtered(
        sa.select(Referral.decline_reason, sa.func.count()).where(
            Referral.decline_reason.is_not(None), Referral.declined_on <= params.as_of
        ),
        params,
    ).group_by(Referral.decline_reason)
    return (
        {
            str(reason.value if hasattr(reason, "value") else reason): n
            for reason, n in session.execute(closed)
        },
        {
            str(reason.value if hasattr(reason, "value") else reason): n
            for reason, n in session.execute(declined)
        },
    )


def services_per_area(session: Session, grouping: str) -> dict[Any, tuple[int, int]]:
    """(active services with a location in the area, population) per area of a geography."""
    located = (
        sa.select(Location.council_area_id, sa.func.count(sa.distinct(Location.service_id)))
        .join(Service, Service.id == Location.service_id)
        .where(Service.status == ServiceStatus.ACTIVE)
        .group_by(Location.council_area_id)
    )
    services = dict(session.execute(located).all())
    key = {
        "council": CouncilArea.id,
        "adp": CouncilArea.adp_id,
        "police_division": CouncilArea.police_division_id,
        "health_board": CouncilArea.health_board_id,
    }[grouping]
    result: dict[Any, tuple[int, int]] = {}
    for council_id, group, population in session.execute(
        sa.select(CouncilArea.id, key, CouncilArea.population)
    ):
        count, people = result.get(group, (0, 0))
        result[group] = (count + services.get(council_id, 0), people + (population or 0))
    return result
