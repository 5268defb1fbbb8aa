"""An area's target for a measure and period, and where the published figure stands
against it. The area table, the profile, the map, the trends and the pack all ask here.

Which target a report period is assessed against. A target is set for an area, a measure
and a period of its own (usually a financial year):

- a count target (referrals made, custody contacts) is a number for its whole period, so
  only a report period with the target's own first and last days is assessed against it
  (the 12 months to March are the financial year by another name); a quarter of the year,
  or 12 months across two financial years, is not;
- a rate or waiting-time target holds throughout its period, so any report period lying
  wholly within it is assessed against it (each quarter of the year, the year itself); one
  reaching outside it (12 months across two financial years) is not;
- where several apply, the latest starting wins (a quarter's own target over its year's).

A period no target applies to shows as one with no target set. A trend chart draws the
target that applies to its latest period, so a year's count target is never drawn across
quarters, while a year's rate target is drawn across the quarters within it.

Where the figure stands: green (met), amber (short by no more than the measure's margin:
5 points of a rate, a share of a count target, 7 days of a wait), red (missed), or not
shown (the figure is hidden or not published). The figure is taken as shown (a rate to
0.1%) and the target as entered, and they are compared in decimals, so that a rate shown
exactly 5 points short is amber, never red by a floating-point hair.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import Geography
from ..choices import Measure as TargetMeasure
from ..models import Target
from .colours import RAG_LABELS, RAG_SYMBOLS
from .measures import MEASURES, Measure

TARGET_MEASURES = {m.value for m in TargetMeasure}
TARGET_GROUPINGS = {g.value for g in Geography}
# Finer than any figure or target is given in, coarser than floating-point error (a target
# of 0.9% is stored as 0.009000000000000001).
PLACES = 9


def applies(kind: str, start, end) -> sa.ColumnElement[bool]:
    """Whether a target of a measure of ``kind`` applies to the report period ``start`` to
    ``end`` (dates or bound parameters): the rule above."""
    if kind == "count":
        return sa.and_(Target.period_start == start, Target.period_end == end)
    return sa.and_(Target.period_start <= start, Target.period_end >= end)


def target_for(
    session: Session, grouping: str, code: str, measure: str, start: dt.date, end: dt.date
) -> Target | None:
    """The target for ``measure`` that applies to the period ``start`` to ``end``, for the
    groupings targets are set for."""
    if grouping not in TARGET_GROUPINGS or measure not in TARGET_MEASURES:
        return None
    return session.scalar(
        sa.select(Target)
        .where(
            Target.geography == grouping,
            Target.area_code == code,
            Target.measure == measure,
            applies(MEASURES[measure].kind, start, end),
        )
        .order_by(Target.period_start.desc())
        .limit(1)
    )


def _decimal(number: float) -> Decimal:
    """``number`` as the decimal it stands for: 0.75 - 0.7 is 0.05, not 0.05000000000000004."""
    return round(Decimal(repr(float(number))), PLACES)


def rag(measure: Measure, value: float | None, target: float) -> str:
    """Green, amber or red for ``value`` as shown (a rate rounded to 0.1%) against
    ``target``; "not shown" when there is no figure."""
    if value is None:
        return "not shown"
    shown, goal = _decimal(value), _decimal(target)
    margin = _decimal(measure.amber)
    if measure.kind == "count":
        margin *= goal  # a share of the target, whichever way is better
    shortfall = goal - shown if measure.higher_is_better else shown - goal
    if shortfall <= 0:
        return "green"
    return "amber" if shortfall <= margin else "red"


@dataclass
class Status:
    rag: str  # "green", "amber", "red", "not shown" or "no target"
    target: float | None
    text: str

    @property
    def symbol(self) -> str:
        return RAG_SYMBOLS.get(self.rag, "")


def target_text(measure: str, value: float) -> str:
    """The target as entered: "75%", "12.5%", "180"."""
    return f"{100 * value:g}%" if MEASURES[measure].kind == "rate" else f"{value:g}"


def status(measure: str, value: float | None, target: Target | None, shown: str) -> Status:
    """Where ``value`` (as published, ``shown`` in words) stands against ``target``."""
    if target is None:
        return Status("no target", None, "No target set")
    definition = MEASURES[measure]
    colour = rag(definition, value, target.value)
    goal = target_text(measure, target.value)
    direction = "at least" if definition.higher_is_better else "at most"
    if colour == "not shown":
        text = f"Target {direction} {goal}; the figure is not published, so not assessed"
    else:
        text = f"{RAG_LABELS[colour]}: {shown} against a target of {direction} {goal}"
    return Status(colour, target.value, text)
