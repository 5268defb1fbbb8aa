"""One published figure of a measure for one area and period, as charts and the pack show
it: the value as the table rounds it, its 95% interval for a rate, the numerator and
denominator the change test needs, or, for a figure not shown, why not in words (hidden
for small numbers, hidden so another cannot be worked out, published for the nation only,
not yet followed up)."""

from __future__ import annotations

from dataclasses import dataclass

from ..nation import DEFAULT_NAME
from .charts import why_not_shown
from .measures import MEASURES
from .tables import Row, rounded


@dataclass
class Reading:
    """One period's published figure for a measure, or why there is none."""

    value: float | None  # as the table shows it (a rate rounded to 0.1%)
    text: str
    low: float | None = None
    high: float | None = None
    interval_text: str = ""
    x: int | None = None  # a rate's numerator and denominator, for the change test
    n: int | None = None
    gap: str | None = None  # why nothing is drawn


def reading(
    row: Row,
    measure: str,
    national: Row | None = None,
    kind: str | None = None,
    national_name: str = DEFAULT_NAME,
) -> Reading:
    """The figure of ``measure`` in ``row`` as published, with its interval (``kind``,
    the period's kind, words the reason a figure is missing)."""
    period_kind = kind
    kind = MEASURES[measure].kind
    if kind == "rate":
        figure = row.rates[measure]
        if figure.available:
            ci = figure.ci95
            return Reading(
                figure.shown_rate,
                figure.text,
                rounded(ci.low),
                rounded(ci.high),
                figure.interval_text,
                figure.numerator,
                figure.n,
            )
        missing = figure.missing
        other = national.rates[measure].available if national is not None else False
        why = _missing_reason(measure, missing, other, figure, period_kind, national_name)
        return Reading(None, figure.text, gap=why)
    if kind == "days":
        wait = row.to_treatment
        if wait.hidden:
            return Reading(None, wait.text, gap=f"{wait.label} waits")
        if not wait.n:
            return Reading(None, wait.text, gap="no completed waits")
        return Reading(float(wait.median), wait.text)
    figure = row.counts["made" if measure == "referrals" else measure]
    if figure.shown:
        return Reading(float(figure.value), figure.text)
    other = national.counts[_count_key(measure)].shown if national is not None else False
    why = _missing_reason(measure, figure.missing, other, figure, period_kind, national_name)
    return Reading(None, figure.text, gap=why)


def _count_key(measure: str) -> str:
    return "made" if measure == "referrals" else measure


def _missing_reason(
    measure: str,
    missing: str | None,
    national_has_it: bool,
    figure,
    period_kind: str | None,
    nation: str,
) -> str:
    if not missing:
        if hasattr(figure, "name"):  # a rate
            return why_not_shown(figure)
        return _count_reason(figure.label or "")
    if MEASURES[measure].scotland_only:
        return f"published for {nation} only"
    if national_has_it and period_kind == "quarter":
        return f"a single quarter's rate is published only for {nation} and the largest areas"
    if national_has_it and period_kind == "rolling_year":
        return f"below {nation}, only the latest 12 months followed up are published"
    if national_has_it:
        return f"published for {nation} only for this period"
    if MEASURES[measure].follow_up:
        return "not yet followed up for long enough"
    return "not published for this period"


def _count_reason(label: str) -> str:
    if label == "[c]":
        return "hidden so that another figure cannot be worked out"
    if label == "not published":
        return "not published, to protect small numbers"
    if label.startswith("fewer"):
        return f"{label} behind it"
    return "small numbers"
