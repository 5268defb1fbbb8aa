"""Every aggregate output read back as figures, for the adversary tests.

The area CSVs are the reference: ``Published`` holds every figure they publish, keyed by
grouping, area, period, group of people and measure, with the text a page shows for it
("74.8%", "1,229", "<5", "[c]", "fewer than 10", a dash for not published here). Each other
output (a page's tables, its SVG charts, a JSON answer) is read into ``Seen`` figures with
the same key, and ``Published.check`` says how each differs from the CSV: a value shown in
one output and hidden in another, or shown differently, is itself a disclosure. Figures no
CSV publishes (a profile's spread across areas, the nation's quarterly trend) are checked
against what the CSV figures imply, or handed to the reader as new cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from html import unescape
from html.parser import HTMLParser

from referrals.reports.measures import MEASURES, RATES
from referrals.statistics import Z95, wilson

DASH = "\u2013"  # what a page shows for a figure not published here
LABELS = sorted(((m.label, code) for code, m in MEASURES.items()), key=lambda p: -len(p[0]))
FIGURE = re.compile(
    r"(\u2013|<\d+|\[c\]|fewer than \d+|not published|no [a-z]+"
    r"|\d[\d,]*(?:\.\d+)?%?)"
)
INTERVAL = re.compile(r"(\d+\.\d) to (\d+\.\d)%")


def measure_of(text: str) -> tuple[str | None, str]:
    """The measure a row heading names, and what follows it (a period's label, if any)."""
    for label, code in LABELS:
        if text.startswith(label):
            return code, text[len(label) :].strip()
    return None, text


def first_figure(text: str) -> str | None:
    found = FIGURE.search(text)
    return found.group(1) if found else None


@dataclass(frozen=True)
class Seen:
    """One figure an output shows: where, for which cell, and the text it shows."""

    where: str
    grouping: str
    code: str  # "national" for the nation
    period: str
    people: str
    measure: str
    text: str


@dataclass
class Published:
    """Every figure of the harvested area CSVs, and how each reads on a page."""

    rows: dict[tuple, dict] = field(default_factory=dict)
    period_codes: dict[str, str] = field(default_factory=dict)  # label -> code
    names: dict[tuple[str, str], str] = field(default_factory=dict)  # (grouping, name) -> code

    @classmethod
    def from_rows(cls, rows: list[dict]) -> Published:
        out = cls()
        for row in rows:
            code = row["area_code"] or "national"
            key = (row["grouping"], code, row["period"], row["people"], row["measure"])
            out.rows[key] = row
            out.period_codes[row["period_label"]] = row["period"]
            if row["area_code"]:
                out.names[(row["grouping"], row["area"])] = row["area_code"]
        return out

    def row(self, seen: Seen) -> dict | None:
        key = (seen.grouping, seen.code, seen.period, seen.people, seen.measure)
        return self.rows.get(key)

    def codes(self, grouping: str, period: str) -> list[str]:
        return sorted(
            {k[1] for k in self.rows if k[0] == grouping and k[2] == period} - {"national"}
        )

    def check(self, seen: Seen) -> str | None:
        """Why ``seen`` is not what the CSV publishes for the same cell (None: it is)."""
        row = self.row(seen)
        if row is None:
            if first_figure(seen.text) == DASH or seen.text.startswith("no "):
                return None  # nothing published (a service with no referrals in the period)
            return f"{seen}: the CSVs publish no such figure"
        expected, interval = page_text(row)
        shown = first_figure(seen.text)
        if expected == "no":
            ok = shown is not None and shown.startswith("no ")
        else:
            ok = shown == expected
        if not ok:
            return f"{seen}: shows {shown!r} where the CSV has {expected!r}"
        found = INTERVAL.search(seen.text)
        if found and f"{found.group(1)} to {found.group(2)}%" != interval:
            return f"{seen}: interval {found.group(0)!r} where the CSV has {interval!r}"
        return None


def percent_half_up(x: int, n: int) -> Decimal:
    """``x / n`` as a percentage to 0.1, halves rounded up, as a reader dividing the CSV's
    counts would write it (51 of 80 is 63.8%)."""
    return (Decimal(100 * x) / Decimal(n)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def page_text(row: dict) -> tuple[str, str | None]:
    """How a CSV row's figure reads on a page, and its 95% interval (for a shown rate)."""
    note, value, measure = row["value_note"], row["value"], row["measure"]
    if note.startswith("not published for"):
        return DASH, None
    if note:
        return note, None
    if value == "":
        return "no", None
    if measure in RATES:
        x, n = int(row["numerator"]), int(row["denominator"])
        ci = wilson(x, n, Z95)
        return f"{percent_half_up(x, n)}%", f"{100 * ci.low:.1f} to {100 * ci.high:.1f}%"
    if measure == "median_days_to_treatment":
        return f"{float(value):g}", None
    return f"{int(value):,}", None


def shown_value(row: dict) -> float | None:
    """The value a row shows, as a chart or spread reads it (rates to 0.1%)."""
    if row["value_note"] or row["value"] == "":
        return None
    if row["measure"] in RATES:
        return float(percent_half_up(int(row["numerator"]), int(row["denominator"]))) / 100
    return float(row["value"])


@dataclass
class Cell:
    tag: str
    text: str
    hrefs: list[str]
    classes: list[str]


@dataclass
class Table:
    caption: str
    rows: list[list[Cell]]
    classes: list[str]


class _TableReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[Table] = []
        self.open: list[Table] = []
        self.cell: dict | None = None
        self.caption: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            table = Table("", [], (attrs.get("class") or "").split())
            self.tables.append(table)
            self.open.append(table)
        elif not self.open:
            return
        elif tag == "caption":
            self.caption = []
        elif tag == "tr":
            self.open[-1].rows.append([])
        elif tag in ("td", "th"):
            self.cell = {"tag": tag, "text": [], "hrefs": [], "classes": []}
        elif self.cell is not None:
            if tag == "a" and attrs.get("href"):
                self.cell["hrefs"].append(attrs["href"])
            if attrs.get("class"):
                self.cell["classes"] += attrs["class"].split()

    def handle_endtag(self, tag):
        if not self.open:
            return
        if tag == "table":
            self.open.pop()
        elif tag == "caption" and self.caption is not None:
            self.open[-1].caption = " ".join(" ".join(self.caption).split())
            self.caption = None
        elif tag in ("td", "th") and self.cell is not None:
            cell = self.cell
            text = " ".join(" ".join(cell["text"]).split())
            self.open[-1].rows[-1].append(Cell(cell["tag"], text, cell["hrefs"], cell["classes"]))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell["text"].append(data)
        elif self.caption is not None:
            self.caption.append(data)


def tables(html: str) -> list[Table]:
    reader = _TableReader()
    reader.feed(html)
    return reader.tables


def svg_texts(svg: str, cls: str) -> list[tuple[float, float, str]]:
    """Every ``<text class=cls>`` of an SVG: (x, y, text)."""
    pattern = rf'<text x="([\d.]+)" y="([\d.]+)"[^>]*class="{cls}"[^>]*>([^<]*)</text>'
    return [(float(x), float(y), unescape(t)) for x, y, t in re.findall(pattern, svg)]


def svg_between(html: str, cls: str) -> list[str]:
    """The SVGs of a page with the given class."""
    return re.findall(rf'<svg[^>]*class="{cls}"[^>]*>.*?</svg>', html, flags=re.S)


JSON_CELLS = ("value", "numerator", "denominator")


def json_problem(where: str, figure: dict, row: dict | None) -> str | None:
    """Why one figure of a JSON answer is not the CSV's figure for the same cell (None:
    it is). A figure the CSVs do not publish must be null for want of figures."""
    reason = figure["null_reason"] or {}
    if row is None:
        if figure["value"] is None and reason.get("code") in NOT_FIGURES:
            return None
        return f"{where}: {figure} is not published by the CSVs"
    got = ["" if figure[k] is None else str(figure[k]) for k in JSON_CELLS]
    ci = figure["ci95"] or ["", ""]
    got += [str(ci[0]), str(ci[1])]
    want = [row[k] for k in (*JSON_CELLS, "ci95_low", "ci95_high")]
    if got != want:
        return f"{where}: {got} where the CSV has {want}"
    label = reason.get("label", "") if reason.get("code") != "no_referrals" else ""
    if label != row["value_note"]:
        return f"{where}: labelled {label!r} where the CSV has {row['value_note']!r}"
    return None


NOT_FIGURES = {"scotland_only", "not_published", "no_referrals"}
