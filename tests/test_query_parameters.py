"""A link carrying a query parameter the page does not know (a typo, a tracker's tag, one
of the names ``url_for`` keeps for itself such as ``_method``) opens the page as if it
were not there; the page's own filters still carry over to the links it makes."""

import html
import re

import pytest
import sqlalchemy as sa

from referrals.about.models import Feedback

from .factories import make_people
from .test_auth import sign_in
from .test_contacts import add_contacts, listed_ids

GLASGOW = "S12000049"
ODD = ["_method=POST", "endpoint=elsewhere"]


@pytest.mark.parametrize("odd", ODD)
def test_the_contact_list_ignores_a_parameter_it_does_not_know(client, session, monkeypatch, odd):
    monkeypatch.setattr("referrals.contacts.listing.PER_PAGE", 2)
    people = make_people(session)
    made = add_contacts(
        session, people["custody"], [(0, "declined"), (1, "not_suitable"), (2, "declined")]
    )
    add_contacts(session, people["custody"], [(3, "declined")])
    sign_in(client, "c@t.example")
    response = client.get(f"/contacts?outcome=declined&{odd}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert listed_ids(page) == [made[0].id, made[2].id]
    older = html.unescape(re.search(r'href="([^"]+)" rel="next"', page).group(1))
    assert "outcome=declined" in older and odd.split("=")[0] not in older
    assert "No contacts match" not in client.get(f"/contacts?{odd}").get_data(as_text=True)


@pytest.mark.parametrize("odd", ODD)
def test_marking_feedback_dealt_with_returns_to_the_page_whatever_the_link_carried(
    client, session, odd
):
    make_people(session)
    client.post("/contact", data={"message": "Please add opening hours."})
    client.post("/contact", data={"message": "Map is slow on my phone."})
    sign_in(client, "a@t.example")
    first = session.scalar(sa.select(Feedback).where(Feedback.message.like("Please%")))
    response = client.post(f"/admin/feedback/{first.id}/dealt-with?waiting=1&{odd}")
    assert response.status_code == 302 and response.location == "/admin/feedback?waiting=1"
    session.expire_all()
    assert session.get(Feedback, first.id).dealt_with_at is not None
    page = client.get(response.location).get_data(as_text=True)
    assert "Marked as dealt with." in page and "Please add opening hours" not in page


@pytest.mark.parametrize("odd", ODD)
def test_the_feedback_page_ignores_a_parameter_it_does_not_know(client, session, odd):
    make_people(session)
    client.post("/contact", data={"message": "Please add opening hours."})
    sign_in(client, "a@t.example")
    response = client.get(f"/admin/feedback?waiting=1&{odd}")
    assert response.status_code == 200
    action = html.unescape(re.search(r'action="([^"]*dealt-with[^"]*)"', response.text).group(1))
    assert "waiting=1" in action and odd.split("=")[0] not in action


@pytest.mark.parametrize("odd", ODD)
def test_a_profile_by_code_alone_ignores_a_parameter_it_does_not_know(client, session, odd):
    make_people(session)
    sign_in(client, "a@t.example")
    response = client.get(f"/reports/profile/{GLASGOW}?period=q&as_of=2026-01-31&{odd}")
    assert response.status_code == 302
    assert response.location == f"/reports/profile/council/{GLASGOW}?period=q&as_of=2026-01-31"


def test_a_nul_character_sent_to_a_page_is_refused_plainly(client, session):
    """NUL, which no text field may hold (PostgreSQL refuses it outright), is answered
    400 with a plain message wherever a page is sent it: in a search box, in a form's
    field, in a field's name. Nothing is saved."""
    make_people(session)
    sign_in(client, "a@t.example")
    for response in (
        client.get("/admin/users", query_string={"q": "\x00"}),
        client.get("/services", query_string={"q": "G31\x00"}),
        client.post("/contact", data={"message": "Helpful\x00 site."}),
        client.post("/contact", data={"message": "Helpful.", "\x00": "x"}),
    ):
        assert response.status_code == 400
        assert "hidden control character" in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0
