"""The search form's fields, written by Python: the box for the place and need, the
types of service, the four access filters, the age, who the service is for and the
distance. The template writes around them (the ``<form>``, its filters' ``<details>``
and its buttons).

Written field by field through ``field_html`` (the ``field`` macro), the nine fields
cost about a tenth of the search page. Yet they differ from one search to the next only
in what the user typed (the search, the age, the distance) and chose (the types, the
access filters and the value each sent, who for): their labels, hints and choices are
the same on every page with the same types of service. So the fields are written once
per process for each list of types and hint, with a mark where each typed value goes
and where each box may be ticked or option chosen, and each page puts its values in. A
form in error (a search refused, status 400) is written afresh by ``field_html``: its
errors change the fields' markup, not only their values.
"""

from __future__ import annotations

import re

from markupsafe import Markup

from ..form_html import escape_text, field_html
from ..kept import Kept
from .forms import SearchForm

# Each field as the page shows it: name, hint, class and autocomplete (the search box's
# hint names the nation's own places, so the template gives it).
FIELDS: tuple[tuple[str, str | None, str, str | None], ...] = (
    ("q", None, "", "off"),
    ("type", None, "choices-columns", None),
    ("same_day", None, "", None),
    ("open_now", "Open at this moment, UK time", "", None),
    ("custody", None, "", None),
    ("veterans", None, "", None),
    ("age", "Shows only services that take someone of this age", "short", None),
    ("gender", None, "short", None),
    ("radius_km", "Default 25 km", "short", None),
)
TYPED = ("q", "age", "radius_km")  # a box whose value is what the user typed
CHOSEN = ("type", "gender")  # choices, any of which the user may have chosen
# One checkbox each, ticked or not, its value what was sent ("y" when nothing was).
TICKED = ("same_day", "open_now", "custody", "veterans")

# Where a page's own values go: nothing escaping changes, nothing a label or hint holds.
VALUE_MARK = "\x00value\x00"
CHOSEN_MARK = "\x00chosen\x00"
# A box ticked or an option chosen, as the field's control writes it: a bare attribute
# (sorted, so the first bare ``checked`` or ``selected`` in its tag).
_CHOSEN = re.compile(r"(<(?:input|option)\b[^>]*?)( checked| selected)(?=[ >])")

# A field's blank: its markup split at its marks, and what a tick or choice writes there.
Blank = tuple[list[str], str]
_blank: Kept[dict[str, Blank] | None] = Kept(50)  # more type lists than a day has


class _Every:
    """Data that every choice matches: a blank field with every box ticked."""

    def __eq__(self, other) -> bool:
        return True

    def __contains__(self, item) -> bool:
        return True

    __hash__ = object.__hash__


def search_fields(form: SearchForm, q_hint: str) -> dict[str, Markup]:
    """Each of ``form``'s fields by name, as ``{{ field(form.<name>, ...) }}`` writes it
    with its hint, class and autocomplete (``q_hint`` the search box's hint)."""
    if any(form[name].errors for name, *_ in FIELDS):
        return _afresh(form, q_hint)
    key = _key(form, q_hint)
    if key is None:
        return _afresh(form, q_hint)
    blank = _blank.get(key, lambda: _written_blank(form, q_hint))
    if blank is None:
        return _afresh(form, q_hint)
    return {name: Markup(_filled(form[name], blank[name])) for name, *_ in FIELDS}  # noqa: S704 - written by field_html, values escaped


def _key(form: SearchForm, q_hint: str) -> tuple | None:
    """What the blank fields are written from besides code: the hint and the choices
    (None when a choice has attributes of its own, which are not kept)."""
    choices = []
    for name in CHOSEN:
        for c in form[name].choices or ():
            if c.render_kw:
                return None
            choices.append((name, type(c.value), c.value, type(c.label), c.label, c.optgroup))
    return q_hint, tuple(choices)


def _filled(field, blank: Blank) -> str:
    """A field's ``blank`` with ``field``'s values in."""
    pieces, chosen = blank
    name = field.name
    if name in TYPED:
        flags = ()
    elif name in TICKED:
        flags = (bool(field.data),)
    elif name == "type" and not field.data:
        flags = ()  # no type chosen, as on most searches
    else:
        flags = tuple(c.selected for c in field.iter_choices())
    if any(flags):
        html = [pieces[0]]
        for flag, piece in zip(flags, pieces[1:], strict=True):
            if flag:
                html.append(chosen)
            html.append(piece)
        written = "".join(html)
    else:
        written = "".join(pieces)
    if name in CHOSEN:
        return written
    return written.replace(VALUE_MARK, escape_text(field._value()))


def _written_blank(form: SearchForm, q_hint: str) -> dict[str, Blank] | None:
    """Each field written blank for ``form``'s choices, split at its marks; None if a
    field does not read as expected (it is then written afresh on every page)."""
    blank = SearchForm(formdata=None)
    for name in CHOSEN:
        blank[name].choices = form[name].choices
        blank[name].data = _Every()
    for name in TICKED:
        blank[name].data = True
    for name in TYPED + TICKED:
        blank[name].raw_data = [VALUE_MARK]
    blank.q.data = VALUE_MARK
    written = {}
    for name, html in _written(blank, q_hint).items():
        if html.count(VALUE_MARK) != (0 if name in CHOSEN else 1):
            return None
        attributes = {m[2] for m in _CHOSEN.finditer(html)}
        if len(attributes) > 1:
            return None
        split = _CHOSEN.sub(rf"\1{CHOSEN_MARK}", html).split(CHOSEN_MARK)
        expected = len(blank[name].choices) if name in CHOSEN else 1 if name in TICKED else 0
        if len(split) != expected + 1:
            return None
        written[name] = (split, attributes.pop() if attributes else "")
    return written


def _written(form: SearchForm, q_hint: str) -> dict[str, str]:
    hints: dict[str, str | None] = {"q": q_hint}
    return {
        name: str(field_html(form[name], hints.get(name, hint), class_, autocomplete))
        for name, hint, class_, autocomplete in FIELDS
    }


def _afresh(form: SearchForm, q_hint: str) -> dict[str, Markup]:
    return {name: Markup(html) for name, html in _written(form, q_hint).items()}  # noqa: S704 - written by field_html
