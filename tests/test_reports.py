"""Report pages: who may see them, every grouping with and without boundaries, the CSV
equal to the table, sorting, targets, trends, the quarterly paper and boundaries."""

import csv
import datetime as dt
import html as htmllib
import io
import json
import re

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AreaBoundary, AuditEvent, CouncilArea, Target
from referrals.reports.boundaries import simplify_line
from referrals.reports.measures import GROUPINGS

from .factories import council, make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in

TODAY = dt.date.today()


@pytest.fixture
def data(session):
    service = make_service(session, organisation=make_organisation(session))
    custody = make_user(
        session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
    )
    lead = make_user(
        session, Role.LEAD, email="lead@t.example", areas=[council(session, "Glasgow City")]
    )
    make_user(session, Role.ADMIN, email="admin@t.example")
    old = TODAY - dt.timedelta(days=150)
    for i, name in enumerate(("Glasgow City", "Fife", "City of Edinburgh", "Dundee City")):
        for j in range(30 + 10 * i):
            status = "treatment_started" if j % 3 else "accepted"
            make_referral(
                session,
                service=service,
                referrer=custody,
                referred_on=old,
                council_name=name,
                status=status,
                accepted_on=old + dt.timedelta(days=1),
                engaged_on=old + dt.timedelta(days=3) if j % 3 else None,
                treatment_started_on=old + dt.timedelta(days=10 + i) if j % 3 else None,
            )
    session.commit()
    return {"lead": lead}


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("c@t.example", 403), ("lead@t.example", 200), ("admin@t.example", 200)],
)
def test_only_leads_and_admins_see_reports(client, data, session, who, status):
    provider = make_user(
        session, Role.PROVIDER, email="p@t.example", organisation=make_organisation(session)
    )
    session.commit()
    if who:
        sign_in(client, who)
    for url in (
        "/reports/",
        "/reports/areas",
        "/reports/areas.csv",
        "/reports/map",
        "/reports/map/frame",
        "/reports/funnel",
        "/reports/trends",
        "/reports/targets",
        "/reports/quarterly",
    ):
        assert client.get(url).status_code == status, (who, url)
    client.post("/logout")
    sign_in(client, provider.email)
    assert client.get("/reports/areas").status_code == 403


@pytest.mark.parametrize("grouping", GROUPINGS)
def test_every_grouping_renders_table_map_and_funnel(client, data, grouping):
    sign_in(client, "lead@t.example")
    html = client.get(f"/reports/areas?group={grouping}").get_data(as_text=True)
    assert "Scotland" in html and "Compared with Scotland" in html
    funnel = client.get(f"/reports/funnel?group={grouping}")
    assert funnel.status_code == 200 and "<svg" in funnel.get_data(as_text=True)
    geo = grouping in ("council", "adp", "police_division", "health_board")
    map_page = client.get(f"/reports/map?group={grouping}")
    assert map_page.status_code == (200 if geo else 400)
    if geo:
        frame = client.get(f"/reports/map/frame?group={grouping}").get_data(as_text=True)
        areas = json.loads(re.search(r"var areas = (\[.*?\]);\n", frame, re.S).group(1))
        assert areas and all(a["geometry"] is None for a in areas)  # circles: no boundaries


def test_national_funnel_and_headline_measures(client, data):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/").get_data(as_text=True)
    # 30 + 40 + 50 + 60 = 180 referrals, all made 150 days ago and accepted.
    assert "180</span> referrals made" in html
    assert "100.0%</span> accepted" in html
    assert "The 3-week standard" in html and "Ongoing waits" in html
    assert "Previous period" in html


def table_cells(html):
    rows = []
    body = html.split('<table class="area-table">')[1].split("</table>")[0]
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>")[1], re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append(
            [" ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]
        )
    return rows


def test_csv_equals_the_table(client, data, session):
    sign_in(client, "lead@t.example")
    query = "group=council&measure=engagement_rate&sort=referrals:desc"
    shown = table_cells(client.get(f"/reports/areas?{query}").get_data(as_text=True))
    exported = list(
        csv.DictReader(
            io.StringIO(client.get(f"/reports/areas.csv?{query}").get_data(as_text=True))
        )
    )
    assert [r[0] for r in shown] == [r["area"] for r in exported]  # same rows, same order
    for page_row, csv_row in zip(shown, exported, strict=True):
        assert page_row[1] == csv_row["referrals"] and page_row[2] == csv_row["pending"]
        for i, name in enumerate(
            [
                "acceptance_rate",
                "engagement_rate",
                "conversion_rate",
                "engagement_to_treatment",
                "within_3_weeks",
            ],
            start=3,
        ):
            if csv_row[name].endswith("%"):
                interval = f"{csv_row[name + '_ci95_low'][:-1]} to {csv_row[name + '_ci95_high']}"
                assert page_row[i] == f"{csv_row[name]} {interval}"
            else:
                assert page_row[i] == csv_row[name]
        assert page_row[8] == csv_row["median_days_to_treatment"]
        if csv_row["compared_with_scotland"]:
            assert csv_row["compared_with_scotland"] in page_row[9]
    assert exported[0]["area"] == "Dundee City"  # sorted by referrals, most first
    assert session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc())) == (
        "report_exported"
    )


def test_sorting_puts_hidden_figures_last(client, data):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/areas?sort=referrals:desc").get_data(as_text=True)
    names = [r[0] for r in table_cells(html)]
    assert names[:4] == ["Dundee City", "City of Edinburgh", "Fife", "Glasgow City"]
    assert names[-1] == "Scotland" and 'aria-sort="descending"' in html
    html = client.get("/reports/areas?sort=conversion_rate").get_data(as_text=True)
    rows = table_cells(html)
    # Areas with a rate come first, lowest first; the 28 areas with no data follow.
    assert {r[0] for r in rows[:4]} == {"Dundee City", "City of Edinburgh", "Fife", "Glasgow City"}
    assert all(r[5] == "no data" for r in rows[4:-1])


def test_bad_report_choices_are_explained(client, data):
    sign_in(client, "lead@t.example")
    response = client.get("/reports/areas?from=2026-05-01&to=2026-01-01")
    assert response.status_code == 400
    assert "The end of the period must not be before its start." in response.get_data(as_text=True)
    assert client.get("/reports/areas?group=planets").status_code == 400
    assert client.get("/reports/areas?from=last+year").status_code == 400
    assert client.get("/reports/quarterly?quarter=2026Q5").status_code == 400
    assert client.get("/reports/quarterly?quarter=2999Q1").status_code == 400


def test_lead_sets_targets_for_own_areas_only(client, data, session):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/targets").get_data(as_text=True)
    assert "Glasgow City (Council)" in html and "Glasgow City ADP (ADP)" in html
    assert "Fife" not in html
    form = {
        "area": "council:S12000049",
        "measure": "conversion_rate",
        "period_start": (TODAY - dt.timedelta(days=365)).isoformat(),
        "period_end": (TODAY + dt.timedelta(days=30)).isoformat(),
        "value": "80",
    }
    assert client.post("/reports/targets", data=form).status_code == 302
    target = session.scalar(sa.select(Target))
    assert target.value == 0.8 and target.area_code == "S12000049"
    # Fife is not the lead's area.
    refused = client.post("/reports/targets", data={**form, "area": "council:S12000047"})
    assert refused.status_code == 400
    assert client.post("/reports/targets", data={**form, "value": "150"}).status_code == 400
    # The table shows red, amber or green against the target.
    html = client.get("/reports/areas?measure=conversion_rate").get_data(as_text=True)
    glasgow = re.search(r">Glasgow City</a></th>(.*?)</tr>", html, re.S).group(1)
    assert "80%" in glasgow and re.search(r"rag-(red|amber|green)", glasgow)


def test_admin_sets_targets_for_any_area(client, data, session):
    sign_in(client, "admin@t.example")
    form = {
        "area": "health_board:S08000029",
        "measure": "median_days_to_treatment",
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "value": "21",
    }
    assert client.post("/reports/targets", data=form).status_code == 302
    assert session.scalar(sa.select(Target.value)) == 21


def test_trends_show_each_quarter_beside_scotland(client, data):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/trends?group=council&area=S12000049").get_data(as_text=True)
    assert "Trends by quarter" in html and html.count(" Q") >= 4
    assert client.get("/reports/trends?area=NOPE").status_code == 400


def test_quarterly_report_is_printable(client, data):
    sign_in(client, "lead@t.example")
    quarter_day = TODAY - dt.timedelta(days=150)
    quarter = f"{quarter_day.year}Q{(quarter_day.month - 1) // 3 + 1}"
    html = client.get(f"/reports/quarterly?quarter={quarter}").get_data(as_text=True)
    for section in (
        "1. Scotland",
        "2. Council areas",
        "3. Map",
        "4. Funnel plot",
        "5. Trends",
        "6. Definitions and caveats",
        "Data as at",
    ):
        assert section in html
    assert "report-print.css" in html and "<svg" in html


def square(lon, lat, size=0.5, points=40):
    """A square ring with many redundant points along its edges."""
    ring = []
    for side in range(4):
        for i in range(points):
            t = i / points
            x, y = [(t, 0), (1, t), (1 - t, 1), (0, 1 - t)][side]
            ring.append([lon + x * size, lat + y * size])
    return [*ring, ring[0]]


def test_boundaries_are_simplified_and_drawn(client, data, session, runner, tmp_path):
    features = [
        {
            "type": "Feature",
            "properties": {"CODE": c.code, "NAME": c.name},
            "geometry": {"type": "Polygon", "coordinates": [square(c.longitude, c.latitude)]},
        }
        for c in session.scalars(sa.select(CouncilArea))
    ] + [
        {
            "type": "Feature",
            "properties": {"CODE": "E06000001"},
            "geometry": {"type": "Polygon", "coordinates": [square(-1.2, 54.6)]},
        }
    ]
    path = tmp_path / "councils.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    bad = runner.invoke(args=["import-boundaries", str(path), "--code-property", "GSS"])
    assert bad.exit_code != 0 and "has no property “GSS”" in bad.output
    result = runner.invoke(args=["import-boundaries", str(path), "--code-property", "CODE"])
    assert result.exit_code == 0, result.output
    assert "Loaded boundaries for 32 council areas" in result.output
    assert "Ignored 1 features" in result.output
    stored = json.loads(session.scalar(sa.select(AreaBoundary.geojson)))
    assert len(stored["coordinates"][0]) == 5  # 161 points on a square -> its 4 corners
    sign_in(client, "lead@t.example")
    for group in ("council", "adp", "health_board"):
        frame = client.get(f"/reports/map/frame?group={group}").get_data(as_text=True)
        areas = json.loads(re.search(r"var areas = (\[.*?\]);\n", frame, re.S).group(1))
        assert sum(1 for a in areas if a["geometry"]) == 32
    assert "drawn from their boundaries" in client.get("/reports/map").get_data(as_text=True)
    assert "Council area boundaries." in client.get("/reports/quarterly").get_data(as_text=True)


def test_simplification_keeps_shape_corners():
    line = [[0, 0], [1, 0.0001], [2, 0], [2, 1], [2.0001, 2], [2, 3]]
    assert simplify_line(line, 0.01) == [[0, 0], [2, 0], [2, 3]]


def test_sequential_map_scale(client, data):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/map?scale=sequential&measure=referrals").get_data(as_text=True)
    assert "up to" in html and "Value (light to dark)" in html
