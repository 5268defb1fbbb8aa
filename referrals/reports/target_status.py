"""An area's target for a measure and period, and where the published figure stands
against it: green (met), amber (short by no more than the measure's margin), red (missed),
or not shown (the figure is hidden or not published). The rule is ``tables.rag``; this
module finds the target and says the status in words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import Geography
from ..choices import Measure as TargetMeasure
from ..models import Target
from .colours import RAG_LABELS, RAG_SYMBOLS
from .measures import MEASURES
from .tables import rag

TARGET_MEASURES = {m.value for m in TargetMeasure}
TARGET_GROUPINGS = {g.value for g in Geography}


def target_for(
    session: Session, grouping: str, code: str, measure: str, start: dt.date, end: dt.date
) -> Target | None:
    """The target for ``measure`` whose dates overlap ``start`` to ``end`` (the latest
    starting wins, as in the area table), for the groupings targets are set for."""
    if grouping not in TARGET_GROUPINGS or measure not in TARGET_MEASURES:
        return None
    return session.scalar(
        sa.select(Target)
        .where(
            Target.geography == grouping,
            Target.area_code == code,
            Target.measure == measure,
            Target.period_start <= end,
            Target.period_end >= start,
        )
        .order_by(Target.period_start.desc())
        .limit(1)
    )


@dataclass
class Status:
    rag: str  # "green", "amber", "red", "not shown" or "no target"
    target: float | None
    text: str

    @property
    def symbol(self) -> str:
        return RAG_SYMBOLS.get(self.rag, "")


def target_text(measure: str, value: float) -> str:
    return f"{100 * value:.0f}%" if MEASURES[measure].kind == "rate" else f"{value:g}"


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
