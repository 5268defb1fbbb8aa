"""The geographic map read back: every area's colour, tooltip, label and shape, and the
key beside the map, against what the area CSVs publish.

The map frame draws each council's boundary coloured by the area it belongs to (and, for
groups of councils, a labelled marker at the centre of each area not shown). Its figures
in words (tooltips and labels) are read as ``Seen`` figures by ``frame_figures``; here the
rest is checked, as a colour or a shape can tell a hidden figure as surely as words:

- each area's fill is the colour its CSV figure gives (the comparison with the nation
  of a shown rate, or the class of a shown value on the light-to-dark scale), and one of
  the two greys for a figure not shown;
- the comparison in each tooltip, and a ▲ or ▼ beside an area, are the CSV's comparison
  of a shown rate, and "Not compared" for a hidden one;
- no tooltip line carries anything but the figures checked (referrals and the measure),
  the area's name, its state, its target and "Your area";
- an area carries nothing but what the map draws (no extra properties in its GeoJSON),
  and every marker is one size, whatever its area's referrals;
- the key's class edges are those the CSV's shown figures give: a hidden figure takes no
  part in them.
"""

from __future__ import annotations

import json
import re

from referrals.reports.colours import (
    STATES,
    SUPPRESSED,
    sequential_bins,
    sequential_colour,
)
from referrals.reports.measures import MEASURES, RATES
from referrals.statistics import Comparison

from .outputs import shown_value

AREA_KEYS = {"name", "fill", "lines", "latitude", "longitude", "radius", "geometry", "badge"}
AREA_KEYS |= {"own"}
GEOMETRY_KEYS = {"type", "coordinates", "geometries"}
NOT_COMPARED = STATES[Comparison.NOT_COMPARED]
SYMBOLS = {s.symbol for s in STATES.values() if s.shape in ("up", "down")}
PART_OF = re.compile(r"\(.+ is part of this area\)")


def frame_areas(html: str) -> list[dict]:
    found = re.search(r"var areas = (\[.*?\]);\n", html)
    return json.loads(found.group(1)) if found else []


def shown_values(published, grouping, period, measure, people="all") -> list[float]:
    """Every figure the CSV shows for the areas of a grouping (as a map reads it)."""
    values = []
    for code in published.codes(grouping, period):
        row = published.rows.get((grouping, code, period, people, measure))
        if row is not None and (value := shown_value(row)) is not None:
            values.append(value)
    return values


def legend_problems(
    html, grouping, period, measure, scale, published, where, people="all"
) -> list[str]:
    """The light-to-dark key's class edges against those of the CSV's shown figures."""
    if scale != "sequential" and measure in RATES:
        return []
    key = html.partition("<h2>Key</h2>")[2].partition("</ul>")[0]
    edges = [float(e) for e in re.findall(r"up to ([\d.]+)", key)]
    values = shown_values(published, grouping, period, measure, people)
    expected = [round(e, 3) for e in sequential_bins(values)]
    if edges != expected:
        return [f"{where}: the key's edges are {edges}; the CSV's shown figures give {expected}"]
    return []


def geographic_problems(
    html, grouping, period, measure, scale, published, where, people="all"
) -> list[str]:
    """Every area of a geographic map frame: its colour, comparison, symbol, lines and
    shape, against the CSV (see the module's docstring)."""
    areas = frame_areas(html)
    if not areas:
        return [f"{where}: no areas drawn"]
    sequential = scale == "sequential" or measure not in RATES
    edges = sequential_bins(shown_values(published, grouping, period, measure, people))
    label = MEASURES[measure].label
    states = {s.label for s in STATES.values()}
    problems = []
    for area in areas:
        name = area["name"]
        here = f"{where} {name}"
        if extra := set(area) - AREA_KEYS:
            problems.append(f"{here}: carries {sorted(extra)} as well as what the map draws")
        if area["geometry"] is not None:
            if extra := set(area["geometry"]) - GEOMETRY_KEYS:
                problems.append(f"{here}: its boundary carries {sorted(extra)}")
        elif area["radius"] != 4:
            problems.append(f"{here}: a marker of radius {area['radius']}, not one size")
        code = published.names.get((grouping, name))
        row = published.rows.get((grouping, code, period, people, measure))
        if row is None:
            problems.append(f"{here}: drawn, but the CSVs publish no {measure} for it")
            continue
        value = shown_value(row)
        state = NOT_COMPARED
        if value is not None and measure in RATES:
            state = STATES[Comparison(row["compared_with_national"] or "not_compared")]
        if sequential:
            fill = SUPPRESSED.colour if value is None else sequential_colour(value, edges)
            wanted = {fill}
        else:
            wanted = {SUPPRESSED.colour} if value is None else {state.colour}
        if area["fill"] not in wanted:
            problems.append(
                f"{here}: filled {area['fill']} where the CSV's {row['value_note'] or value!r} "
                f"gives {' or '.join(sorted(wanted))}"
            )
        lines = area["lines"][1:]
        for i, line in enumerate(lines):
            if line == "Your area" or PART_OF.fullmatch(line) or line.startswith("Target "):
                continue
            if line.startswith(("Referrals: ", f"{label}: ")):
                follows = lines[i + 1] if i + 1 < len(lines) else None
                if measure in RATES and line.startswith(f"{label}: ") and follows != state.label:
                    problems.append(f"{here}: compared as {follows!r}, CSV: {state.label!r}")
                continue
            if line in states:
                continue
            problems.append(f"{here}: tooltip line {line!r} is no figure the CSVs publish")
        badge = (area["badge"] or "").removeprefix("Your area: ").removeprefix("Your area")
        if badge in SYMBOLS and (value is None or badge != state.symbol or sequential):
            shown = row["value_note"] or value
            problems.append(f"{here}: marked {badge} where the CSV has {shown!r}")
    return problems
