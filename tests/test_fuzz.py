"""Hostile input: random strings, huge values, bad unicode and SQL/HTML fragments thrown at
every form and query parameter of every main page, for each role. The app must never
answer 500, never reflect markup unescaped, and never store a script that a page then runs.

The forms and their fields are read from the pages themselves, so a field added later is
fuzzed without changing this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referrals.choices import Role
from referrals.models import Referral, Service

from .factories import council, make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in

MARK = "rp-xss"
HOSTILE = [
    f"<script>alert('{MARK}')</script>",
    f'"><img src=x onerror=alert("{MARK}")>',
    f"javascript:alert('{MARK}')",
    "' OR '1'='1",
    "1; DROP TABLE referrals; --",
    "%' UNION SELECT password_hash FROM users --",
    "\x00",
    "a\x00b",
    "\r\nSet-Cookie: x=1",
    "../../../../etc/passwd",
    "{{ 7*7 }}",
    '=HYPERLINK("http://evil.example")',
    "9" * 400,
    "9" * 5000,
    "-1",
    "0",
    "1e309",
    "NaN",
    "-Infinity",
    "2026-02-30",
    "0000-00-00",
    "99999-12-31",
    "1900-01-01",
    "2026Q5",
    "\uff47\uff13\uff11 \uff12\uff21\uff22",  # full-width "g31 2AB"
    "G31 \U0001f642",
    "\u202eevil",
    "\ufeff",
    "x" * 20_000,
    "",
    " ",
]
VALUE = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates().map(str),
)


@dataclass
class Form:
    page: str
    method: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> known options


class FormReader(HTMLParser):
    """Every form on a page, with its fields and, for selects, their options."""

    def __init__(self, page: str):
        super().__init__()
        self.page = page
        self.forms: list[Form] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            action = attrs.get("action") or self.page
            self.forms.append(Form(self.page, (attrs.get("method") or "get").upper(), action))
        elif self.forms and tag in ("input", "select", "textarea", "button"):
            name = attrs.get("name")
            if name and name != "csrf_token":
                options = self.forms[-1].fields.setdefault(name, [])
                if attrs.get("value") is not None:
                    options.append(attrs["value"])
            self._select = name if tag == "select" else None
        elif tag == "option" and self._select and self.forms:
            self.forms[-1].fields[self._select].append(attrs.get("value", ""))


def forms_on(client, page: str) -> list[Form]:
    response = client.get(page)
    assert response.status_code == 200, page
    reader = FormReader(page)
    reader.feed(response.get_data(as_text=True))
    return [f for f in reader.forms if not f.action.startswith("/logout")]


@pytest.fixture
def world(session):
    org = make_organisation(session, "Org X")
    service = make_service(session, organisation=org, name="Glasgow MAT", lat=55.856, lon=-4.21)
    custody = make_user(
        session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
    )
    make_user(session, Role.PROVIDER, email="p@t.example", organisation=org)
    make_user(session, Role.LEAD, email="l@t.example", areas=[council(session, "Glasgow City")])
    admin = make_user(session, Role.ADMIN, email="a@t.example")
    referral = make_referral(session, service=service, referrer=custody)
    session.commit()
    return {"service": service.id, "referral": referral.id, "admin": admin.id}


PAGES = {
    None: [
        "/",
        "/services?q=G31",
        "/services/{service}",
        "/services/{service}/report-problem",
        "/map",
        "/login",
        "/contact",
    ],
    "c@t.example": [
        "/referrals/new?service={service}",
        "/referrals",
        "/referrals/{referral}",
        "/contacts/new",
        "/contacts/new/batch",
        "/contacts",
    ],
    "p@t.example": ["/worklist", "/listings", "/referrals/{referral}", "/services/{service}/edit"],
    "l@t.example": [
        "/reports/",
        "/reports/areas",
        "/reports/map",
        "/reports/funnel",
        "/reports/trends",
        "/reports/targets",
    ],
    "a@t.example": [
        "/admin/users",
        "/admin/users/new",
        "/admin/audit",
        "/admin/imports/services",
        "/services/new",
        "/admin/areas/new",
        "/admin/areas/groups/new",
        "/admin/feedback",
        "/admin/schemes/new",
    ],
}
# Query parameters read straight from the URL rather than through a form on a page.
EXTRA_GETS = {
    None: [
        ("/api/v1/services", ["page", "per_page", "type"]),
        ("/map/markers.json", ["q", "radius_km", "bbox", "zoom", "lat", "lon"]),
    ],
    "l@t.example": [
        ("/reports/quarterly", ["quarter"]),
        ("/reports/map/frame", ["measure", "geography", "scale", "period"]),
        ("/reports/areas.csv", ["geography", "period", "sort"]),
        ("/reports/trends", ["area", "measure"]),
    ],
    "a@t.example": [
        ("/admin/audit", ["after", "before", "action"]),
        ("/admin/feedback", ["page", "waiting"]),
    ],
    "c@t.example": [
        ("/contacts", ["before", "newer", "outcome", "on_or_before"]),
        ("/referrals", ["after", "before", "status"]),
    ],
    "p@t.example": [("/worklist", ["section", "after", "before"])],
}


def assert_safe(response, where: str) -> None:
    assert response.status_code < 500, f"{response.status_code} from {where}"
    if response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        assert f"<script>alert('{MARK}')" not in html, f"markup reflected by {where}"
        assert "<img src=x onerror" not in html, f"markup reflected by {where}"


def fuzz_values(draw, name: str, options: list[str]):
    choices = [VALUE]
    if options:
        choices.append(st.sampled_from(options))
    values = draw(st.lists(st.one_of(*choices), min_size=0, max_size=3))
    return values


@pytest.mark.parametrize("email", list(PAGES))
def test_no_input_makes_a_500_or_reflects_markup(client, session, world, email):
    if email:
        sign_in(client, email)
    forms: list[Form] = []
    for page in PAGES[email]:
        forms.extend(forms_on(client, page.format(**world)))
    for path, names in EXTRA_GETS.get(email, []):
        forms.append(Form(path, "GET", path, {n: [] for n in names}))
    assert forms, "no forms found to fuzz"

    @settings(
        max_examples=12 * len(forms),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def throw(data):
        form = data.draw(st.sampled_from(forms), label="form")
        payload: dict[str, list[str]] = {}
        for name, options in form.fields.items():
            if data.draw(st.booleans(), label=f"send {name}"):
                payload[name] = data.draw(
                    st.lists(
                        st.one_of(VALUE, st.sampled_from(options)) if options else VALUE,
                        min_size=1,
                        max_size=3,
                    ),
                    label=name,
                )
        if data.draw(st.booleans(), label="stray field"):
            payload[data.draw(st.text(min_size=1, max_size=10), label="stray")] = ["x"]
        action = form.action.format(**world)
        if form.method == "GET":
            response = client.get(urlsplit(action).path, query_string=payload)
        else:
            response = client.post(action, data=payload)
        assert_safe(response, f"{form.method} {action} {sorted(payload)}")

    throw()

    # Whatever was stored, every page that shows stored text still shows it as text.
    for page in PAGES[email]:
        assert_safe(client.get(page.format(**world)), page)


@pytest.mark.parametrize(
    "path",
    [
        "/services?q=%FF%FE%FD",
        "/services?q=G31&radius=%C3%28",
        "/map?q=%ED%A0%80",
        "/map/markers.json?bbox=-4,55,-3,56&zoom=7&q=%ED%A0%80",
        "/api/v1/services?page=%F0%28%8C%28",
        "/login?next=%FF",
        "/referrals?reference=%80",
    ],
)
def test_bad_utf8_in_the_address_is_not_a_500(client, session, world, path):
    sign_in(client, "c@t.example")
    assert_safe(client.get(path), path)


@pytest.mark.parametrize(
    "path, email",
    [
        ("/login", None),
        ("/referrals/new", "c@t.example"),
        ("/services/{service}/report-problem", None),
        ("/admin/users/new", "a@t.example"),
        ("/reports/targets", "l@t.example"),
    ],
)
def test_bad_utf8_in_a_form_body_is_not_a_500(client, session, world, path, email):
    if email:
        sign_in(client, email)
    url = path.format(**world)
    body = b"email=%FF%FE&password=%C3%28&name=%ED%A0%80&postcode_district=\xff\xfe&notes=%00"
    response = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
    assert_safe(response, url)


def test_stored_markup_is_shown_as_text_everywhere(app, client, session, world):
    """A service, a problem report and a referral note carrying markup, shown on every page
    that displays them."""
    payload = f"<script>alert('{MARK}')</script>"
    service = session.get(Service, world["service"])
    service.description = payload
    service.alert = payload
    referral = session.get(Referral, world["referral"])
    referral.notes = payload
    session.commit()
    client.post(
        f"/services/{world['service']}/report-problem",
        data={"problem": "wrong_phone", "details": payload, "contact": payload},
    )
    pages = {
        None: ["/services/{service}", "/services?q=G31"],
        "p@t.example": ["/referrals/{referral}", "/worklist", "/listings"],
        "a@t.example": ["/admin/audit"],
    }
    for email, paths in pages.items():
        browser = app.test_client()
        if email:
            sign_in(browser, email)
        for path in paths:
            response = browser.get(path.format(**world))
            assert response.status_code == 200, path
            assert_safe(response, path)
    html = client.get(f"/services/{world['service']}").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in html  # shown, as text
    assert session.scalar(sa.select(sa.func.count()).select_from(Service)) == 1
