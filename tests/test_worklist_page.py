"""The worklist as its users see it: whose referrals it lists, and its forms as a
provider's browser sends them (written from plain values with one CSRF token for the
page, they post exactly as the forms built per referral did, and the server still
checks every post)."""

import datetime as dt
import re
from html import unescape

import pytest
from flask import render_template
from flask_login import login_user

from referrals.extensions import db
from referrals.models import Referral, User

from .factories import make_organisation, make_people, make_referral, make_service
from .test_auth import PASSWORD, next_code, sign_in

TODAY = dt.date.today()
FORM = re.compile(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', re.S)
INPUT = re.compile(r"<input [^>]*>")
ATTR = re.compile(r'([\w-]+)="([^"]*)"')


@pytest.fixture
def people(session):
    return make_people(session)


@pytest.fixture
def guarded(app_factory):
    """An app that checks the CSRF token of every post, as in production."""
    return app_factory(WTF_CSRF_ENABLED=True)


def fields(html: str) -> dict[str, str]:
    """The values a browser sends for ``html``'s inputs (hidden ones, and text boxes)."""
    sent = {}
    for tag in INPUT.findall(html):
        attrs = dict(ATTR.findall(tag))
        if attrs.get("type") in ("hidden", "text") and "name" in attrs:
            sent[attrs["name"]] = unescape(attrs.get("value", ""))
    return sent


def forms(page: str) -> dict[str, str]:
    """Each form's HTML by the address it posts to."""
    return {action: body for action, body in FORM.findall(page)}


def sign_in_with_tokens(client, email: str) -> None:
    def token(path):
        return fields(client.get(path).get_data(as_text=True))["csrf_token"]

    data = {"email": email, "password": PASSWORD, "csrf_token": token("/login")}
    response = client.post("/login", data=data)
    assert response.status_code == 302 and response.location.startswith("/login/verify")
    code = next_code(client.application, email)
    response = client.post(
        "/login/verify", data={"code": code, "csrf_token": token(response.location)}
    )
    assert response.status_code == 302


def started(session, people, days_ago: int) -> Referral:
    start = TODAY - dt.timedelta(days=days_ago)
    referral = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=start - dt.timedelta(days=10),
        status="treatment_started",
        accepted_on=start - dt.timedelta(days=9),
        engaged_on=start - dt.timedelta(days=5),
        treatment_started_on=start,
        needs="treatment,bbv",
    )
    session.commit()
    return referral


def second_page_of_new(guarded, session, people, count: int):
    """``count`` new referrals, and the provider's worklist at the second page of "New"
    (as its "Next page" link opens it): the client, the referrals, the ``after`` the
    link gives and the page."""
    made = [
        make_referral(
            session,
            service=people["service"],
            referrer=people["custody"],
            referred_on=TODAY - dt.timedelta(days=1),
        )
        for _ in range(count)
    ]
    session.commit()
    client = guarded.test_client()
    sign_in_with_tokens(client, "p@t.example")
    first = client.get("/worklist").get_data(as_text=True)
    after = re.search(r'section=new&amp;after=(\d+)#new" rel="next"', first).group(1)
    page = client.get(f"/worklist?section=new&after={after}").get_data(as_text=True)
    return client, made, after, page


def test_a_button_returns_to_the_page_of_the_section_it_was_pressed_in(guarded, session, people):
    """ "Accept today" on the second page of new referrals comes back to that page, opened
    at that section, with what was saved said there, not at the top of the page."""
    client, made, after, page = second_page_of_new(guarded, session, people, 13)
    second = page[page.index('<h2 id="new">') : page.index('<h2 id="accepted">')]
    shown = [r for r in made if f'id="ref-{r.id}"' in second]
    assert len(shown) == 3
    accept = f"/referrals/{shown[0].id}/accept"
    sent = fields(forms(page)[accept])
    assert sent["back"] == "worklist" and sent["section"] == "new" and sent["after"] == after
    response = client.post(accept, data=sent)
    assert response.status_code == 302
    assert response.location == f"/worklist?section=new&after={after}#new"

    page = client.get(response.location).get_data(as_text=True)
    said = f"Referral {shown[0].reference} accepted."
    section = page[page.index('<h2 id="new">') : page.index('<h2 id="accepted">')]
    assert said in section and 'id="messages"' in section
    assert page.count(said) == 1  # not at the top as well
    assert f'id="ref-{shown[0].id}"' not in section
    assert f'id="ref-{shown[1].id}"' in section  # the rest of the page, where it was
    session.expire_all()
    assert session.get(Referral, shown[0].id).status == "accepted"
    # Pages opened otherwise say it at the top, as before.
    client.post(
        f"/referrals/{shown[1].id}/accept",
        data=fields(forms(page)[f"/referrals/{shown[1].id}/accept"]) | {"section": ""},
    )
    page = client.get("/worklist").get_data(as_text=True)
    top = page[: page.index("worklist-counts")]
    assert f"Referral {shown[1].reference} accepted." in top


def test_a_page_left_empty_by_a_button_shows_the_section_from_its_start(guarded, session, people):
    """Accepting the only referral on a section's last page leaves that page empty:
    the section is shown from its start (with the message), not as "No new referrals"
    under a count of ten."""
    client, made, after, page = second_page_of_new(guarded, session, people, 11)
    [last] = [r for r in made if f'id="ref-{r.id}"' in page]
    accept = f"/referrals/{last.id}/accept"
    response = client.post(accept, data=fields(forms(page)[accept]))
    assert response.location == f"/worklist?section=new&after={after}#new"
    page = client.get(response.location).get_data(as_text=True)
    section = page[page.index('<h2 id="new">') : page.index('<h2 id="accepted">')]
    assert "New: awaiting acceptance (10)" in section
    assert f"Referral {last.reference} accepted." in section
    assert "No new referrals" not in section
    assert section.count('class="worklist-item"') == 10


def test_the_one_click_button_and_the_outcome_form_post_as_the_page_wrote_them(
    guarded, session, people
):
    new = make_referral(session, service=people["service"], referrer=people["custody"])
    due = started(session, people, 90)
    client = guarded.test_client()
    sign_in_with_tokens(client, "p@t.example")
    page = client.get("/worklist").get_data(as_text=True)
    written = forms(page)

    accept = f"/referrals/{new.id}/accept"
    sent = fields(written[accept])
    assert set(sent) == {"csrf_token", "accept-version", "back", "section"}
    assert client.post(accept, data={"back": "worklist"}).status_code == 400  # no token
    response = client.post(accept, data=sent)
    assert response.status_code == 302 and response.location == "/worklist?section=new#new"
    page = client.get("/worklist").get_data(as_text=True)
    assert f"{new.reference}: accepted at " in page
    undo = f"/referrals/{new.id}/undo"
    sent = fields(forms(page)[undo])
    assert set(sent) == {"csrf_token", "version", "back"}
    response = client.post(undo, data=sent)
    assert response.status_code == 302 and response.location == "/worklist"
    page = client.get("/worklist").get_data(as_text=True)
    assert "Your changes in the last 15 minutes" not in page
    sent = fields(forms(page)[accept])
    assert client.post(accept, data=sent).status_code == 302

    outcome = f"/referrals/{due.id}/outcome/retention"
    sent = fields(written[outcome])
    prefix = f"o{due.id}-retention"
    assert sent[f"{prefix}-on"] == f"{TODAY.day}/{TODAY.month}/{TODAY.year}"
    assert sent[f"{prefix}-csrf_token"] == fields(written[accept])["csrf_token"]
    response = client.post(outcome, data=sent)  # no answer chosen
    assert response.status_code == 400
    assert "12-week check: Choose an answer." in response.get_data(as_text=True)
    response = client.post(outcome, data=sent | {f"{prefix}-value": "retained"})
    assert response.status_code == 302
    assert response.location == "/worklist?section=outcomes#outcomes"

    session.expire_all()
    assert session.get(Referral, new.id).status == "accepted"
    assert session.get(Referral, due.id).retention_outcome == "retained"


def test_the_worklist_writes_the_same_outcome_forms_as_the_referral_page_builds(
    guarded, session, people
):
    due = started(session, people, 90)
    offered = started(session, people, 30)
    offered.bbv_test_offered_on = TODAY - dt.timedelta(days=3)
    session.commit()
    client = guarded.test_client()
    sign_in_with_tokens(client, "p@t.example")
    page = client.get("/worklist").get_data(as_text=True)
    outcomes = page[page.index('id="outcomes"') :]

    def normal(html: str) -> str:
        html = re.sub(r'(csrf_token" type="hidden" value=)"[^"]+"', r'\1"TOKEN"', html)
        return re.sub(r"\s+", " ", html).replace("> <", "><").strip()

    with guarded.test_request_context("/worklist"):
        login_user(db.session.get(User, people["provider"].id))
        for referral_id, kinds in ((due.id, ["retention", "bbv"]), (offered.id, ["bbv"])):
            referral = db.session.get(Referral, referral_id)
            built = render_template(
                "tracking/_outcome_forms.html", referral=referral, back="worklist"
            )
            assert normal(built).count("<form ") == len(kinds)
            assert normal(built) in normal(outcomes)


def test_a_provider_sees_their_organisations_referrals_and_an_administrator_everyones(
    client, session, people
):
    other = make_service(session, organisation=make_organisation(session, "Org Y"), name="Y")
    ours = make_referral(session, service=people["service"], referrer=people["custody"])
    theirs = make_referral(session, service=other, referrer=people["custody"])
    urgent = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        status="accepted",
        accepted_on=TODAY,
        same_day_urgent=True,
        children_in_household=True,
    )
    session.commit()

    sign_in(client, "p@t.example")
    page = client.get("/worklist").get_data(as_text=True)
    assert "Referrals to Org X's services." in page
    assert ours.reference in page and theirs.reference not in page
    assert "New: awaiting acceptance (1)" in page and "Awaiting first attendance (1)" in page
    item = page[page.index(f'id="ref-{urgent.id}"') :]
    item = item[: item.index("</li>")]
    assert "Urgent" in item and "Children in household" in item
    assert "Glasgow MAT" in item and "Glasgow City" in item
    assert f'action="/referrals/{urgent.id}/attend"' in item
    assert "Record first attendance today" in item
    client.post("/logout")

    sign_in(client, "a@t.example")
    page = client.get("/worklist").get_data(as_text=True)
    assert "Referrals to every service." in page
    assert ours.reference in page and theirs.reference in page
    assert "New: awaiting acceptance (2)" in page


def test_the_answer_by_dates_follow_the_bank_holidays_of_the_installations_region(
    app, client, session, people
):
    from .test_notifications import Clock

    # Made Friday 27 Nov 2026; Monday 30 Nov is St Andrew's Day, a holiday in Scotland only.
    made = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=dt.date(2026, 11, 27),
    )
    session.commit()
    app.config["CLOCK"] = Clock(dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC))
    sign_in(client, "p@t.example")
    app.config["BANK_HOLIDAY_REGION"] = "SCT"
    page = client.get("/worklist").get_data(as_text=True)
    assert made.reference in page and "respond by 7 Dec 2026" in page
    app.config["BANK_HOLIDAY_REGION"] = "ENG"
    page = client.get("/worklist").get_data(as_text=True)
    assert "respond by 4 Dec 2026" in page
    assert "Overdue: no response within 5 working days (0)" in page
    app.config["CLOCK"] = Clock(dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC))
    # The day before's session has ended: the next page signs the browser out.
    assert client.get("/worklist").location.startswith("/login")
    sign_in(client, "p@t.example")
    page = client.get("/worklist").get_data(as_text=True)
    assert "Overdue: no response within 5 working days (1)" in page
    app.config["BANK_HOLIDAY_REGION"] = "SCT"
    page = client.get("/worklist").get_data(as_text=True)
    assert "Overdue: no response within 5 working days (0)" in page


def test_the_worklist_decrypts_only_the_contact_details_it_shows(
    client, session, people, monkeypatch
):
    from referrals.encryption import Keyring
    from referrals.tracking import worklist as worklist_module

    monkeypatch.setattr(worklist_module, "SHOWN", 2)
    made = [
        make_referral(session, service=people["service"], referrer=people["custody"])
        for _ in range(3)
    ]
    erased = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        status="accepted",
        accepted_on=TODAY,
    )
    erased.personal_data_erased_at = dt.datetime.now(dt.UTC)
    session.commit()
    first, third = made[0].reference, made[2].reference
    sign_in(client, "p@t.example")
    decrypted = []
    decrypt = Keyring.decrypt

    def counted(self, token):
        decrypted.append(decrypt(self, token))
        return decrypted[-1]

    monkeypatch.setattr(Keyring, "decrypt", counted)
    page = client.get("/worklist").get_data(as_text=True)
    # Two new referrals shown, each with a name and a phone number: the third, read to
    # know there is another page, and the erased one are not decrypted.
    assert first in page and third not in page
    assert page.count('Phone call: Alex Example, <a href="tel:07700900123">') == 2
    assert "<div><dt>Contact</dt><dd>Erased</dd></div>" in page
    contact = [text for text in decrypted if text in ("Alex Example", "07700 900123")]
    assert len(contact) == 4


def test_a_one_click_change_takes_the_day_the_click_arrives(app, client, session, people):
    """A worklist loaded at 23:50 and clicked at 00:05 records the new day, as the button
    says ("Accept today"), not the day the page was loaded."""
    from .test_notifications import Clock

    night = Clock(dt.datetime(2026, 6, 10, 22, 50, tzinfo=dt.UTC))  # 23:50 in London (BST)
    app.config["CLOCK"] = night
    new = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=dt.date(2026, 6, 9),
    )
    session.commit()
    sign_in(client, "p@t.example")
    sent = fields(
        forms(client.get("/worklist").get_data(as_text=True))[f"/referrals/{new.id}/accept"]
    )
    night.advance(minutes=15)  # 00:05 on 11 June in London
    assert client.post(f"/referrals/{new.id}/accept", data=sent).status_code == 302
    session.expire_all()
    assert session.get(Referral, new.id).accepted_on == dt.date(2026, 6, 11)


# psycopg parses a statement's text for its parameters on every run, unless the text has
# at most this many bytes (``MAX_CACHED_STATEMENT_LENGTH``): then it parses it once.
PSYCOPG_KEEPS_PARSED = 4096


def test_the_worklist_statements_are_short_enough_to_be_parsed_once(app):
    """The worklist's statements, sent on every visit, as PostgreSQL receives them (the
    lists of codes written out), for every scope and whichever list is paged either way."""
    from sqlalchemy.dialects import postgresql

    from referrals.tracking import worklist as worklist_module

    values = {
        "cutoff": TODAY,
        "started_before": TODAY,
        "organisation_id": 1,
        "user_organisation_id": 1,
        "pivot": 1,
    }
    dialect = postgresql.psycopg.dialect()
    keys = [*worklist_module.SECTION_KEYS, worklist_module.OUTCOMES]
    shapes = [(None, None)] + [(key, way) for key in keys for way in ("after", "before")]
    for scope in ("all", "organisation", "none"):
        for key, way in shapes:
            built = worklist_module._statements(scope, key, way, worklist_module.SHOWN)
            for statement in (built.page, built.outcomes):
                text = str(
                    statement.params(**values).compile(
                        dialect=dialect, compile_kwargs={"render_postcompile": True}
                    )
                )
                assert len(text.encode()) <= PSYCOPG_KEEPS_PARSED, (scope, key, way)


def test_people_in_treatment_are_found_from_the_worklist(client, session, people):
    """In treatment, with nothing due until the 12-week check: not on the worklist, whose
    link lists them in the referral list (the organisation's only)."""
    started = TODAY - dt.timedelta(days=20)
    ours = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=started - dt.timedelta(days=10),
        status="treatment_started",
        accepted_on=started - dt.timedelta(days=9),
        engaged_on=started - dt.timedelta(days=5),
        treatment_started_on=started,
    )
    theirs = make_referral(
        session,
        service=make_service(session, organisation=make_organisation(session, "Org Y")),
        referrer=people["custody"],
        referred_on=started - dt.timedelta(days=10),
        status="treatment_started",
        accepted_on=started - dt.timedelta(days=9),
        engaged_on=started - dt.timedelta(days=5),
        treatment_started_on=started,
    )
    waiting = make_referral(session, service=people["service"], referrer=people["custody"])
    session.commit()
    sign_in(client, "p@t.example")
    page = client.get("/worklist").get_data(as_text=True)
    assert ours.reference not in page and waiting.reference in page
    link = re.search(r'<a href="([^"]+)">referral list, in treatment</a>', page).group(1)
    listed = client.get(unescape(link)).get_data(as_text=True)
    assert ours.reference in listed
    assert theirs.reference not in listed and waiting.reference not in listed
