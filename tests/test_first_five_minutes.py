"""The first five minutes: each role's home page leads straight to its main task, empty
pages say what to do next, and every form error says how to put it right."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import User

from .factories import make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in


def text_of(response) -> str:
    """The words of the page's main content, as a person reads them."""
    page = response.get_data(as_text=True)
    main = page[page.index("<main") : page.index("</main>")]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", main))).strip()


def task_links(response) -> dict[str, str]:
    page = response.get_data(as_text=True)
    cards = page[page.index('<ul class="cards">') : page.index("</ul>", page.index("cards"))]
    return {
        html.unescape(title): href
        for href, title in re.findall(r'<h3><a href="([^"]+)">([^<]+)</a></h3>', cards)
    }


@pytest.fixture
def people(session):
    organisation = make_organisation(session, "Riverside Recovery")
    users = {
        "custody": make_user(
            session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
        ),
        "provider": make_user(
            session, Role.PROVIDER, email="p@t.example", organisation=organisation
        ),
        "lead": make_user(session, Role.LEAD, email="l@t.example"),
        "admin": make_user(session, Role.ADMIN, email="a@t.example"),
    }
    session.commit()
    return {"organisation": organisation.id, **{k: u.email for k, u in users.items()}}


@pytest.mark.parametrize(
    ("role", "first_task", "tasks"),
    [
        (
            None,
            ("Find a service", "/services"),
            {"Find a service": "/services", "See services on a map": "/map"},
        ),
        (
            "custody",
            ("Make a referral", "/referrals/new"),
            {
                "Make a referral": "/referrals/new",
                "Record a custody contact": "/contacts/new",
                "Follow up your suite's referrals": "/referrals",
                "Find a service": "/services",
            },
        ),
        (
            "provider",
            ("Open your worklist", "/worklist"),
            {"Open your worklist": "/worklist", "Keep your listings right": "/listings"},
        ),
        (
            "lead",
            ("Compare areas", "/reports/areas"),
            {
                "Compare areas": "/reports/areas",
                "See the map": "/reports/map",
                "National picture": "/reports/",
            },
        ),
        (
            "admin",
            ("Administration", "/admin/"),
            {
                "Administration": "/admin/",
                "Reports": "/reports/",
                "All referrals": "/referrals",
            },
        ),
    ],
)
def test_each_home_page_leads_straight_to_the_main_task(client, people, role, first_task, tasks):
    if role:
        assert sign_in(client, people[role]).status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    links = task_links(home)
    assert links == tasks
    assert next(iter(links.items())) == first_task
    for href in links.values():
        assert client.get(href).status_code == 200, href


def test_signing_in_lands_on_the_home_page_with_the_tasks(client, people):
    response = sign_in(client, people["lead"])
    assert response.headers["Location"] == "/"
    assert "Your main tasks" in text_of(client.get("/"))


def test_an_empty_worklist_says_where_referrals_will_come_from(client, people):
    sign_in(client, people["provider"])
    page = text_of(client.get("/worklist"))
    assert "Nothing overdue." in page
    assert "No new referrals. New referrals from custody appear here." in page


def test_a_custody_officer_with_no_referrals_is_told_how_to_make_one(client, people):
    sign_in(client, people["custody"])
    response = client.get("/referrals")
    page = text_of(response)
    assert "0 referrals." in page
    assert "No referrals yet. Referrals you make appear here, with their progress" in page
    assert 'href="/referrals/new"' in response.get_data(as_text=True)


def test_a_provider_with_no_referrals_is_told_when_they_will_come(client, people):
    sign_in(client, people["provider"])
    response = client.get("/referrals")
    page = text_of(response)
    assert "No referrals to your organisation's services yet." in page
    assert 'href="/worklist"' in response.get_data(as_text=True)


def test_filters_that_match_nothing_can_be_cleared(client, people, session):
    custody = session.scalar(sa.select(User).where(User.email == people["custody"]))
    make_referral(session, service=make_service(session), referrer=custody)
    session.commit()
    sign_in(client, people["custody"])
    response = client.post("/referrals", data={"reference": "CR/NOBODY"})
    page = text_of(response)
    assert "No referrals match these filters. Clear the filters" in page
    assert '<a href="/referrals">Clear the filters</a>' in response.get_data(as_text=True)
    assert "1 referral." in text_of(client.get("/referrals"))


def test_a_search_with_no_services_nearby_offers_a_wider_one(client, session):
    make_service(
        session, name="Far North Service", lat=58.97, lon=-3.0, council_name="Orkney Islands"
    )
    session.commit()
    page = text_of(client.get("/services?q=G31"))
    assert "No services within 25 km of G31" in page
    assert re.search(r"The nearest matching service is \d+ km away\. Search within \d+ km", page)


def test_a_search_for_an_unknown_place_says_what_to_enter(client):
    response = client.get("/services?q=Nowhereshire")
    page = text_of(response)
    assert re.search(r"postcode|town", page, re.I)
    assert "Nowhereshire" in page


@pytest.mark.parametrize(
    ("who", "url", "message"),
    [
        (None, "/services?q=G31&gender=x", "Choose one of the options listed."),
        (None, "/services?q=G31&age=abc", "Enter a whole number, like 25."),
        ("lead", "/reports/areas?group=zzz", "Choose one of the options listed."),
        ("lead", "/reports/areas?from=soon", "Reports show fixed periods, not dates"),
        ("custody", "/referrals?status=lost", "Choose one of the options listed."),
        ("admin", "/admin/users?role=zz", "Choose one of the options listed."),
    ],
)
def test_filter_errors_say_how_to_put_them_right(client, people, who, url, message):
    if who:
        sign_in(client, people[who])
    page = text_of(client.get(url))
    assert "There is a problem" in page
    assert message in page
    assert "Not a valid choice" not in page


def test_every_referral_form_error_says_what_to_do(client, people):
    sign_in(client, people["custody"])
    response = client.post("/referrals/new", data={"contact_method": "letter"})
    assert response.status_code == 400
    page = text_of(response)
    assert "There is a problem: nothing has been saved yet" in page
    messages = [
        html.unescape(m)
        for m in re.findall(
            r'<li><a href="#[^"]+">([^<]+)</a></li>', response.get_data(as_text=True)
        )
    ]
    assert len(messages) >= 6, messages
    for message in messages:
        assert re.match(r"(Enter|Choose|The person's consent)", message), message
    assert "Enter the person's name for the letter." in messages


def test_dates_are_typed_in_the_format_the_hint_shows(client, people, today):
    sign_in(client, people["custody"])
    page = client.get("/referrals/new").get_data(as_text=True)
    field = re.search(r'<input[^>]*id="consent_date"[^>]*>', page).group(0)
    assert 'type="text"' in field
    assert f'value="{today.day}/{today.month}/{today.year}"' in field
    friday = today - dt.timedelta(days=(today.weekday() - 4) % 7 or 7)
    assert f"For example, {friday.day}/{friday.month}/{friday.year} for last Friday." in page
