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

from . import bp


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


@bp.app_template_global("count_cell_html")
def count_cell(figure) -> Markup:
    return escape(figure.text) if figure.shown else hidden_cell(figure)


@bp.app_template_global("rate_cell_html")
def rate_cell(figure, show_interval: bool = True) -> Markup:
    """A rate with its 95% interval below it (as the macro wrote it, a line break either
    side)."""
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
