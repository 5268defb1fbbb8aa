"""Reports grouped by arrest referral scheme: a scheme's figures are its suites' figures,
in the area table, its CSV, the trends and the quarterly report."""

import csv
import datetime as dt
import io

import pytest

from referrals.choices import Role
from referrals.reports.figures import Settings, build
from referrals.schemes.models import Scheme

from .factories import make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in

TODAY = dt.date.today()


@pytest.fixture
def schemed(session):
    """Glasgow's scheme serves London Road (24 referrals) and Govan (16); Cathcart (15) is
    served by no scheme. Two in three of each suite's referrals start treatment."""
    org = make_organisation(session, "Glasgow Recovery Team")
    service = make_service(session, organisation=org)
    london, govan, cathcart = (suite(session, c) for c in ("GLA-LR", "GLA-GV", "GLA-CA"))
    session.add(
        Scheme(
            code="ARS-G1", name="Glasgow Arrest Referral", organisation=org, suites=[london, govan]
        )
    )
    old = TODAY - dt.timedelta(days=150)
    for n, place in ((24, london), (16, govan), (15, cathcart)):
        officer = make_user(session, Role.CUSTODY, custody_suite=place)
        for j in range(n):
            started = j % 3 != 0
            make_referral(
                session,
                service=service,
                referrer=officer,
                referred_on=old,
                status="treatment_started" if started else "accepted",
                accepted_on=old + dt.timedelta(days=1),
                engaged_on=old + dt.timedelta(days=3) if started else None,
                treatment_started_on=old + dt.timedelta(days=10) if started else None,
            )
    make_user(session, Role.ADMIN, email="admin@t.example")
    session.commit()


def test_a_scheme_adds_up_its_suites(session, schemed):
    published = build(session, Settings(as_of=TODAY))
    latest = published.settings["latest"]
    part = published.parts[("suite", latest, "all")]
    assert part["scheme:ARS-G1"]["referrals"] == 40  # 24 + 16, not Cathcart's 15
    assert part["custody_suite:GLA-LR"]["referrals"] == 24
    assert part["national"]["referrals"] == 55
    # 16 + 10 of the 40 started treatment (two in three of each suite), all of them within 3 weeks
    assert part["scheme:ARS-G1"]["engagement_to_treatment"] == [26, 26]


def test_the_area_table_csv_and_trends_group_by_scheme(client, session, schemed):
    sign_in(client, "admin@t.example")
    page = client.get("/reports/areas?group=scheme")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Glasgow Arrest Referral" in text and "Arrest referral scheme" in text
    rows = list(csv.DictReader(io.StringIO(client.get("/reports/areas.csv?group=scheme").text)))
    made = [r for r in rows if r["measure"] == "referrals" and r["area_code"] == "ARS-G1"]
    assert made[0]["value"] == "40" and made[0]["area_type"] == "Arrest referral scheme"
    trends = client.get("/reports/trends?group=scheme&area=ARS-G1")
    assert trends.status_code == 200
    assert "Trends: Glasgow Arrest Referral" in trends.get_data(as_text=True)
    # The map draws geographies only: a scheme is not one.
    assert client.get("/reports/map?group=scheme").status_code == 400


def test_the_quarterly_report_has_a_scheme_section(client, session, schemed):
    sign_in(client, "admin@t.example")
    page = client.get("/reports/quarterly?measure=engagement_to_treatment").get_data(as_text=True)
    assert "5. Arrest referral schemes" in page
    section = page.split("5. Arrest referral schemes")[1].split("6. ")[0]
    assert "Glasgow Arrest Referral" in section and ">40<" in section


def test_a_scheme_has_targets_like_an_area(client, session, schemed):
    from referrals.models import Target

    start = TODAY - dt.timedelta(days=730)  # wholly around the latest 12 months
    session.add(
        Target(
            geography="scheme",
            area_code="ARS-G1",
            measure="engagement_to_treatment",
            period_start=start,
            period_end=TODAY,
            value=0.9,
        )
    )
    session.commit()
    sign_in(client, "admin@t.example")
    assert "Glasgow Arrest Referral (Arrest referral scheme)" in client.get(
        "/reports/targets"
    ).get_data(as_text=True)
    page = client.get("/reports/areas?group=scheme&measure=engagement_to_treatment")
    row = page.get_data(as_text=True).split("Glasgow Arrest Referral")[1].split("</tr>")[0]
    assert "90%" in row and "Green" in row  # 26 of 26 started
