"""Area tables read from a day's published figures: each area's measures with intervals,
comparison with the nation and targets. Every page, map, chart, CSV and API answer takes its
figures from here, so they all show the same protected figures, rounded the same way."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import nation
from ..models import AreaGroup, CouncilArea, CustodySuite, Organisation, Service, Target
from ..statistics import Z95, Z998, Comparison, Interval, compare, wilson
from .measures import COUNTS, GEOGRAPHIES, MEASURES, RATES, Measure
from .scheme_groups import scheme_names
from .snapshot import Snapshot
from .target_status import applies, rag, target_text

FAMILY = {
    "council": "area",
    "adp": "area",
    "police_division": "area",
    "health_board": "area",
    "custody_suite": "suite",
    "scheme": "suite",
    "service": "service",
    "provider": "service",
}
PRIMARY = {"<", "f"}  # first letters of the primary labels: "<5", "fewer than 10"


def rounded(rate: float) -> float:
    """An interval's bound as the tables show it (to 0.1%), for charts and maps too."""
    return round(rate * 1000) / 1000


def tenths_of_percent(numerator: int, n: int) -> int:
    """``numerator / n`` in tenths of a percent, rounded half up, worked out exactly: in
    floating point 51 of 80 (63.75%) comes out a hair under and would read 63.7%, while
    an analyst dividing the CSV's counts gets 63.8%."""
    return (2000 * numerator + n) // (2 * n)


# A table's figures are worked out once per stored snapshot and shared by every request
# that shows them (``part_figures``): nothing may change one once made. What a cell shows
# is worked out on first use and kept with the figure.


@dataclass
class CountFigure:
    value: int | None
    label: str | None = None  # why it is hidden: "<5", "[c]", "fewer than 10"...
    missing: str | None = None  # why it is not published here at all

    @property
    def hidden(self) -> bool:
        return self.label is not None

    @property
    def shown(self) -> bool:
        return self.label is None and self.missing is None and self.value is not None

    @cached_property
    def text(self) -> str:
        if self.missing:
            return "\u2013"
        if self.label:
            return self.label
        return f"{self.value:,}"


@dataclass
class RateFigure:
    name: str
    numerator: int | None
    n: int | None
    label: str | None = None
    national: float | None = None
    missing: str | None = None

    @property
    def hidden(self) -> bool:
        return self.label is not None

    @cached_property
    def available(self) -> bool:
        return self.label is None and self.missing is None and bool(self.n)

    @cached_property
    def rate(self) -> float | None:
        return self.numerator / self.n if self.available else None

    @cached_property
    def shown_tenths(self) -> int | None:
        """The rate as shown, in tenths of a percent."""
        return tenths_of_percent(self.numerator, self.n) if self.available else None

    @cached_property
    def shown_rate(self) -> float | None:
        """The rate as the table shows it (to 0.1%), for charts and maps."""
        return self.shown_tenths / 1000 if self.available else None

    @cached_property
    def ci95(self) -> Interval | None:
        return wilson(self.numerator, self.n, Z95) if self.available else None

    @cached_property
    def ci998(self) -> Interval | None:
        return wilson(self.numerator, self.n, Z998) if self.available else None

    @cached_property
    def comparison(self) -> Comparison:
        if not self.available:
            return Comparison.NOT_COMPARED
        return compare(self.numerator, self.n, self.national)

    @cached_property
    def text(self) -> str:
        if self.missing:
            return "\u2013"
        if self.label:
            return self.label
        if not self.n:
            return f"no {MEASURES[self.name].counted}"
        tenths = self.shown_tenths
        return f"{tenths // 10}.{tenths % 10}%"

    @cached_property
    def interval_text(self) -> str:
        ci = self.ci95
        return f"{100 * ci.low:.1f} to {100 * ci.high:.1f}%" if ci else ""


@dataclass
class WaitFigure:
    median: float | None
    p90: int | None
    n: int
    label: str | None = None

    @property
    def hidden(self) -> bool:
        return self.label is not None

    @property
    def text(self) -> str:
        if self.label:
            return self.label
        if not self.n:
            return "no waits"
        return f"{self.median:g}"


@dataclass
class TargetFigure:
    value: float
    period_start: dt.date
    period_end: dt.date
    rag: str  # "green", "amber", "red" or "not shown"
    measure: Measure

    @property
    def text(self) -> str:
        return target_text(self.measure.code, self.value)


@dataclass
class Row:
    key: str
    code: str
    name: str
    counts: dict[str, CountFigure]
    rates: dict[str, RateFigure]
    to_attendance: WaitFigure
    to_treatment: WaitFigure
    target: TargetFigure | None = None

    @property
    def national(self) -> bool:
        return self.key == "national"

    def measure_value(self, measure: str) -> float | None:
        """The measure as shown (rates rounded to 0.1%), or None when not shown."""
        if measure in RATES:
            return self.rates[measure].shown_rate
        if measure == "median_days_to_treatment":
            wait = self.to_treatment
            return None if wait.hidden or not wait.n else wait.median
        figure = self.counts[_count_key(measure)]
        return float(figure.value) if figure.shown else None

    def measure_text(self, measure: str) -> str:
        if measure in RATES:
            return self.rates[measure].text
        if measure == "median_days_to_treatment":
            return self.to_treatment.text
        return self.counts[_count_key(measure)].text

    def comparison(self, measure: str) -> Comparison:
        return self.rates[measure].comparison if measure in RATES else Comparison.NOT_COMPARED


def _count_key(measure: str) -> str:
    return "made" if measure == "referrals" else measure


@dataclass
class AreaTable:
    grouping: str
    period: dict[str, Any]
    group: str
    rows: list[Row]
    national: Row
    settings: dict[str, int]
    hidden: Counter = field(default_factory=Counter)  # label -> how many figures

    @property
    def threshold(self) -> int:
        return self.settings.get("threshold", 5)


def _figures(entry: dict[str, Any], national: dict[str, Any] | None, missing: str | None):
    counts = {}
    for code in COUNTS:
        key = _count_key(code)
        value = entry.get(code)
        if value is None:
            counts[key] = CountFigure(None, missing=missing or "not published for this period")
        elif isinstance(value, str):
            counts[key] = CountFigure(None, value)
        else:
            counts[key] = CountFigure(value)
    rates = {}
    for code in RATES:
        value = entry.get(code)
        p0 = None
        if national and isinstance(national.get(code), list) and national[code][1]:
            p0 = national[code][0] / national[code][1]
        if value is None:
            rates[code] = RateFigure(
                code, None, None, national=p0, missing=missing or "not published for this period"
            )
        elif isinstance(value, str):
            rates[code] = RateFigure(code, None, None, value, national=p0)
        else:
            rates[code] = RateFigure(code, value[0], value[1], national=p0)
    waits = []
    for key in ("attendance_wait", "treatment_wait"):
        value = entry.get(key)
        if isinstance(value, str):
            waits.append(WaitFigure(None, None, 0, value))
        elif value:
            waits.append(WaitFigure(value[0], value[1], value[2]))
        else:
            waits.append(WaitFigure(None, None, 0))
    return counts, rates, waits


def make_row(key, code, name, entry, national, missing=None) -> Row:
    counts, rates, (attend, treat) = _figures(entry or {}, national, missing)
    return Row(key, code, name, counts, rates, attend, treat)


Figures = tuple[dict[str, CountFigure], dict[str, RateFigure], list[WaitFigure], Counter]
_KEPT: dict[tuple, dict[str, Figures]] = {}
KEEP_PARTS = 256


def part_figures(snapshot: Snapshot, family: str, period: str, group: str, missing: str | None):
    """Every entry of one stored part as figures (with the labels of its hidden ones), and
    under ``""`` the figures of an area with no entry. A stored snapshot never changes, so
    they are worked out once per process and kept, keyed like the part itself (the
    snapshot's id and when it was finished, so a rebuilt day's figures are new)."""
    key = (snapshot.id, snapshot.finished_at, family, period, group, missing)
    kept = _KEPT.get(key)
    if kept is None:
        part = snapshot.part(family, period, group)
        national = part.get("national", {})
        kept = {"": (*_figures({}, national, missing), Counter())}
        for name, entry in {**part, "national": national}.items():
            counts, rates, waits = _figures(
                entry, national, None if name == "national" else missing
            )
            labels = Counter(f.label for f in [*counts.values(), *rates.values()] if f.label)
            kept[name] = (counts, rates, waits, labels)
        if len(_KEPT) >= KEEP_PARTS:
            _KEPT.pop(next(iter(_KEPT)), None)
        _KEPT[key] = kept
    return kept


# The statements a table sends on every request, built once (``bindparam`` for what varies).
_NAMES = {
    "council": sa.select(CouncilArea.code, CouncilArea.code, CouncilArea.name),
    "group": sa.select(AreaGroup.code, AreaGroup.code, AreaGroup.name).where(
        AreaGroup.kind == sa.bindparam("kind")
    ),
    "custody_suite": sa.select(CustodySuite.code, CustodySuite.code, CustodySuite.name),
}
TARGETS = {
    kind: sa.select(Target.area_code, Target.value, Target.period_start, Target.period_end)
    .where(
        Target.geography == sa.bindparam("geography"),
        Target.measure == sa.bindparam("measure"),
        applies(kind, sa.bindparam("start"), sa.bindparam("end")),
    )
    .order_by(Target.period_start)
    for kind in ("count", "rate", "days")
}


def area_names(session: Session, grouping: str, keys: set[str] | None = None) -> list[tuple]:
    """(key, code, name) of the areas a table lists: every area of a geography and every
    custody suite and every scheme serving a suite; services and providers with referrals
    (``keys``)."""
    if grouping in ("council", "custody_suite"):
        rows = session.connection().execute(_NAMES[grouping])
    elif grouping in GEOGRAPHIES:
        rows = session.connection().execute(_NAMES["group"], {"kind": grouping})
    elif grouping == "scheme":
        rows = scheme_names(session)
    elif grouping == "service":
        ids = [int(k.split(":")[1]) for k in keys or ()]
        rows = [
            (str(sid), ext or str(sid), f"{name} ({org})")
            for sid, ext, name, org in session.execute(
                sa.select(Service.id, Service.external_id, Service.name, Organisation.name)
                .join(Organisation, Organisation.id == Service.organisation_id)
                .where(Service.id.in_(ids))
            )
        ]
    elif grouping == "provider":
        ids = [int(k.split(":")[1]) for k in keys or ()]
        rows = [
            (str(oid), ext or str(oid), name)
            for oid, ext, name in session.execute(
                sa.select(Organisation.id, Organisation.external_id, Organisation.name).where(
                    Organisation.id.in_(ids)
                )
            )
        ]
    else:
        raise ValueError(f"unknown grouping {grouping!r}")
    return named(grouping, rows)


def names_statement(grouping: str) -> tuple[sa.Select, dict] | None:
    """The statement ``area_names`` reads a geography's or the custody suites' names with
    (rows of key, code, name), and its parameters; None for the other groupings."""
    if grouping in ("council", "custody_suite"):
        return _NAMES[grouping], {}
    if grouping in GEOGRAPHIES:
        return _NAMES["group"], {"kind": grouping}
    return None


def named(grouping: str, rows) -> list[tuple]:
    """``area_names`` from rows of (key, code, name), however they were read: by name."""
    return sorted(((f"{grouping}:{k}", code, name) for k, code, name in rows), key=lambda r: r[2])


def area_table(
    session: Session,
    snapshot: Snapshot,
    grouping: str,
    period: str,
    *,
    group: str = "all",
    measure: str = "conversion_rate",
    national_name: str = "",
    names: list[tuple] | None = None,
    targets: list[tuple] | None = None,
) -> AreaTable:
    """The protected figures of every area of ``grouping`` for one period and group; with
    ``names`` (``area_names``' rows) and ``targets`` (``targets_statement``'s rows) when
    they were read already, with the page's other look-ups (``area_lookups``)."""
    facts = snapshot.period(period) or {}
    part = snapshot.part(FAMILY[grouping], period, group)
    keys = {k for k in part if k.startswith(f"{grouping}:")}
    national_name = national_name or nation.current().name
    missing = None if not facts.get("scotland_only") else f"published for {national_name} only"
    if group != "all" and missing is None:
        missing = f"for a group of people, published for {national_name} and the largest areas"
    figures = part_figures(snapshot, FAMILY[grouping], period, group, missing)
    rows = []
    hidden: Counter = Counter()
    for key, code, name in area_names(session, grouping, keys) if names is None else names:
        found = figures.get(key)
        if found is None and grouping not in (*GEOGRAPHIES, "custody_suite", "scheme"):
            continue
        counts, rates, (attend, treat), labels = found or figures[""]
        rows.append(Row(key, code, name, counts, rates, attend, treat))
        hidden.update(labels)
    counts, rates, (attend, treat), labels = figures["national"]
    national = Row("national", "national", national_name, counts, rates, attend, treat)
    hidden.update(labels)
    table = AreaTable(grouping, facts, group, rows, national, snapshot.settings, hidden)
    if grouping in (*GEOGRAPHIES, "scheme") and facts:
        attach_targets(session, table, measure, targets)
    return table


def targets_statement(grouping: str, period: dict[str, Any], measure: str) -> tuple:
    """The statement reading the targets of ``grouping``'s areas for ``measure`` that apply
    to ``period`` (rows of area code, value, first and last day, the latest starting
    last), and its parameters."""
    return TARGETS[MEASURES[measure].kind], {
        "geography": grouping,
        "measure": measure,
        "start": dt.date.fromisoformat(period["start"]),
        "end": dt.date.fromisoformat(period["end"]),
    }


def attach_targets(
    session: Session, table: AreaTable, measure: str, targets: list[tuple] | None = None
) -> None:
    """The target for ``measure`` that applies to the report's period, per area (the rule
    and the colours are ``target_status``'s), read here unless given (``targets``)."""
    definition = MEASURES[measure]
    codes = {row.code: row for row in table.rows}
    if targets is None:
        statement, params = targets_statement(table.grouping, table.period, measure)
        targets = session.connection().execute(statement, params)
    for area_code, value, period_start, period_end in targets:
        row = codes.get(area_code)
        if row is None:
            continue
        row.target = TargetFigure(
            value,
            period_start,
            period_end,
            rag(definition, row.measure_value(measure), value),
            definition,
        )


def area_codes(session: Session, grouping: str) -> dict[str, str]:
    """Area code -> name for a geography (for forms and labels)."""
    return {code: name for _, code, name in area_names(session, grouping)}
