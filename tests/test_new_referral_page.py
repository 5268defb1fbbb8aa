"""The new-referral form: what it looks up to be shown (the suite's name, the councils in
name order, every district's council for the look-up as it is typed), and a save that
reads nothing only the form needs."""

from __future__ import annotations

import html as htmllib
import json
import re

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import CouncilArea, PostcodeDistrict, Referral
from referrals.statement_count import counting

from .factories import make_organisation, make_service, make_user, suite
from .test_auth import sign_in
from .test_lists import engine
from .test_referrals import referral_form


@pytest.fixture
def people(session):
    org = make_organisation(session, "Org X")
    data = {
        "service": make_service(session, organisation=org, name="Glasgow MAT"),
        "custody": make_user(
            session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
        ),
    }
    session.commit()
    return data


COUNCIL_SELECT = re.compile(r'<select[^>]*id="council_area_id"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r"<option ([^>]*)>([^<]*)</option>")


def councils_offered(page: str) -> list[tuple[str, str, bool]]:
    """The council select's options: (value, label, selected)."""
    options = COUNCIL_SELECT.search(page).group(1)
    return [
        (
            re.search(r'value="([^"]*)"', attrs).group(1),
            htmllib.unescape(label),
            "selected" in attrs.split(),
        )
        for attrs, label in OPTION.findall(options)
    ]


def districts_known(page: str) -> dict[str, str]:
    raw = re.search(r'data-districts="([^"]*)"', page).group(1)
    return json.loads(htmllib.unescape(raw))


def test_the_form_names_the_suite_and_offers_every_council_and_district(client, session, people):
    sign_in(client, "c@t.example")
    page = client.get(f"/referrals/new?service={people['service'].id}").get_data(as_text=True)
    assert f"From {htmllib.escape(people['custody'].custody_suite.name)}." in page
    names = session.scalars(sa.select(CouncilArea.name).order_by(CouncilArea.name)).all()
    offered = councils_offered(page)
    assert offered[0][0] == "" and offered[0][1].startswith("Choose the ")
    assert [label for _, label, _ in offered[1:]] == names
    assert len(names) > 20  # the reference data's councils, all of them
    districts = {
        d: str(c)
        for d, c in session.execute(
            sa.select(PostcodeDistrict.district, PostcodeDistrict.council_area_id)
        )
    }
    assert districts_known(page) == districts
    assert "G31" in districts


def test_the_form_is_shown_and_saved_in_few_statements(app, client, session, people):
    sign_in(client, "c@t.example")
    with counting(engine(app)) as shown:
        page = client.get(f"/referrals/new?service={people['service'].id}")
    assert page.status_code == 200
    # The sign-in check, the nation's settings and demo flag, the service with its
    # hours, and the form's look-ups, which say whether any contact awaits its referral:
    # with none waiting, the contacts are not read.
    assert shown.count <= 4, shown
    assert not [sql for sql in shown.sql if sql.startswith("SELECT custody_contacts.")], shown
    assert sum("council_areas" in sql for sql in shown.sql) == 1, shown
    with counting(engine(app)) as saved:
        response = client.post("/referrals/new", data=referral_form(people["service"].id))
    assert response.status_code == 302
    # Nothing only the form needs is read to save it.
    assert not [sql for sql in saved.sql if "FROM council_areas" in sql], saved
    assert not [sql for sql in saved.sql if "FROM custody_suites" in sql], saved
    assert not [sql for sql in saved.sql if sql.endswith("FROM postcode_districts")], saved
    # The district's council is read with the chosen service, not on its own.
    assert not [sql for sql in saved.sql if sql.startswith("SELECT postcode_districts.")], saved
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 1


def test_a_council_that_is_not_on_the_list_is_refused_and_the_form_kept(client, session, people):
    sign_in(client, "c@t.example")
    response = client.post(
        "/referrals/new",
        data=referral_form(
            people["service"].id,
            postcode_district="",
            no_fixed_abode="y",
            council_area_id="999999",
        ),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Choose one of the options listed." in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 0
    # Shown again with every council to choose from, and the look-up ready.
    assert len(councils_offered(page)) > 20
    assert districts_known(page)
    assert "GLA/26/001234" in page


def test_a_council_chosen_by_hand_is_kept_when_the_form_is_shown_again(client, session, people):
    chosen = session.scalar(sa.select(CouncilArea).where(CouncilArea.name == "Fife"))
    sign_in(client, "c@t.example")
    response = client.post(
        "/referrals/new",
        data=referral_form(
            people["service"].id,
            postcode_district="",
            no_fixed_abode="y",
            council_area_id=str(chosen.id),
            person_ref="",
        ),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter the custody record number." in page
    assert [label for _, label, selected in councils_offered(page) if selected] == ["Fife"]
    response = client.post(
        "/referrals/new",
        data=referral_form(
            people["service"].id,
            postcode_district="",
            no_fixed_abode="y",
            council_area_id=str(chosen.id),
        ),
    )
    assert response.status_code == 302
    assert session.scalar(sa.select(Referral.council_area_id)) == chosen.id


def test_the_form_without_a_service_reads_the_suite_once(app, client, session, people):
    """The suggestions start from the suite, whose name the page also shows."""
    sign_in(client, "c@t.example")
    with counting(engine(app)) as seen:
        page = client.get("/referrals/new").get_data(as_text=True)
    assert f"From {htmllib.escape(people['custody'].custody_suite.name)}." in page
    assert "Nearest services taking custody referrals to" in page
    assert sum("custody_suites" in sql for sql, _ in seen.sent) == 1, seen


def _without_tokens(page: str) -> str:
    """The page without what differs from one showing to the next (the CSRF and one-time
    tokens)."""
    page = re.sub(r'(name="(?:csrf_token|form_token)"[^>]*value=")[^"]*"', r'\1"', page)
    return re.sub(r'(value=")[^"]*("[^>]*name="(?:csrf_token|form_token)")', r"\1\2", page)


def test_a_kept_blank_form_reads_as_one_written_afresh(app, client, session, people, monkeypatch):
    from referrals.tracking import making, new_form_fields

    sign_in(client, "c@t.example")
    url = f"/referrals/new?service={people['service'].id}"
    new_form_fields._kept.clear()
    first = client.get(url).get_data(as_text=True)  # writes the blank fields and keeps them
    assert new_form_fields._kept
    kept = client.get(url).get_data(as_text=True)
    # Written afresh by the page's own template, as a form shown again is.
    monkeypatch.setattr(making, "blank_fields", lambda form, today: None)
    afresh = client.get(url).get_data(as_text=True)
    assert _without_tokens(kept) == _without_tokens(afresh) == _without_tokens(first)
    assert 'name="person_ref"' in kept and 'id="council_area_id"' in kept
    # A council renamed is shown at once: the councils are part of the kept form's key.
    council = session.scalars(sa.select(CouncilArea).order_by(CouncilArea.name)).first()
    former, council.name = council.name, "Aaa Renamed Council"
    session.commit()
    monkeypatch.undo()
    try:
        renamed = client.get(url).get_data(as_text=True)
    finally:
        council.name = former
        session.commit()
    assert "Aaa Renamed Council" in renamed and f">{htmllib.escape(former)}<" not in renamed
