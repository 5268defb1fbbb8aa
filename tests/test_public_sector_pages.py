"""The pages a UK public body must publish: accessibility statement, privacy notice,
cookies, contact and feedback, and the phase banner; linked from every page."""

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from referrals.about.models import Feedback
from referrals.about.statement import load_checks
from referrals.choices import Role
from referrals.models import AuditEvent

from .factories import make_organisation, make_user, suite
from .test_auth import sign_in

FOOTER_LINKS = {
    "Accessibility statement": "/accessibility",
    "Privacy notice": "/privacy",
    "Cookies": "/cookies",
    "Contact and feedback": "/contact",
}


@pytest.fixture
def people(session):
    org = make_organisation(session, "Org X")
    make_user(session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR"))
    make_user(session, Role.PROVIDER, email="p@t.example", organisation=org)
    make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()


def footer(html: str) -> dict[str, str]:
    part = html[html.index('<footer class="site-footer">') :]
    return {
        text: href.split("?")[0]
        for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', part)
    }


@pytest.mark.parametrize(
    ("email", "path"),
    [
        (None, "/"),
        (None, "/services?q=G31"),
        (None, "/login"),
        (None, "/no-such-page"),
        ("c@t.example", "/referrals"),
        ("p@t.example", "/listings"),
        ("a@t.example", "/admin/"),
    ],
)
def test_every_page_links_the_public_sector_pages_from_its_footer(client, people, email, path):
    if email:
        sign_in(client, email)
    html = client.get(path).get_data(as_text=True)
    links = footer(html)
    for text, href in FOOTER_LINKS.items():
        assert links.get(text) == href, (path, text, links)
    assert 'class="phase-banner"' in html
    assert "This is a new service." in html
    assert f'href="/contact?from={path.split("?")[0]}"' in html


@pytest.mark.parametrize("path", ["/accessibility", "/privacy", "/cookies", "/contact"])
def test_the_public_sector_pages_are_open_to_everyone(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "<h1>" in response.get_data(as_text=True)


def test_a_live_service_shows_no_phase_banner(app_factory):
    html = app_factory(SERVICE_PHASE="live").test_client().get("/").get_data(as_text=True)
    assert "phase-banner" not in html
    assert "Accessibility statement" in html


def test_the_privacy_notice_says_what_is_held_why_how_long_who_sees_it_and_rights(app_factory):
    client = app_factory(
        PERSONAL_DATA_RETENTION_DAYS=90,
        PROBLEM_CONTACT_RETENTION_DAYS=45,
        OPERATOR_NAME="Northshire Police and NHS Northshire",
        DATA_PROTECTION_EMAIL="dpo@northshire.example",
    ).test_client()
    html = client.get("/privacy").get_data(as_text=True)
    assert "Northshire Police and NHS Northshire runs Referral Pathways" in html
    for heading in (
        "What we hold and why",
        "Who can see it",
        "How long we keep it",
        "Your rights",
    ):
        assert f"<h2>{heading}</h2>" in html
    assert "never the full postcode" in html
    assert "erased 90 days after the referral is closed or declined" in html
    assert "reply is erased 45 days after your feedback" in html
    assert "deleted from the list of messages 90 days after" in html
    assert "Any count from 1 to 4 is hidden" in html
    assert "mailto:dpo@northshire.example" in html
    assert "Information Commissioner" in html


def test_the_privacy_notice_reads_well_without_any_settings(client):
    html = client.get("/privacy").get_data(as_text=True)
    assert "The police force and health partners that run Referral Pathways decide" in html
    assert "erased 730 days after the referral is closed or declined" in html
    assert "mailto:" not in html


def test_purge_erases_after_the_period_the_privacy_notice_states(runner):
    result = runner.invoke(args=["purge-personal-data", "--dry-run"])
    assert result.exit_code == 0, result.output
    cutoff = dt.date.today() - dt.timedelta(days=730)
    assert f"finished before {cutoff.isoformat()}" in result.output


def test_the_cookies_page_names_the_one_cookie_and_anonymous_browsing_sets_none(app_factory):
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    html = client.get("/cookies").get_data(as_text=True)
    assert "<code>session</code>" in html
    assert "When you close your browser" in html and "30 minutes" in html
    for path in ("/", "/services?q=G31", "/map", "/accessibility", "/privacy", "/cookies"):
        response = client.get(path)
        assert "Set-Cookie" not in response.headers, path
    cookie = client.get("/contact").headers["Set-Cookie"]  # a form to send: the one cookie
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie  # gone when the browser closes


def test_the_accessibility_statement_shows_the_recorded_checks_and_known_issues(client):
    checks = load_checks()
    assert checks is not None, "run the browser tests with UPDATE_SCREENSHOTS=1 to record them"
    html = client.get("/accessibility").get_data(as_text=True)
    assert "partially compliant with the" in html
    assert "This service is run by the police force and health partners that use it." in html
    assert "<h2>Known issues</h2>" in html and "Maps." in html
    assert f"ran on {len(checks.pages)} pages" in html
    assert "no serious or critical problems" in html
    assert checks.serious_count == 0
    for page in checks.pages:
        assert f"<td>{page.page.capitalize()}</td>" in html
    for finding in checks.minor_rules.values():
        assert finding.help in html
    assert "Equality Advisory and Support Service" in html


def test_a_statement_with_problems_says_so(tmp_path, monkeypatch, client):
    results = {
        "checked_on": "2026-11-30",
        "tool": "axe-core 4.10",
        "browser": "Chromium 131",
        "pages": [
            {
                "role": "anonymous",
                "page": "home",
                "path": "/",
                "findings": [
                    {
                        "rule": "color-contrast",
                        "impact": "serious",
                        "help": "Contrast",
                        "count": 2,
                    },
                    {"rule": "region", "impact": "moderate", "help": "Landmarks", "count": 1},
                ],
            }
        ],
    }
    path = tmp_path / "axe.json"
    path.write_text(json.dumps(results))
    monkeypatch.setattr("referrals.about.statement.RESULTS", path)
    monkeypatch.setattr("referrals.about.views.load_checks", lambda: load_checks(path))
    html = client.get("/accessibility").get_data(as_text=True)
    assert "On 30 Nov 2026 the automated accessibility checks (axe-core 4.10" in html
    assert "<strong>1 serious or critical problem</strong>" in html
    assert "<strong>Landmarks</strong> (found by the automated checks, moderate" in html


def test_feedback_is_kept_with_the_page_it_came_from_and_the_sender_role(client, session, people):
    sign_in(client, "c@t.example")
    form = client.get("/contact?from=/referrals/new?q=G31+2AB").get_data(as_text=True)
    assert 'name="page" type="hidden" value="/referrals/new"' in form
    assert "Back to the page you were on" in form
    response = client.post(
        "/contact",
        data={"message": "The date box is great.\nMore please.", "page": "/referrals/new"},
    )
    assert response.status_code == 302
    assert response.location == "/contact?from=/referrals/new"
    assert "Your feedback has been sent" in client.get(response.location).get_data(as_text=True)
    feedback = session.scalar(sa.select(Feedback))
    assert feedback.message == "The date box is great.\nMore please."
    assert (feedback.page, feedback.role, feedback.reply_to) == ("/referrals/new", "custody", None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"message": "  "}, "Enter your feedback."),
        ({"message": "x" * 3001}, "Keep your feedback under 3,000 characters."),
        ({"message": "Hi", "reply_to": "not an address"}, "Enter an email address like"),
    ],
)
def test_bad_feedback_is_refused_with_a_clear_message_and_nothing_kept(
    client, session, data, message
):
    response = client.post("/contact", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0


def test_feedback_from_elsewhere_keeps_no_address_but_ours(client, session):
    client.post("/contact", data={"message": "Hello", "page": "//evil.example/x"})
    client.post("/contact", data={"message": "Hello", "page": "https://evil.example/"})
    assert session.scalars(sa.select(Feedback.page)).all() == [None, None]


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "/%09/evil.example/x", "/%0A/evil.example", "/\\evil.example"]
)
def test_the_back_link_never_leads_to_another_site(client, target):
    """Browsers drop tabs and new lines from a link, so "/<tab>/evil.example" would go to
    //evil.example: the contact page offers no way back rather than that."""
    html = client.get(f"/contact?from={target}").get_data(as_text=True)
    assert "evil.example" not in html
    assert "Back to the page you were on" not in html


def test_administrators_read_feedback_and_mark_it_dealt_with(client, session, people):
    client.post(
        "/contact", data={"message": "Please add opening hours.", "reply_to": "x@y.example"}
    )
    client.post("/contact", data={"message": "Map is slow on my phone."})
    sign_in(client, "p@t.example")
    assert client.get("/admin/feedback").status_code == 403
    client.post("/logout")
    sign_in(client, "a@t.example")
    assert "Feedback" in client.get("/admin/").get_data(as_text=True)
    html = client.get("/admin/feedback").get_data(as_text=True)
    assert "2 waiting to be dealt with" in html
    assert html.index("Map is slow") < html.index("Please add opening hours")
    assert "mailto:x@y.example" in html
    first = session.scalar(sa.select(Feedback).where(Feedback.message.like("Please%")))
    response = client.post(f"/admin/feedback/{first.id}/dealt-with")
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Feedback, first.id).dealt_with_at is not None
    html = client.get("/admin/feedback?waiting=1").get_data(as_text=True)
    assert "Map is slow" in html and "Please add opening hours" not in html
    assert "Dealt with" in client.get("/admin/feedback").get_data(as_text=True)
    again = client.post(f"/admin/feedback/{first.id}/dealt-with", follow_redirects=True)
    assert "already marked" in again.get_data(as_text=True)
    actions = session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("feedback_dealt_with") == 1
    assert client.post("/admin/feedback/999999/dealt-with").status_code == 404
