"""Custody contacts that stay true to what happened: a home area erased under the
retention rules reads as erased (not as no fixed abode), and a contact tied to a
referral keeps to that referral's suite, with an administrator told what to do instead
of being sent to an administrator."""

import datetime as dt
from html import unescape

import pytest
import sqlalchemy as sa

from referrals.contacts.models import CustodyContact
from referrals.models import Referral

from .factories import make_contact, make_referral, suite
from .test_auth import sign_in
from .test_contacts import (
    contact_form,
    contacts,
    edit_contact,
    referral_data,
    referral_in_error,
)
from .test_contacts import people as contact_people  # noqa: F401 - a fixture


@pytest.fixture
def people(contact_people):  # noqa: F811 - the contact tests' own people
    return contact_people


# -- a home area erased ---------------------------------------------------------------


def test_a_contact_erased_with_its_referral_reads_erased_not_no_fixed_abode(
    client, session, people, runner
):
    custody = people["custody"]
    long_ago = dt.date.today() - dt.timedelta(days=900)
    referral = make_referral(
        session,
        service=people["service"],
        referrer=custody,
        referred_on=long_ago,
        status="closed",
        closed_on=long_ago + dt.timedelta(days=30),
        close_reason="completed",
    )
    erased = make_contact(
        session,
        recorder=custody,
        contact_on=long_ago,
        outcome="referral_made",
        referral_id=referral.id,
    )
    homeless = make_contact(
        session, recorder=custody, contact_on=dt.date.today(), postcode_district=None
    )
    session.commit()
    assert runner.invoke(args=["purge-personal-data"]).exit_code == 0
    session.expire_all()
    assert session.get(CustodyContact, erased.id).postcode_district is None

    sign_in(client, "c@t.example")
    page = client.get(f"/contacts/{erased.id}").get_data(as_text=True)
    assert "<dt>Lives in</dt><dd>Erased, Glasgow City</dd>" in page
    assert "No fixed abode" not in page
    page = client.get(f"/contacts/{homeless.id}").get_data(as_text=True)
    assert "<dt>Lives in</dt><dd>No fixed abode, Glasgow City</dd>" in page

    listing = client.get("/contacts").get_data(as_text=True)

    def lives_in(contact_id):
        line = listing[listing.index(f'href="/contacts/{contact_id}"') :]
        return line[: line.index("</tr>")]

    assert "<td>Erased, Glasgow City</td>" in lives_in(erased.id)
    assert "No fixed abode" not in lives_in(erased.id)
    assert "<td>No fixed abode, Glasgow City</td>" in lives_in(homeless.id)

    # Nothing about the person is written again: an administrator is told so.
    client.post("/logout")
    sign_in(client, "a@t.example")
    refused = client.get(f"/contacts/{erased.id}/edit", follow_redirects=True)
    assert (
        f"This contact led to referral {referral.reference}, whose personal details were "
        "erased under the retention rules: neither can be changed any more."
    ) in unescape(refused.get_data(as_text=True))


# -- a contact tied to a referral, changed by an administrator --------------------------


def move_to_edinburgh(client, session, contact_id, **answers):
    edinburgh = suite(session, "EDI-SL")
    return edit_contact(client, session, contact_id, custody_suite_id=str(edinburgh.id), **answers)


def test_an_administrator_cannot_move_a_contact_waiting_for_its_referral_to_another_suite(
    client, session, people
):
    sign_in(client, "c@t.example")
    wrong, contact = referral_in_error(client, session, people)
    client.post("/logout")
    sign_in(client, "a@t.example")
    answers = {"outcome": "referral_made", "decline_reason": None, "veteran": "yes"}
    response = move_to_edinburgh(client, session, contact.id, **answers)
    assert response.status_code == 400
    html = unescape(response.get_data(as_text=True))
    assert (
        f"This contact belongs with referral {wrong.reference}, made at London Road Police "
        "Office custody, so it stays at London Road Police Office custody: choose London "
        "Road Police Office custody again to save your other changes." in html
    )
    [contact] = contacts(session)
    assert contact.custody_suite.code == "GLA-LR" and contact.referral_id == wrong.id
    assert contact.veteran is None

    # Kept at its suite, the other changes are saved.
    glasgow = suite(session, "GLA-LR")
    response = edit_contact(
        client, session, contact.id, custody_suite_id=str(glasgow.id), **answers
    )
    assert response.status_code == 302
    [contact] = contacts(session)
    assert contact.custody_suite.code == "GLA-LR" and contact.veteran is True


def test_an_administrator_cannot_move_a_contact_that_let_its_referral_go(client, session, people):
    """Given another outcome after its referral was closed as entered in error, the
    contact still goes back to that referral if the closing is taken back."""
    sign_in(client, "c@t.example")
    wrong, contact = referral_in_error(client, session, people)
    edit_contact(client, session, contact.id, outcome="declined", decline_reason="not_ready")
    assert contacts(session)[0].released_from_id == wrong.id
    client.post("/logout")
    sign_in(client, "a@t.example")
    response = move_to_edinburgh(
        client, session, contact.id, outcome="declined", decline_reason="not_ready"
    )
    assert response.status_code == 400
    assert f"This contact belongs with referral {wrong.reference}" in unescape(
        response.get_data(as_text=True)
    )
    assert contacts(session)[0].custody_suite.code == "GLA-LR"


def test_an_administrator_moves_a_contact_with_no_referral_to_another_suite(
    client, session, people
):
    sign_in(client, "c@t.example")
    client.post("/contacts/new", data=contact_form())
    [contact] = contacts(session)
    client.post("/logout")
    sign_in(client, "a@t.example")
    assert move_to_edinburgh(client, session, contact.id).status_code == 302
    assert contacts(session)[0].custody_suite.code == "EDI-SL"


def test_an_administrator_is_told_how_to_change_a_contact_whose_referral_counts(
    client, session, people
):
    """Its answers are the referral's: an administrator is told to close the referral as
    entered in error, not to ask an administrator; custody staff may still ask one."""
    sign_in(client, "c@t.example")
    client.post("/referrals/new", data=referral_data(people["service"].id))
    referral = session.scalar(sa.select(Referral))
    [contact] = contacts(session)
    custody = client.get(f"/contacts/{contact.id}/edit", follow_redirects=True)
    assert "change the referral instead, or ask an administrator" in custody.get_data(as_text=True)
    client.post("/logout")
    sign_in(client, "a@t.example")
    response = client.get(f"/contacts/{contact.id}/edit")
    assert response.status_code == 302 and response.location == f"/contacts/{contact.id}"
    html = unescape(client.get(response.location).get_data(as_text=True))
    assert (
        f"This contact led to referral {referral.reference}, which counts, so its answers "
        f"are the referral's and are not changed here. If {referral.reference} should not "
        "have been made, close it as entered in error: the contact then waits for the right "
        "referral, and can be changed." in html
    )
    assert "ask an administrator" not in html
    posted = client.post(f"/contacts/{contact.id}/edit", data=contact_form(version="1"))
    assert posted.status_code == 302
    assert contacts(session)[0].outcome == "referral_made"
