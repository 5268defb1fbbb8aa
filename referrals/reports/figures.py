"""Every aggregate figure the product publishes on one day, worked out once and protected.

What is published (DESIGN.md section 6): for each *family* of areas (council areas of
residence with the ADPs, police divisions and health boards made of them; custody suites;
services with the provider organisations running them), for every area and for the nation:

- each complete quarter and financial year, and the latest rolling year (the 12 months
  ending with the last quarter the measure has been followed up for);
- for the nation only, also each complete month and the 12 months ending with every month
  (except a measure whose monthly figures for the nation would be small);
- breakdowns by sex, age group and pathway for the years (not for single quarters);
- closures and declines by reason, and ongoing waits, for the nation only.

All of it is worked out from units (see ``measures``) and protected by ``disclosure`` in
one pass per family, so every page, chart, map, CSV and API answer shows the same figures,
and no two of them together give away a hidden one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import AreaGroupKind, CloseReason, DeclineReason
from ..models import AreaGroup, CouncilArea, CustodySuite, Referral, Service
from ..schemes.models import Scheme
from . import disclosure as dc
from .contact_measures import (
    CB,
    CONTACT_DIMENSIONS,
    CONTACT_KEYS,
    possible_contact,
)
from .contact_measures import monthly_totals as contact_monthly_totals
from .contact_summaries import contact_unit_rows
from .measures import (
    BASE,
    BREAKDOWNS,
    DIMENSIONS,
    LARGE_LEVELS,
    MEASURES,
    NFO_PATHWAY,
    RETENTION_DAYS,
    B,
    Window,
    first_month,
    ongoing_waits,
    possible,
)
from .periods import Offer, Period, last_complete_quarter, rolling_year
from .scheme_groups import scheme_members
from .summaries import reason_rows, unit_rows, wait_rows

PUBLISHED = [m for m in MEASURES.values() if m.kind in ("count", "rate")]
WAITS = ("attendance_wait", "treatment_wait")
LEVELS = {
    "council": "area",
    "adp": "area",
    "police_division": "area",
    "health_board": "area",
    "custody_suite": "suite",
    "scheme": "suite",
    "service": "service",
    "provider": "service",
}
REASONS = {"closed": CloseReason, "declined": DeclineReason}


@dataclass
class Settings:
    as_of: dt.date
    engagement_days: int = 28
    treatment_days: int = 84
    threshold: int = 5
    min_denominator: int = 10
    large_area: int = 200  # referrals in 12 months for quarterly rates and breakdowns

    @property
    def rule(self) -> dc.Rule:
        return dc.Rule(self.threshold, self.min_denominator)

    def follow_up_days(self, kind: str | None) -> int:
        return {
            "engagement": self.engagement_days,
            "treatment": self.treatment_days,
            "retention": self.treatment_days + RETENTION_DAYS,
        }.get(kind or "", 0)

    def label(self, reason: str) -> str:  # one for each of ``LABELLED``
        return {
            dc.SMALL: f"<{self.threshold}",
            dc.FEW: f"fewer than {self.min_denominator}",
            dc.SECONDARY: "[c]",
            dc.WITHDRAWN: "not published",
        }[reason]


@dataclass
class Published:
    """One day's published figures.

    ``parts[(family, period code, slice code)]`` maps an area key (``national``,
    ``council:S12000046``, ``provider:12``...) to its figures by measure code: a count (an
    int), a rate ([numerator, denominator]), waits ([median, 90th percentile, number]) or,
    for a hidden figure, its label ("<5", "fewer than 10", "[c]"). Hidden values are not
    kept at all."""

    as_of: dt.date
    settings: dict[str, int]
    periods: dict[str, dict[str, Any]] = field(default_factory=dict)
    parts: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = field(default_factory=dict)
    reasons: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    ongoing: dict[str, dict[str, Any]] = field(default_factory=dict)
    unprotected: int = 0
    # The codes the parts are keyed by, as read when the build started: an area or
    # scheme given a new code meanwhile is found by its id when the parts are stored.
    codes: dict[tuple[str, int], str] = field(default_factory=dict)
    # For each family (and its contacts), a fingerprint of what each period's figures
    # are made from: the next day's are protected together with these where it matches.
    digests: dict[str, dict[str, str]] = field(default_factory=dict)


LABELLED = (dc.SMALL, dc.FEW, dc.SECONDARY, dc.WITHDRAWN)


@dataclass
class Earlier:
    """The figures kept for the latest day before this one, which readers can still
    open (``as_of``): where a family's referrals in a period are unchanged since (the same
    digest), this day hides what that day hid and shows what it showed (rule 3 of
    ``disclosure``), so that the two together give away nothing either does not."""

    settings: dict[str, int]
    digests: dict[str, dict[str, str]]
    part: Callable[[str, str, str], dict[str, dict[str, Any]]]  # (family, period, slice)

    def same_rules(self, settings: Settings) -> bool:
        return all(
            self.settings.get(name) == getattr(settings, name)
            for name in ("threshold", "min_denominator", "engagement_days", "treatment_days")
        )


def slice_code(dimension: str | None, group: str | None = None) -> str:
    return f"{dimension}:{group}" if dimension else "all"


SLICES = ["all"] + [
    slice_code(name, g) for name, (_, groups, _) in BREAKDOWNS.items() for g in groups
]


# -- periods --------------------------------------------------------------------------------


class Periods:
    """The periods published, once per run of months (FY2025-26 is also 12m-2026-03)."""

    def __init__(self, offer: Offer, settings: Settings):
        as_of = settings.as_of
        latest = last_complete_quarter(as_of)
        self.rolling: dict[str, Period] = {}
        for measure in PUBLISHED:
            end = latest
            while not end.followed_up(as_of, settings.follow_up_days(measure.follow_up)):
                end = Period(end.first - 3, end.last - 3, "quarter")
            self.rolling[measure.code] = rolling_year(end.last)
        self.latest = rolling_year(latest.last)
        self.latest_for = {code: period.code for code, period in self.rolling.items()}
        quarters, years = offer.quarters(), offer.financial_years()
        scotland = offer.months() + offer.rolling_years(national=True)
        self.every = sorted(
            {*quarters, *years, *self.rolling.values(), *scotland},
            key=lambda p: (p.first, p.last, p.kind != "financial_year", p.kind),
        )
        self.layout: list[Period] = []
        self.index: dict[str, int] = {}
        by_months: dict[tuple[int, int], int] = {}
        for period in self.every:
            months = (period.first, period.last)
            if months not in by_months:
                by_months[months] = len(self.layout)
                self.layout.append(period)
            self.index[period.code] = by_months[months]
        self.below: dict[str, set[int]] = {}
        self.scotland: dict[str, set[int]] = {}
        for measure in PUBLISHED:
            days = settings.follow_up_days(measure.follow_up)
            below = {p for p in [*quarters, *years] if p.followed_up(as_of, days)}
            below.add(self.rolling[measure.code])
            self.below[measure.code] = {self.index[p.code] for p in below}
            self.scotland[measure.code] = {
                self.index[p.code] for p in scotland if p.followed_up(as_of, days)
            } - self.below[measure.code]
        below_any = set().union(*self.below.values())
        self.specs = [
            dc.PeriodSpec(
                months=frozenset(period.months),
                filtered=i in below_any and period.kind != "quarter",
                national_only=i not in below_any,
                weight={"rolling_year": 10.0, "financial_year": 3.0}.get(period.kind, 1.0),
                kind="quarter" if period.kind == "quarter" else "year",
            )
            for i, period in enumerate(self.layout)
        ]

    def describe(self) -> dict[str, dict[str, Any]]:
        facts = {}
        for period in self.every:
            i = self.index[period.code]
            facts[period.code] = {
                "code": period.code,
                "kind": period.kind,
                "first": period.first,
                "last": period.last,
                "label": period.label,
                "span": period.span,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
                "scotland_only": self.specs[i].national_only,
                "breakdowns": self.specs[i].filtered,
                "below": sorted(c for c, s in self.below.items() if i in s),
                "scotland": sorted(
                    c for c in self.below if i in self.below[c] or i in self.scotland[c]
                ),
            }
        return facts


# -- families of areas ----------------------------------------------------------------------


@dataclass
class Family:
    name: str
    key: sa.ColumnElement
    atoms: list[Any]
    levels: dict[str, dict[str, frozenset]]  # level -> area key -> atoms


def code_names(session: Session) -> dict[tuple[str, int], str]:
    """The code of every council, area group and scheme by (grouping, id): the parts of
    the published figures are keyed ``<grouping>:<code>``."""
    names = {}
    for grouping, table in (("council", CouncilArea), ("scheme", Scheme)):
        for i, code in session.execute(sa.select(table.id, table.code)):
            names[(grouping, i)] = code
    for i, kind, code in session.execute(sa.select(AreaGroup.id, AreaGroup.kind, AreaGroup.code)):
        names[(AreaGroupKind(kind).value, i)] = code
    return names


def families(session: Session) -> list[Family]:
    councils = session.execute(
        sa.select(
            CouncilArea.id,
            CouncilArea.code,
            CouncilArea.adp_id,
            CouncilArea.police_division_id,
            CouncilArea.health_board_id,
        )
    ).all()
    groups = {g.id: g.code for g in session.scalars(sa.select(AreaGroup))}
    areas: dict[str, dict[str, set]] = {"council": {}}
    for cid, code, *parents in councils:
        areas["council"][code] = {cid}
        for level, group in zip(("adp", "police_division", "health_board"), parents, strict=True):
            areas.setdefault(level, {}).setdefault(groups[group], set()).add(cid)
    suites = session.execute(sa.select(CustodySuite.id, CustodySuite.code)).all()
    services = session.execute(
        sa.select(Service.id, Service.organisation_id).where(
            Service.id.in_(sa.select(Referral.service_id).distinct())
        )
    ).all()
    providers: dict[str, set] = defaultdict(set)
    for sid, org in services:
        providers[str(org)].add(sid)
    frozen = {level: {k: frozenset(v) for k, v in d.items()} for level, d in areas.items()}
    return [
        Family("area", Referral.council_area_id, [c[0] for c in councils], frozen),
        Family(
            "suite",
            Referral.custody_suite_id,
            [s[0] for s in suites],
            {
                "custody_suite": {code: frozenset({sid}) for sid, code in suites},
                "scheme": scheme_members(session),
            },
        ),
        Family(
            "service",
            Referral.service_id,
            [s[0] for s in services],
            {
                "service": {str(sid): frozenset({sid}) for sid, _ in services},
                "provider": {k: frozenset(v) for k, v in providers.items()},
            },
        ),
    ]


@dataclass
class Protected:
    family: Family
    protector: dc.Protector
    outcome: dc.Outcome
    area_nodes: dict[str, dict[str, int]]
    waits: dict[tuple[int, int], dict[str, Any]]
    digests: dict[str, str] = field(default_factory=dict)  # by period code


# -- building -------------------------------------------------------------------------------


def build(session: Session, settings: Settings, earlier: Earlier | None = None) -> Published:
    """Work out and protect every published figure as at ``settings.as_of``, together
    with those of the day kept before it (``earlier``), if any."""
    window = Window(
        last=Offer(0, settings.as_of).last_month,
        engagement_days=settings.engagement_days,
        treatment_days=settings.treatment_days,
    )
    result = Published(
        as_of=settings.as_of,
        settings={
            "engagement_days": settings.engagement_days,
            "treatment_days": settings.treatment_days,
            "threshold": settings.threshold,
            "min_denominator": settings.min_denominator,
            "large_area": settings.large_area,
        },
    )
    start = first_month(session)
    if start is None or start > window.last:
        return result
    offer = Offer(start, settings.as_of)
    periods = Periods(offer, settings)
    result.periods = periods.describe()
    result.settings["latest"] = periods.latest.code
    result.settings["latest_for"] = periods.latest_for
    result.codes = code_names(session)
    kinds = families(session)
    if earlier is not None and not earlier.same_rules(settings):
        earlier = None  # other thresholds or windows: figures not comparable
    done = [
        _protect_family(session, family, settings, window, periods, earlier) for family in kinds
    ]
    referrals = {item.family.name: item for item in done}
    result.digests = {family.name: referrals[family.name].digests for family in kinds}
    for family in kinds:
        if family.name in CONTACT_KEYS:
            contacts = _protect_contacts(session, family, settings, window, periods, earlier)
            if contacts is not None:
                _hide_referrals_made_where_hidden(contacts, referrals[family.name])
                done.append(contacts)
                result.digests[contacts_digest(family.name)] = contacts.digests
    national = _national_labels(done)
    for item in done:
        _write_family(item, periods, settings, national, result)
    _write_reasons(session, settings, window, periods, result, national)
    for period in [*offer.financial_years(), periods.latest]:
        values = ongoing_waits(session, period.start, period.end)
        result.ongoing[period.code] = {
            name: settings.label(dc.SMALL) if settings.rule.small(v) else v
            for name, v in values.items()
        }
    return result


def _hide_referrals_made_where_hidden(contacts: Protected, referrals: Protected) -> None:
    """A contact whose outcome was a referral is, nearly always, a referral made: the
    referral success rate's numerator is the referral count by another name. So the
    contact figures built on it are shown only where the referral count of the same area,
    period and group of people is shown; elsewhere they are hidden ("[c]"), or areas'
    rates subtracted from their totals' would give back referral counts the referral
    figures hide."""
    count = next(f for f in referrals.protector.layout.figures if f.name == "referrals")
    made = CB["referral_made"]
    labels, hidden = contacts.outcome.labels, referrals.outcome.labels
    for cell, figure in contacts.protector.published():
        key = (*cell, figure.name)
        if made not in (figure.numerator, figure.denominator) or key in labels:
            continue
        if not count.published(*cell) or (*cell, count.name) in hidden:
            labels[key] = dc.SECONDARY


def contacts_digest(family: str) -> str:
    """Where the digests of a family's contact figures are kept (``Published.digests``)."""
    return f"{family}:contacts"


def _protect_family(session, family, settings, window, periods, earlier=None) -> Protected:
    units: dict[tuple, dict[tuple, int]] = defaultdict(dict)
    for key, month, combo, profile, n in unit_rows(session, family.key, window):
        held = units[(key, month, combo)]  # several sexes or age bands share a group
        held[profile] = held.get(profile, 0) + n
    nodes, weights, area_nodes = _family_nodes(family)
    large = _large_nodes(units, nodes, area_nodes, periods, settings)
    monthly = _national_months(units, NFO_PATHWAY)
    measures = [m for m in PUBLISHED if m.unit == "referral"]
    quarterly = _quarterly_nodes(units, nodes, periods, measures, B, large, settings)
    figures = _figure_specs(family, periods, measures, B, monthly, settings.rule, quarterly)
    layout = dc.Layout(
        nodes=nodes,
        node_weight=weights,
        periods=periods.specs,
        dimensions=DIMENSIONS,
        figures=figures,
        valid=possible(settings.treatment_days),
        count_field=B["made"],
        link=(B["near_fatal_overdose"], 2, NFO_PATHWAY),
        filtered_nodes=large,
    )
    protector = dc.Protector(layout, units, rule=settings.rule)
    outcome, digests = _protect_beside(
        protector, units, nodes, area_nodes, periods, settings, earlier, family.name
    )
    waits = _waits(session, family, window, nodes, periods, settings)
    return Protected(family, protector, outcome, area_nodes, waits, digests)


def _protect_contacts(
    session, family, settings, window, periods, earlier=None
) -> Protected | None:
    """The custody contact measures of one family of areas (areas of residence, or custody
    suites with their schemes), protected by the same rules in their own pass: contacts
    are a second kind of unit, with their own facts (``contact_measures``)."""
    units: dict[tuple, dict[tuple, int]] = defaultdict(dict)
    rows = contact_unit_rows(session, CONTACT_KEYS[family.name], window)
    for key, month, combo, profile, n in rows:
        held = units[(key, month, combo)]  # several sexes or age bands share a group
        held[profile] = held.get(profile, 0) + n
    if not units:
        return None
    nodes, weights, area_nodes = _family_nodes(family)
    large = _large_nodes(units, nodes, area_nodes, periods, settings)
    measures = [m for m in PUBLISHED if m.unit == "contact"]
    monthly = contact_monthly_totals(units)
    quarterly = _quarterly_nodes(units, nodes, periods, measures, CB, large, settings)
    figures = _figure_specs(family, periods, measures, CB, monthly, settings.rule, quarterly)
    layout = dc.Layout(
        nodes=nodes,
        node_weight=weights,
        periods=periods.specs,
        dimensions=CONTACT_DIMENSIONS,
        figures=figures,
        valid=possible_contact,
        count_field=CB["contacts"],
        filtered_nodes=large,
    )
    protector = dc.Protector(layout, units, rule=settings.rule)
    outcome, digests = _protect_beside(
        protector, units, nodes, area_nodes, periods, settings, earlier, family.name, True
    )
    return Protected(family, protector, outcome, area_nodes, {}, digests)


def _protect_beside(
    protector, units, nodes, area_nodes, periods, settings, earlier, family, contacts=False
):
    """Run ``protector`` together with the earlier day's figures of ``family`` (its
    contact figures, with ``contacts``); the outcome, and the day's digests to keep."""
    digests = _digests(units, nodes, area_nodes, periods)
    name = contacts_digest(family) if contacts else family
    before = _as_before(earlier, name, family, digests, protector, area_nodes, periods, settings)
    return protector.run(*before), digests


def _digests(units, nodes, area_nodes, periods: Periods) -> dict[str, str]:
    """For each period (by code), a fingerprint of what its figures are made from: the
    units of its months (area, month, kind of person, and how many referrals had each
    profile) and which atoms each area adds up. Equal fingerprints on two days mean the
    same figures before protection."""
    by_month: dict[int, list] = defaultdict(list)
    for (atom, month, combo), held in units.items():
        by_month[month].append((repr(atom), repr(combo), sorted(held.items())))
    months = {
        month: hashlib.sha256(repr(sorted(rows)).encode()).digest()
        for month, rows in by_month.items()
    }
    areas = sorted(
        (level, area, sorted(map(repr, nodes[node])))
        for level, found in area_nodes.items()
        for area, node in found.items()
    )
    shape = hashlib.sha256(repr(areas).encode()).digest()
    digests = {}
    for period in periods.every:
        digest = hashlib.sha256(shape)
        for month in sorted(period.months):
            digest.update(f"{month}:".encode() + months.get(month, b"none"))
        digests[period.code] = digest.hexdigest()
    return digests


def _as_before(earlier, name, family, digests, protector, area_nodes, periods, settings):
    """The figures (protector keys) the earlier day hid (with why) and showed, in the
    periods unchanged since: those to hide again, and those no swap may change. A period
    is unchanged when its digest (``name``'s, for the parts of ``family``) is the same
    today; for a day kept without digests (by an earlier release), when every figure it
    showed for the period is the same today. Nothing when there is no earlier day."""
    hidden: dict = {}
    shown: set = set()
    if earlier is None:
        return hidden, shown
    why = {settings.label(reason): reason for reason in LABELLED}
    before = earlier.digests.get(name)
    node_of = {"national": dc.NATIONAL} | {
        f"{level}:{area}": node
        for level, found in area_nodes.items()
        for area, node in found.items()
    }
    slices = SLICES[: 1 + sum(protector.layout.dimensions)]
    for period in periods.every:
        if before is not None and before.get(period.code) != digests[period.code]:
            continue
        p = periods.index[period.code]
        entries = [
            ((node_of.get(area), p, s), entry)
            for s, code in enumerate(slices)
            for area, entry in earlier.part(family, period.code, code).items()
        ]
        period_hidden, period_shown, changed = _figures_then(protector, entries, why)
        if before is None and changed:
            continue  # no digest to go by: a figure shown then differs, so the period did
        hidden |= period_hidden
        shown |= period_shown
    return hidden, shown


def _figures_then(protector, entries, why) -> tuple[dict, set, bool]:
    """Of the earlier day's ``entries`` ((cell, figures by name), the cell's node None
    for an area not published today): the figures it hid (with why) and those it showed
    that are the same today, and whether any it showed differs today."""
    hidden: dict = {}
    shown: set = set()
    changed = False
    for cell, entry in entries:
        if cell[0] is None:
            continue
        for figure in protector.layout.figures:
            value = entry.get(figure.name)
            if value is None:
                continue
            key = (*cell, figure.name)
            if isinstance(value, str):
                hidden[key] = why.get(value, dc.SECONDARY)
                continue
            x, n = protector.values(cell, figure)
            if value == (x if n is None else [x, n]):
                shown.add(key)
            else:
                changed = True
    return hidden, shown, changed


def _family_nodes(family: Family):
    """The nodes of a family (node 0 is everybody; areas with the same atoms share one),
    their weights, and each area's node."""
    nodes: list[frozenset] = [frozenset(family.atoms)]
    weights = [1.0]
    node_of: dict[frozenset, int] = {nodes[0]: 0}
    area_nodes: dict[str, dict[str, int]] = {}
    for depth, (level, areas) in enumerate(family.levels.items()):
        area_nodes[level] = {}
        for area, members in sorted(areas.items()):
            if members not in node_of:
                node_of[members] = len(nodes)
                nodes.append(members)
                weights.append(1.0 if depth == 0 else 0.5)
            area_nodes[level][area] = node_of[members]
    return nodes, weights, area_nodes


def _large_nodes(units, nodes, area_nodes, periods, settings) -> frozenset[int]:
    """The nation and the police divisions and health boards large enough for quarterly
    rates and breakdowns (counted in units of their own kind)."""
    latest = periods.index[periods.latest.code]
    sizes: dict[int, int] = defaultdict(int)
    for (node, p, s), values in protector_cells(units, nodes, periods).items():
        if p == latest and not s:
            sizes[node] = values[0]
    return frozenset(
        {dc.NATIONAL}
        | {
            node
            for level in LARGE_LEVELS
            for node in area_nodes.get(level, {}).values()
            if sizes.get(node, 0) >= settings.large_area
        }
    )


def _quarterly_nodes(units, nodes, periods, measures, index, large, settings) -> dict:
    """For each measure, the large areas that also get its rates for single quarters and by
    sex, age group and pathway: those with at least ``large_area`` in the rate's
    denominator over the latest 12 months (a rate on few people, such as diversion
    completion, is published for everybody, by year, below the nation).
    Counts go by referrals, as ``large`` does."""
    atoms: dict[Any, list[int]] = defaultdict(list)
    for i, members in enumerate(nodes):
        if i in large:
            for atom in members:
                atoms[atom].append(i)
    months = periods.layout[periods.index[periods.latest.code]].months
    sizes: dict[int, list[int]] = defaultdict(lambda: [0] * len(index))
    for (atom, month, _), held in units.items():
        if month not in months:
            continue
        for profile, n in held.items():
            for node in atoms[atom]:
                row = sizes[node]
                for i, bit in enumerate(profile):
                    row[i] += bit * n
    chosen = {}
    for measure in measures:
        if measure.denominator is None:  # counts: as for the referrals
            chosen[measure.code] = large
            continue
        field = index[measure.denominator]
        chosen[measure.code] = frozenset(
            {dc.NATIONAL} | {node for node in large if sizes[node][field] >= settings.large_area}
        )
    return chosen


def _figure_specs(family, periods, measures, index, monthly, rule, quarterly) -> list:
    """What is published of each measure: every area for years, quarters only for the nation
    and large areas (the referral count for every area), months for the nation unless small."""
    quarters = {i for i, period in enumerate(periods.layout) if period.kind == "quarter"}
    figures = []
    for measure in measures:
        below, scotland = periods.below[measure.code], periods.scotland[measure.code]
        if _small_monthly(monthly, measure, rule, index):
            scotland = {p for p in scotland if periods.layout[p].kind == "financial_year"}
        if measure.scotland_only:
            below, scotland = set(), below | scotland
        limited: set[int] = set()
        if family.name == "service" or (measure.code != "referrals"):
            limited = below & quarters if family.name == "area" else set()
            scotland = scotland | (below & quarters)
            below = below - quarters
        figures.append(
            dc.FigureSpec(
                measure.code,
                index[measure.numerator],
                index[measure.denominator] if measure.denominator else None,
                frozenset(below),
                frozenset(scotland),
                frozenset(limited),
                quarterly[measure.code],
                None if measure.denominator is None else quarterly[measure.code],
            )
        )
    return figures


def _national_labels(done: list[Protected]) -> dict[tuple[int, int, str], str]:
    """Figures for the nation hidden in any family are hidden in all (they are the same
    figures)."""
    labels: dict[tuple[int, int, str], str] = {}
    for item in done:
        for (node, p, s, name), label in item.outcome.labels.items():
            if node == dc.NATIONAL:
                labels.setdefault((p, s, name), label)
    return labels


def _write_family(item: Protected, periods: Periods, settings, national, result) -> None:
    protector, outcome = item.protector, item.outcome
    result.unprotected += len(outcome.unprotected)
    figures = protector.layout.figures
    nodes = [("national", dc.NATIONAL)] + [
        (f"{level}:{area}", node)
        for level, areas in item.area_nodes.items()
        for area, node in areas.items()
    ]
    slices = SLICES[: 1 + sum(protector.layout.dimensions)]
    for period in periods.every:
        p = periods.index[period.code]
        spec = periods.specs[p]
        for s, code in enumerate(slices):
            if s and not spec.filtered:
                continue
            part: dict[str, dict[str, Any]] = {}
            broken_down = protector.layout.filtered_nodes
            for name, node in nodes:
                if spec.national_only and node != dc.NATIONAL:
                    continue
                if s and broken_down is not None and node not in broken_down:
                    continue
                entry: dict[str, Any] = {}
                for figure in figures:
                    if not figure.published(node, p, s):
                        continue
                    label = outcome.labels.get((node, p, s, figure.name))
                    if node == dc.NATIONAL:
                        label = national.get((p, s, figure.name), label)
                    x, n = protector.values((node, p, s), figure)
                    if not label and n is not None and n < settings.min_denominator:
                        label = dc.FEW  # an area with no referrals behind the rate
                    if label:
                        entry[figure.name] = settings.label(label)
                    else:
                        entry[figure.name] = x if n is None else [x, n]
                if s == 0:
                    entry.update(item.waits.get((node, p), {}))
                part[name] = entry
            if any(part.values()):  # contact figures join the referral figures
                kept = result.parts.setdefault((item.family.name, period.code, code), {})
                for name, entry in part.items():
                    kept.setdefault(name, {}).update(entry)


def protector_cells(units, nodes, periods) -> dict[tuple, list[int]]:
    """Referrals per node in each period, for everybody (to tell large areas)."""
    atoms: dict[Any, list[int]] = defaultdict(list)
    for i, members in enumerate(nodes):
        for atom in members:
            atoms[atom].append(i)
    of_month: dict[int, list[int]] = defaultdict(list)
    for p, period in enumerate(periods.layout):
        for m in period.months:
            of_month[m].append(p)
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(BASE))
    for (atom, month, _), held in units.items():
        made = sum(held.values())
        for node in atoms[atom]:
            for p in of_month[month]:
                cells[(node, p, 0)][B["made"]] += made
    return cells


def _national_months(units, nfo_group: int) -> dict[int, list[int]]:
    totals: dict[int, list[int]] = {}
    for (_, month, combo), held in units.items():
        row = totals.setdefault(month, [0] * len(BASE))
        for profile, n in held.items():
            for i, bit in enumerate(profile):
                row[i] += bit * n
            if combo[2] == nfo_group:
                row[B["near_fatal_overdose"]] += n
    return totals


def _small_monthly(monthly, measure, rule: dc.Rule, index=B) -> bool:
    """A measure whose figure for the nation is small in some month is not published by
    month or by rolling year at all: such a month could not be protected against the
    rolling years either side of it."""
    for values in monthly.values():
        x = values[index[measure.numerator]]
        n = values[index[measure.denominator]] if measure.denominator else None
        if rule.rate_label(x, n) if n is not None else rule.small(x):
            return True
    return False


def _waits(session, family, window, nodes, periods, settings) -> dict:
    """Median and 90th percentile waits per area and period, for everybody (waits are not
    broken down), hidden below 10 waits."""
    per_atom: dict[tuple[Any, int], list[tuple[int, int | None, int]]] = defaultdict(list)
    for key, month, attend, treat, n in wait_rows(session, family.key, window):
        per_atom[(key, month)].append((attend, treat, n))
    node_of_atom: dict[Any, list[int]] = defaultdict(list)
    for i, members in enumerate(nodes):
        for atom in members:
            node_of_atom[atom].append(i)
    months_to_periods: dict[int, list[int]] = defaultdict(list)
    for p, period in enumerate(periods.layout):
        for m in period.months:
            months_to_periods[m].append(p)
    hist: dict[tuple[int, int], tuple[dict, dict]] = defaultdict(
        lambda: (defaultdict(int), defaultdict(int))
    )
    for (atom, month), rows in per_atom.items():
        for p in months_to_periods.get(month, ()):
            for node in node_of_atom[atom]:
                if periods.specs[p].national_only and node != dc.NATIONAL:
                    continue
                attend_h, treat_h = hist[(node, p)]
                for attend, treat, n in rows:
                    attend_h[attend] += n
                    if treat is not None:
                        treat_h[treat] += n
    out = {}
    for key, (attend_h, treat_h) in hist.items():
        out[key] = {
            "attendance_wait": _wait(attend_h, settings),
            "treatment_wait": _wait(treat_h, settings),
        }
    return out


def _wait(histogram: dict[int, int], settings: Settings):
    n = sum(histogram.values())
    if not n:
        return [None, None, 0]
    if n < settings.min_denominator:
        return settings.label(dc.FEW)
    ordered = sorted(histogram.items())

    def nth(rank: int) -> int:  # the rank-th smallest wait, from 1
        seen = 0
        for days, count in ordered:
            seen += count
            if seen >= rank:
                return days
        return ordered[-1][0]

    median = (nth((n + 1) // 2) + nth(n // 2 + 1)) / 2
    return [median, nth(-(-9 * n // 10)), n]


def _write_reasons(session, settings, window, periods: Periods, result, national) -> None:
    """Closures and declines by reason, for the nation, for the years: protected against
    each other and their total (one reason's move to another in the same month)."""
    rows = defaultdict(list)
    for kind, month, reason, n in reason_rows(session, window):
        rows[kind].append((month, reason, n))
    years = [i for i, p in enumerate(periods.layout) if periods.specs[i].filtered]
    for kind, choice in REASONS.items():
        codes = [c.value for c in choice]
        units = {}
        for month, reason, n in rows[kind]:
            units[(0, month, (codes.index(reason),))] = {(1,): n}
        specs = [
            dc.PeriodSpec(spec.months, i in years, False, spec.weight, "year")
            for i, spec in enumerate(periods.specs)
        ]
        figure = dc.FigureSpec(kind, 0, None, frozenset(years))
        layout = dc.Layout(
            nodes=[frozenset({0})],
            node_weight=[1.0],
            periods=specs,
            dimensions=(len(codes),),
            figures=[figure],
            valid=lambda profile: profile == (1,),
            national_weight=1.0,
            total_fixed=True,
        )
        protector = dc.Protector(layout, units, settings.rule) if units else None
        outcome = protector.run() if protector else dc.Outcome({}, [])
        if protector:
            result.unprotected += len(outcome.unprotected)
        for period in periods.every:
            p = periods.index[period.code]
            if p not in years:
                continue
            entry: dict[str, Any] = {}
            for s, code in enumerate(["total", *codes]):
                label = outcome.labels.get((0, p, s, kind))
                if kind == "declined" and s == 0:
                    label = national.get((p, 0, "declined"), label)
                value = protector.values((0, p, s), figure)[0] if protector else 0
                entry[code] = settings.label(label) if label else value
            result.reasons[(kind, period.code)] = entry
