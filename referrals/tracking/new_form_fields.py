"""The new referral form's fields (its sections 2 to 6, ``tracking/_new_fields.html``),
written once per process and day while the form is blank.

A blank form (a fresh one, not filled in from a contact) differs from one page to the
next only in its hidden fields and the service chosen, which the page writes around these
sections: the sections hold only labels, choices, hints, today's date (the consent date
and the hint under it) and the council choices read for the page. Writing their eighteen
fields took about a tenth of the page's time, so they are written once for each day and
list of councils (the councils are part of the key, as read for each page, so a council
added or renamed is shown at once), and kept. A form shown again with what the user sent
is written afresh by the same template, so both read alike.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from markupsafe import Markup

from ..kept import Kept

TEMPLATE = "tracking/_new_fields.html"

_kept: Kept[Markup] = Kept(50)


def blank_fields(form, today: dt.date) -> Markup:
    """The blank ``form``'s sections, dated ``today``: as the template writes them."""
    councils = tuple((choice.value, choice.label) for choice in form.council_area_id.choices)
    key = (today, councils)
    return _kept.get(key, lambda: written(form))


def written(form) -> Markup:
    """The sections as the template writes them for ``form``, afresh."""
    template = current_app.jinja_env.get_template(TEMPLATE)
    return Markup(template.render(form=form))  # noqa: S704 - an autoescaped template
