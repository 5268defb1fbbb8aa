"""The referral list's rows, written by ``tracking/list_html.py``: the same HTML, byte for
byte, as the template loop that wrote them before (kept here as it was), for referrals
overdue and not, erased and not, in each status, and with text that needs escaping."""

# ruff: noqa: E501 - the former template lines are kept as they were

from __future__ import annotations

import datetime as dt

from referrals.choices import ReferralStatus
from referrals.tracking.list_html import referral_rows
from referrals.tracking.listing import ListedReferral

# The loop of ``tracking/list.html`` as it was.
FORMER_ROWS = """  {% for r in referrals %}
  <tr>
    <td class="nowrap"><a href="{{ detail_url }}{{ r.id }}">{{ r.reference }}</a></td>
    <td class="nowrap">{{ r.made_at|datetime }}</td>
    <td class="nowrap">{{ r.person_ref or "Erased" }}</td>
    <td>{{ r.service_name }}</td>
    <td>{{ r.status.label }}{% if r.overdue %} <span class="tag tag-danger">Overdue</span>{% endif %}</td>
  </tr>
  {% endfor %}
"""


def listed(n: int, status: ReferralStatus, **changes) -> ListedReferral:
    values = {
        "id": n,
        "reference": f"RP-7K3M-9Q{n:02d}",
        "made_at": dt.datetime(2026, 11, 22, 14, 5, tzinfo=dt.UTC) + dt.timedelta(hours=n),
        "person_ref": f"ABC/26/{n:06d}",
        "service_name": "Leslie Recovery Cafe",
        "status": status,
        "overdue": False,
    } | changes
    return ListedReferral(**values)


def test_the_rows_are_the_html_the_template_loop_wrote(app):
    referrals = [listed(n, status) for n, status in enumerate(ReferralStatus, start=1)]
    referrals += [
        listed(90, ReferralStatus.MADE, overdue=True),
        listed(91, ReferralStatus.CLOSED, person_ref=None),
        listed(92, ReferralStatus.MADE, person_ref='<b>O\'Neil & "Co"</b>'),
        listed(93, ReferralStatus.ACCEPTED, service_name="Fish & Chips <Recovery> 'café'"),
        listed(94, ReferralStatus.MADE, reference="RP-<&>'\""),
    ]
    with app.test_request_context("/referrals"):
        for rows in (referrals, referrals[:1], []):
            for detail_url in ("/referrals/", "/r&d/<x>/"):
                former = app.jinja_env.from_string(FORMER_ROWS).render(
                    referrals=rows, detail_url=detail_url
                )
                written = f"  {referral_rows(rows, detail_url)}"  # Jinja drops the last new line
                assert written == former
