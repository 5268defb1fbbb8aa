"""Reading a report's choices (period, geography, measure, filters) from a query string."""

from __future__ import annotations

import datetime as dt
import re

from wtforms import SelectField, StringField
from wtforms.validators import Optional

from ..choices import AgeBand, Pathway, Sex
from ..forms import QueryForm, options
from ..tracking.forms import UKDateField
from .measures import GEOGRAPHIES, GROUPING_LABELS, GROUPINGS, Params
from .tables import MEASURES

QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


def quarter_bounds(text: str) -> tuple[dt.date, dt.date] | None:
    """``2026Q3`` -> (2026-07-01, 2026-09-30)."""
    match = QUARTER_RE.match((text or "").strip().upper())
    if not match:
        return None
    year, quarter = int(match.group(1)), int(match.group(2))
    start = dt.date(year, 3 * quarter - 2, 1)
    end_month = 3 * quarter
    end = dt.date(year + (end_month == 12), end_month % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


def quarter_of(day: dt.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def previous_quarter(day: dt.date) -> str:
    start, _ = quarter_bounds(quarter_of(day))
    return quarter_of(start - dt.timedelta(days=1))


def quarters_between(start: dt.date, end: dt.date) -> list[str]:
    quarters, day = [], start
    while day <= end:
        q = quarter_of(day)
        quarters.append(q)
        day = quarter_bounds(q)[1] + dt.timedelta(days=1)
    return quarters


class ReportForm(QueryForm):
    group = SelectField("Geography", choices=[], default="council", validators=[Optional()])
    measure = SelectField(
        "Measure", choices=[], default="conversion_rate", validators=[Optional()]
    )
    from_ = UKDateField("From", name="from", validators=[Optional()])
    to = UKDateField("To", validators=[Optional()])
    pathway = SelectField(
        "Pathway", choices=options([("", "All"), *Pathway.choices()]), validators=[Optional()]
    )
    service_type = SelectField("Service type", choices=[], validators=[Optional()])
    sex = SelectField(
        "Sex", choices=options([("", "All"), *Sex.choices()]), validators=[Optional()]
    )
    age_band = SelectField(
        "Age", choices=options([("", "All"), *AgeBand.choices()]), validators=[Optional()]
    )
    sort = StringField(validators=[Optional()])

    def __init__(self, formdata, *, service_types, geographies_only=False, **kwargs):
        super().__init__(formdata, **kwargs)
        groups = GEOGRAPHIES if geographies_only else GROUPINGS
        self.group.choices = options((g, GROUPING_LABELS[g]) for g in groups)
        self.measure.choices = options((m.code, m.label) for m in MEASURES.values())
        self.service_type.choices = options([("", "All"), *service_types])

    def validate_more(self) -> bool:
        ok = self.validate()
        if self.from_.data and self.to.data and self.from_.data > self.to.data:
            self.to.errors.append("The end of the period must not be before its start.")
            ok = False
        return ok


def params_from(form: ReportForm, today: dt.date, config) -> Params:
    """The report's parameters: the chosen period (default: the last 12 months to today),
    as at today, with the configured windows and any filters."""
    end = min(form.to.data or today, today)
    start = form.from_.data or (end - dt.timedelta(days=364))
    return Params(
        start=start,
        end=end,
        as_of=today,
        current=True,
        engagement_days=config["ENGAGEMENT_WINDOW_DAYS"],
        treatment_days=config["TREATMENT_WINDOW_DAYS"],
        pathway=form.pathway.data or None,
        service_type=form.service_type.data or None,
        sex=form.sex.data or None,
        age_band=form.age_band.data or None,
    )


def previous_period(params: Params) -> Params:
    """The period of the same length just before ``params``'s."""
    length = params.end - params.start
    end = params.start - dt.timedelta(days=1)
    return params.with_period(end - length, end)
