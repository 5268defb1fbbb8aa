"""A service's page, reporting a problem, hostile text and confidential addresses in
every place a listing shows: search, detail, map, API and export."""

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from referrals.choices import Role, ServiceStatus
from referrals.models import AuditEvent, ListingProblem, Organisation

from .factories import make_service, make_user, suite
from .test_auth import sign_in

XSS = "<img src=x onerror=alert(1)>"
SCRIPT = '</script><script>alert("x")</script>'
TEMPLATE = "${alert(1)}`"


@pytest.fixture
def hostile(session):
    org = Organisation(name=f"Org {XSS}")
    service = make_service(
        session,
        organisation=org,
        name=XSS,
        description=f"About {SCRIPT}",
        alert=f"Alert {XSS}",
        referral_method=f"Refer {TEMPLATE}",
        phone="0141 496 0001",
        email="x@example.org",
        website="javascript:alert(1)",
        lat=55.86,
        lon=-4.25,
    )
    service.locations[0].address_1 = f"1 {SCRIPT} Street"
    service.locations[0].town = f"Town {XSS}"
    session.commit()
    return service


MARKERS = "/map/markers.json?bbox=-8,54.5,0,61&zoom=7"


def body(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def assert_no_live_markup(html):
    assert XSS not in html
    assert "<script>alert(" not in html
    assert 'href="javascript:' not in html


def test_hostile_text_is_shown_as_text_in_search_and_detail(client, hostile):
    html = body(client, "/services?q=Glasgow")
    assert_no_live_markup(html)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    html = body(client, f"/services/{hostile.id}")
    assert_no_live_markup(html)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:alert(1)" in html  # shown as text, not as a link


def test_hostile_text_reaches_the_map_only_as_escaped_json(client, hostile):
    html = body(client, f"/services/{hostile.id}/map")
    assert_no_live_markup(html)
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html
    # The marker script reads names with textContent, never as HTML.
    assert "textContent = text" in html and "innerHTML" not in html
    # The whole document has exactly the scripts the map needs.
    scripts = re.findall(r"<script[^>]*>", html)
    assert all(s == "<script>" or 'src="/vendor/' in s for s in scripts)
    # The services map gets its markers as JSON data, placed as text by its script.
    response = client.get(MARKERS)
    assert response.mimetype == "application/json"
    assert [m[3] for m in response.get_json()["markers"]] == [XSS]
    with client.get("/static/js/services-map.js") as response:
        script = response.get_data(as_text=True)
    assert "textContent" in script and not re.search(r"innerHTML\s*=", script)


def test_hostile_text_in_the_api_is_plain_json(client, hostile):
    response = client.get(f"/api/v1/services/{hostile.uuid}")
    assert response.mimetype == "application/json"
    data = json.loads(response.get_data(as_text=True))
    assert data["name"] == XSS
    assert data["organization"]["name"] == f"Org {XSS}"


def test_service_page_shows_every_field(client, session):
    service = make_service(
        session,
        name="Complete Service",
        description="What we do.",
        phone="0141 496 0123",
        email="hello@example.org",
        website="https://example.org/",
        referral_method="Phone us.",
        typical_wait_days=7,
        same_day_access=True,
        min_age=16,
        max_age=25,
        alert="Closed on public holidays.",
        hours=[(0, "09:00", "17:00"), (5, "20:00", "02:00")],
    )
    session.commit()
    html = body(client, f"/services/{service.id}")
    for text in [
        "Complete Service",
        "What we do.",
        "0141 496 0123",
        "hello@example.org",
        'href="https://example.org/"',
        "Phone us.",
        "About 7 days",
        "16 to 25",
        "Closed on public holidays.",
        "09:00 to 17:00",
        "20:00 to 02:00 (Sunday)",
        "1 Test Street",
        "G1 1AA",
        "Glasgow City",
        "Details last checked on",
        "Report a problem with this listing",
        "<iframe",
    ]:
        assert text in html, text
    assert "Refer to this service" not in html  # only for custody users
    assert "Edit this listing" not in html


def test_stale_and_closed_listings_say_so(client, session, today):
    service = make_service(
        session, name="Old Listing", last_verified_on=today - dt.timedelta(days=181)
    )
    fresh = make_service(
        session, name="Fresh Listing", last_verified_on=today - dt.timedelta(days=180)
    )
    closed = make_service(session, name="Closed Listing", status=ServiceStatus.TEMPORARILY_CLOSED)
    session.commit()
    assert "Not checked for over 6 months" in body(client, f"/services/{service.id}")
    assert "Not checked for over 6 months" not in body(client, f"/services/{fresh.id}")
    assert "Temporarily closed." in body(client, f"/services/{closed.id}")
    assert client.get("/services/999999").status_code == 404


def test_confidential_address_hidden_from_the_public(client, session):
    refuge = make_service(
        session,
        name="Safe Haven Women's Service",
        type_code="womens",
        confidential_address=True,
        lat=55.8642,
        lon=-4.2518,
        postcode="G2 9ZZ",
    )
    refuge.locations[0].address_1 = "77 Secret Lane"
    refuge.locations[0].town = "Glasgow"
    session.commit()
    for url in (
        "/services?q=Glasgow",
        f"/services/{refuge.id}",
        MARKERS,
        f"/services/{refuge.id}/map",
        "/api/v1/services?full=true",
        f"/api/v1/services/{refuge.uuid}",
        "/services.csv",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert "Secret Lane" not in html, url
        assert "G2 9ZZ" not in html, url
        assert "55.8642" not in html, url
    assert "Safe Haven Women" in body(client, "/services?q=Glasgow")
    assert "address is confidential" in body(client, f"/services/{refuge.id}")
    assert "Safe Haven" not in body(client, MARKERS)

    make_user(
        session, Role.CUSTODY, email="c@test.example", custody_suite=suite(session, "GLA-LR")
    )
    session.commit()
    sign_in(client, "c@test.example")
    assert "77 Secret Lane" in body(client, f"/services/{refuge.id}")
    assert "77 Secret Lane" in body(client, "/services?q=Glasgow")
    assert "Secret Lane" in body(client, MARKERS)
    assert "Secret Lane" not in client.get("/api/v1/services?full=true").get_data(as_text=True)


def test_area_lead_does_not_see_confidential_addresses(client, session):
    refuge = make_service(session, name="Refuge", confidential_address=True)
    refuge.locations[0].address_1 = "9 Hidden Road"
    make_user(session, Role.LEAD, email="l@test.example")
    session.commit()
    sign_in(client, "l@test.example")
    assert "Hidden Road" not in body(client, f"/services/{refuge.id}")


def test_anyone_can_report_a_problem(client, session):
    service = make_service(session, name="Wrong Number Service")
    session.commit()
    html = body(client, f"/services/{service.id}/report-problem")
    assert "What is wrong?" in html
    response = client.post(f"/services/{service.id}/report-problem", data={})
    assert response.status_code == 400
    assert "Choose what is wrong with the listing." in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ListingProblem)) == 0
    response = client.post(
        f"/services/{service.id}/report-problem",
        data={"category": "wrong_phone", "description": "It is 0141 496 0999 now."},
        follow_redirects=True,
    )
    assert "Thank you" in response.get_data(as_text=True)
    problem = session.scalar(sa.select(ListingProblem))
    assert problem.description == "It is 0141 496 0999 now." and problem.resolved_at is None
    assert session.scalar(sa.select(AuditEvent.action)) == "problem_reported"
