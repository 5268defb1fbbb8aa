"""Custody contacts: recording one in a few answers, a batch at the end of a shift saved
whole or not at all, "referral made" carrying on into the referral form, the suite's list
a page at a time, changing a contact, and contacts never holding an identifier."""

import datetime as dt
import re
from html import unescape
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.contacts.models import CustodyContact
from referrals.extensions import db
from referrals.models import AuditEvent, Referral

from .conftest import form_as_shown
from .factories import council, make_organisation, make_service, make_user, suite
from .test_auth import sign_in


@pytest.fixture
def people(session):
    org = make_organisation(session, "Org X")
    data = {
        "service": make_service(
            session, organisation=org, name="Glasgow MAT", lat=55.856, lon=-4.21
        ),
        "custody": make_user(
            session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
        ),
        "other_custody": make_user(
            session, Role.CUSTODY, email="o@t.example", custody_suite=suite(session, "EDI-SL")
        ),
        "admin": make_user(session, Role.ADMIN, email="a@t.example"),
    }
    session.commit()
    return data


def contact_form(**changes):
    data = {
        "contact_on": dt.date.today().isoformat(),
        "age_band": "25_34",
        "sex": "male",
        "postcode_district": "g31",
        "offered": "yes",
        "outcome": "declined",
        "decline_reason": "not_ready",
        "naloxone": "supplied",
        "veteran": "no",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def contacts(session):
    session.expire_all()
    return session.scalars(sa.select(CustodyContact).order_by(CustodyContact.id)).all()


def actions(session):
    return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


# -- one contact -------------------------------------------------------------------------


class Questions(HTMLParser):
    """The questions a form asks: each fieldset is one, each labelled control outside a
    fieldset is one; controls only revealed for one outcome belong to that outcome."""

    def __init__(self):
        super().__init__()
        self.count, self.depth, self.conditional = 0, 0, 0
        self.tags = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs.get("class", "")))
        if tag == "fieldset":
            self.depth += 1
            if self.depth == 1:
                self.count += 1
        if "conditional" in attrs.get("class", ""):
            self.conditional += 1
        if (
            tag in ("input", "select", "textarea")
            and self.depth == 0
            and attrs.get("type") not in ("hidden", "checkbox", "submit")
        ):
            self.count += 1

    def handle_endtag(self, tag):
        if tag == "fieldset":
            self.depth -= 1


def test_one_contact_asks_at_most_eight_questions_with_suite_and_date_filled_in(client, people):
    sign_in(client, "c@t.example")
    html = client.get("/contacts/new").get_data(as_text=True)
    assert "London Road Police Office custody" in html  # the suite, given
    today = dt.date.today()
    assert f'value="{today.day}/{today.month}/{today.year}"' in html  # the date, defaulted
    form = html[html.index('<form method="post" action="/contacts/new"') :]
    reader = Questions()
    reader.feed(form[: form.index("</form>")])
    # date, age band, sex, postcode district, offered, outcome, naloxone, veteran
    assert reader.count <= 8, reader.count
    for absent in ("person_ref", 'name="name"', "contact_phone", "Custody record number"):
        assert absent not in form


def test_custody_officer_records_a_declined_offer(client, session, people, today):
    sign_in(client, "c@t.example")
    response = client.post("/contacts/new", data=contact_form())
    assert response.status_code == 302 and response.location == "/contacts/new"
    [contact] = contacts(session)
    assert contact.custody_suite.code == "GLA-LR" and contact.contact_on == today
    assert (contact.age_band, contact.sex, contact.postcode_district) == ("25_34", "male", "G31")
    assert contact.council_area.name == "Glasgow City"
    assert contact.offered and contact.outcome == "declined"
    assert contact.decline_reason == "not_ready" and contact.not_suitable_reason is None
    assert contact.naloxone == "supplied" and contact.veteran is False
    assert contact.recorded_by_id == people["custody"].id and contact.referral_id is None
    assert actions(session)[-1] == "contact_recorded"
    page = client.get("/contacts/new").get_data(as_text=True)
    assert "Contact saved: 25 to 34, male, declined." in page


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"outcome": "referral_made", "offered": None}, {"offered": True}),
        ({"outcome": "released_before_seen", "offered": None}, {"offered": False}),
        (
            {"outcome": "not_suitable", "offered": None, "not_suitable_reason": "no_need"},
            {"offered": False},
        ),
        (
            {"outcome": "not_suitable", "offered": "yes", "not_suitable_reason": "risk"},
            {"offered": True},
        ),
        (
            {"outcome": "not_suitable", "offered": "no", "not_suitable_reason": "intoxicated"},
            {"not_suitable_reason": "intoxicated", "decline_reason": None},
        ),
        ({"outcome": "already_in_treatment", "offered": "no"}, {"treatment_service_id": None}),
        ({"postcode_district": "NFA"}, {"postcode_district": None, "council": "Glasgow City"}),
        ({"postcode_district": "ky1 2ab"}, {"postcode_district": "KY1", "council": "Fife"}),
        ({"veteran": ""}, {"veteran": None}),
    ],
)
def test_answers_that_fit_together_are_saved_as_meant(client, session, people, changes, expected):
    sign_in(client, "c@t.example")
    response = client.post("/contacts/new", data=contact_form(**changes))
    assert response.status_code == 302, response.get_data(as_text=True)
    [contact] = contacts(session)
    for name, value in expected.items():
        if name == "council":
            assert contact.council_area.name == value
        else:
            assert getattr(contact, name) == value, name


def test_already_in_treatment_keeps_the_service(client, session, people):
    sign_in(client, "c@t.example")
    html = client.get("/contacts/new").get_data(as_text=True)
    assert "Glasgow MAT" in html  # a service in the suite's police division
    service = people["service"].id
    client.post(
        "/contacts/new",
        data=contact_form(
            outcome="already_in_treatment",
            offered="no",
            decline_reason="not_ready",  # left over from another choice: not kept
            treatment_service_id=str(service),
        ),
    )
    [contact] = contacts(session)
    assert contact.treatment_service_id == service and contact.decline_reason is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"age_band": ""}, "Choose the person&#39;s age band."),
        ({"sex": None}, "Choose the person&#39;s sex."),
        ({"outcome": None}, "Choose what happened."),
        ({"naloxone": None}, "Say whether naloxone was offered."),
        ({"decline_reason": ""}, "Choose why the person declined."),
        ({"outcome": "not_suitable", "offered": "no"}, "Choose why the person was not suitable."),
        ({"offered": "no"}, "means the person was offered arrest referral: choose Yes"),
        (
            {"outcome": "released_before_seen", "offered": "yes"},
            "Someone released before being seen cannot have been offered",
        ),
        (
            {"outcome": "already_in_treatment", "offered": None},
            "Say whether the person was offered arrest referral.",
        ),
        ({"postcode_district": ""}, "Enter the postcode district (like G31), or tick"),
        ({"postcode_district": "ZZ9"}, "We do not know that postcode district."),
        ({"contact_on": ""}, "Enter the date the person was seen"),
        ({"contact_on": "2099-01-01"}, "The date seen cannot be in the future."),
        ({"contact_on": "soon"}, "Enter a date like 27/11/2026 or 27 Nov 2026."),
        (
            {"contact_on": (dt.date.today() - dt.timedelta(days=40)).isoformat()},
            "Contacts can be recorded up to 31 days after the person was seen",
        ),
        (
            {"outcome": "already_in_treatment", "offered": "no", "treatment_service_id": "99999"},
            "Choose one of the options listed.",
        ),
    ],
)
def test_a_contact_that_does_not_fit_together_is_refused_with_a_clear_message(
    client, session, people, changes, message
):
    sign_in(client, "c@t.example")
    response = client.post("/contacts/new", data=contact_form(**changes))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html, html[html.find("error-summary") : html.find("error-summary") + 800]
    assert "nothing has been saved yet" in html
    assert contacts(session) == []


def test_an_administrator_chooses_the_suite(client, session, people):
    sign_in(client, "a@t.example")
    response = client.post("/contacts/new", data=contact_form())
    assert response.status_code == 400
    assert "Choose the custody suite." in response.get_data(as_text=True)
    edinburgh = suite(session, "EDI-SL").id
    response = client.post("/contacts/new", data=contact_form(custody_suite_id=str(edinburgh)))
    assert response.status_code == 302
    assert contacts(session)[0].custody_suite_id == edinburgh


def test_no_fixed_abode_counts_in_the_suites_council(client, session, people):
    sign_in(client, "o@t.example")  # Edinburgh
    client.post("/contacts/new", data=contact_form(postcode_district="", no_fixed_abode="y"))
    [contact] = contacts(session)
    assert contact.postcode_district is None
    assert contact.council_area_id == council(session, "City of Edinburgh").id


def test_contacts_hold_no_identifier(app, client, session, people):
    """Nothing a contact stores can name the person: no custody record number, name or
    phone column exists, and sending one stores and shows nothing."""
    columns = {c.name for c in CustodyContact.__table__.columns}
    assert not columns & {"person_ref", "name", "contact_name", "contact_phone", "phone", "notes"}
    assert all(not isinstance(c.type, sa.Text) for c in CustodyContact.__table__.columns)
    sign_in(client, "c@t.example")
    client.post(
        "/contacts/new",
        data=contact_form(
            person_ref="GLA/26/000777", contact_name="Alex Example", contact_phone="07700 900123"
        ),
    )
    [contact] = contacts(session)
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    listing = client.get("/contacts").get_data(as_text=True)
    log = " ".join(d or "" for d in session.scalars(sa.select(AuditEvent.detail)))
    for text in ("GLA/26/000777", "Alex Example", "07700 900123"):
        assert text not in page and text not in listing and text not in log


# -- referral made -----------------------------------------------------------------------


def referral_data(service_id, contact_id=None, **changes):
    data = {
        "service_id": str(service_id),
        "pathway": "arrest_referral",
        "person_ref": "GLA/26/001234",
        "age_band": "35_44",
        "sex": "male",
        "postcode_district": "G31",
        "consent_recorded": "y",
        "consent_date": dt.date.today().isoformat(),
        "naloxone_offered": "y",
        "contact_method": "self_present",
    }
    if contact_id:
        data["contact_id"] = str(contact_id)
    data.update(changes)
    return data


def test_referral_made_continues_into_the_referral_form_and_links_the_two(client, session, people):
    sign_in(client, "c@t.example")
    response = client.post(
        "/contacts/new",
        data=contact_form(
            outcome="referral_made", offered=None, decline_reason=None, naloxone="declined"
        ),
    )
    [contact] = contacts(session)
    assert response.status_code == 302
    assert response.location == f"/referrals/new?contact={contact.id}"
    form = client.get(response.location).get_data(as_text=True)
    assert "what the contact holds is filled in below" in form
    assert f'name="contact_id" type="hidden" value="{contact.id}"' in form
    assert re.search(r'<option selected value="25_34">', form)
    assert re.search(r'checked[^>]*value="male"|value="male"[^>]*checked', form)
    assert 'value="G31"' in form
    assert re.search(r'id="naloxone_offered"[^>]*checked|checked[^>]*id="naloxone_offered"', form)
    # The officer chooses a service and completes the referral, giving the kit after all.
    response = client.post(
        "/referrals/new",
        data=referral_data(
            people["service"].id, contact.id, age_band="25_34", naloxone_supplied="y"
        ),
    )
    assert response.status_code == 302
    referral = session.scalar(sa.select(Referral))
    [contact] = contacts(session)
    assert contact.referral_id == referral.id
    assert contact.naloxone == "supplied"  # agrees with the referral
    assert session.scalar(sa.select(sa.func.count()).select_from(CustodyContact)) == 1
    assert "contact_linked" in actions(session)
    listing = client.get("/contacts").get_data(as_text=True)
    assert referral.reference in listing and "Referral not made yet" not in listing


@pytest.mark.parametrize(
    "where",
    [{"postcode_district": "g31"}, {"postcode_district": None, "no_fixed_abode": "y"}],
    ids=["district", "no fixed abode"],
)
def test_a_district_corrected_on_the_referral_form_brings_its_own_council(
    client, session, people, where
):
    """The referral form filled in from a contact (G31, Glasgow City; or no fixed abode,
    the suite's council): the officer corrects the district to EH1 and sends the form as
    shown. The referral, and the contact it is linked to, are counted in Edinburgh."""
    sign_in(client, "c@t.example")
    client.post(
        "/contacts/new",
        data=contact_form(outcome="referral_made", offered=None, decline_reason=None, **where),
    )
    [contact] = contacts(session)
    page = client.get(f"/referrals/new?contact={contact.id}&service={people['service'].id}")
    data = form_as_shown(page.get_data(as_text=True), "/referrals/new")
    data.pop("no_fixed_abode", None)
    data |= {
        "postcode_district": ["EH1"],
        "person_ref": ["GLA/26/004321"],
        "consent_recorded": ["y"],
        "contact_method": ["self_present"],
    }
    assert client.post("/referrals/new", data=data).status_code == 302
    referral = session.scalar(sa.select(Referral))
    [contact] = contacts(session)
    assert referral.council_area.name == contact.council_area.name == "City of Edinburgh"
    assert referral.postcode_district == contact.postcode_district == "EH1"


def test_a_referral_made_straight_from_the_directory_records_its_contact(
    client, session, people, today
):
    sign_in(client, "c@t.example")
    response = client.post("/referrals/new", data=referral_data(people["service"].id))
    assert response.status_code == 302
    referral = session.scalar(sa.select(Referral))
    [contact] = contacts(session)
    assert contact.referral_id == referral.id and contact.outcome == "referral_made"
    assert contact.offered and contact.contact_on == today
    assert (contact.age_band, contact.sex, contact.postcode_district) == ("35_44", "male", "G31")
    assert contact.naloxone == "offered" and contact.veteran is None
    assert actions(session)[-2:] == ["contact_recorded", "referral_created"]


def test_contacts_waiting_for_their_referral_are_listed_until_it_is_made(client, session, people):
    sign_in(client, "c@t.example")
    client.post(
        "/contacts/new",
        data=contact_form(outcome="referral_made", decline_reason=None, postcode_district="G34"),
    )
    [contact] = contacts(session)
    listing = client.get("/contacts").get_data(as_text=True)
    assert "Referrals still to make (1)" in listing
    assert f"/referrals/new?contact={contact.id}" in listing
    # The referral form, reached from the directory instead, offers the waiting contact.
    form = client.get(f"/referrals/new?service={people['service'].id}").get_data(as_text=True)
    assert f"/referrals/new?contact={contact.id}&amp;service={people['service'].id}" in form
    # Another suite does not see it, and cannot make its referral.
    client.post("/logout")
    sign_in(client, "o@t.example")
    assert "Referrals still to make" not in client.get("/contacts").get_data(as_text=True)
    form = client.get(f"/referrals/new?contact={contact.id}").get_data(as_text=True)
    assert "That contact was not found" in form
    client.post("/logout")
    sign_in(client, "c@t.example")
    client.post("/referrals/new", data=referral_data(people["service"].id, contact.id))
    assert "Referrals still to make" not in client.get("/contacts").get_data(as_text=True)
    assert len(contacts(session)) == 1


def test_a_contact_already_referred_is_not_linked_twice(client, session, people):
    sign_in(client, "c@t.example")
    client.post("/referrals/new", data=referral_data(people["service"].id))
    [contact] = contacts(session)
    form = client.get(f"/referrals/new?contact={contact.id}").get_data(as_text=True)
    assert "already led to referral" in form
    client.post("/referrals/new", data=referral_data(people["service"].id, contact.id))
    referrals = session.scalars(sa.select(Referral.id).order_by(Referral.id)).all()
    assert [c.referral_id for c in contacts(session)] == referrals  # one contact each


def close_in_error(client, session, referral_id):
    """Close a referral as entered in error, from its page's form."""
    session.expire_all()
    version = session.get(Referral, referral_id).version
    return client.post(
        f"/referrals/{referral_id}/close",
        data={"close-version": str(version), "close-reason": "entered_in_error"},
    )


def referral_in_error(client, session, people):
    """A referral made from custody (its contact recorded as it is saved), then closed
    as entered in error: the referral and its contact."""
    client.post("/referrals/new", data=referral_data(people["service"].id))
    wrong = session.scalar(sa.select(Referral))
    [contact] = contacts(session)
    close_in_error(client, session, wrong.id)
    return wrong, contact


def edit_contact(client, session, contact_id, **answers):
    """The contact's edit form sent with ``answers``, at the contact's version now."""
    session.expire_all()
    version = str(session.get(CustodyContact, contact_id).version)
    return client.post(
        f"/contacts/{contact_id}/edit", data=contact_form(version=version, **answers)
    )


def test_a_referral_entered_in_error_gives_its_contact_back_for_the_right_one(
    client, session, people, today
):
    """Sent to the wrong service, closed as entered in error, made again: the person was
    seen once, so one contact, now leading to the right referral."""
    right = make_service(session, organisation=people["service"].organisation, name="Right MAT")
    session.commit()
    sign_in(client, "c@t.example")
    client.post("/referrals/new", data=referral_data(people["service"].id))
    wrong = session.scalar(sa.select(Referral))
    [contact] = contacts(session)
    closed = client.post(
        f"/referrals/{wrong.id}/close",
        data={"close-version": str(wrong.version), "close-reason": "entered_in_error"},
    )
    assert closed.status_code == 302
    assert "Referrals still to make (1)" in client.get("/contacts").get_data(as_text=True)
    form = client.get(f"/referrals/new?contact={contact.id}&service={right.id}")
    assert "already led to referral" not in form.get_data(as_text=True)
    made = client.post("/referrals/new", data=referral_data(right.id, contact.id))
    assert made.status_code == 302
    [contact] = contacts(session)
    again = session.scalar(sa.select(Referral).where(Referral.service_id == right.id))
    assert contact.referral_id == again.id
    assert "Referrals still to make" not in client.get("/contacts").get_data(as_text=True)


def test_taking_back_an_entered_in_error_closing_takes_the_contact_back_or_is_refused(
    client, session, people, today
):
    """Once the right referral has taken over the contact, undoing the wrong one's
    closing would count the person twice (two referrals, one contact): it is refused
    while the right one counts. Once that one is closed as entered in error too, an
    administrator's reopening of the first brings the contact back to it."""
    right = make_service(session, organisation=people["service"].organisation, name="Right MAT")
    session.commit()
    sign_in(client, "c@t.example")
    wrong, contact = referral_in_error(client, session, people)
    client.post("/referrals/new", data=referral_data(right.id, contact.id))
    again = session.scalar(sa.select(Referral).where(Referral.service_id == right.id))
    session.expire_all()
    undo = client.post(
        f"/referrals/{wrong.id}/undo",
        data={"version": str(session.get(Referral, wrong.id).version)},
    )
    assert undo.status_code == 400
    assert f"now belongs to referral {again.reference}" in undo.get_data(as_text=True)
    session.expire_all()
    assert session.get(Referral, wrong.id).close_reason == "entered_in_error"
    assert [c.referral_id for c in contacts(session)] == [again.id]

    client.post(
        f"/referrals/{again.id}/close",
        data={"close-version": str(again.version), "close-reason": "entered_in_error"},
    )
    client.post("/logout")
    sign_in(client, "a@t.example")
    session.expire_all()
    reopened = client.post(
        f"/referrals/{wrong.id}/reopen",
        data={
            "reopen-version": str(session.get(Referral, wrong.id).version),
            "reopen-note": "It was the right service after all",
        },
    )
    assert reopened.status_code == 302
    session.expire_all()
    counted = session.scalars(
        sa.select(Referral.id).where(
            sa.or_(Referral.close_reason.is_(None), Referral.close_reason != "entered_in_error")
        )
    ).all()
    assert counted == [wrong.id]
    assert [c.referral_id for c in contacts(session)] == [wrong.id]
    # The second one, reopened in turn, would need the contact back: refused.
    refused = client.post(
        f"/referrals/{again.id}/reopen",
        data={
            "reopen-version": str(session.get(Referral, again.id).version),
            "reopen-note": "Both, surely",
        },
    )
    assert refused.status_code == 400
    assert f"now belongs to referral {wrong.reference}" in refused.get_data(as_text=True)


# -- a batch -----------------------------------------------------------------------------


def batch(rows, **extra):
    data = dict(extra)
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"rows-{index}-{key}"] = value
    return data


def row(**changes):
    values = {
        "contact_on": dt.date.today().isoformat(),
        "age_band": "18_24",
        "sex": "female",
        "postcode_district": "G31",
        "offered": "",
        "outcome": "declined",
        "reason": "declined:no_problem",
        "naloxone": "already_carries",
        "veteran": "",
    }
    values.update(changes)
    return values


def blank_row():
    return {"contact_on": dt.date.today().isoformat(), "veteran": ""}


def test_a_batch_at_the_end_of_a_shift_is_saved_together(client, session, people):
    sign_in(client, "c@t.example")
    page = client.get("/contacts/new/batch").get_data(as_text=True)
    assert page.count('name="rows-') >= 8 * 9  # eight rows ready
    data = batch(
        [
            row(),
            blank_row(),
            row(outcome="not_suitable", reason="not_suitable:intoxicated", offered="no"),
            row(outcome="released_before_seen", reason="", naloxone="not_offered"),
            row(outcome="referral_made", reason="", postcode_district="nfa", veteran="yes"),
            blank_row(),
        ]
    )
    response = client.post("/contacts/new/batch", data=data)
    assert response.status_code == 302 and response.location == "/contacts"
    saved = contacts(session)
    assert [c.outcome for c in saved] == [
        "declined",
        "not_suitable",
        "released_before_seen",
        "referral_made",
    ]
    assert saved[0].decline_reason == "no_problem" and saved[0].offered
    assert saved[1].not_suitable_reason == "intoxicated" and not saved[1].offered
    assert not saved[2].offered
    assert saved[3].postcode_district is None and saved[3].veteran is True
    listing = client.get("/contacts").get_data(as_text=True)
    assert "Saved 4 contacts. 1 is waiting for the referral" in listing
    assert "Referrals still to make (1)" in listing
    details = session.scalars(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "contact_recorded")
    ).all()
    assert [re.search(r'"batch_row": \d+', d).group(0) for d in details] == [
        '"batch_row": 1',
        '"batch_row": 3',
        '"batch_row": 4',
        '"batch_row": 5',
    ]


def test_a_batch_with_a_mistake_saves_nothing_and_says_which_row(client, session, people):
    sign_in(client, "c@t.example")
    data = batch(
        [
            row(),
            row(age_band="", postcode_district="ZZ9"),
            blank_row(),
            row(outcome="declined", reason="not_suitable:risk"),
        ]
    )
    response = client.post("/contacts/new/batch", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Row 2: Choose the person&#39;s age band." in html
    assert "Row 2: We do not know that postcode district." in html
    assert (
        "Row 4: “Risk to staff: not safe to see” is a reason for “Not suitable”: choose why "
        "the person declined, or change the outcome." in unescape(html)
    )
    # Each problem once, in words: no lists of field errors printed as they are held.
    assert "{" not in html.split("<table", 1)[0].split("</h1>", 1)[1]
    assert "[&#39;" not in html and "{&#39;" not in html
    assert "Row 1:" not in html and "Row 3:" not in html
    assert 'href="#rows-1-age_band"' in html  # the summary links to the field
    assert 'value="ZZ9"' in html  # what was typed is kept
    assert contacts(session) == []
    assert "contact_recorded" not in actions(session)


def test_an_empty_batch_asks_for_a_row_and_more_rows_can_be_added(client, session, people):
    sign_in(client, "c@t.example")
    response = client.post("/contacts/new/batch", data=batch([blank_row(), blank_row()]))
    assert response.status_code == 400
    assert "Fill in at least one row" in response.get_data(as_text=True)
    response = client.post("/contacts/new/batch", data=batch([row(), blank_row()], add_rows="1"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="rows-5-age_band"' in html and "error-summary" not in html
    assert contacts(session) == []


# -- the list, a contact's page, changing it --------------------------------------------


def add_contacts(session, user, days_and_outcomes):
    made = []
    for days, outcome in days_and_outcomes:
        contact = CustodyContact(
            custody_suite_id=user.custody_suite_id,
            contact_on=dt.date.today() - dt.timedelta(days=days),
            recorded_by_id=user.id,
            age_band="25_34",
            sex="male",
            postcode_district="G31",
            council_area_id=council(session, "Glasgow City").id,
            offered=outcome in ("referral_made", "declined"),
            outcome=outcome,
            decline_reason="no_reason" if outcome == "declined" else None,
            not_suitable_reason="other" if outcome == "not_suitable" else None,
            naloxone="not_offered",
        )
        session.add(contact)
        made.append(contact)
    session.commit()
    return made


def listed_ids(html):
    return [int(i) for i in re.findall(r'href="/contacts/(\d+)"', html)]


def test_the_list_shows_the_suites_contacts_newest_first_a_page_at_a_time(
    client, session, people, monkeypatch
):
    monkeypatch.setattr("referrals.contacts.listing.PER_PAGE", 4)
    ours = add_contacts(session, people["custody"], [(d % 5, "declined") for d in range(10)])
    add_contacts(session, people["other_custody"], [(0, "declined")])
    expected = [c.id for c in sorted(ours, key=lambda c: (c.contact_on, c.id), reverse=True)]
    sign_in(client, "c@t.example")
    seen, url = [], "/contacts"
    while url:
        html = client.get(url).get_data(as_text=True)
        page = listed_ids(html)
        assert page and len(page) <= 4
        seen += page
        more = re.search(r'href="([^"]+)" rel="next"', html)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert seen == expected


def test_the_list_filters_by_outcome_and_date(client, session, people):
    made = add_contacts(
        session, people["custody"], [(0, "declined"), (3, "not_suitable"), (6, "declined")]
    )
    sign_in(client, "c@t.example")
    assert listed_ids(client.get("/contacts?outcome=declined").get_data(as_text=True)) == [
        made[0].id,
        made[2].id,
    ]
    before = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    html = client.get(f"/contacts?on_or_before={before}").get_data(as_text=True)
    assert listed_ids(html) == [made[1].id, made[2].id]
    bad = client.get("/contacts?on_or_before=soon")
    assert bad.status_code == 400
    assert "Enter a date like 27/11/2026 or 27 Nov 2026." in bad.get_data(as_text=True)
    assert "No contacts match" in client.get("/contacts?outcome=referral_made").get_data(
        as_text=True
    )


def test_a_contact_can_be_changed_and_the_change_is_audited(client, session, people):
    sign_in(client, "c@t.example")
    client.post("/contacts/new", data=contact_form(outcome="referral_made", decline_reason=None))
    [contact] = contacts(session)
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "The referral has not been made yet." in page
    assert actions(session)[-1] == "contact_viewed"
    form = client.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)
    assert 'value="referral_made"' in form and 'name="version" type="hidden" value="1"' in form
    response = client.post(
        f"/contacts/{contact.id}/edit",
        data=contact_form(version="1", outcome="declined", decline_reason="self_refer"),
    )
    assert response.status_code == 302 and response.location == f"/contacts/{contact.id}"
    [contact] = contacts(session)
    assert contact.outcome == "declined" and contact.decline_reason == "self_refer"
    assert contact.version == 2
    change = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "contact_updated"))
    assert '"outcome": ["referral_made", "declined"]' in change.detail
    # A form shown before that change is refused.
    stale = client.post(
        f"/contacts/{contact.id}/edit",
        data=contact_form(version="1", outcome="declined", decline_reason="no_reason"),
    )
    assert stale.status_code == 409
    assert "Someone else changed this contact" in stale.get_data(as_text=True)
    assert contacts(session)[0].decline_reason == "self_refer"


def test_a_corrected_district_is_not_kept_in_the_audit_log(client, session, people):
    """The district is erased with the referral's personal data, and the audit log is
    never changed: a correction of it is logged as a change, without either district."""
    sign_in(client, "c@t.example")
    client.post("/contacts/new", data=contact_form())
    [contact] = contacts(session)
    assert edit_contact(client, session, contact.id, postcode_district="G40").status_code == 302
    assert contacts(session)[0].postcode_district == "G40"
    change = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "contact_updated"))
    assert '"postcode_district": "changed"' in change.detail
    every = " ".join(d or "" for d in session.scalars(sa.select(AuditEvent.detail)))
    assert "G31" not in every and "G40" not in every


def test_a_contact_that_led_to_a_referral_is_not_changed_here(client, session, people):
    sign_in(client, "c@t.example")
    client.post("/referrals/new", data=referral_data(people["service"].id))
    [contact] = contacts(session)
    response = client.post(
        f"/contacts/{contact.id}/edit", data=contact_form(version="1"), follow_redirects=True
    )
    assert "change the referral instead" in response.get_data(as_text=True)
    assert contacts(session)[0].outcome == "referral_made"


def test_a_contact_whose_referral_was_entered_in_error_can_be_given_another_outcome(
    client, session, people
):
    """The referral was a mistake and the person declined after all: the contact, waiting
    again, can say so (it offered "Change the outcome" and then refused it), and then
    counts as declined, not as a referral made. Taking the closing back then needs the
    contact back as "referral made" first; once it is, the contact returns to it."""
    sign_in(client, "c@t.example")
    wrong, contact = referral_in_error(client, session, people)
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert f'href="/contacts/{contact.id}/edit">Change the outcome' in page
    # Listed as waiting again, not as the referral entered in error.
    listed = client.get("/contacts").get_data(as_text=True)
    row = listed[listed.index(f'href="/contacts/{contact.id}"') :]
    row = row[: row.index("</tr>")]
    assert "Referral not made yet" in row and wrong.reference not in row
    form = client.get(f"/contacts/{contact.id}/edit")
    assert form.status_code == 200 and 'value="referral_made"' in form.get_data(as_text=True)
    response = edit_contact(
        client, session, contact.id, outcome="declined", decline_reason="not_ready"
    )
    assert response.status_code == 302 and response.location == f"/contacts/{contact.id}"
    [contact] = contacts(session)
    assert contact.outcome == "declined" and contact.referral_id is None
    assert contact.released_from_id == wrong.id
    assert "Referrals still to make" not in client.get("/contacts").get_data(as_text=True)
    change = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "contact_updated"))
    assert f'"referral_id": [{wrong.id}, null]' in change.detail

    # Undoing the closing now would make a referral of a contact that says "declined".
    undo = client.post(
        f"/referrals/{wrong.id}/undo",
        data={"version": str(session.get(Referral, wrong.id).version)},
    )
    assert undo.status_code == 400
    assert "was changed to “declined”" in undo.get_data(as_text=True)
    session.expire_all()
    assert session.get(Referral, wrong.id).close_reason == "entered_in_error"

    # Back to "referral made", the contact waits again; undoing the closing takes it back.
    edit_contact(client, session, contact.id, outcome="referral_made")
    assert contacts(session)[0].outcome == "referral_made"
    session.expire_all()
    undo = client.post(
        f"/referrals/{wrong.id}/undo",
        data={"version": str(session.get(Referral, wrong.id).version)},
    )
    assert undo.status_code == 302
    [contact] = contacts(session)
    assert contact.referral_id == wrong.id and contact.released_from_id is None
    assert session.get(Referral, wrong.id).close_reason is None


def test_a_contact_let_go_at_the_moment_its_referral_changes_is_not_saved(
    client, session, people, app
):
    """The contact's referral, closed as entered in error, changes between reading and
    saving the contact (its closing taken back at that moment, say): the change of
    outcome is checked against the referral's version too, and not saved, rather than
    leaving an open referral with no contact."""
    from referrals.contacts import views as contact_views

    sign_in(client, "c@t.example")
    wrong, contact = referral_in_error(client, session, people)
    version = str(contacts(session)[0].version)
    real = contact_views.update_contact

    def colleague_first(db_session, *args):
        # The contact (and its referral) are read; a colleague's change to the referral
        # commits before this save does.
        with app.app_context():
            other = db.engine.connect()
            other.execute(
                sa.update(Referral.__table__)
                .where(Referral.id == wrong.id)
                .values(version=Referral.__table__.c.version + 1)
            )
            other.commit()
            other.close()
        return real(db_session, *args)

    contact_views.update_contact = colleague_first
    try:
        response = client.post(
            f"/contacts/{contact.id}/edit",
            data=contact_form(version=version, outcome="declined", decline_reason="not_ready"),
        )
    finally:
        contact_views.update_contact = real
    assert response.status_code == 409
    [contact] = contacts(session)
    assert contact.outcome == "referral_made" and contact.referral_id == wrong.id


def test_a_released_contact_made_into_the_right_referral_is_taken_over_by_it(
    client, session, people
):
    """Let go as "declined", then back to "referral made" and made into a new referral:
    the new one holds the contact, and the first, closed as entered in error, cannot
    take it back while the new one counts."""
    sign_in(client, "c@t.example")
    wrong, contact = referral_in_error(client, session, people)
    for outcome, reason in (("declined", "not_ready"), ("referral_made", None)):
        response = edit_contact(
            client, session, contact.id, outcome=outcome, decline_reason=reason
        )
        assert response.status_code == 302
        assert contacts(session)[0].outcome == outcome
    client.post("/referrals/new", data=referral_data(people["service"].id, contact.id))
    right = session.scalar(sa.select(Referral).where(Referral.id != wrong.id))
    [contact] = contacts(session)
    assert contact.referral_id == right.id and contact.released_from_id is None
    session.expire_all()
    undo = client.post(
        f"/referrals/{wrong.id}/undo",
        data={"version": str(session.get(Referral, wrong.id).version)},
    )
    assert undo.status_code == 400
    assert f"now belongs to referral {right.reference}" in undo.get_data(as_text=True)


def test_a_closing_taken_back_along_a_chain_finds_a_contact_let_go_by_the_last(
    client, session, people
):
    """Wrong, closed as entered in error; made again from the contact, closed again; the
    contact then says "declined". Reopening the first finds the contact let go by the
    second: refused while it says "declined" (the reopened referral would count with no
    contact); back to "referral made", the contact comes back to the first, and no
    third referral can take it too."""
    right = make_service(session, organisation=people["service"].organisation, name="Right MAT")
    session.commit()

    def close(referral_id):
        assert close_in_error(client, session, referral_id).status_code == 302

    def edit(**answers):
        assert edit_contact(client, session, contact.id, **answers).status_code == 302

    def reopen():
        session.expire_all()
        version = session.get(Referral, first).version
        return client.post(
            f"/referrals/{first}/reopen",
            data={"reopen-version": str(version), "reopen-note": "The right service"},
        )

    sign_in(client, "c@t.example")
    client.post("/referrals/new", data=referral_data(people["service"].id))
    first = session.scalar(sa.select(Referral.id))
    [contact] = contacts(session)
    close(first)
    client.post("/referrals/new", data=referral_data(right.id, contact.id))
    second = session.scalar(sa.select(Referral.id).where(Referral.id != first))
    close(second)
    edit(outcome="declined", decline_reason="not_ready")
    assert contacts(session)[0].released_from_id == second
    client.post("/logout")
    sign_in(client, "a@t.example")
    refused = reopen()
    assert refused.status_code == 400
    assert "was changed to “declined”" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Referral, first).close_reason == "entered_in_error"

    client.post("/logout")
    sign_in(client, "c@t.example")
    edit(outcome="referral_made")
    client.post("/logout")
    sign_in(client, "a@t.example")
    assert reopen().status_code == 302
    [contact] = contacts(session)
    assert contact.referral_id == first and contact.released_from_id is None
    assert session.get(Referral, second).contact_moved_to_id == first
    assert not contact.awaiting_referral  # nothing left for a third referral to take


def test_old_contacts_keep_their_date_when_changed(client, session, people):
    [old] = add_contacts(session, people["custody"], [(60, "not_suitable")])
    sign_in(client, "c@t.example")
    response = client.post(
        f"/contacts/{old.id}/edit",
        data=contact_form(
            version="1",
            contact_on=old.contact_on.isoformat(),
            outcome="not_suitable",
            offered="no",
            not_suitable_reason="risk",
        ),
    )
    assert response.status_code == 302
    assert contacts(session)[0].not_suitable_reason == "risk"


def test_a_waiting_contact_is_offered_with_its_details_and_both_links(client, session, people):
    sign_in(client, "c@t.example")
    client.post(
        "/contacts/new",
        data=contact_form(outcome="referral_made", decline_reason=None, postcode_district="G34"),
    )
    [contact] = contacts(session)
    when = f"{contact.contact_on.day} {contact.contact_on:%b %Y}"
    form = client.get(f"/referrals/new?service={people['service'].id}").get_data(as_text=True)
    who = f"{when}, 25 to 34, male"
    assert (
        "\n    <li>"
        f"\n      <span>{when}: 25 to 34, male, G34 (Glasgow City)</span>"
        '\n      <span class="actions">'
        f'\n        <a class="button" href="/referrals/new?contact={contact.id}&amp;service='
        f'{people["service"].id}">Make the referral<span class="visually-hidden"> for the '
        f"contact of {who}</span></a>"
        f'\n        <a href="/contacts/{contact.id}/edit">Change the outcome<span '
        f'class="visually-hidden"> of the contact of {who}</span></a>'
        "\n      </span>"
        "\n    </li>\n    "
    ) in form


def test_an_administrator_sees_every_suites_waiting_contacts_but_makes_no_referral(
    client, session, people
):
    sign_in(client, "a@t.example")
    glasgow = suite(session, "GLA-LR").id
    response = client.post(
        "/contacts/new",
        data=contact_form(
            custody_suite_id=str(glasgow), outcome="referral_made", decline_reason=None
        ),
    )
    assert response.status_code == 302 and response.location == "/contacts/new"
    listing = client.get("/contacts").get_data(as_text=True)
    assert "Referrals still to make (1)" in listing
    assert "London Road Police Office custody" in listing
    assert "/referrals/new?contact=" not in listing  # only custody staff make referrals


def test_the_contact_forms_say_how_to_give_no_fixed_abode_on_that_form(client, people):
    """The single form has a box to tick; the batch's rows take NFA typed."""
    sign_in(client, "c@t.example")
    single = client.post("/contacts/new", data=contact_form(postcode_district="ZZ9"))
    assert single.status_code == 400
    text = unescape(single.get_data(as_text=True))
    assert "or tick “No fixed abode”" in text and "enter NFA" not in text
    rows = client.post("/contacts/new/batch", data=batch([row(postcode_district="ZZ9")]))
    assert "or enter NFA for no fixed abode" in unescape(rows.get_data(as_text=True))


def test_the_contact_list_date_hint_is_an_example_in_the_way_dates_are_typed(client, people):
    sign_in(client, "c@t.example")
    html = client.get("/contacts").get_data(as_text=True)
    assert "2026-11-30" not in html and "For example," in html


# -- answers as a tired officer types them ------------------------------------------------


def _referrals(session):
    session.expire_all()
    return session.scalars(sa.select(Referral).order_by(Referral.id)).all()


@pytest.mark.parametrize(
    ("method", "phone", "saved"),
    [
        ("text", "0141 496 0123", False),  # a landline cannot take a text
        ("text", "0800 123 456", False),
        ("text", "07700 900123", True),
        ("text", "+44 (0)7700 900123", True),
        ("phone", "+44 (0)7700 900123", True),  # written the way many people write it
        ("phone", "0044 141 496 0123", True),
        ("phone", "0141 496 0123", True),
    ],
)
def test_phone_numbers_are_read_as_people_write_them_and_texts_need_a_mobile(
    client, session, people, method, phone, saved
):
    sign_in(client, "c@t.example")
    answer = client.post(
        "/referrals/new",
        data=referral_data(people["service"].id, contact_method=method, contact_phone=phone),
    )
    assert (answer.status_code == 302) is saved
    if not saved:
        assert "Text messages need a mobile number, starting 07" in answer.get_data(as_text=True)
        assert _referrals(session) == []


def test_a_phone_number_with_plus_44_and_0_is_dialled_without_the_0(client, session, people):
    from .factories import make_user

    make_user(
        session, Role.PROVIDER, email="p@t.example", organisation=people["service"].organisation
    )
    session.commit()
    sign_in(client, "c@t.example")
    client.post(
        "/referrals/new",
        data=referral_data(
            people["service"].id, contact_method="phone", contact_phone="+44 (0)7700 900123"
        ),
    )
    [referral] = _referrals(session)
    provider = client.application.test_client()
    sign_in(provider, "p@t.example")
    for page in (f"/referrals/{referral.id}", "/worklist"):
        assert 'href="tel:+447700900123"' in provider.get(page).get_data(as_text=True)


def test_no_fixed_abode_typed_in_a_shifts_batch_is_understood(client, session, people):
    sign_in(client, "c@t.example")
    answer = client.post(
        "/contacts/new/batch", data=batch([row(postcode_district="No fixed abode")])
    )
    assert answer.status_code == 302
    [contact] = contacts(session)
    assert contact.postcode_district is None


def test_under_16_as_the_reason_needs_the_under_18_age_band(client, session, people):
    sign_in(client, "c@t.example")
    answers = dict(outcome="not_suitable", offered=None, decline_reason=None)
    answers["not_suitable_reason"] = "under_16"
    refused = client.post("/contacts/new", data=contact_form(age_band="45_54", **answers))
    assert refused.status_code == 400
    assert "does not fit the age band “45 to 54”" in unescape(refused.get_data(as_text=True))
    assert contacts(session) == []
    ok = client.post("/contacts/new", data=contact_form(age_band="under_18", **answers))
    assert ok.status_code == 302 and len(contacts(session)) == 1


def test_a_contact_released_from_a_referral_is_erased_and_exported_with_it(
    app, client, session, people
):
    """The referral was entered in error and its contact given another outcome: the
    contact still points at the referral (and holds the district copied from it). The
    purge erases that district too, and a subject-access export shows the contact."""
    import json

    from referrals.privacy.purge import run_scheduled_purge

    sign_in(client, "c@t.example")
    wrong, contact = referral_in_error(client, session, people)
    assert edit_contact(client, session, contact.id, outcome="declined").status_code == 302
    client.post("/logout")
    sign_in(client, "a@t.example")
    download = client.post(
        "/admin/subject-access", data={"person_ref": "GLA/26/001234", "download": "1"}
    )
    [record] = json.loads(download.get_data(as_text=True))["referrals"]
    assert record["custody_contact"]["outcome"] == "Declined"
    assert record["custody_contact"]["released_from_the_referral"] is True
    assert record["custody_contact"]["postcode_district"] == "G31"
    old = dt.date.today() - dt.timedelta(days=800)
    session.execute(sa.update(Referral).where(Referral.id == wrong.id).values(closed_on=old))
    session.commit()
    with app.app_context():
        assert run_scheduled_purge(db.session).referrals.erased == 1
        db.session.commit()
    [contact] = contacts(session)
    assert contact.released_from_id == wrong.id and contact.postcode_district is None
