"""What each line of the area table shows, worked out before the template writes it: the
area's link, whether it is the reader's own, its referrals, the chosen measure, how it
compares with the nation, and services per 10,000 people; and each line's row of the
table (``rows_html``), written here rather than by the template, which spent more on
escaping each cell than on working the figures out."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from ..form_html import escape_text as _e
from .cells import count_cell, rate_cell, state_badge
from .colours import RAG_SYMBOLS, State, state_for
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
    badges: dict[State, Markup] = {}
    lines = []
    for row in [*rows, table.national]:
        national = row.national
        mine = not national and row.code in own
        per_people = provision.get(row.key, (None, None))[1]
        lines.append(
            Line(
                row,
                "national-row" if national else "own-row" if mine else "",
                "" if national else links[row.key],
                mine,
                count_cell(row.counts["made"]),
                measure_cell(row, measure) if measure != "referrals" else Markup(""),
                _badge(state_for(row.comparison(measure)), badges)
                if rate and not national
                else Markup(""),
                f"{per_people:.1f}" if per_people is not None else "",
            )
        )
    return lines


def _badge(state: State, badges: dict[State, Markup]) -> Markup:
    """``state_badge(state)``, made once per state for the table in ``badges``: its words
    name the nation, which is the same for every row of a request, and asking for the
    nation's name on every row cost more than writing the row."""
    badge = badges.get(state)
    if badge is None:
        badge = badges[state] = state_badge(state)
    return badge


def rows_html(lines: list[Line], measure: str, provision: bool) -> Markup:
    """The table's body rows, as ``templates/reports/areas.html`` wrote them (whitespace
    included): the chosen measure's column unless it is the referrals themselves, the
    comparison for a rate, and services per 10,000 people when ``provision``."""
    shown = measure != "referrals"
    rate = MEASURES[measure].kind == "rate"
    html = "".join(_row_html(line, shown, rate, provision) for line in lines)
    return Markup(html)  # noqa: S704 - every text escaped by _row_html, cells are markup


def _row_html(line: Line, shown: bool, rate: bool, provision: bool) -> str:
    row = line.row
    if row.national:
        name = _e(row.name)
    else:
        own = ' <span class="own-tag">Your area</span>' if line.mine else ""
        name = f'<a href="{_e(line.href)}">{_e(row.name)}</a>{own}'
    target = ""
    if row.target:
        rag = row.target.rag
        target = (
            f'{_e(row.target.text)} <span class="rag rag-{_e(rag.replace(" ", "-"))}">'
            f"{_e(RAG_SYMBOLS[rag])} {_e(rag.capitalize())}</span>"
        )
    value = f'<td class="num">{line.value}</td>' if shown else ""
    badge = f"<td>{line.badge}</td>" if rate else ""
    per_people = f'<td class="num">{_e(line.provision)}</td>' if provision else ""
    return (
        f'\n  \n  <tr class="{_e(line.css)}">\n'
        f'    <th scope="row">{name}</th>\n'
        f'    <td class="num">{line.made}</td>\n'
        f"    {value}\n"
        f"    {badge}\n"
        f"    <td>{target}</td>\n"
        f"    {per_people}\n"
        "  </tr>\n  "
    )
