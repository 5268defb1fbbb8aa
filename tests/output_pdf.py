"""The quarterly pack's PDF read back as figures, as the pack page is read.

The PDF is made from the same pack as the page, so the page's tables say what to look
for: the summary's rows (one per measure) and, per measure, its table by quarter. The
PDF's text (from pypdf) loses the tables' shape but keeps each cell's words together, in
order, a cell's lines one after another; so each row is found by its heading (the
measure, or the quarter), and its figures are read in column order once the words that
are not figures are set aside: the reasons in brackets under a dash, a shown rate's 95%
interval (kept with its rate), and the period a "latest year" figure is for. The headers
and footers repeated on each page, and the tables' captions (for screen readers, but in
the text), are taken out first. A chart's words (its axes and the labels of quarters not
shown) may follow a table's last row in the text: a row's figures are read from its
start.
"""

from __future__ import annotations

import re

from .output_profiles import NATION
from .output_tables import YEAR_LABEL, pack_table_figures, period_table_figures
from .outputs import DASH, FIGURE, INTERVAL, Cell, Seen, Table, first_figure

FOOTER = re.compile(r"Referral Pathways · quarterly pack Page \d+ of \d+")
BRACKETS = re.compile(r"\([^()]*\)")


def _flat(text: str) -> str:
    return FOOTER.sub(" ", " ".join(text.split()))


def _rows(text: str, headings: list[str]) -> list[str | None]:
    """The text after each heading up to the next, found in order (None: not found)."""
    found, start = [], 0
    for heading in headings:
        at = text.find(heading, start)
        found.append(at)
        if at >= 0:
            start = at + len(heading)
    rows = []
    for i, (heading, at) in enumerate(zip(headings, found, strict=True)):
        if at < 0:
            rows.append(None)
            continue
        ends = [e for e in found[i + 1 :] if e >= 0]
        rows.append(text[at + len(heading) : ends[0] if ends else len(text)])
    return rows


def _figures(text: str) -> tuple[list[str], str, str]:
    """A row's figures in order, its interval and the period named in it."""
    interval = INTERVAL.search(text)
    year = YEAR_LABEL.search(text)
    text = YEAR_LABEL.sub(" ", INTERVAL.sub(" ", text))
    text = BRACKETS.sub(" ", text)
    return (
        FIGURE.findall(text),
        interval.group(0) if interval else "",
        year.group(0) if year else "",
    )


def _cell(text: str) -> Cell:
    return Cell("td", text, [], [])


def pdf_pack_figures(text, page, grouping, code, quarter, published, where):
    """The PDF's figures, and why any differs from the page's figure for the same cell
    (or is missing from the PDF). ``page`` is the pack page's tables."""
    flat = _flat(text)
    summary = next(t for t in page if "pack-table" in t.classes)
    trends = [t for t in page if "trend-table" in t.classes]
    for table in trends:  # each caption, for screen readers, is somewhere in the text
        flat = flat.replace(table.caption, " ")
    for table in (summary, *trends):  # a table's header is repeated on each page
        flat = flat.replace(" ".join(c.text for c in table.rows[0]), " ¶ ")
    first, _, rest = flat.partition("2. Trends over")
    rest = rest.partition("3. Definitions and caveats")[0]
    first = first.partition("1. Every measure")[2]
    first = first.partition("A quarter's rates are published only")[0]
    problems, seen = [], []

    head = [c.text for c in summary.rows[0]]
    columns = [i for i, name in enumerate(head) if re.match(r"(\w+Q\d|Latest year)(: |$)", name)]
    year_column = next(i for i in columns if head[i].startswith("Latest year"))
    rows = [summary.rows[0]]
    labels = [row[0].text for row in summary.rows[1:]]
    for label, found in zip(labels, _rows(first, labels), strict=True):
        if found is None:
            problems.append(f"{where}: no row {label!r} in the PDF's summary")
            continue
        figures, interval, year = _figures(found)
        cells = [_cell(label)] + [_cell("") for _ in head[1:]]
        for n, i in enumerate(columns):
            cells[i] = _cell(figures[n] if n < len(figures) else "")
            if i == year_column:  # the area's latest year: its interval and period beneath
                cells[i] = _cell(f"{cells[i].text} {interval} {year}".strip())
        rows.append(cells)
    pdf = pack_table_figures(
        Table("", rows, summary.classes), grouping, code, quarter, published, where
    )
    seen += pdf
    shown = {(0, *_key(s)): s.text for s in pdf}
    expected = [
        (0, s) for s in pack_table_figures(summary, grouping, code, quarter, published, where)
    ]

    measures = [line.partition(" by quarter")[0] for line in (t.caption for t in trends)]
    chunks = _rows(rest, measures)
    for number, (table, chunk) in enumerate(zip(trends, chunks, strict=True), start=1):
        head = [c.text for c in table.rows[0]]
        rows = [table.rows[0]]
        periods = [row[0].text for row in table.rows[1:]]
        chunk = (chunk or "").partition("¶")[2]
        for period, found in zip(periods, _rows(chunk, periods), strict=True):
            if found is None:
                problems.append(f"{where}: no row {period!r} in the PDF's {table.caption}")
                continue
            figures, interval, _ = _figures(found)
            cells = [_cell(period)] + [_cell("") for _ in head[1:]]
            cells[1] = _cell(figures[0] if figures else "")
            if "95% interval" in head:
                cells[head.index("95% interval")] = _cell(interval)
            if len(head) > 2 and head[-1] == NATION:  # after any change: a dash, or words
                rate = "95% interval" in head
                at = 2 if rate and figures[1:2] == [DASH] and len(figures) > 2 else 1
                cells[-1] = _cell(figures[at] if len(figures) > at else "")
            rows.append(cells)
        pdf, _ = period_table_figures(
            Table(table.caption, rows, table.classes), grouping, code, published, where
        )
        seen += pdf
        shown |= {(number, *_key(s)): s.text for s in pdf}
        page_figures = period_table_figures(table, grouping, code, published, where)[0]
        expected += [(number, s) for s in page_figures]

    for number, s in expected:
        pdf = shown.get((number, *_key(s)))
        if pdf is None:
            problems.append(f"{where}: the page's {s} is not in the PDF")
        elif _read(pdf) != _read(s.text):
            problems.append(f"{where}: the PDF shows {pdf!r} where the page has {s.text!r}")
    return seen, problems


def _key(s: Seen) -> tuple:
    return (s.grouping, s.code, s.period, s.people, s.measure)


def _read(text: str) -> tuple[str | None, str | None]:
    found = INTERVAL.search(text)
    return first_figure(text), found.group(0) if found else None
