"""Administering arrest referral schemes: a scheme's code carries its targets, and an
inactive scheme serves no custody suites and is nobody's current report unit."""

import csv
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AuditEvent, Target, User
from referrals.reports.figures import Settings
from referrals.reports.own import has_own_figures, own_units
from referrals.reports.scheme_groups import scheme_members, scheme_names
from referrals.reports.snapshot import ReportPart, rebuild
from referrals.schemes.managing import suites_without_scheme
from referrals.schemes.models import Scheme

from .factories import make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in
from .test_schemes import scheme_form, suites_of

TODAY = dt.date.today()


@pytest.fixture
def west(client, session):
    """The West scheme (ARS-W) serves London Road; an administrator is signed in and a
    provider worker leads the scheme."""
    make_user(session, Role.ADMIN, email="a@t.example")
    org = make_organisation(session, "West Team")
    london = suite(session, "GLA-LR")
    scheme = Scheme(code="ARS-W", name="West", organisation=org, suites=[london])
    session.add(scheme)
    session.flush()
    lead = make_user(session, Role.PROVIDER, email="lead@t.example", organisation=org)
    lead.scheme_id = scheme.id
    session.commit()
    sign_in(client, "a@t.example")
    return {"scheme": scheme, "org": org, "london": london, "lead": lead}


def target(session, code, measure="engagement_rate", start=dt.date(2026, 4, 1)):
    row = Target(
        geography="scheme",
        area_code=code,
        measure=measure,
        period_start=start,
        period_end=start + dt.timedelta(days=364),
        value=0.6,
    )
    session.add(row)
    session.commit()
    return row


def west_form(west, **changes):
    return scheme_form(
        west["org"], [west["london"]], **{"name": "West", "code": "ARS-W", **changes}
    )


def last_update(session):
    detail = session.scalar(
        sa.select(AuditEvent.detail)
        .where(AuditEvent.action == "scheme_updated")
        .order_by(AuditEvent.id.desc())
    )
    return detail and json.loads(detail)


# -- a new code carries the scheme's targets ----------------------------------------------


def test_changing_a_schemes_code_takes_its_targets_with_it(client, session, west):
    target(session, "ARS-W")
    response = client.post(
        f"/admin/schemes/{west['scheme'].id}", data=west_form(west, code="ARS-WEST")
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.scalars(sa.select(Target.area_code)).all() == ["ARS-WEST"]
    assert last_update(session)["targets_moved"] == 1
    page = client.get("/reports/targets").get_data(as_text=True)
    assert "West (Arrest referral scheme)" in page and "60" in page.split("<tbody")[-1]
    # A later scheme given the old code starts with no targets of its own.
    response = client.post(
        "/admin/schemes/new",
        data=scheme_form(west["org"], [suite(session, "GLA-GV")], name="Newer", code="ARS-W"),
    )
    assert response.status_code == 302
    assert session.scalar(sa.select(Target).where(Target.area_code == "ARS-W")) is None


def kept_yesterday_with_referrals(session, west) -> dt.date:
    """Twelve referrals from London Road 150 days ago, and yesterday's figures kept;
    returns yesterday."""
    service = make_service(session, organisation=west["org"])
    officer = make_user(session, Role.CUSTODY, custody_suite=west["london"])
    for _ in range(12):
        make_referral(
            session, service=service, referrer=officer, referred_on=TODAY - dt.timedelta(days=150)
        )
    session.commit()
    yesterday = TODAY - dt.timedelta(days=1)
    rebuild(session, Settings(as_of=yesterday))
    session.commit()
    return yesterday


def test_a_new_code_keeps_the_schemes_published_figures(client, session, west):
    """Today's figures and every kept day's are stored by scheme code: the scheme given
    a new code shows the same figures under it, that day and on the days before."""
    yesterday = kept_yesterday_with_referrals(session, west)

    def referrals_made(code: str) -> list[tuple[str, str]]:
        found = []
        for as_of in ("", yesterday.isoformat()):
            table = client.get(f"/reports/areas.csv?group=scheme&as_of={as_of}").text
            found += [
                (row["as_of"], row["value"])
                for row in csv.DictReader(io.StringIO(table))
                if row["measure"] == "referrals" and row["area_code"] == code
            ]
        return found

    before = referrals_made("ARS-W")
    assert [value for _, value in before] == ["12", "12"]
    response = client.post(
        f"/admin/schemes/{west['scheme'].id}", data=west_form(west, code="ARS-WEST")
    )
    assert response.status_code == 302
    assert referrals_made("ARS-WEST") == before
    assert referrals_made("ARS-W") == []
    holding = session.scalar(
        sa.select(sa.func.count())
        .select_from(ReportPart)
        .where(ReportPart.data.contains('"scheme:ARS-WEST":'))
    )
    assert holding > 1 and last_update(session)["published_figures_moved"] == holding


def test_a_new_code_whose_old_targets_would_collide_is_refused_and_nothing_changes(
    client, session, west
):
    """Targets left under a code by a scheme recoded before targets moved with the code
    would collide with the scheme's own: the administrator is told, and nothing moves."""
    target(session, "ARS-W")
    target(session, "ARS-OLD")  # the same measure and period, kept from an earlier scheme
    response = client.post(
        f"/admin/schemes/{west['scheme'].id}", data=west_form(west, code="ARS-OLD")
    )
    assert response.status_code == 400
    assert "already has targets" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Scheme, west["scheme"].id).code == "ARS-W"
    assert sorted(session.scalars(sa.select(Target.area_code))) == ["ARS-OLD", "ARS-W"]
    assert last_update(session) is None


# -- an inactive scheme -------------------------------------------------------------------


def test_a_scheme_still_serving_custody_suites_cannot_be_made_inactive(client, session, west):
    response = client.post(f"/admin/schemes/{west['scheme'].id}", data=west_form(west, active=""))
    assert response.status_code == 400
    assert "Move its custody suites to another scheme" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Scheme, west["scheme"].id).active
    assert suites_of(session, west["scheme"].id) == [west["london"].id]
    assert last_update(session) is None
    created = client.post(
        "/admin/schemes/new",
        data=scheme_form(
            west["org"], [suite(session, "GLA-GV")], name="East", code="E", active=""
        ),
    )
    assert created.status_code == 400
    assert session.scalar(sa.select(Scheme).where(Scheme.code == "E")) is None


def test_an_inactive_scheme_is_no_report_group_and_its_leads_have_no_figures_of_it(
    client, session, west
):
    response = client.post(
        f"/admin/schemes/{west['scheme'].id}",
        data=scheme_form(west["org"], [], name="West", code="ARS-W", active=""),
    )
    assert response.status_code == 302
    session.expire_all()
    assert not session.get(Scheme, west["scheme"].id).active
    assert scheme_names(session) == [] and "ARS-W" not in scheme_members(session)
    assert any(s.code == "GLA-LR" for s in suites_without_scheme(session))
    lead = session.get(User, west["lead"].id)
    assert own_units(session, lead) == [] and not has_own_figures(lead)
    client.get("/logout")
    sign_in(client, "lead@t.example")
    assert client.get("/reports/mine").status_code == 403


def test_an_inactive_scheme_left_serving_suites_serves_them_no_more(client, session, west):
    """A scheme made inactive before the rule above still lists its suites: they count as
    unserved, and the scheme is neither a report group nor its leads' own unit."""
    session.get(Scheme, west["scheme"].id).active = False
    session.commit()
    assert scheme_names(session) == [] and scheme_members(session) == {}
    assert any(s.code == "GLA-LR" for s in suites_without_scheme(session))
    assert own_units(session, session.get(User, west["lead"].id)) == []


def test_an_inactive_schemes_past_figures_stay_reachable(client, session, west):
    yesterday = kept_yesterday_with_referrals(session, west)
    response = client.post(
        f"/admin/schemes/{west['scheme'].id}",
        data=scheme_form(west["org"], [], name="West", code="ARS-W", active=""),
    )
    assert response.status_code == 302
    page = client.get(f"/reports/profile/scheme/ARS-W?as_of={yesterday.isoformat()}")
    assert page.status_code == 200
    assert ">12<" in page.get_data(as_text=True)
