"""A night service in the small hours, as each page shows it: open now until the night
before's session ends, on the search card, the service page and the custody officer's
referral form, in agreement with the search's own "open now" filter."""

import datetime as dt
import html as htmllib
import re

import pytest

from referrals.choices import Role

from .factories import make_service, make_user, suite
from .test_auth import sign_in
from .test_notifications import Clock

# Saturday 5 December 2026 at 01:30 UK time (GMT, so the same in UTC).
SATURDAY_SMALL_HOURS = dt.datetime(2026, 12, 5, 1, 30, tzinfo=dt.UTC)
FRIDAY_NIGHT = [(4, "20:00", "02:00")]
STILL_OPEN = "Open now until 02:00 (Friday night's hours)"


@pytest.fixture
def night(app, session):
    app.config["CLOCK"] = Clock(SATURDAY_SMALL_HOURS)
    service = make_service(session, name="Night Outreach", hours=FRIDAY_NIGHT)
    session.commit()
    return service


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return htmllib.unescape(response.get_data(as_text=True))


def card_opening(html: str, name: str) -> str:
    card = html[html.index(f">{name}</a>") :]
    return re.search(r"<dt>Opening</dt><dd>([^<]*)</dd>", card).group(1)


def test_a_night_service_found_open_now_says_so_on_its_card(client, night):
    html = page(client, "/services?q=Glasgow&open_now=1")
    assert card_opening(html, "Night Outreach") == STILL_OPEN
    assert "Closed today" not in html


def test_a_night_service_open_again_tonight_shows_both_sessions(client, session, night):
    make_service(
        session, name="Weekend Nights", hours=[(4, "20:00", "02:00"), (5, "20:00", "02:00")]
    )
    session.commit()
    html = page(client, "/services?q=Glasgow&open_now=1")
    assert card_opening(html, "Weekend Nights") == (
        f"{STILL_OPEN}, and today 20:00 to 02:00 (Sunday)"
    )


def test_the_service_page_marks_today_with_the_night_before_hours(client, night):
    html = page(client, f"/services/{night.id}")
    rows = dict(re.findall(r'<th scope="row">([^<]*)</th><td>([^<]*)</td>', html))
    assert rows["Saturday (today)"] == "Until 02:00 (Friday night's hours)"
    assert rows["Friday"] == "20:00 to 02:00 (Saturday)"
    assert rows["Sunday"] == "Closed"


def test_the_referral_form_says_a_night_service_is_open_now(client, session, night):
    make_user(session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR"))
    session.commit()
    sign_in(client, "c@t.example")
    chosen = page(client, f"/referrals/new?service={night.id}")
    assert f"<p>{STILL_OPEN}</p>" in chosen
    suggested = page(client, "/referrals/new")
    assert re.search(
        rf"<strong>Night Outreach</strong>, [^<]*\. {re.escape(STILL_OPEN)}\.", suggested
    )
    assert "Closed today" not in chosen + suggested


# Christmas Day 2026 is a Friday, a bank holiday in Scotland; 10:30 UK time (GMT).
CHRISTMAS_MORNING = dt.datetime(2026, 12, 25, 10, 30, tzinfo=dt.UTC)
HOLIDAY = "Christmas Day (bank holiday): hours may differ, so phone first"


def test_on_a_bank_holiday_the_usual_hours_come_with_a_warning(app, client, session):
    """Listings keep weekly hours only: on a bank holiday a card, the service page and
    the custody referral form give them with a warning to phone first, and a service
    with no hours that day says nothing more."""
    app.config["CLOCK"] = Clock(CHRISTMAS_MORNING)
    office = make_service(session, name="Office Hours", hours=[(4, "09:00", "17:00")])
    make_service(session, name="Weekends Only", hours=[(5, "10:00", "14:00")])
    make_user(session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR"))
    session.commit()
    html = page(client, "/services?q=Glasgow")
    assert card_opening(html, "Office Hours") == f"Today 09:00 to 17:00 (open now). {HOLIDAY}"
    assert card_opening(html, "Weekends Only") == "Closed today"
    assert HOLIDAY in page(client, f"/services/{office.id}")
    sign_in(client, "c@t.example")
    assert HOLIDAY in page(client, f"/referrals/new?service={office.id}")
    # The day after, Boxing Day, is one too; the Monday after is not.
    app.config["CLOCK"] = Clock(CHRISTMAS_MORNING + dt.timedelta(days=3))
    assert "bank holiday" not in page(app.test_client(), "/services?q=Glasgow")


def test_open_now_on_a_bank_holiday_says_it_goes_by_the_usual_hours(app, client, session):
    """The "Open now" filter has only weekly hours to go by: on a bank holiday the list
    and the map say so, and that many services close or keep other hours; on other
    days, and without the filter, they say nothing of the kind."""
    make_service(session, name="Office Hours", hours=[(4, "09:00", "17:00")])
    session.commit()
    note = (
        "Today is Christmas Day, a bank holiday. “Open now” goes by each service's usual "
        "weekly hours, and many services close or keep other hours on a bank holiday: "
        "phone first."
    )
    app.config["CLOCK"] = Clock(CHRISTMAS_MORNING)
    listed = page(client, "/services?q=Glasgow&open_now=y")
    assert note in listed and "Office Hours" in listed
    assert note in page(client, "/map?q=Glasgow&open_now=y")
    assert note not in page(client, "/services?q=Glasgow")
    app.config["CLOCK"] = Clock(CHRISTMAS_MORNING + dt.timedelta(days=7))  # 1 January
    assert "Today is New Year" in page(client, "/services?q=Glasgow&open_now=y")
    app.config["CLOCK"] = Clock(CHRISTMAS_MORNING + dt.timedelta(days=14))  # a Friday
    ordinary = page(client, "/services?q=Glasgow&open_now=y")
    assert "Office Hours" in ordinary and "bank holiday" not in ordinary


def test_a_listing_with_no_set_hours_says_so_on_its_card_and_page(client, session):
    """The edit form says to leave the hours empty when there are none (appointments,
    outreach): the card and the service page say there are no set hours, not "Closed"."""
    service = make_service(session, name="By Appointment", hours=[])
    session.commit()
    assert card_opening(page(client, "/services?q=Glasgow"), "By Appointment") == (
        "No set hours: phone to check"
    )
    shown = page(client, f"/services/{service.id}")
    table = shown[shown.index("<h2>Opening hours</h2>") :]
    table = table[: table.index("</table>")]
    assert "Closed" not in table and "No set hours" in table


def test_a_page_past_the_last_of_a_search_by_name_is_the_last(client, session):
    """A page number typed into the address (however large) is not a server error."""
    make_service(session, name="Naloxone Point", type_code="naloxone")
    session.commit()
    response = client.get("/services?q=naloxone&page=1000000000000000000")
    assert response.status_code == 200
    assert "Naloxone Point" in response.get_data(as_text=True)
