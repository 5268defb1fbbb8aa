"""The contacts awaiting their referral (``contacts/_awaiting.html``) written as HTML by
Python, one ``<li>`` each.

The list heads the new-referral form, the custody officer's most used page, and the
contacts list. Written by the template's loop, each contact cost two ``url_for`` calls,
three dates and six labels put through filters and a dozen values escaped one by one.
Here each contact is one f-string, the same markup byte for byte as that loop wrote: the
two addresses are built once a list, the coded labels (age band, sex) escaped once per
process, and only the texts (district, council, suite) escaped per contact.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from flask import url_for
from markupsafe import Markup, escape

from ..form_html import escape_text
from ..templating import format_date
from . import bp
from .linking import AwaitingContact

# Stands for a contact's id in an address built once for the whole list.
_SENTINEL = "987654321"


@functools.cache
def _label(value: object, lower: bool = False) -> str:
    """A coded value's words, escaped (and in lower case) once per process."""
    words = value.label
    return str(escape(words.lower() if lower else words))


def _address(endpoint: str, **values) -> tuple[str, str]:
    """``endpoint``'s address, escaped as an attribute, split where the contact's id
    goes: ``url_for`` once a list rather than once a contact."""
    url = escape_text(url_for(endpoint, **values))
    head, found, tail = url.partition(_SENTINEL)
    assert found, url
    return head, tail


@bp.app_template_global("awaiting_rows_html")
def awaiting_rows(
    awaiting: Sequence[AwaitingContact], make_links: bool, extra_args: Mapping | None = None
) -> Markup:
    """Each contact's ``<li>``, laid out as the template's loop was (a new line and
    indent either side of each). ``make_links``: the reader may make the referral (a
    custody officer), else the contact's suite is named instead; ``extra_args`` go on
    the "Make the referral" address after the contact's id."""
    make = _address("tracking.new_referral", contact=_SENTINEL, **(extra_args or {}))
    edit = _address("contacts.edit_contact", contact_id=_SENTINEL)
    return Markup(  # noqa: S704 - escaped in _row
        "".join([_row(c, make if make_links else None, edit) for c in awaiting])
    )


def _row(c: AwaitingContact, make: tuple[str, str] | None, edit: tuple[str, str]) -> str:
    when = format_date(c.contact_on)
    who = f"{when}, {_label(c.age_band)}, {_label(c.sex, lower=True)}"
    where = escape_text(c.postcode_district) if c.postcode_district else "no fixed abode"
    if make is not None:
        first = (
            f'<a class="button" href="{make[0]}{c.id}{make[1]}">Make the referral'
            f'<span class="visually-hidden"> for the contact of {who}</span></a>'
        )
    else:
        first = f"<span>{escape_text(c.suite_name)}</span>"
    return (
        "\n    <li>"
        f"\n      <span>{when}: {_label(c.age_band)}, {_label(c.sex, lower=True)}, {where}"
        f" ({escape_text(c.council_name)})</span>"
        '\n      <span class="actions">'
        f"\n        {first}"
        f'\n        <a href="{edit[0]}{c.id}{edit[1]}">Change the outcome'
        f'<span class="visually-hidden"> of the contact of {who}</span></a>'
        "\n      </span>"
        "\n    </li>\n    "
    )
