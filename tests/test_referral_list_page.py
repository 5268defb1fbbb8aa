"""Custody's referral list: what each row shows (read as plain columns, decrypting only
the custody record number), which rows are overdue, and the count of matches read with
the page."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from referrals.choices import ReferralStatus, Role
from referrals.clock import today_local
from referrals.statement_count import counting
from referrals.workdays import overdue_cutoff

from .factories import make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in
from .test_lists import engine

ROW = re.compile(r"<tr>\s*(.*?)</tr>", re.S)


@pytest.fixture
def staff(session):
    org = make_organisation(session, "Org X")
    data = {
        "service": make_service(session, organisation=org, name="Glasgow MAT & Recovery"),
        "custody": make_user(
            session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
        ),
    }
    session.commit()
    return data


def rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", row) for row in ROW.findall(body)]


def test_each_row_shows_the_referral_and_only_late_unanswered_ones_are_overdue(
    app, client, session, staff
):
    with app.app_context():
        cutoff = overdue_cutoff(today_local(), app.config["OVERDUE_WORKING_DAYS"])
    made = {}
    for name, referred_on, status, person_ref in [
        ("late", cutoff - dt.timedelta(days=1), "made", "GLA/1"),
        ("due today", cutoff, "made", "GLA/2"),
        ("late but answered", cutoff - dt.timedelta(days=3), "accepted", "GLA/3"),
        ("erased", cutoff - dt.timedelta(days=5), "closed", None),
    ]:
        made[name] = make_referral(
            session,
            service=staff["service"],
            referrer=staff["custody"],
            referred_on=referred_on,
            status=status,
            person_ref=person_ref,
        )
    session.commit()
    sign_in(client, "c@t.example")
    with counting(engine(app)) as seen:
        page = client.get("/referrals").get_data(as_text=True)
    shown = {r: row for row in rows(page) for r in made if made[r].reference in row}
    assert len(shown) == 4
    for name, referral in made.items():
        row = shown[name]
        assert f'<a href="/referrals/{referral.id}">{referral.reference}</a>' in row
        assert "Glasgow MAT &amp; Recovery" in row
        assert ReferralStatus(referral.status).label in row
        assert ("Overdue" in row) == (name == "late"), name
    assert "GLA/1" in shown["late"] and "GLA/2" in shown["due today"]
    assert "Erased" in shown["erased"]
    assert "4 referrals." in page
    # Of the encrypted columns, only the custody record number is read.
    [listing] = [sql for sql, _ in seen.sent if "ORDER BY" in sql]
    assert "person_ref" in listing
    assert not re.search(r"notes|contact_name|contact_phone", listing), listing


def test_the_count_comes_with_the_page_and_still_counts_an_empty_one(app, client, session, staff):
    today = dt.date.today()
    for n in range(27):
        make_referral(
            session,
            service=staff["service"],
            referrer=staff["custody"],
            referred_on=today - dt.timedelta(days=n % 5),
        )
    session.commit()
    sign_in(client, "c@t.example")
    with counting(engine(app)) as seen:
        first = client.get("/referrals").get_data(as_text=True)
    assert "27 referrals: 25 on this page, newest first." in first
    assert not [sql for sql in seen.sql if sql.startswith("SELECT count(*)")], seen
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert "27 referrals: 2 on this page, newest first." in second
    none = client.get("/referrals?status=declined").get_data(as_text=True)
    assert "0 referrals." in none and "No referrals match these filters." in none


def test_filters_sent_from_the_form_come_back_as_a_link(client, session, staff):
    """Filtering answers with the list's own address, so that Back from a referral does
    not ask to send a form again; a custody record number is still never in an address."""
    sign_in(client, "c@t.example")
    sent = client.post("/referrals", data={"status": "made", "date_from": "1/1/2026"})
    assert sent.status_code == 302
    assert sent.location.startswith("/referrals?")
    assert "status=made" in sent.location and "date_from=1/1/2026" in sent.location.replace(
        "%2F", "/"
    )
    assert client.get(sent.location).status_code == 200
    searched = client.post("/referrals", data={"reference": "GLA/26/1234"})
    assert searched.status_code == 200  # the number stays out of the address
