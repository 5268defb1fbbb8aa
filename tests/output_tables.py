"""The funnel plot, the map, the trends pages, the quarterly report and the quarterly pack
read back as figures: tables of areas, of periods, or of measures."""

from __future__ import annotations

import json
import re
from html import unescape

from referrals.reports.exports import MEASURES_IN_TABLE
from referrals.reports.measures import MEASURES

from .output_profiles import NATION
from .outputs import (
    DASH,
    Seen,
    measure_of,
    shown_value,
    svg_between,
    svg_texts,
    tables,
)

# The funnel's words for an area not drawn, as the CSV labels it.
FUNNEL_WORDS = {
    "hidden so that another figure cannot be worked out": "[c]",
    "small numbers": "<5",
    "not published for this area": DASH,
}


def funnel_problems(html, grouping, period, people, measure, published) -> list[str]:
    """A funnel plot's table and marks against the CSV: every area drawn is one the CSV
    shows, with the same denominator and rate; every area not drawn has the CSV's label;
    each marker sits at the rate as the table rounds it; the nation's line at its rate."""
    where = f"/reports/funnel?group={grouping}&period={period}&people={people}&measure={measure}"
    problems, drawn = [], []
    table = tables(html)[-1]
    for row in table.rows[1:]:
        name, denominator, rate = row[0].text, row[1].text, row[2].text
        name = name.removesuffix(" (your area)")
        code = published.names.get((grouping, name))
        csv_row = published.rows.get((grouping, code, period, people, measure))
        if csv_row is None:
            problems.append(f"{where}: {name} is not in the CSV")
            continue
        if denominator == DASH:
            rate = FUNNEL_WORDS.get(rate, rate)
            seen = Seen(where, grouping, code, period, people, measure, rate)
            if (problem := published.check(seen)) is not None:
                problems.append(problem)
            continue
        if csv_row["value_note"] or denominator.replace(",", "") != csv_row["denominator"]:
            problems.append(f"{where}: {name} drawn on {denominator}, CSV: {csv_row}")
            continue
        seen = Seen(where, grouping, code, period, people, measure, rate)
        if (problem := published.check(seen)) is not None:
            problems.append(problem)
        drawn.append(shown_value(csv_row))
    svg = svg_between(html, "funnel-plot")[0]
    body = svg.split("national-label", 1)[-1]
    marks = len(re.findall(r"<circle |<path d=\"M[^\"]*Z\"", body))
    if marks != len(drawn):
        problems.append(f"{where}: {marks} areas drawn, {len(drawn)} shown in the CSV")
    nation = published.rows[(grouping, "national", period, people, measure)]
    for _, _, text in svg_texts(svg, "national-label"):
        seen = Seen(where, grouping, "national", period, people, measure, text.split()[-1])
        if (problem := published.check(seen)) is not None:
            problems.append(problem)
    if shown_value(nation) is None and "national-label" in svg:
        problems.append(f"{where}: the nation's hidden rate is drawn")
    return problems


# Words the pages use for a figure not shown, as the CSV labels it.
REASONS = {
    "hidden so that another figure cannot be worked out": "[c]",
    "not published, to protect small numbers": "not published",
    "small numbers": "<5",
    "not published for this area": DASH,
}


ALIASES = {"Referrals": "referrals"}


def measure_named(text: str) -> str | None:
    return ALIASES.get(text) or measure_of(text)[0]


def period_table_figures(table, grouping, code, published, where) -> tuple[list[Seen], int]:
    """A table of periods (trends page, pack, quarterly report): one row per period, a
    column for the area (with its interval beside it) and one for the nation. Figures for
    periods the CSVs do not cover (the nation's alone) are counted, not checked."""
    measure = measure_named(table.caption.split(" by ")[0])
    head = [c.text for c in table.rows[0]]
    seen, new = [], 0
    if measure is None or measure not in MEASURES_IN_TABLE:
        return [], sum(len(r) - 1 for r in table.rows[1:])
    for row in table.rows[1:]:
        period = published.period_codes.get(row[0].text)
        for i, name in enumerate(head[1:], start=1):
            text = row[i].text
            if name == NATION:
                key = "national"
            elif name in ("95% interval", "Change from the period before"):
                continue
            else:
                key = code
                if i + 1 < len(head) and head[i + 1] == "95% interval":
                    text = f"{text} {row[i + 1].text}"
            if period is None:
                if key == "national":
                    new += 1
                    continue
                period = "not offered"
            seen.append(Seen(where, grouping, key, period, "all", measure, text))
    return seen, new


def wide_table_figures(table, grouping, code, published, where) -> list[Seen]:
    """A table of periods by measure (the trends page's summaries): rows for the area's
    periods and, labelled "<period>: Scotland", the nation's; or a column "Scotland" beside
    an area's counts."""
    head = [c.text for c in table.rows[0]]
    seen = []
    for row in table.rows[1:]:
        label = row[0].text
        key = code
        if label.endswith(f": {NATION}"):
            label, key = label.removesuffix(f": {NATION}"), "national"
        period = published.period_codes.get(label, "not offered")
        last = None
        for name, cell in zip(head[1:], row[1:], strict=True):
            if name == NATION:
                seen.append(Seen(where, grouping, "national", period, "all", last, cell.text))
                continue
            last = measure_named(name)
            if last in MEASURES_IN_TABLE:
                seen.append(Seen(where, grouping, key, period, "all", last, cell.text))
    return [s for s in seen if not (s.period == "not offered" and s.code == "national")]


def frame_figures(html, grouping, period, measure, published, where) -> list[Seen]:
    """The map frame's areas: each tooltip's referrals and rate (with its interval), and
    the badge naming why a rate is not shown. An area whose referrals are hidden is drawn
    at one size, whatever its number (a boundary has no size)."""
    found = re.search(r"var areas = (\[.*?\]);\n", html)
    areas = json.loads(found.group(1)) if found else []
    label = MEASURES[measure].label
    seen, sizes = [], set()
    for area in areas:
        code = published.names.get((grouping, area["name"]), area["name"])
        for line in area["lines"][1:]:
            name, _, text = line.partition(": ")
            if name in ("Referrals", label):
                m = "referrals" if name == "Referrals" else measure
                seen.append(Seen(where, grouping, code, period, "all", m, text))
        if area["badge"]:
            words = area["badge"].partition(": ")[2]
            if words in REASONS:
                seen.append(Seen(where, grouping, code, period, "all", measure, REASONS[words]))
        referrals = published.rows.get((grouping, code, period, "all", "referrals"))
        if area["geometry"] is None and referrals is not None and shown_value(referrals) is None:
            sizes.add(area["radius"])
    if len(sizes) > 1:
        seen.append(Seen(where, grouping, "sizes", period, "all", "referrals", str(sizes)))
    return seen


def map_figures(html, grouping, period, measure, published, where) -> list[Seen]:
    """The map's table and its tiles' names (each tile's figure in words)."""
    seen = []
    table = tables(html)[-1]
    for row in table.rows[1:]:
        name = re.sub(r"\s*\(?[Yy]our area\)?$", "", row[0].text)
        code = published.names.get((grouping, name), name)
        seen.append(Seen(where, grouping, code, period, "all", "referrals", row[1].text))
        seen.append(Seen(where, grouping, code, period, "all", measure, row[2].text))
    for label in re.findall(r'class="tile" aria-label="([^"]*)"', html):
        label = unescape(label).removeprefix("Your area: ")
        name, _, words = label.partition(": ")
        code = published.names.get((grouping, name), name)
        found = re.search(r"not shown \((.*)\)", words)
        text = REASONS.get(found.group(1), found.group(1)) if found else words.split(" ")[-1]
        if not found:
            text = re.search(r"(\d+\.\d%|no \w+)", words).group(1)
        seen.append(Seen(where + " tile", grouping, code, period, "all", measure, text))
    return seen


def area_table_figures(table, grouping, period, published, where) -> list[Seen]:
    """A table of areas by measure (the quarterly report's areas and schemes, the nation by
    quarter): a row per area, or per quarter for the nation, and a column per measure."""
    head = [measure_named(c.text) for c in table.rows[0]]
    seen = []
    for row in table.rows[1:]:
        label = re.sub(r"\s*\(?[Yy]our area\)?$", "", row[0].text)
        if grouping == "national":
            key, p = "national", published.period_codes.get(label, "not offered")
        else:
            key, p = published.names.get((grouping, label), label), period
            key = "national" if label == NATION else key
        for measure, cell in zip(head[1:], row[1:], strict=True):
            if measure in MEASURES_IN_TABLE:
                g = "council" if grouping == "national" else grouping
                seen.append(Seen(where, g, key, p, "all", measure, cell.text))
    return [s for s in seen if s.period != "not offered"]


def period_named(published, text: str) -> str | None:
    labels = {label.lower(): code for label, code in published.period_codes.items()}
    found = [label for label in labels if label in text.lower()]
    return labels[max(found, key=len)] if found else None


YEAR_LABEL = re.compile(r"12 months to \w+ \d{4}|Financial year \d{4}-\d{2}")


def pack_table_figures(table, grouping, code, quarter, published, where) -> list[Seen]:
    """The pack's summary: the area and the nation in the quarter and in the latest year
    (named under a figure; otherwise the 12 months to the quarter's end)."""
    head = [c.text for c in table.rows[0]]
    year, q = quarter.split("Q")
    ending = f"12m-{year}-{3 * int(q):02d}"
    seen = []
    columns = [i for i, name in enumerate(head) if re.match(r"(\w+Q\d|Latest year)(: |$)", name)]
    for row in table.rows[1:]:
        measure = measure_named(row[0].text)
        if measure not in MEASURES_IN_TABLE:
            continue
        cells = [(head[i], row[i]) for i in columns]
        named = [YEAR_LABEL.search(c.text) for n, c in cells if n.startswith("Latest")]
        latest = next(
            (published.period_codes.get(m.group(0), "not offered") for m in named if m), ending
        )
        for name, cell in cells:
            key = "national" if name.endswith(f": {NATION}") else code
            period = latest if name.startswith("Latest year") else quarter
            if period == "not offered" and key == "national":
                continue  # the nation's alone in a period no area is published for
            seen.append(Seen(where, grouping, key, period, "all", measure, cell.text))
    return seen
