"""Area tables: the measures per group with intervals, comparison with Scotland,
targets, and disclosure control already applied. Everything a page, map, chart or
CSV shows comes from here, so they all show the same (protected) figures."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import AreaGroup, CouncilArea, Service, Target
from ..statistics import Z95, Z998, Comparison, Interval, compare, wilson
from .disclosure import Cells, Hidden, Relation, protect, small
from .measures import (
    COUNT_FIELDS,
    GEOGRAPHIES,
    NATIONAL,
    RATES,
    GroupCounts,
    Params,
    Wait,
    council_parents,
    grouped_counts,
    groups_of,
)

SHOWN_COUNTS = (
    "made",
    "pending",
    "naloxone_supplied",
    "near_fatal_overdose",
    "declined",
    "started_over_42",
    "ongoing_up_to_1_week",
    "ongoing_1_to_3_weeks",
    "ongoing_3_to_6_weeks",
    "ongoing_over_6_weeks",
)


@dataclass(frozen=True)
class MeasureDef:
    code: str
    label: str
    kind: str  # "rate", "count" or "days"
    higher_is_better: bool
    amber: float  # how far short of target still counts as amber (points, count or days)


MEASURES = {
    m.code: m
    for m in [
        MeasureDef("referrals", "Referrals made", "count", True, 0.1),
        MeasureDef("acceptance_rate", "Acceptance rate", "rate", True, 0.05),
        MeasureDef("engagement_rate", "Engagement rate", "rate", True, 0.05),
        MeasureDef("conversion_rate", "Conversion rate", "rate", True, 0.05),
        MeasureDef("engagement_to_treatment", "Engagement to treatment", "rate", True, 0.05),
        MeasureDef("within_3_weeks", "Treatment within 3 weeks", "rate", True, 0.05),
        MeasureDef("median_days_to_treatment", "Median days to treatment", "days", False, 7),
    ]
}


@dataclass
class CountFigure:
    value: int
    hidden: bool
    threshold: int

    @property
    def text(self) -> str:
        if self.hidden:
            return f"<{self.threshold}" if small(self.value, self.threshold) else "[c]"
        return f"{self.value:,}"


@dataclass
class RateFigure:
    name: str
    numerator: int
    n: int
    hidden: bool
    national: float | None = None

    @property
    def available(self) -> bool:
        return not self.hidden and self.n > 0

    @property
    def rate(self) -> float | None:
        return self.numerator / self.n if self.available else None

    @property
    def ci95(self) -> Interval | None:
        return wilson(self.numerator, self.n, Z95) if self.available else None

    @property
    def ci998(self) -> Interval | None:
        return wilson(self.numerator, self.n, Z998) if self.available else None

    @property
    def comparison(self) -> Comparison:
        if not self.available:
            return Comparison.NOT_COMPARED
        return compare(self.numerator, self.n, self.national)

    @property
    def text(self) -> str:
        if self.hidden:
            return "suppressed"
        if self.n == 0:
            return "no data"
        return f"{100 * self.rate:.1f}%"

    @property
    def interval_text(self) -> str:
        ci = self.ci95
        return f"{100 * ci.low:.1f} to {100 * ci.high:.1f}%" if ci else ""


@dataclass
class WaitFigure:
    n: int
    median: float | None
    p90: int | None
    hidden: bool

    @property
    def text(self) -> str:
        if self.hidden:
            return "suppressed"
        if not self.n:
            return "no data"
        return f"{self.median:g}"


@dataclass
class TargetFigure:
    value: float
    period_start: dt.date
    period_end: dt.date
    rag: str  # "green", "amber", "red" or "not shown"
    measure: MeasureDef

    @property
    def text(self) -> str:
        if self.measure.kind == "rate":
            return f"{100 * self.value:.0f}%"
        return f"{self.value:g}"


@dataclass
class Row:
    key: Any
    code: str
    name: str
    counts: dict[str, CountFigure]
    rates: dict[str, RateFigure]
    to_attendance: WaitFigure
    to_treatment: WaitFigure
    target: TargetFigure | None = None

    def measure_value(self, measure: str) -> float | None:
        """The chosen measure's value, or None when hidden or without data."""
        if measure == "referrals":
            figure = self.counts["made"]
            return None if figure.hidden else float(figure.value)
        if measure == "median_days_to_treatment":
            wait = self.to_treatment
            return None if wait.hidden or not wait.n else wait.median
        return self.rates[measure].rate

    def measure_text(self, measure: str) -> str:
        if measure == "referrals":
            return self.counts["made"].text
        if measure == "median_days_to_treatment":
            return self.to_treatment.text
        return self.rates[measure].text

    def comparison(self, measure: str) -> Comparison:
        if measure in RATES:
            return self.rates[measure].comparison
        return Comparison.NOT_COMPARED


@dataclass
class AreaTable:
    grouping: str
    params: Params
    threshold: int
    rows: list[Row]
    national: Row
    hidden: Hidden = field(repr=False, default_factory=Hidden)


def _add(into: dict[str, int], values: dict[str, int]) -> None:
    for name in COUNT_FIELDS:
        into[name] += values[name]


def _rate_cells(counts: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: (counts[num], counts[den]) for name, (num, den) in RATES.items()}


def _hierarchy(
    session: Session, grouping: str, params: Params
) -> tuple[dict[Any, dict[str, int]], list[Relation], dict[Any, GroupCounts], GroupCounts]:
    """Counts for every level the displayed table nests in, the relations between them,
    and the displayed level's own counts and waits."""
    if grouping in GEOGRAPHIES:
        base, base_national = grouped_counts(session, "council", params)
        parents = council_parents(session)
        councils = list(session.scalars(sa.select(CouncilArea.id)))
        levels = {
            ("council", c): dict(base[c].counts) if c in base else _zeros() for c in councils
        }
        relations = [Relation(NATIONAL, tuple(("council", c) for c in councils))]
        for level, mapping in parents.items():
            members: dict[int, list[int]] = defaultdict(list)
            for council, parent in mapping.items():
                members[parent].append(council)
            for parent, children in members.items():
                total = _zeros()
                for child in children:
                    _add(total, levels[("council", child)])
                levels[(level, parent)] = total
                relations.append(
                    Relation((level, parent), tuple(("council", c) for c in children))
                )
            relations.append(Relation(NATIONAL, tuple((level, p) for p in members)))
    elif grouping in ("service", "provider"):
        base, base_national = grouped_counts(session, "service", params)
        owners = dict(
            session.execute(
                sa.select(Service.id, Service.organisation_id).where(Service.id.in_(list(base)))
            ).all()
        )
        levels = {("service", s): dict(c.counts) for s, c in base.items()}
        members = defaultdict(list)
        for service, org in owners.items():
            members[org].append(service)
        relations = [Relation(NATIONAL, tuple(("service", s) for s in base))]
        for org, services in members.items():
            total = _zeros()
            for service in services:
                _add(total, levels[("service", service)])
            levels[("provider", org)] = total
            relations.append(Relation(("provider", org), tuple(("service", s) for s in services)))
        relations.append(Relation(NATIONAL, tuple(("provider", o) for o in members)))
    else:
        base = None
        levels, relations = {}, []
    if grouping in ("council", "service"):  # the base level is the displayed level
        shown, national = base, base_national
    else:
        shown, national = grouped_counts(session, grouping, params)
    if base is None:
        levels = {(grouping, k): dict(c.counts) for k, c in shown.items()}
        relations = [Relation(NATIONAL, tuple(levels))]
    levels[NATIONAL] = dict(national.counts)
    return levels, relations, shown, national


def _zeros() -> dict[str, int]:
    return dict.fromkeys(COUNT_FIELDS, 0)


def area_table(
    session: Session,
    grouping: str,
    params: Params,
    *,
    threshold: int,
    measure: str = "conversion_rate",
) -> AreaTable:
    """The protected table of every measure for each group of ``grouping``."""
    levels, relations, shown, national_counts = _hierarchy(session, grouping, params)
    cells = Cells(
        counts={k: {n: v[n] for n in SHOWN_COUNTS} for k, v in levels.items()},
        rates={k: _rate_cells(v) for k, v in levels.items()},
    )
    hidden = protect(cells, relations, threshold)
    national_rates = {
        name: (national_counts[num] / national_counts[den] if national_counts[den] else None)
        for name, (num, den) in RATES.items()
    }

    def build(key, level_key, code, name, group: GroupCounts | None) -> Row:
        counts = levels.get(level_key, _zeros())
        return Row(
            key=key,
            code=code,
            name=name,
            counts={
                n: CountFigure(counts[n], hidden.count(level_key, n), threshold)
                for n in SHOWN_COUNTS
            },
            rates={
                name_: RateFigure(
                    name_,
                    counts[num],
                    counts[den],
                    hidden.rate(level_key, name_),
                    national_rates[name_],
                )
                for name_, (num, den) in RATES.items()
            },
            to_attendance=_wait(group.to_attendance if group else Wait(), threshold),
            to_treatment=_wait(group.to_treatment if group else Wait(), threshold),
        )

    groups = groups_of(session, grouping, set(shown))
    rows = [build(g.key, (grouping, g.key), g.code, g.name, shown.get(g.key)) for g in groups]
    national = build(NATIONAL, NATIONAL, "S92000003", "Scotland", national_counts)
    table = AreaTable(grouping, params, threshold, rows, national, hidden)
    if grouping in GEOGRAPHIES:
        attach_targets(session, table, measure)
    return table


def _wait(wait: Wait, threshold: int) -> WaitFigure:
    return WaitFigure(wait.n, wait.median, wait.p90, small(wait.n, threshold))


def rag(measure: MeasureDef, value: float | None, target: float) -> str:
    if value is None:
        return "not shown"
    if measure.higher_is_better:
        shortfall = target - value
        margin = measure.amber * target if measure.kind == "count" else measure.amber
    else:
        shortfall = value - target
        margin = measure.amber
    if shortfall <= 0:
        return "green"
    return "amber" if shortfall <= margin else "red"


def attach_targets(session: Session, table: AreaTable, measure: str) -> None:
    """The target for ``measure`` whose period overlaps the report's, per area."""
    definition = MEASURES[measure]
    codes = {row.code: row for row in table.rows}
    targets = session.scalars(
        sa.select(Target)
        .where(
            Target.geography == table.grouping,
            Target.measure == measure,
            Target.area_code.in_(list(codes)),
            Target.period_start <= table.params.end,
            Target.period_end >= table.params.start,
        )
        .order_by(Target.period_start)
    )
    for target in targets:  # the latest-starting target wins
        row = codes[target.area_code]
        row.target = TargetFigure(
            target.value,
            target.period_start,
            target.period_end,
            rag(definition, row.measure_value(measure), target.value),
            definition,
        )


def area_codes(session: Session, grouping: str) -> dict[str, str]:
    """Area code -> name for a geography (for forms and labels)."""
    if grouping == "council":
        rows = session.execute(sa.select(CouncilArea.code, CouncilArea.name))
    else:
        rows = session.execute(
            sa.select(AreaGroup.code, AreaGroup.name).where(AreaGroup.kind == grouping)
        )
    return dict(sorted(rows.all(), key=lambda r: r[1]))
