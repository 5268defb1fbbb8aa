"""Dates typed the GOV.UK way: one box, day first, in the forms people actually use."""

import datetime as dt

import pytest
import sqlalchemy as sa

from referrals.dates import DateProblem, example_hint, parse_date
from referrals.models import Referral

from .factories import make_people, make_referral
from .test_auth import sign_in
from .test_referrals import referral_form

TODAY = dt.date(2026, 12, 3)  # a Thursday


@pytest.mark.parametrize(
    "typed",
    [
        "1/12/2026",
        "01/12/2026",
        "1-12-2026",
        "1.12.2026",
        "1 12 2026",
        " 1 / 12 / 2026 ",
        "1 Dec 2026",
        "1 dec. 2026",
        "1 December 2026",
        "1st December, 2026",
        "1 DECEMBER 2026",
        "2026-12-01",
    ],
)
def test_the_usual_ways_of_writing_a_date_all_mean_the_same_day(typed):
    assert parse_date(typed, TODAY) == dt.date(2026, 12, 1)


def test_numbers_are_read_day_first_and_words_are_relative_to_today():
    assert parse_date("2/1/2027", TODAY) == dt.date(2027, 1, 2)
    assert parse_date("5 Sept 2026", TODAY) == dt.date(2026, 9, 5)
    assert parse_date("29/2/2028", TODAY) == dt.date(2028, 2, 29)
    assert parse_date("today", TODAY) == TODAY
    assert parse_date("Yesterday", TODAY) == dt.date(2026, 12, 2)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("31/2/2026", "February 2026 has 28 days, so 31 February 2026 is not a real date."),
        ("2026-02-29", "February 2026 has 28 days, so 29 February 2026 is not a real date."),
        ("31 April 2026", "April 2026 has 30 days, so 31 April 2026 is not a real date."),
        ("0/4/2026", "The day must be from 1 to 30."),
        ("1/13/2026", "The month must be from 1 to 12. Dates go day first: 13/1/2026"),
        ("12/25/2026", "Dates go day first: 25/12/2026 for 25 December."),
        ("1/0/2026", "The month must be from 1 to 12."),
        ("1/12/26", "Enter the year in full, with 4 numbers, like 2026."),
        ("1/12/1850", "Enter a year from 1900 to 2100."),
        ("1 Decembre 2026", "“decembre” is not a month."),
        ("next week", "Enter a date like 27/11/2026 or 27 Nov 2026."),
        ("2026-12", "Enter a date like 27/11/2026 or 27 Nov 2026."),
        ("1/12/2026/5", "Enter a date like 27/11/2026 or 27 Nov 2026."),
    ],
)
def test_impossible_and_unreadable_dates_say_what_is_wrong(typed, message):
    with pytest.raises(DateProblem) as problem:
        parse_date(typed, TODAY)
    assert message in str(problem.value)


@pytest.mark.parametrize(
    ("today", "example"),
    [
        (dt.date(2026, 12, 3), "For example, 27/11/2026 for last Friday."),  # Thursday
        (dt.date(2026, 11, 27), "For example, 20/11/2026 for last Friday."),  # Friday
        (dt.date(2026, 11, 28), "For example, 27/11/2026 for last Friday."),  # Saturday
        (dt.date(2027, 1, 4), "For example, 1/1/2027 for last Friday."),  # Monday
    ],
)
def test_the_hint_gives_an_example_near_today(today, example):
    assert example_hint(today) == example


@pytest.fixture
def people(session):
    return make_people(session)


def uk(day: dt.date) -> str:
    return f"{day.day}/{day.month}/{day.year}"


def test_a_referral_takes_the_consent_date_as_a_custody_officer_writes_it(
    client, session, people, today
):
    sign_in(client, "c@t.example")
    yesterday = today - dt.timedelta(days=1)
    typed = f"{yesterday.day} {yesterday:%B %Y}"
    response = client.post(
        "/referrals/new", data=referral_form(people["service"].id, consent_date=typed)
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert session.scalar(sa.select(Referral.consent_date)) == yesterday


def test_an_impossible_consent_date_keeps_what_was_typed_and_saves_nothing(
    client, session, people
):
    sign_in(client, "c@t.example")
    response = client.post(
        "/referrals/new", data=referral_form(people["service"].id, consent_date="30/2/2026")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "February 2026 has 28 days, so 30 February 2026 is not a real date." in page
    assert 'value="30/2/2026"' in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 0


def test_a_status_change_takes_a_day_first_date_and_the_page_offers_today(
    client, session, people, today
):
    referral = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=today - dt.timedelta(days=10),
    )
    session.commit()
    sign_in(client, "p@t.example")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert f'name="accept-on" type="text" value="{uk(today)}"' in page
    assert example_hint(today) in page
    accepted_on = today - dt.timedelta(days=3)
    response = client.post(
        f"/referrals/{referral.id}/accept",
        data={"accept-version": "1", "accept-on": uk(accepted_on)},
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Referral, referral.id).accepted_on == accepted_on


def test_the_referral_list_and_audit_log_filter_on_typed_dates(client, session, people, today):
    old = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=today - dt.timedelta(days=40),
    )
    make_referral(session, service=people["service"], referrer=people["custody"])
    session.commit()
    sign_in(client, "c@t.example")
    since = today - dt.timedelta(days=7)
    html = client.get(f"/referrals?date_from={since.day}+{since:%b+%Y}").get_data(as_text=True)
    assert "1 referral" in html and old.reference not in html
    assert example_hint(today) in html
    bad = client.get("/referrals?date_from=31/9/2026")
    assert bad.status_code == 400
    assert "September 2026 has 30 days" in bad.get_data(as_text=True)

    client.post("/logout")
    sign_in(client, "a@t.example")
    html = client.get(f"/admin/audit?date_from={uk(today)}&action=sign_in").get_data(as_text=True)
    assert "2 entries" in html
    tomorrow = today + dt.timedelta(days=1)
    html = client.get(f"/admin/audit?date_from={uk(tomorrow)}").get_data(as_text=True)
    assert "0 entries" in html
