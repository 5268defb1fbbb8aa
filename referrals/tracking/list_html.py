"""The referral list's table rows written as HTML by Python.

A page shows up to 25 referrals (200 for one person's); written by the template's loop,
Jinja escaped six values a row one by one and the loop was the page's largest cost.
Here each row is one f-string, the same markup byte for byte as the loop in
``tracking/list.html`` wrote (the tests compare them). Only the texts (reference, custody
record number, service name) are escaped per row, through ``form_html.escape_text``; the
status labels are escaped once per process, and ids and times need none.
"""

from __future__ import annotations

from markupsafe import Markup

from ..form_html import escape_text
from ..templating import format_datetime
from . import bp
from .listing import ListedReferral
from .worklist_html import fixed

_OVERDUE = ' <span class="tag tag-danger">Overdue</span>'


@bp.app_template_global("referral_rows_html")
def referral_rows(referrals: list[ListedReferral], detail_url: str) -> Markup:
    """Each referral's ``<tr>``, laid out as the template's loop was (a new line and
    indent either side of each); ``detail_url`` is the referral page's address without
    its id."""
    url = escape_text(detail_url)
    return Markup("".join([_row(r, url) for r in referrals]))  # noqa: S704 - escaped in _row


def _row(r: ListedReferral, url: str) -> str:
    """One referral's row: its link, when it was made, its custody record number (or
    "Erased"), its service and its status, flagged when overdue."""
    overdue = _OVERDUE if r.overdue else ""
    return (
        "\n  <tr>"
        f'\n    <td class="nowrap"><a href="{url}{r.id}">{escape_text(r.reference)}</a></td>'
        f'\n    <td class="nowrap">{escape_text(format_datetime(r.made_at))}</td>'
        f'\n    <td class="nowrap">{escape_text(r.person_ref or "Erased")}</td>'
        f"\n    <td>{escape_text(r.service_name)}</td>"
        f"\n    <td>{fixed(r.status.label)}{overdue}</td>"
        "\n  </tr>\n  "
    )
