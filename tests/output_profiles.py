"""The area profiles (their tables, spine chart and trends) and the pages of units beside
the nation (each user's own figures, the nation's page) read back as figures."""

from __future__ import annotations

import re

from referrals.reports.measures import RATES

from .outputs import (
    DASH,
    Published,
    Seen,
    first_figure,
    measure_of,
    shown_value,
    svg_between,
    svg_texts,
    tables,
)

NATION = "Scotland"
SPINE_LEFT, SPINE_RIGHT = 250, 790


def spread_text(published: Published, grouping: str, period: str, measure: str) -> str:
    """The spread a profile shows for a measure, worked out from the CSV's shown values."""
    values = []
    for code in published.codes(grouping, period):
        row = published.rows.get((grouping, code, period, "all", measure))
        if row is not None and (value := shown_value(row)) is not None:
            values.append(value)
    if not values:
        return DASH
    values.sort()
    kind = "rate" if measure in RATES else MEASURE_KIND.get(measure, "count")

    def show(v):
        if kind == "rate":
            return f"{100 * v:.1f}%"
        return f"{v:,.0f}" if kind == "count" else f"{v:g}"

    return f"{show(values[0])} to {show(values[-1])}"


MEASURE_KIND = {"median_days_to_treatment": "days"}


def profile_figures(html, grouping, code, period, published) -> tuple[list[Seen], list[str]]:
    """Every figure of a profile page, and the problems with those the CSV does not hold."""
    seen, problems = [], []
    where = f"/reports/profile/{grouping}/{code}?period={period}"
    found = {t.classes[0]: t for t in tables(html) if t.classes}
    for row in found["profile-table"].rows[1:]:
        measure, rest = measure_of(row[0].text)
        p = published.period_codes[rest] if rest else period
        seen.append(Seen(where, grouping, code, p, "all", measure, row[1].text))
        seen.append(Seen(where, grouping, "national", p, "all", measure, row[3].text))
        spread = spread_text(published, grouping, p, measure)
        if row[4].text != spread:
            problems.append(f"{where}: {measure} spread {row[4].text!r}, the CSVs give {spread!r}")
    for table in [t for t in tables(html) if "trend-table" in t.classes]:
        labels = [c.text for c in table.rows[0][1:]]
        for row in table.rows[1:]:
            measure, _ = measure_of(row[0].text)
            for label, cell in zip(labels, row[1:], strict=True):
                own, _, nation = cell.text.partition(f"{NATION}:")
                p = published.period_codes[label]
                seen.append(Seen(where + " trend", grouping, code, p, "all", measure, own))
                seen.append(
                    Seen(where + " trend", grouping, "national", p, "all", measure, nation)
                )
    problems += spine_problems(html, grouping, code, period, published, where)
    return seen, problems


def spine_problems(html, grouping, code, period, published, where) -> list[str]:
    """The spine chart's words and marks against the CSV: each rate's value text, its marker
    and interval where (and only where) the CSV shows the rate, the nation's line, and the
    range across areas."""
    charts = svg_between(html, "spine-chart")
    if not charts:
        return []
    svg, problems = charts[0], []

    def x(value):
        return f"{SPINE_LEFT + (SPINE_RIGHT - SPINE_LEFT) * value:.1f}"

    notes = {y: t for _, y, t in svg_texts(svg, "spine-note")}
    values = {y: t for _, y, t in svg_texts(svg, "bar-value")}
    for _, label_y, label in svg_texts(svg, "bar-label"):
        top = int(label_y) - 12
        measure, _ = measure_of(label)
        note = notes.get(top + 27, "")
        _, _, elsewhere = note.partition(" · ")
        p = published.period_codes[elsewhere] if elsewhere else period
        row = published.rows[(grouping, code, p, "all", measure)]
        nation = published.rows[(grouping, "national", p, "all", measure)]
        text = values.get(top + 19, "")
        figure = DASH if text == "not published here" else first_figure(text)
        seen = Seen(where + " spine", grouping, code, p, "all", measure, figure or "")
        if (problem := published.check(seen)) is not None:
            problems.append(problem)
        cy = f"{top + 15}"
        markers = [
            m
            for m in (
                *[c for c, yy in _circles(svg) if yy == cy],
                *[px for px, py in _paths(svg) if py in (f"{top + 8}", f"{top + 22}")],
            )
        ]
        value = shown_value(row)
        if value is None and markers:
            problems.append(f"{where}: {measure} is hidden but marked on the spine at {markers}")
        if value is not None and markers != [x(value)]:
            problems.append(f"{where}: {measure} marked at {markers}, the CSV gives {x(value)}")
        national = shown_value(nation)
        lines = _vertical(svg, "national-solid", top)
        if (national is None) != (not lines) or (lines and lines != [x(national)]):
            problems.append(f"{where}: {measure} national line at {lines}, CSV {national}")
    return problems


def _circles(svg):
    return re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="5.5"', svg)


def _paths(svg):
    return re.findall(r'<path d="M([\d.]+),(\d+) L', svg)


def _vertical(svg, cls, top):
    pattern = rf'<line x1="([\d.]+)" x2="[\d.]+" y1="{top}" y2="{top + 30}" class="{cls}"'
    return re.findall(pattern, svg)


def own_figures(html, period, published, where) -> list[Seen]:
    """Every figure of a ``/reports/mine`` page: the units' and the nation's (the nation as
    the figures of the page's last unit count it)."""
    seen = []
    last = None
    for table in [t for t in tables(html) if "units-table" in t.classes]:
        for row in table.rows:
            for cell in row:
                if cell.hrefs and "/profile/" in cell.hrefs[0]:
                    last = unit_of(cell.hrefs[0])[0]
    for table in [t for t in tables(html) if "units-table" in t.classes]:
        head = table.rows[0]
        if "by-unit" in table.classes:
            measures = [measure_of(c.text) for c in head[1:]]
            grouping = None
            for row in table.rows[1:]:
                if row[0].hrefs:
                    grouping, code = unit_of(row[0].hrefs[0])
                else:
                    grouping, code = last, "national"
                for (measure, rest), cell in zip(measures, row[1:], strict=True):
                    p = published.period_codes[rest] if rest else period
                    seen.append(Seen(where, grouping, code, p, "all", measure, cell.text))
            continue
        units = [unit_of(c.hrefs[0]) for c in head[1:-1]]
        for row in table.rows[1:]:
            measure, rest = measure_of(row[0].text)
            p = published.period_codes[rest] if rest else period
            for (grouping, code), cell in zip(units, row[1:-1], strict=True):
                seen.append(Seen(where, grouping, code, p, "all", measure, cell.text))
            seen.append(Seen(where, last, "national", p, "all", measure, row[-1].text))
    return seen


def unit_of(href: str) -> tuple[str, str]:
    path = href.split("?")[0].split("/")
    return path[-2], path[-1]
