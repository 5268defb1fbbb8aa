"""Pages of one unit against the nation: an area's (or suite's, service's, provider's,
scheme's) profile with its spine chart and trend, and each user's own figures. Custody
supervisors, provider managers and scheme leads see these pages for their own units only
(see ``own``); area leads and administrators for every unit."""

from __future__ import annotations

import copy

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from .. import nation
from ..choices import Measure as TargetMeasure
from ..extensions import db
from . import bp
from .measures import GEOGRAPHIES, GROUPING_LABELS, GROUPING_LABELS_PLURAL
from .own import Unit, find_unit, has_own_figures, may_see, own_units, sees_every_area
from .pack_access import own_packs, pack_value
from .params import read_choices
from .profiles import against_national, profile
from .sparks import sparks
from .spine import spine_chart
from .tables import AreaTable, attach_targets

# The profile's only query parameters; any other is dropped (``url_for`` takes some, like
# ``_method``, as its own).
PERIOD_PARAMETERS = ("period", "as_of")


def _period_choices():
    args = MultiDict({k: v for k, v in request.args.items() if k in PERIOD_PARAMETERS})
    return read_choices(args)


@bp.get("/mine")
def mine():
    if not has_own_figures(current_user):
        abort(403)
    choices = _period_choices()
    units = own_units(db.session, current_user)
    lines = []
    if choices.valid and choices.period_facts:
        lines = against_national(choices.snapshot, units, choices.period)
    packs = [(pack_value(u), u) for u in own_packs(db.session, current_user)]
    page = render_template(
        "reports/mine.html",
        choices=choices,
        units=units,
        lines=lines,
        sections=sections(units),
        packs=packs,
    )
    return page, 200 if choices.valid else 400


def sections(units: list[Unit]) -> list[tuple[str, int, list[Unit]]]:
    """The units in runs of one grouping: (grouping, offset of the first, units). A few
    units in all make one run, shown side by side."""
    if len(units) <= 4:
        return [("", 0, units)]
    runs: list[tuple[str, int, list[Unit]]] = []
    for i, unit in enumerate(units):
        if runs and runs[-1][0] == unit.grouping:
            runs[-1][2].append(unit)
        else:
            runs.append((unit.grouping, i, [unit]))
    return runs


@bp.get("/profile/<grouping>/<code>")
def area_profile(grouping: str, code: str):
    unit = find_unit(db.session, grouping, code)
    if unit is None or not may_see(db.session, current_user, unit):
        abort(404)
    choices = _period_choices()
    page = chart = None
    trends = []
    if choices.valid and choices.period_facts:
        page = profile(choices.snapshot, unit, choices.period)
        if grouping in GEOGRAPHIES:
            add_targets(page.lines, unit, choices.snapshot.settings)
        national = nation.current().name
        chart = spine_chart(page.lines, f"{unit.name}: rates against {national}", national)
        trends = sparks(page.lines, page.quarters, page.years)
    return render_template(
        "reports/profile.html",
        choices=choices,
        unit=unit,
        page=page,
        chart=chart,
        sparks=trends,
        grouping_label=GROUPING_LABELS[grouping],
        grouping_plural=GROUPING_LABELS_PLURAL.get(grouping, grouping),
        trends_link=grouping in GEOGRAPHIES and sees_every_area(current_user),
    ), (200 if choices.valid else 400)


def add_targets(lines: list, unit: Unit, settings: dict) -> None:
    """Each measure's target for the area, where one overlaps the measure's period, with
    its red, amber or green status (the area table's rule)."""
    with_targets = {m.value for m in TargetMeasure}
    for line in lines:
        if line.measure.code not in with_targets:
            continue
        row = copy.copy(line.rows[0])
        table = AreaTable(unit.grouping, line.period, "all", [row], line.national, settings)
        attach_targets(db.session, table, line.measure.code)
        line.target = row.target


@bp.get("/profile/<code>")
def profile_by_code(code: str):
    """An area's profile by its code alone (council areas, then ADPs, divisions, boards)."""
    for grouping in GEOGRAPHIES:
        unit = find_unit(db.session, grouping, code)
        if unit is not None:
            period = {k: v for k, v in request.args.items() if k in PERIOD_PARAMETERS}
            return redirect(
                url_for("reports.area_profile", grouping=grouping, code=code, **period)
            )
    abort(404)
