"""Reading a report's choices (period, geography, measure, group of people) from a query
string, and the day's figures they are read from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import current_app
from wtforms import SelectField, StringField
from wtforms.validators import Optional
from wtforms.widgets import Select

from .. import nation
from ..clock import today_local
from ..extensions import db
from ..form_html import QuickRendering
from ..forms import QueryForm, options
from ..kept import Kept
from . import snapshot as store
from .figures import Settings
from .measures import (
    BREAKDOWNS,
    GEOGRAPHIES,
    GROUPING_LABELS,
    GROUPINGS,
    LARGE_LEVELS,
    MEASURES,
)

KIND_ORDER = {"rolling_year": 0, "financial_year": 1, "quarter": 2, "month": 3}
BREAKDOWN_GROUPINGS = ("national", *LARGE_LEVELS)
# Groupings whose every area is listed whether or not it has figures (for trends).
AREA_GROUPINGS = (*GEOGRAPHIES, "custody_suite", "scheme")


def settings(as_of: dt.date) -> Settings:
    config = current_app.config
    return Settings(
        as_of=as_of,
        engagement_days=config["ENGAGEMENT_WINDOW_DAYS"],
        treatment_days=config["TREATMENT_WINDOW_DAYS"],
        threshold=config["DISCLOSURE_THRESHOLD"],
        min_denominator=config["DISCLOSURE_MIN_DENOMINATOR"],
        large_area=config["REPORT_LARGE_AREA"],
    )


def todays_figures() -> store.Snapshot:
    return store.current(db.session, settings(today_local()))


def breakdown_choices() -> list[tuple[str, str]]:
    choices = [("", "Everybody")]
    for name, (label, groups, names) in BREAKDOWNS.items():
        choices += [(f"{name}:{g}", f"{label}: {n}") for g, n in zip(groups, names, strict=True)]
    return choices


def period_choices(snapshot: store.Snapshot, *, national: bool) -> list[tuple[str, str]]:
    periods = [p for p in snapshot.periods.values() if national or not p["scotland_only"]]
    periods.sort(key=lambda p: (KIND_ORDER[p["kind"]], -p["last"], p["code"]))
    return [(p["code"], f"{p['label']} ({p['code']})") for p in periods]


class KeptSelect(Select):
    """WTForms' select, each written once per process for its options, selection and
    attributes, and kept: the periods, groups, measures and groups of people are the same
    lists on page after page, and going through every option to write (or even to key)
    a list cost more than the rest of the form."""

    _kept: Kept[str] = Kept(256)  # more than the lists and selections the pages show

    def __call__(self, field, **kwargs):
        choices = field.choices
        try:
            key = (
                field.id,
                field.name,
                field.data,
                tuple(kwargs.items()),
                getattr(field.flags, "required", None),
                getattr(field.flags, "disabled", None),
                # The values are strings (``1`` and ``True`` would make one key).
                tuple((c.value, c.label, c.render_kw or None) for c in choices),
            )
            hash(key)
        except (AttributeError, TypeError):  # choices as pairs, or attributes: not a key
            return super().__call__(field, **kwargs)
        return self._kept.get(key, lambda: super(KeptSelect, self).__call__(field, **kwargs))


class ReportForm(QueryForm):
    """The report pages' choices. Its selects are kept once written (``KeptSelect``)."""

    class Meta(QuickRendering):
        pass

    period = SelectField("Period", choices=[], validators=[Optional()], widget=KeptSelect())
    group = SelectField(
        "Areas", choices=[], default="council", validators=[Optional()], widget=KeptSelect()
    )
    measure = SelectField(
        "Measure",
        choices=[],
        default="conversion_rate",
        validators=[Optional()],
        widget=KeptSelect(),
    )
    people = SelectField(
        "People",
        choices=[],
        validators=[Optional()],
        filters=[lambda v: "" if v == "all" else v],
        widget=KeptSelect(),
    )
    sort = StringField(validators=[Optional()])
    as_of = StringField(validators=[Optional()])

    def __init__(
        self, formdata, *, snapshot, national=False, geographies_only=False, groupings=None, **kw
    ):
        super().__init__(formdata, **kw)
        groups = groupings or (GEOGRAPHIES if geographies_only else GROUPINGS)
        self.group.choices = options((g, GROUPING_LABELS[g]) for g in groups if g != "pathway")
        self.measure.choices = _measure_choices()
        self.period.choices = _period_choices(snapshot, national)
        self.people.choices = _people_choices()


# The lists of choices, made once: the measures and groups of people are fixed, and a
# stored snapshot's periods never change (keyed like its parts: id and when finished).
@lru_cache(maxsize=1)
def _measure_choices() -> list:
    return options((m.code, m.label) for m in MEASURES.values() if not m.scotland_only)


@lru_cache(maxsize=1)
def _people_choices() -> list:
    return options(breakdown_choices())


_PERIODS: dict[tuple, list] = {}


def _period_choices(snapshot: store.Snapshot, national: bool) -> list:
    key = (snapshot.id, snapshot.finished_at, national)
    found = _PERIODS.get(key)
    if found is None:
        found = options(period_choices(snapshot, national=national))
        if len(_PERIODS) >= 16:
            _PERIODS.pop(next(iter(_PERIODS)), None)
        _PERIODS[key] = found
    return found


@dataclass
class Choices:
    form: ReportForm
    valid: bool
    snapshot: store.Snapshot
    grouping: str
    measure: str
    period: str
    people: str  # "all" or "dimension:group"

    @property
    def period_facts(self) -> dict[str, Any]:
        return self.snapshot.period(self.period) or {}


def read_choices(args, *, national=False, geographies_only=False, groupings=None) -> Choices:
    """The report's choices from ``args``; the defaults are the latest 12 months for the
    chosen measure below the nation and the last 12 complete months for the nation."""
    here = nation.current()
    snapshot, problem = _figures_for(args.get("as_of"))
    form = ReportForm(
        args,
        snapshot=snapshot,
        national=national,
        geographies_only=geographies_only,
        groupings=groupings,
    )
    valid = form.validate() if args else True
    if problem:
        form.as_of.errors.append(problem)
        valid = False
    if args.get("from") or args.get("to"):
        form.period.errors.append(
            f"Reports show fixed periods, not dates: choose a month (for {here.name}), a "
            "quarter, a financial year or 12 months from the list."
        )
        valid = False
    grouping = form.group.data if valid and form.group.data else "council"
    chosen = form.measure.data if valid and args.get("measure") else None
    measure = chosen or "conversion_rate"
    if national:
        period = _latest_national(snapshot)
    else:
        # The latest 12 months; a measure chosen that needs longer follow-up than they
        # have had brings its own latest 12 months, and otherwise the default measure is
        # one the period has.
        period = snapshot.settings.get("latest", "")
        published = (snapshot.period(period) or {}).get("below", [])
        if measure not in published:
            if chosen:
                period = snapshot.settings.get("latest_for", {}).get(measure, period)
            else:
                measure = next((m for m in published if m in MEASURES), measure)
                measure = "engagement_rate" if "engagement_rate" in published else measure
    if valid and form.period.data:
        period = form.period.data
    elif valid:
        form.period.data = period
    if valid and not chosen:
        form.measure.data = measure  # the boxes say what the page shows, fallback or not
    people = (form.people.data if valid else "") or "all"
    if people != "all" and grouping not in BREAKDOWN_GROUPINGS and not national:
        form.people.errors.append(
            f"Figures for groups of people are published for {here.plural('police_division')}, "
            f"{here.plural('health_board')} and {here.name}, where the groups are large enough."
        )
        valid = False
    if people != "all":
        facts = snapshot.period(period) or {}
        if not facts.get("breakdowns"):
            form.people.errors.append(
                "Figures for groups of people are published for 12-month periods and "
                "financial years."
            )
            valid = False
    return Choices(form, valid, snapshot, grouping, measure, period, people)


def _latest_national(snapshot: store.Snapshot) -> str:
    rolling = [p for p in snapshot.periods.values() if p["kind"] == "rolling_year"]
    return max(rolling, key=lambda p: p["last"])["code"] if rolling else ""


def _figures_for(as_of: str | None) -> tuple[store.Snapshot, str | None]:
    today = todays_figures()
    if not as_of:
        return today, None
    try:
        day = dt.date.fromisoformat(as_of.strip())
    except ValueError:
        return today, "Give the date the figures were published as 2026-10-01."
    kept = store.stored(db.session, day)
    if kept is None:
        return today, (
            f"No figures were kept for {day:%d %B %Y}: figures are kept for 40 days, and the "
            "first of each month for good."
        )
    return kept, None
