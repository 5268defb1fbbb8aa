"""Own performance and area profiles: a custody supervisor, a provider manager and a
scheme lead see their own units against Scotland and nothing else of the reports; an area
lead's own areas come first and are marked; an area's profile shows every measure with a
spine chart; the area table fits and sorts best first."""

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import CustodySuite
from referrals.reports.measures import MEASURES
from referrals.reports.profiles import nearest_rank
from referrals.reports.tables import FAMILY
from referrals.schemes.models import Scheme

from .factories import council, make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in

TODAY = dt.date.today()
OLD = TODAY - dt.timedelta(days=200)
EVERY_OTHER_REPORT = (
    "/reports/",
    "/reports/areas",
    "/reports/areas.csv",
    "/reports/map",
    "/reports/map/frame",
    "/reports/funnel",
    "/reports/trends",
    "/reports/targets",
    "/reports/quarterly",
)


@pytest.fixture
def world(session):
    """Glasgow's suite GLA-LR refers 30 people living in Glasgow City (20 start treatment
    10 days after referral, 10 are accepted only) to the provider's service; Fife's
    suite refers 40 Fife residents (26 start) to another organisation's service."""
    provider_org = make_organisation(session, "Riverside Recovery")
    ours = make_service(session, organisation=provider_org, name="Riverside Treatment")
    other_org = make_organisation(session, "Kingdom Care")
    theirs = make_service(session, organisation=other_org, name="Kingdom Treatment")
    glasgow_suite = suite(session, "GLA-LR")
    fife_suite = session.scalar(
        sa.select(CustodySuite)
        .where(CustodySuite.council_area_id == council(session, "Fife").id)
        .order_by(CustodySuite.code)
    )
    worker = make_user(session, Role.CUSTODY, custody_suite=glasgow_suite)
    fife_worker = make_user(session, Role.CUSTODY, custody_suite=fife_suite)
    for name, count, service, referrer in (
        ("Glasgow City", 30, ours, worker),
        ("Fife", 40, theirs, fife_worker),
    ):
        for j in range(count):
            started = j % 3 != 0
            make_referral(
                session,
                service=service,
                referrer=referrer,
                referred_on=OLD,
                council_name=name,
                status="treatment_started" if started else "accepted",
                accepted_on=OLD + dt.timedelta(days=1),
                engaged_on=OLD + dt.timedelta(days=3) if started else None,
                treatment_started_on=OLD + dt.timedelta(days=10) if started else None,
            )
    scheme = Scheme(
        code="ARS-TEST",
        name="Test Arrest Referral Scheme",
        organisation=provider_org,
        suites=[glasgow_suite],
    )
    session.add(scheme)
    session.flush()
    users = {
        "supervisor": make_user(
            session,
            Role.CUSTODY,
            email="sup@t.example",
            custody_suite=glasgow_suite,
            manager=True,
        ),
        "custody": make_user(
            session, Role.CUSTODY, email="officer@t.example", custody_suite=glasgow_suite
        ),
        "manager": make_user(
            session, Role.PROVIDER, email="mgr@t.example", organisation=provider_org, manager=True
        ),
        "provider": make_user(
            session, Role.PROVIDER, email="worker@t.example", organisation=provider_org
        ),
        "scheme_lead": make_user(
            session,
            Role.PROVIDER,
            email="scheme@t.example",
            organisation=other_org,
            scheme_id=scheme.id,
        ),
        "lead": make_user(
            session, Role.LEAD, email="lead@t.example", areas=[council(session, "Glasgow City")]
        ),
        "admin": make_user(session, Role.ADMIN, email="admin@t.example"),
    }
    session.commit()
    return {
        "users": users,
        "ours": ours,
        "theirs": theirs,
        "fife_suite": fife_suite.code,
        "provider_org": provider_org,
        "other_org": other_org,
    }


def _profile(grouping, code):
    return f"/reports/profile/{grouping}/{code}"


GLASGOW = "S12000049"


def division_of(session, name):
    return council(session, name).police_division.code


@pytest.mark.parametrize(
    ("who", "own", "not_own"),
    [
        (
            "supervisor",
            [("custody_suite", "GLA-LR"), ("police_division", "glasgow")],
            [("custody_suite", "fife"), ("council", GLASGOW), ("provider", "ours")],
        ),
        (
            "manager",
            [("provider", "ours"), ("service", "ours")],
            [("provider", "theirs"), ("service", "theirs"), ("custody_suite", "GLA-LR")],
        ),
        (
            "scheme_lead",
            [("custody_suite", "GLA-LR")],
            [("custody_suite", "fife"), ("provider", "theirs"), ("council", GLASGOW)],
        ),
    ],
)
def test_supervisors_managers_and_scheme_leads_see_their_own_units_only(
    client, world, session, who, own, not_own
):
    def url(grouping, code):
        if code == "glasgow":
            code = division_of(session, "Glasgow City")
        elif code == "fife":
            code = world["fife_suite"]
        elif code in ("ours", "theirs"):
            org = world["provider_org" if code == "ours" else "other_org"]
            code = str(org.id) if grouping == "provider" else str(world[code].id)
        return _profile(grouping, code)

    sign_in(client, world["users"][who].email)
    mine = client.get("/reports/mine")
    assert mine.status_code == 200
    assert "against Scotland" in mine.get_data(as_text=True)
    assert client.get("/reports/definitions").status_code == 200
    for grouping, code in own:
        page = client.get(url(grouping, code))
        assert page.status_code == 200, (who, grouping, code)
        assert "<svg" in page.get_data(as_text=True)
    for grouping, code in not_own:
        assert client.get(url(grouping, code)).status_code == 404, (who, grouping, code)
    for report in EVERY_OTHER_REPORT:
        assert client.get(report).status_code == 403, (who, report)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/reports/mine"' in home and "Your figures" in home


@pytest.mark.parametrize("who", ["custody", "provider"])
def test_staff_who_do_not_supervise_see_no_figures(client, world, who):
    sign_in(client, world["users"][who].email)
    for url in ("/reports/mine", _profile("custody_suite", "GLA-LR"), *EVERY_OTHER_REPORT):
        assert client.get(url).status_code == 403, (who, url)
    assert 'href="/reports/mine"' not in client.get("/").get_data(as_text=True)


def test_signed_out_readers_are_sent_to_sign_in(client, world):
    for url in ("/reports/mine", _profile("council", GLASGOW), f"/reports/profile/{GLASGOW}"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize("who", ["lead", "admin"])
def test_leads_and_administrators_see_any_units_profile(client, world, session, who):
    sign_in(client, world["users"][who].email)
    for grouping, code in (
        ("council", GLASGOW),
        ("police_division", division_of(session, "Fife")),
        ("custody_suite", world["fife_suite"]),
        ("service", str(world["theirs"].id)),
        ("provider", str(world["other_org"].id)),
    ):
        assert client.get(_profile(grouping, code)).status_code == 200, (grouping, code)
    assert client.get(_profile("council", "S99999999")).status_code == 404
    assert client.get(_profile("nowhere", GLASGOW)).status_code == 404
    by_code = client.get(f"/reports/profile/{GLASGOW}")
    assert by_code.status_code == 302 and by_code.location.endswith(_profile("council", GLASGOW))


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_profile_shows_every_measure_against_scotland_with_hand_computed_figures(client, world):
    sign_in(client, "lead@t.example")
    html = client.get(_profile("council", GLASGOW)).get_data(as_text=True)
    text = text_of(html)
    assert "Glasgow City against Scotland" in text
    # 30 referrals; 20 of them started treatment 10 days after referral: conversion
    # 20/30 = 66.7%. Scotland: 70 referrals, 20 + 26 = 46 started: 46/70 = 65.7%.
    assert "Referrals made 30" in text
    assert re.search(r"Conversion rate( [^%]*)? 66\.7%", text)
    assert "65.7%" in text
    # Every started referral was engaged: engagement to treatment 20/20 = 100.0%.
    assert re.search(r"Engagement to treatment( [^%]*)? 100\.0%", text)
    # The spine chart: one row per rate, with a text alternative and the table.
    chart = html.split('class="spine-chart"')[1].split("</svg>")[0]
    for label in (
        "Acceptance rate",
        "Engagement rate",
        "Conversion rate",
        "Engagement to treatment",
    ):
        assert label in chart
    assert "<desc" in chart and "Every measure" in html
    # And its trend by year and quarter.
    assert "Trend by year" in html and "Trend by quarter" in html
    rates = [m for m in MEASURES.values() if m.kind == "rate" and not m.scotland_only]
    assert "Trends at a glance" in html and html.count('class="spark"') == len(rates)


def test_the_profile_shows_the_figures_the_area_table_shows(client, world):
    sign_in(client, "lead@t.example")
    page = client.get("/reports/areas?group=council&measure=conversion_rate")
    table = text_of(page.get_data(as_text=True))
    profile = text_of(client.get(_profile("council", GLASGOW)).get_data(as_text=True))
    # The default period for conversion is the latest 12 months followed up for 84 days.
    shown = re.search(r"Glasgow City Your area [^%]*? (\d+\.\d%) (\S+ to \S+%)", table)
    assert shown and shown.group(1) == "66.7%", table[:3000]
    assert f"{shown.group(1)} {shown.group(2)}" in profile


def test_supervisor_sees_suite_and_division_beside_scotland(client, world, session):
    sign_in(client, "sup@t.example")
    text = text_of(client.get("/reports/mine").get_data(as_text=True))
    division = council(session, "Glasgow City").police_division.name
    assert "Glasgow" in text and division in text and "Custody suite" in text
    # The suite made 30 referrals; 20 converted: 66.7%, as at the division (Glasgow
    # City's residents only) and against Scotland's 65.7%.
    assert re.search(r"Referrals made 30 30 70", text), text
    assert re.search(r"Conversion rate( [^%]*)? 66\.7% ● 66\.7% ● 65\.7%", text) or (
        "66.7%" in text and "65.7%" in text
    )


def test_the_lead_sees_their_own_area_first_and_marked(client, world, session):
    sign_in(client, "lead@t.example")
    dashboard = text_of(client.get("/reports/").get_data(as_text=True))
    assert "your area against Scotland" in dashboard
    assert "Your areas" in dashboard and "Glasgow City" in dashboard
    table = client.get("/reports/areas?group=council").get_data(as_text=True)
    row = re.search(r'<tr class="own-row">(.*?)</tr>', table, re.S)
    assert row and "Glasgow City" in row.group(1) and "Your area" in row.group(1)
    assert table.count('class="own-row"') == 1
    division = client.get("/reports/areas?group=police_division").get_data(as_text=True)
    assert council(session, "Glasgow City").police_division.name in re.search(
        r'<tr class="own-row">(.*?)</tr>', division, re.S
    ).group(1)
    trends = client.get("/reports/trends").get_data(as_text=True)
    assert "<h1>Trends: Glasgow City</h1>" in trends
    funnel = client.get("/reports/funnel?group=council&measure=conversion_rate")
    assert "Glasgow City (your area)" in funnel.get_data(as_text=True)
    frame = client.get("/reports/map/frame?group=council").get_data(as_text=True)
    assert '"own":true' in frame.replace(" ", "") and "Your area" in frame
    map_page = client.get("/reports/map?group=council").get_data(as_text=True)
    assert 'class="own-row"' in map_page
    if "tile-map-svg" in map_page:  # the tile map outlines and labels it too
        assert map_page.count('class="tile-own"') == 1


def test_the_area_table_shows_one_measure_and_sorts_best_first(client, world):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/areas?group=council&measure=conversion_rate").get_data(
        as_text=True
    )
    head = html.split("<thead>")[1].split("</thead>")[0]
    assert "Conversion rate" in head and "Engagement rate" not in head
    # Other measures one click away.
    assert re.search(r'href="[^"]*measure=engagement_rate[^"]*">Engagement rate</a>', html)
    # A rate's first click sorts highest first; the waits' lowest first.
    assert re.search("sort=conversion_rate(:|%3A)desc", head) and "sort highest first" in head
    waits = client.get("/reports/areas?group=council&measure=median_days_to_treatment")
    assert re.search("sort=median_days_to_treatment(:|%3A)asc", waits.get_data(as_text=True))
    ranked = client.get(
        "/reports/areas?group=council&measure=conversion_rate&sort=conversion_rate:desc"
    )
    body = text_of(ranked.get_data(as_text=True).split("<tbody>")[1])
    assert body.index("Glasgow City") < body.index("Fife")  # 66.7% before 65.0%
    assert "highest first" in text_of(ranked.get_data(as_text=True).split("<thead>")[1])


def test_quartiles_take_the_nearest_rank():
    values = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert nearest_rank(values, 0.25) == 0.2  # 2 of 8 do not exceed it
    assert nearest_rank(values, 0.75) == 0.6
    assert nearest_rank([0.4], 0.25) == 0.4


REPORT_WHO = [
    "anonymous",
    "custody",
    "supervisor",
    "provider",
    "manager",
    "scheme_lead",
    "lead",
    "admin",
]
# (url, expected status for each of REPORT_WHO); 302 means "sent to sign in".
REPORT_MATRIX = [
    ("/reports/", [302, 403, 403, 403, 403, 403, 200, 200]),
    ("/reports/areas", [302, 403, 403, 403, 403, 403, 200, 200]),
    ("/reports/quarterly", [302, 403, 403, 403, 403, 403, 200, 200]),
    ("/reports/mine", [302, 403, 200, 403, 200, 200, 200, 403]),
    ("/reports/definitions", [302, 403, 200, 403, 200, 200, 200, 200]),
    ("/reports/profile/custody_suite/GLA-LR", [302, 403, 200, 403, 404, 200, 200, 200]),
    ("/reports/profile/provider/{ours}", [302, 403, 404, 403, 200, 404, 200, 200]),
    ("/reports/profile/council/S12000049", [302, 403, 404, 403, 404, 404, 200, 200]),
    # The quarterly pack: a scheme lead their scheme's, a supervisor their division's.
    ("/reports/pack", [302, 403, 200, 403, 403, 200, 200, 200]),
    ("/reports/pack?area=scheme:ARS-TEST", [302, 403, 403, 403, 403, 200, 200, 200]),
    ("/reports/pack?area=police_division:{division}", [302, 403, 200, 403, 403, 403, 200, 200]),
    ("/reports/pack?area=police_division:{fife}", [302, 403, 403, 403, 403, 403, 200, 200]),
    ("/reports/pack?area=adp:{adp}", [302, 403, 403, 403, 403, 403, 200, 200]),
    ("/reports/pack?area=national", [302, 403, 403, 403, 403, 403, 200, 200]),
    ("/reports/pack.pdf?area=scheme:ARS-TEST", [302, 403, 403, 403, 403, 200, 200, 200]),
]


@pytest.mark.parametrize("who", REPORT_WHO)
def test_report_access_matrix(client, session, world, who):
    if who != "anonymous":
        sign_in(client, world["users"][who].email)
    column = REPORT_WHO.index(who)
    glasgow, fife = council(session, "Glasgow City"), council(session, "Fife")
    for url, statuses in REPORT_MATRIX:
        url = url.format(
            ours=world["provider_org"].id,
            division=glasgow.police_division.code,
            fife=fife.police_division.code,
            adp=glasgow.adp.code,
        )
        assert client.get(url).status_code == statuses[column], (who, url)


def test_spine_chart_places_value_interval_scotland_and_range_on_one_scale():
    from referrals.reports.measures import MEASURES
    from referrals.reports.profiles import Line, spread
    from referrals.reports.spine import spine_chart
    from referrals.reports.tables import make_row

    national = {"conversion_rate": [46, 70]}
    ours = make_row("council:A", "A", "A", {"conversion_rate": [20, 30]}, national)
    others = [
        make_row(f"council:{i}", str(i), str(i), {"conversion_rate": [x, 40]}, national)
        for i, x in enumerate((10, 20, 30))
    ]
    hidden = make_row("council:H", "H", "H", {"conversion_rate": "<5"}, national)
    line = Line(
        MEASURES["conversion_rate"],
        {"label": "12 months to June 2026"},
        [ours],
        make_row("national", "national", "", national, national),
        spread([ours, *others, hidden], MEASURES["conversion_rate"]),
    )
    chart = spine_chart([line], "A", "Scotland")
    (row,) = chart.rows
    scale = chart.right - chart.left

    def x(value):
        return chart.left + scale * value

    # Shown as the table rounds them: 66.7% and Scotland 65.7%; the range runs from
    # 25.0% (10/40) to 75.0% (30/40); of the four shown, the nearest ranks 1 and 3 bound
    # the middle half: 25.0% to 66.7%.
    assert row.value_x == pytest.approx(x(0.667))
    assert row.national_x == pytest.approx(x(0.657))
    assert row.range_x == pytest.approx((x(0.25), x(0.75)))
    assert row.middle_x == pytest.approx((x(0.25), x(0.667)))
    ci = ours.rates["conversion_rate"].ci95
    low, high = ci.low, ci.high
    assert row.interval_x == pytest.approx((x(round(low, 3)), x(round(high, 3))))
    assert row.text.startswith("66.7%") and row.national_text == "Scotland 65.7%"
    # A hidden rate is written out, not drawn.
    line.rows = [hidden]
    (row,) = spine_chart([line], "H", "Scotland").rows
    assert row.value_x is None and row.text == "<5: small numbers"


def test_profile_shows_the_areas_targets_red_amber_or_green(client, world, session):
    from referrals.models import Target

    # Conversion 66.7% against a target of 70%: 3.3 points short, within the 5-point
    # amber margin. Engagement to treatment 100% against 90%: green.
    for measure, value in (("conversion_rate", 0.7), ("engagement_to_treatment", 0.9)):
        session.add(
            Target(
                geography="council",
                area_code=GLASGOW,
                measure=measure,
                period_start=TODAY - dt.timedelta(days=730),
                period_end=TODAY + dt.timedelta(days=30),
                value=value,
            )
        )
    session.commit()
    sign_in(client, "lead@t.example")
    text = text_of(client.get(_profile("council", GLASGOW)).get_data(as_text=True))
    assert re.search(r"Conversion rate .*?70% ◐ Amber", text)
    assert re.search(r"Engagement to treatment .*?90% ✔ Green", text)


def test_a_period_that_is_not_offered_is_refused_with_a_message(client, world):
    sign_in(client, "sup@t.example")
    for url in ("/reports/mine?period=2026-09", _profile("custody_suite", "GLA-LR") + "?period=x"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "There is a problem" in response.get_data(as_text=True)


def test_a_manager_of_many_services_sees_a_row_for_each(client, world, session):
    for i in range(4):
        make_service(session, organisation=world["provider_org"], name=f"Riverside Branch {i}")
    session.commit()
    sign_in(client, "mgr@t.example")
    html = client.get("/reports/mine").get_data(as_text=True)
    assert "<h2>Your services</h2>" in html and 'class="units-table by-unit"' in html
    body = html.split('class="units-table by-unit"')[1].split("</table>")[0]
    assert body.count("<tr") == 1 + 5 + 1  # header, five services, Scotland
    assert "Riverside Treatment" in body and "Riverside Branch 3" in body


def test_the_area_tables_links_open_the_profile_for_the_same_period(client, world):
    sign_in(client, "lead@t.example")
    table = client.get("/reports/areas?group=council&measure=conversion_rate")
    link = re.search(
        r'href="(/reports/profile/council/S12000049\?period=[^"]+)"', table.get_data(as_text=True)
    )
    assert link, "Glasgow City's name links to its profile"
    page = client.get(html.unescape(link.group(1)))
    assert page.status_code == 200
    period = link.group(1).split("period=")[1]
    assert re.search(
        f'<option selected value="{period}"|value="{period}" selected', page.get_data(as_text=True)
    )


def test_small_trend_charts_break_at_hidden_periods():
    from referrals.reports.measures import MEASURES
    from referrals.reports.profiles import Line, TrendPoint
    from referrals.reports.sparks import sparks
    from referrals.reports.tables import make_row

    national = {"conversion_rate": [50, 100]}

    def point(label, value):
        row = make_row("council:A", "A", "A", {"conversion_rate": value}, national)
        return TrendPoint({"label": label}, row, make_row("n", "n", "", national, national))

    # Four quarters: 25%, 50%, hidden, 75%.
    quarters = [
        point("Q1", [10, 40]),
        point("Q2", [20, 40]),
        point("Q3", "[c]"),
        point("Q4", [30, 40]),
    ]
    line = Line(MEASURES["conversion_rate"], {}, [quarters[0].row], quarters[0].national)
    (spark,) = sparks([line], quarters, [])
    assert spark.kind == "quarter"
    # x steps of (240 - 16) / 3; y = 72 - 64 * rate.
    assert [(round(x, 1), round(y, 1)) for x, y, _ in spark.points] == [
        (8.0, 56.0),
        (82.7, 40.0),
        (232.0, 24.0),
    ]
    assert spark.segments == ["M8.0,56.0 L82.7,40.0"]  # the hidden quarter breaks the line
    assert spark.national.count("L") == 3  # Scotland's 50% in every quarter
    assert "1 of 4 periods not shown" in spark.summary


@pytest.mark.skipif("scheme" not in FAMILY, reason="reports are not grouped by scheme")
def test_a_scheme_lead_sees_the_scheme_and_its_suites(client, world):
    sign_in(client, "scheme@t.example")
    text = text_of(client.get("/reports/mine").get_data(as_text=True))
    assert "Test Arrest Referral Scheme" in text and "Arrest referral scheme" in text
    page = client.get(_profile("scheme", "ARS-TEST"))
    assert page.status_code == 200
    # The scheme is its one suite: 30 referrals, 20 converted.
    profile = text_of(page.get_data(as_text=True))
    assert "Referrals made 30" in profile and "66.7%" in profile
    client.post("/logout")
    sign_in(client, "sup@t.example")
    assert client.get(_profile("scheme", "ARS-TEST")).status_code == 404


def _pack_links(page: str) -> list[str]:
    return re.findall(r'href="(/reports/pack\?area=[^"]*)"', page)


def test_own_packs_are_linked_from_your_figures_and_offer_only_the_users_own(
    client, session, world
):
    division = council(session, "Glasgow City").police_division
    # A scheme lead: their scheme's pack, linked from their figures and the reports' menu.
    sign_in(client, "scheme@t.example")
    mine = client.get("/reports/mine").get_data(as_text=True)
    assert _pack_links(mine) == ["/reports/pack?area=scheme:ARS-TEST"]
    assert "Quarterly pack: Test Arrest Referral Scheme" in mine
    assert 'href="/reports/pack">Quarterly pack</a>' in mine
    page = client.get("/reports/pack")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Test Arrest Referral Scheme: arrest referral outcomes" in html
    options = re.findall(r'<option value="([a-z_]+:[^"]*|national)"', html)
    assert options == ["scheme:ARS-TEST"]
    assert "Area table</a>" not in html  # the pages they may not open are not offered
    # A custody supervisor: their suite's police division.
    client.post("/logout")
    sign_in(client, "sup@t.example")
    mine = client.get("/reports/mine").get_data(as_text=True)
    assert _pack_links(mine) == [f"/reports/pack?area=police_division:{division.code}"]
    html = client.get("/reports/pack").get_data(as_text=True)
    assert f"{division.name}: arrest referral outcomes" in html
    assert re.findall(r'<option value="([a-z_]+:[^"]*|national)"', html) == [
        f"police_division:{division.code}"
    ]
    # A provider manager has no pack, and no link to one.
    client.post("/logout")
    sign_in(client, "mgr@t.example")
    mine = client.get("/reports/mine").get_data(as_text=True)
    assert client.get("/reports/mine").status_code == 200
    assert not _pack_links(mine) and "/reports/pack" not in mine
    # An area lead's figures link their ADP's and division's packs; they may open any.
    client.post("/logout")
    sign_in(client, "lead@t.example")
    links = _pack_links(client.get("/reports/mine").get_data(as_text=True))
    assert f"/reports/pack?area=police_division:{division.code}" in links
    assert "national" in re.findall(
        r'<option value="([a-z_]+:[^"]*|national)"',
        client.get("/reports/pack").get_data(as_text=True),
    )
