"""One referral's page: its timeline of status changes, contact attempts and updates from
the referrer, each with when, by whom and what was said, in the order recorded; read in
the same few statements however long the timeline grows."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from referrals.choices import Role
from referrals.models import ReferralEvent
from referrals.statement_count import counting
from referrals.tracking.models import ContactAttempt, ReferralUpdate

from .factories import make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in
from .test_lists import SIGN_IN_CHECK, engine

AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def page(session):
    org = make_organisation(session, "Harbour Recovery")
    service = make_service(session, organisation=org, name="Harbour MAT")
    custody = make_user(
        session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
    )
    custody.name = "Constable Reid"
    provider = make_user(session, Role.PROVIDER, email="p@t.example", organisation=org)
    provider.name = "Ana Keyworker"
    referral = make_referral(
        session, service=service, referrer=custody, referred_on=AT.date() - dt.timedelta(days=1)
    )
    session.commit()
    return {"referral": referral, "provider": provider, "custody": custody}


def add_timeline(session, page, rounds: int) -> None:
    """``rounds`` of: an attempt, an update from the referrer, a note-only event; an hour
    apart each, so their order is their time."""
    referral = page["referral"]
    for n in range(rounds):
        at = AT + dt.timedelta(hours=3 * n)
        session.add(
            ContactAttempt(
                referral_id=referral.id,
                user_id=page["provider"].id,
                at=at,
                attempted_on=at.date(),
                method="phone",
                outcome="no_answer",
                note=f"Rang the hostel, try {n}",
            )
        )
        session.add(
            ReferralUpdate(
                referral_id=referral.id,
                user_id=page["custody"].id,
                at=at + dt.timedelta(hours=1),
                release_on=dt.date(2026, 12, 4),
                phone_changed=n == 0,
                message=f"Released to a hostel, news {n}",
            )
        )
    session.commit()


def timeline(html: str) -> list[str]:
    part = html[html.index('<ol class="timeline">') : html.index("</ol>")]
    items = re.findall(r"<li[^>]*>(.*?)</li>", part, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_the_timeline_shows_attempts_and_updates_in_order_with_who_and_what(client, session, page):
    add_timeline(session, page, 2)
    sign_in(client, "p@t.example")
    html = client.get(f"/referrals/{page['referral'].id}").get_data(as_text=True)
    entries = timeline(html)
    assert entries[0].startswith("Made")  # the referral's first event
    assert entries[1:] == [
        "Contact attempt: No answer (phone call) on 30 Nov 2026 Logged 30 Nov 2026, 09:00 by "
        "Ana Keyworker Rang the hostel, try 0",
        "Update from the referrer Release date: 4 Dec 2026 New phone number (now on the "
        "referral) Added 30 Nov 2026, 10:00 by Constable Reid Released to a hostel, news 0",
        "Contact attempt: No answer (phone call) on 30 Nov 2026 Logged 30 Nov 2026, 12:00 by "
        "Ana Keyworker Rang the hostel, try 1",
        "Update from the referrer Release date: 4 Dec 2026 Added 30 Nov 2026, 13:00 by "
        "Constable Reid Released to a hostel, news 1",
    ]
    assert "Release date</dt><dd>4 Dec 2026 (from the referrer)" in html


def test_the_page_reads_the_same_statements_however_long_the_timeline(app, client, session, page):
    sign_in(client, "p@t.example")
    url = f"/referrals/{page['referral'].id}"

    def statements() -> int:
        with counting(engine(app)) as seen:
            assert client.get(url).status_code == 200
        return seen.count

    short = statements()
    add_timeline(session, page, 6)
    session.add(
        ReferralEvent(
            referral_id=page["referral"].id,
            user_id=page["provider"].id,
            from_status="made",
            to_status="made",
            event_date=AT.date(),
            note="Spoke to the custody nurse",
        )
    )
    session.commit()
    assert statements() == short
    # The user and the nation's settings; the referral; its attempts and updates; the
    # audit row for the view.
    assert short - SIGN_IN_CHECK <= 4


def test_a_refused_change_shows_the_whole_page_again_with_the_reason(client, session, page):
    """A status change reads the referral without the person's details; when the change
    is refused, the page shown again has them all, with the reason and the typed date."""
    referral = page["referral"]
    sign_in(client, "p@t.example")
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).strftime("%d/%m/%Y")
    response = client.post(
        f"/referrals/{referral.id}/accept",
        data={"accept-on": tomorrow, "accept-version": str(referral.version)},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The date cannot be in the future." in html
    assert referral.person_ref in html and "07700 900123" in html
    assert f'id="accept-on" name="accept-on" type="text" value="{tomorrow}"' in html
    assert "Harbour MAT" in html and "Constable Reid" in html
    session.expire_all()
    assert session.get(type(referral), referral.id).status == "made"


@pytest.mark.parametrize("csrf", [False, True])
@pytest.mark.parametrize("role", [Role.PROVIDER, Role.CUSTODY, Role.ADMIN])
def test_a_blank_form_kept_for_the_day_reads_as_one_written_afresh(app, role, csrf):
    """Each change's blank fields, the contact attempt's and the update's are written
    once a day with marks for the page's own values: filled in, they are the fields a
    form built afresh writes, with the reasons the user may give and the one suggested."""
    from types import SimpleNamespace

    from referrals.clock import today_local
    from referrals.tracking import detail_forms
    from referrals.tracking.actions import ACTIONS
    from referrals.tracking.forms import ContactAttemptForm, UpdateForm, transition_form

    def afresh(name: str, version: int, today, reason=None) -> str:
        form = transition_form(name, formdata=None)
        form.version.data = version
        form.on.data = today
        form.on.label.text = ACTIONS[name].date_label
        if "reason" in form:
            form.reason.choices = detail_forms.change_reasons(name, role)
            if reason:
                form.reason.data = reason
        return str(detail_forms.change_fields(name, form))

    def once_token(html: str) -> str:
        return re.sub(r'name="form_token" value="[^"]*"', 'name="form_token" value=""', html)

    app.config["WTF_CSRF_ENABLED"] = csrf
    with app.test_request_context("/"):
        today = today_local()
        for reason in (None, "not_contactable"):
            for version in (1, 7):
                referral = SimpleNamespace(version=version)
                shown = detail_forms.change_forms(
                    referral, list(ACTIONS.values()), role, today, closing_reason=reason
                )
                for name, html in shown.items():
                    expected = afresh(name, version, today, reason if name == "close" else None)
                    assert str(html) == expected, (name, reason, version)
        attempt = ContactAttemptForm(formdata=None)
        attempt.attempted_on.data = today
        assert once_token(str(detail_forms.blank_attempt(today))) == once_token(
            str(detail_forms.attempt_fields(attempt))
        )
        assert once_token(str(detail_forms.blank_update(today))) == once_token(
            str(detail_forms.update_fields(UpdateForm(formdata=None)))
        )
        if csrf:
            assert 'name="accept-csrf_token"' in str(shown["accept"])
        assert "\x00" not in "".join(map(str, shown.values()))
