"""Report pages: who may see them, every grouping with and without boundaries, the CSV
equal to the table, sorting, targets, trends, the quarterly paper, boundaries, fixed
periods, and figures worked out once a day."""

import csv
import datetime as dt
import html as htmllib
import io
import json
import re

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AreaBoundary, AuditEvent, CouncilArea, Service, Target, User
from referrals.reports.boundaries import simplify_line
from referrals.reports.measures import GROUPINGS
from referrals.reports.periods import last_complete_quarter

from .factories import council, make_organisation, make_referral, make_service, make_user, suite
from .outputs import percent_half_up
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
        "/reports/definitions",
        "/reports/definitions.csv",
    ):
        assert client.get(url).status_code == status, (who, url)
    client.post("/logout")
    sign_in(client, provider.email)
    assert client.get("/reports/areas").status_code == 403


def engagement_followed_up(client) -> str:
    """The latest 12 months with the engagement rate published: for some weeks after a
    quarter ends, the latest 12 months wait for their follow-up."""
    from referrals.reports.params import todays_figures

    with client.application.test_request_context():
        return todays_figures().settings["latest_for"]["engagement_rate"]


@pytest.mark.parametrize("grouping", [g for g in GROUPINGS if g != "pathway"])
def test_every_grouping_renders_table_map_and_funnel(client, data, grouping):
    sign_in(client, "lead@t.example")
    period = engagement_followed_up(client)
    html = client.get(
        f"/reports/areas?group={grouping}&measure=engagement_rate&period={period}"
    ).get_data(as_text=True)
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
    assert re.search(r"180</span>\s*referrals made", html)
    assert "100.0%" in html and "accepted by the service" in html
    assert "The 3-week standard" in html
    # The last 12 complete months have not all been followed up for 28 days yet: the
    # page says which earlier 12 months its acceptance rate is for.
    assert "the latest followed up" in html


def table_cells(html):
    rows = []
    body = html.split('<table class="area-table">')[1].split("</table>")[0]
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>")[1], re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        row = [" ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]
        rows.append([row[0].removesuffix(" Your area"), *row[1:]])
    return rows


def test_csv_has_a_row_per_area_and_measure_equal_to_the_table(client, data, session):
    sign_in(client, "lead@t.example")
    query = "group=council&measure=engagement_rate&sort=referrals:desc"
    exported = list(
        csv.DictReader(
            io.StringIO(client.get(f"/reports/areas.csv?{query}").get_data(as_text=True))
        )
    )
    by_area = {}
    for row in exported:
        by_area.setdefault(row["area"], {})[row["measure"]] = row
    columns = [
        "acceptance_rate",
        "engagement_rate",
        "conversion_rate",
        "engagement_to_treatment",
        "within_3_weeks",
    ]
    period = exported[0]["period"]
    for name in columns:
        # The table shows one measure at a time; each is one click away.
        page = client.get(
            f"/reports/areas?{query.replace('engagement_rate', name)}&period={period}"
        )
        shown = table_cells(page.get_data(as_text=True))
        assert {r[0] for r in shown} == set(by_area)
        for page_row in shown:
            figures = by_area[page_row[0]]
            referrals = figures["referrals"]
            assert page_row[1] == (
                f"{int(referrals['value']):,}" if referrals["value"] else referrals["value_note"]
            ) or page_row[1].startswith("\u2013")
            row = figures[name]
            if row["value"]:
                assert row["numerator"] and row["denominator"]  # plain numbers beside
                assert float(row["value"]) == pytest.approx(
                    int(row["numerator"]) / int(row["denominator"]), abs=1e-4
                )
                rate = f"{percent_half_up(int(row['numerator']), int(row['denominator']))}%"
                low, high = float(row["ci95_low"]), float(row["ci95_high"])
                assert page_row[2] == f"{rate} {100 * low:.1f} to {100 * high:.1f}%"
            elif row["value_note"] in ("<5", "fewer than 10", "[c]", "not published"):
                assert page_row[2] == row["value_note"]
            else:
                assert page_row[2].startswith("\u2013")
    assert all(r["period"] == exported[0]["period"] and r["as_of"] for r in exported)
    assert session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc())) == (
        "report_exported"
    )


def test_sorting_puts_hidden_figures_last_and_starts_best_first(client, data):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/areas?sort=referrals:desc").get_data(as_text=True)
    names = [r[0] for r in table_cells(html)]
    assert names[:4] == ["Dundee City", "City of Edinburgh", "Fife", "Glasgow City"]
    assert names[-1] == "Scotland" and 'aria-sort="descending"' in html
    # The first click on a rate sorts highest (best) first, and the header says so.
    period = engagement_followed_up(client)
    html = client.get(f"/reports/areas?measure=engagement_rate&period={period}")
    html = html.get_data(as_text=True)
    assert "sort=engagement_rate:desc" in html and "sort highest first" in html
    html = client.get("/reports/areas?sort=referrals:asc").get_data(as_text=True)
    names = [r[0] for r in table_cells(html)]
    assert names.index("Glasgow City") < names.index("Dundee City")


def test_reports_show_fixed_periods_not_dates(client, data):
    sign_in(client, "lead@t.example")
    response = client.get("/reports/areas?from=2026-05-01&to=2026-06-01")
    assert response.status_code == 400
    assert "Reports show fixed periods, not dates" in response.get_data(as_text=True)
    # A month is published for Scotland only.
    month = client.get("/reports/areas?period=2026-09")
    assert month.status_code == 400
    assert "Choose one of the options listed" in month.get_data(as_text=True)
    data_month = (TODAY - dt.timedelta(days=150)).strftime("%Y-%m")  # the data's month
    assert client.get(f"/reports/?period={data_month}").status_code == 200
    assert client.get("/reports/areas?group=planets").status_code == 400
    assert client.get("/reports/quarterly?quarter=2026Q5").status_code == 400
    assert client.get("/reports/quarterly?quarter=0001Q1").status_code == 400
    assert client.get("/reports/quarterly?quarter=2999Q1").status_code == 400
    # Groups of people are published for large areas and Scotland only.
    small = client.get("/reports/areas?group=council&people=sex:female")
    assert small.status_code == 400
    assert "police divisions, health boards" in small.get_data(as_text=True)


def test_figures_are_worked_out_once_a_day(client, data, session, runner):
    sign_in(client, "lead@t.example")
    before = client.get("/reports/areas.csv").get_data(as_text=True)
    scotland = next(
        r
        for r in csv.DictReader(io.StringIO(before))
        if r["area_type"] == "national" and r["measure"] == "referrals"
    )
    # A referral made in the same 12 months after the figures were worked out today does
    # not move them until they are worked out again.
    custody = session.scalar(sa.select(User).where(User.email == "c@t.example"))
    service = session.scalar(sa.select(Service))
    make_referral(
        session, service=service, referrer=custody, referred_on=TODAY - dt.timedelta(days=150)
    )
    session.commit()
    assert client.get("/reports/areas.csv").get_data(as_text=True) == before
    result = runner.invoke(args=["refresh-reports"])
    assert result.exit_code == 0, result.output
    after = next(
        r
        for r in csv.DictReader(
            io.StringIO(client.get("/reports/areas.csv").get_data(as_text=True))
        )
        if r["area_type"] == "national" and r["measure"] == "referrals"
    )
    assert int(after["value"]) == int(scotland["value"]) + 1


def test_a_report_from_a_kept_day_is_shown_as_it_was(client, data, session):
    sign_in(client, "lead@t.example")
    assert client.get("/reports/").status_code == 200
    today = client.get("/reports/areas.csv").get_data(as_text=True)
    missing = client.get("/reports/areas?as_of=2020-01-01")
    assert missing.status_code == 400 and "No figures were kept" in missing.get_data(as_text=True)
    kept = client.get(f"/reports/areas.csv?as_of={TODAY.isoformat()}")
    assert kept.status_code == 200 and kept.get_data(as_text=True) == today


def test_definitions_explain_the_rules(client, data):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/definitions").get_data(as_text=True)
    for words in (
        "7 of 8 (88%) is not shown",
        "[c]",
        "Treatment within 3 weeks",
        "Services per 10,000 people",
        "A median is hidden when it rests on fewer than 10 waits",
        "entered in error",
    ):
        assert words in html
    rows = list(
        csv.DictReader(io.StringIO(client.get("/reports/definitions.csv").get_data(as_text=True)))
    )
    assert {r["measure"] for r in rows} >= {"conversion_rate", "within_3_weeks"}
    assert next(r for r in rows if r["measure"] == "conversion_rate")["follow_up_days"] == "84"


def test_lead_sets_targets_for_own_areas_only(client, data, session):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/targets").get_data(as_text=True)
    assert "Glasgow City (Council)" in html and "Glasgow City ADP (ADP)" in html
    assert "Fife" not in html
    form = {
        "area": "council:S12000049",
        "measure": "engagement_rate",
        # Wholly around the table's latest 12 months, as a rate target must be to apply.
        "period_start": (TODAY - dt.timedelta(days=730)).isoformat(),
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
    for value in ("NaN", "sNaN", "Infinity", "1e999"):
        response = client.post("/reports/targets", data={**form, "value": value})
        assert response.status_code == 400, value
        assert "Enter the target as a number" in response.get_data(as_text=True), value
    assert session.scalar(sa.select(sa.func.count()).select_from(Target)) == 1
    # The table shows red, amber or green against the target.
    html = client.get("/reports/areas?measure=engagement_rate").get_data(as_text=True)
    glasgow = re.search(r">Glasgow City</a>.*?</th>(.*?)</tr>", html, re.S).group(1)
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


def test_trends_show_each_quarter_and_year_beside_scotland(client, data):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/trends?group=council&area=S12000049").get_data(as_text=True)
    assert "Trends: Glasgow City" in html and "By quarter" in html and "By year" in html
    assert "12 months to" in html
    assert client.get("/reports/trends?area=NOPE").status_code == 400


def test_quarterly_report_is_printable(client, data):
    sign_in(client, "lead@t.example")
    quarter = last_complete_quarter(TODAY).code
    html = client.get(f"/reports/quarterly?quarter={quarter}&measure=engagement_rate").get_data(
        as_text=True
    )
    for section in (
        "1. Scotland in the quarter",
        "2. Council areas: 12 months to",
        "3. Map",
        "4. Funnel plot",
        "5. Arrest referral schemes",
        "6. Scotland by quarter",
        "7. Definitions and caveats",
        "Figures as at",
    ):
        assert section in html
    assert "report-print.css" in html and "<svg" in html
    # With no boundaries the printed map is the tile map: every council named on its tile.
    assert html.count('class="tile" aria-label="') == 32
    assert '<text x="' in html and ">Glasgow</text>" in html


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
    tiles = client.get("/reports/map").get_data(as_text=True)
    assert "Each hexagon is an area" in tiles  # the tile map stays the default
    assert '<option value="geographic"' in tiles  # with the geographic map one choice away
    geographic = client.get("/reports/map?view=geographic").get_data(as_text=True)
    assert "drawn from their boundaries" in geographic
    assert "Council area boundaries." in client.get("/reports/quarterly").get_data(as_text=True)


def test_simplification_keeps_shape_corners():
    line = [[0, 0], [1, 0.0001], [2, 0], [2, 1], [2.0001, 2], [2, 3]]
    assert simplify_line(line, 0.01) == [[0, 0], [2, 0], [2, 3]]


def test_sequential_map_scale(client, data):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/map?scale=sequential&measure=referrals").get_data(as_text=True)
    assert "up to" in html and "Value (light to dark)" in html


def test_the_median_wait_does_not_say_how_many_started_treatment(client, data):
    """The count behind a median is the number of treatment starts, which the rates
    protect; beside every area's median it would give hidden ones away by subtraction."""
    sign_in(client, "lead@t.example")
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get("/reports/areas.csv?measure=median_days_to_treatment").get_data(
                    as_text=True
                )
            )
        )
    )
    medians = [r for r in rows if r["measure"] == "median_days_to_treatment"]
    assert any(r["value"] for r in medians)  # Glasgow's 20 starts give a median
    assert all(r["denominator"] == "" and r["numerator"] == "" for r in medians)


def test_the_measure_chosen_by_default_is_the_one_the_measure_box_shows(client, data):
    """When the default measure is not published for the latest 12 months, the pages fall
    back to one that is: the Measure box must say which, or pressing Show with another
    choice silently switches the reader to a measure they never saw."""
    sign_in(client, "lead@t.example")
    html = client.get("/reports/map").get_data(as_text=True)
    heading = re.search(r"<h1>The postcode lottery: (.*?) by council", html).group(1)
    box = re.search(r'<select[^>]*name="measure".*?</select>', html, re.S).group(0)
    selected = re.search(r"<option selected[^>]*>([^<]+)<|<option [^>]*selected>([^<]+)<", box)
    label = (selected.group(1) or selected.group(2)).strip().lower()
    assert label == heading.lower()
