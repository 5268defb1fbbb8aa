"""How a published figure is written in a report's table cell, the same on every page: a
count or rate as text, or why it is not shown (small numbers, hidden so that another
figure cannot be worked out, not published here), with the words in a tooltip and for
screen readers; and a comparison with the nation as a colour swatch, symbol and words.

The report templates' ``count_cell``, ``rate_cell``, ``hidden_cell`` and ``state_badge``
macros (``templates/reports/_macros.html``) write these, and the area table calls them
directly: a table of a few hundred areas writes a few thousand cells, and a function
writes each far faster than a macro does.
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape

from .. import nation
from . import bp
from .colours import STATES, SUPPRESSED


@bp.app_template_global("hidden_cell_html")
def hidden_cell(figure) -> Markup:
    """A figure not shown (or a rate with nobody counted), and why."""
    if figure.missing:
        why = escape(figure.missing)
        html = (
            f'<span class="muted" title="{why}">\u2013'
            f'<span class="visually-hidden"> {why}</span></span>'
        )
    elif figure.label == "[c]":
        html = (
            '<span class="label-secondary" title="Hidden so that another figure cannot be '
            'worked out">[c]</span>'
        )
    elif figure.label == "not published":
        html = (
            '<span class="label-secondary" title="Not published for this area, to protect '
            'small numbers">not published</span>'
        )
    elif figure.label:
        html = f'<span class="label-primary" title="Small numbers">{escape(figure.label)}</span>'
    else:
        html = f'<span class="muted">{escape(figure.text)}</span>'
    return Markup(html)  # noqa: S704 - every figure's text escaped above


def _kept(figure, key, write) -> Markup:
    """``write()``, worked out once and kept with the figure: a table's figures are shared
    by every request that shows the same stored part and never change once made
    (``tables.part_figures``), so nor does any cell written from one."""
    cells = figure.__dict__.setdefault("_cells", {})
    html = cells.get(key)
    if html is None:
        html = cells[key] = write()
    return html


@bp.app_template_global("count_cell_html")
def count_cell(figure) -> Markup:
    return _kept(figure, "count", lambda: _count_cell(figure))


def _count_cell(figure) -> Markup:
    return escape(figure.text) if figure.shown else hidden_cell(figure)


@bp.app_template_global("rate_cell_html")
def rate_cell(figure, show_interval: bool = True) -> Markup:
    """A rate with its 95% interval below it (as the macro wrote it, a line break either
    side)."""
    return _kept(figure, show_interval, lambda: _rate_cell(figure, show_interval))


def _rate_cell(figure, show_interval: bool) -> Markup:
    if not figure.available:
        return Markup(f"\n{hidden_cell(figure)}\n")  # noqa: S704 - escaped by hidden_cell
    interval = ""
    if show_interval:
        interval = f'<br><span class="ci">{escape(figure.interval_text)}</span>'
    text = escape(figure.text)
    return Markup(f'\n<span class="rate">{text}</span>{interval}\n\n')  # noqa: S704


@bp.app_template_global("state_badge_html")
def state_badge(state) -> Markup:
    """How an area compares with the nation: never by colour alone."""
    return _badge(state, state.label)


@lru_cache(maxsize=64)
def _badge(state, label: str) -> Markup:
    """A state's badge, written once for each state and wording (the wording names the
    nation, so it is part of the key)."""
    return Markup(  # noqa: S704 - the state's words escaped here
        f'<span class="state state-{escape(state.key)}"><span class="state-swatch" '
        f'style="background: {escape(state.colour)}" aria-hidden="true"></span>'
        f"{escape(state.symbol)} {escape(label)}</span>"
    )


@bp.app_template_global("comparison_legend_html")
def comparison_legend() -> Markup:
    """What each comparison's colour and symbol mean, as the ``comparison_legend`` macro
    wrote it; the wording names the nation."""
    return _legend(nation.current().name)


@lru_cache(maxsize=8)
def _legend(national: str) -> Markup:
    items = [
        f'\n  <li><span class="state-swatch" style="background: {escape(state.colour)}" '
        f'aria-hidden="true"></span> <span aria-hidden="true">{escape(state.symbol)}</span> '
        f"{escape(state.wording.format(national=national))}</li>\n  "
        for state in STATES.values()
    ]
    return Markup(  # noqa: S704 - every word escaped here
        '\n<ul class="legend-list" aria-label="What the colours mean">\n  '
        f"{''.join(items)}\n"
        '  <li><span class="state-swatch swatch-hatched" style="background-color: '
        f'{escape(SUPPRESSED.colour)}" aria-hidden="true"></span> {escape(SUPPRESSED.label)}'
        "</li>\n</ul>\n"
    )


@bp.app_template_global("hidden_note_html")
def hidden_note(hidden: list[tuple[str, int, str]]) -> Markup:
    """How many figures a page hides, and why (``views.hidden_summary``), as the
    ``hidden_note`` macro wrote it."""
    if not hidden:
        return Markup("\n\n")
    items = "".join(
        f'<li><span class="label-{"secondary" if label in SECONDARY else "primary"}">'
        f"{escape(label)}</span>: {escape(count)} {'figure' if count == 1 else 'figures'}: "
        f"{escape(meaning)}.</li>"
        for label, count, meaning in hidden
    )
    return Markup(  # noqa: S704 - every word escaped here
        '\n\n<div class="hidden-note">\n<p><strong>Figures not shown here, and why:</strong>'
        f"</p>\n<ul>\n{items}\n</ul>\n</div>\n\n"
    )


SECONDARY = ("[c]", "not published")  # labels of figures hidden to protect others
