"""What each line of the area table shows, worked out before the template writes it: the
area's link, whether it is the reader's own, its referrals, the chosen measure, how it
compares with the nation, and services per 10,000 people. The template only lays these
out (``templates/reports/areas.html``); a table of a few hundred services is as quick to
write as one of a few dozen councils."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from .cells import count_cell, rate_cell, state_badge
from .colours import state_for
from .measures import MEASURES
from .tables import AreaTable, Row


@dataclass(frozen=True)
class Line:
    row: Row
    css: str  # "national-row", "own-row" or ""
    href: str  # the area's profile ("" for the nation)
    mine: bool  # one of the reader's own areas
    made: Markup
    value: Markup  # the chosen measure's cell
    badge: Markup  # compared with the nation (empty for the nation itself)
    provision: str  # services per 10,000 people, or ""


def measure_cell(row: Row, measure: str) -> Markup:
    kind = MEASURES[measure].kind
    if kind == "rate":
        return rate_cell(row.rates[measure])
    if kind == "days":
        return escape(row.to_treatment.text)
    return count_cell(row.counts[measure])


def table_lines(
    table: AreaTable,
    rows: list[Row],
    measure: str,
    own: set[str],
    links: dict[str, str],
    provision: dict,
) -> list[Line]:
    """The table's lines in ``rows``' order, the nation last."""
    rate = MEASURES[measure].kind == "rate"
    lines = []
    for row in [*rows, table.national]:
        national = row.national
        mine = not national and row.code in own
        per_people = provision.get(row.key, (None, None))[1]
        lines.append(
            Line(
                row,
                "national-row" if national else "own-row" if mine else "",
                "" if national else links[row.code],
                mine,
                count_cell(row.counts["made"]),
                measure_cell(row, measure) if measure != "referrals" else Markup(""),
                state_badge(state_for(row.comparison(measure)))
                if rate and not national
                else Markup(""),
                f"{per_people:.1f}" if per_people is not None else "",
            )
        )
    return lines
