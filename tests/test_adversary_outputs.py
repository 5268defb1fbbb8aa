"""Every aggregate output publishes only what the area CSVs publish, with the same label.

The reader of ``test_adversary`` works on the area CSVs. Every other aggregate output is
harvested here, signed in as each role that may see it, and every figure it shows is
checked against the CSV figure for the same area, period, group of people and measure:
the same value (a rate to 0.1% with the same 95% interval), or the same label ("<5",
"[c]", "fewer than 10", "not published", or a dash where the CSVs publish nothing). A value
shown in one output and hidden in another fails, and so does a figure the CSVs do not
publish, unless it is worked out from figures they do (a profile's spread across areas)
or is the nation's alone in a period no area is published for (``test_adversary_nation``
gives those to the reader). So the reader's linear programme covers every output:

- area profiles (table, spine chart's words and marks, trend tables): every grouping's
  smallest three units and largest in the latest 12 months; every period for the
  smallest council area, custody suite and service;
- own figures (``/reports/mine``) of a custody supervisor, and of a provider manager who
  leads a scheme, and an area lead's first page, for every period;
- the JSON API: areas for every grouping and period (police divisions by every group of
  people too), the nation, trends and the quarterly report of every quarter;
- the funnel plot (table, marks and the nation's line) for every grouping and rate, and
  for every group of people where the largest areas publish them;
- the map (table and tiles) for every geography and rate, and every period; then, with
  council boundaries loaded, the geographic map (its table, key, and every area's
  tooltip, label, colour and shape) for every geography and rate on both colour scales,
  and every period;
- the trends pages, the quarterly report and the quarterly pack (HTML), and the pack's
  PDF (its text) of the smallest ADP and scheme for the latest quarter.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import Organisation, Service
from referrals.reports import map_views, pdf_copies
from referrals.reports import profiles as profile_module
from referrals.reports import views as views_module
from referrals.reports.colours import sequential_colour
from referrals.reports.exports import MEASURES_IN_TABLE
from referrals.reports.measures import MEASURES, RATES

from .factories import make_api_client
from .output_harvests import by_size, funnels, geographic_maps, load_boundaries, pdf_packs
from .output_profiles import own_figures, profile_figures
from .output_tables import (
    area_table_figures,
    frame_figures,
    map_figures,
    measure_named,
    pack_table_figures,
    period_named,
    period_table_figures,
    wide_table_figures,
)
from .outputs import (
    Published,
    Seen,
    json_problem,
    tables,
)
from .test_adversary import GROUPINGS, _harvest, _pass_some_on, _periods
from .test_auth import sign_in

pytest.importorskip("highspy")


@pytest.fixture
def seeded(app, client, runner, session):
    result = runner.invoke(args=["seed-demo", "--referrals", "2500", "--seed", "7"])
    assert result.exit_code == 0, result.output
    _pass_some_on(session)
    sign_in(client, "lead@demo.test", "demo-password")
    return client


@pytest.fixture
def harvested(seeded):
    client = seeded
    periods = _periods(client)
    published = Published.from_rows(_harvest(client, periods))
    return client, published, [p["code"] for p in periods]


def _check(published: Published, seen: list[Seen]) -> list[str]:
    return [p for s in seen if (p := published.check(s)) is not None]


def _profiles(client, published, periods) -> tuple[list[Seen], list[str]]:
    """Profiles of the units with the fewest referrals in the latest 12 months (small
    figures are where things leak) and of the largest, of every grouping; for the smallest
    council area, custody suite and service, every period. Every profile also shows the
    unit's last 8 quarters and its years, whatever the period chosen."""
    seen, problems = [], []
    latest = max((p for p in periods if p.startswith("12m")), default=periods[0])
    for grouping in GROUPINGS:
        sizes = {}
        for code in published.codes(grouping, latest):
            row = published.rows[(grouping, code, latest, "all", "referrals")]
            if row["value"] or row["value_note"]:
                sizes[code] = int(row["value"]) if row["value"] else 0
        order = sorted(sizes, key=lambda c: (sizes[c], c))
        chosen = [*order[:3], *order[-1:]] if len(order) > 4 else order
        for code in dict.fromkeys(chosen):
            every = code == order[0] and grouping in ("council", "custody_suite", "service")
            for period in periods if every else [latest]:
                url = f"/reports/profile/{grouping}/{code}?period={period}"
                response = client.get(url)
                assert response.status_code == 200, url
                more, wrong = profile_figures(response.text, grouping, code, period, published)
                seen += more
                problems += wrong
    return seen, problems


def _nations_page(client, published, periods) -> list[Seen]:
    """The reports' first page for an area lead: their areas beside the nation, for every
    period (the nation's own tables are of periods no area is published for)."""
    seen = []
    for period in periods:
        url = f"/reports/?period={period}"
        response = client.get(url)
        assert response.status_code == 200, url
        seen += own_figures(response.text, period, published, url)
    return seen


def _published_codes(session):
    """Figures read from pages' links to profiles, under the codes the CSVs publish: a
    service's or provider's profile address holds its id, its CSV code is its own
    reference where it has one."""
    codes = {}
    for grouping, model in (("service", Service), ("provider", Organisation)):
        for ident, reference in session.execute(sa.select(model.id, model.external_id)):
            codes[grouping, str(ident)] = reference or str(ident)

    def as_published(seen: list[Seen]) -> list[Seen]:
        return [dataclasses.replace(s, code=codes.get((s.grouping, s.code), s.code)) for s in seen]

    return as_published


def _own(client, published, periods) -> list[Seen]:
    """``/reports/mine`` for a custody supervisor, and a provider manager who also leads a
    scheme, for every period."""
    seen = []
    for email in ("custody@demo.test", "provider@demo.test"):
        client.post("/logout")
        sign_in(client, email, "demo-password")
        for period in periods:
            url = f"/reports/mine?period={period}"
            response = client.get(url)
            assert response.status_code == 200, (email, url)
            seen += own_figures(response.text, period, published, f"{email} {url}")
    client.post("/logout")
    sign_in(client, "lead@demo.test", "demo-password")
    return seen


def test_every_output_publishes_only_what_the_csvs_publish(
    harvested, session, monkeypatch, runner, tmp_path
):
    """One generated database for every output, as building it and harvesting the CSVs
    takes longer than checking them all. Then the check is shown to work: showing the
    "<5" counts on the profile pages makes it fail."""
    client, published, periods = harvested
    _, token = make_api_client(session, Role.LEAD, name="Analysts' system")
    session.commit()
    problems = _api_figures(client, published, periods, token)
    problems += funnels(client, published, periods)
    seen, wrong = _profiles(client, published, periods)
    problems += wrong
    assert len(seen) > 1000
    as_published = _published_codes(session)
    own = as_published(_own(client, published, periods))
    assert {s.grouping for s in own} >= {"custody_suite", "police_division", "provider", "scheme"}
    seen += own
    harvests = {
        "trends": _trends_pages(client, published, periods),
        "maps": _maps(client, published, periods),
        "quarterly": _quarterly(client, published, periods),
        "packs": _packs(client, published, periods),
        "nation's page": as_published(_nations_page(client, published, periods)),
    }
    for name, figures in harvests.items():
        assert len(figures) > 500, name
        seen += figures
    assert sum("/map/frame" in s.where for s in harvests["maps"]) > 500
    load_boundaries(session, runner, tmp_path)  # the tile map's harvest is done
    geographic, wrong = geographic_maps(client, published, periods)
    assert sum("/map/frame" in s.where for s in geographic) > 500
    assert {s.text for s in geographic if "/map/frame" in s.where} >= {"<5", "[c]"}
    seen += geographic
    problems += wrong
    pdfs, wrong = pdf_packs(client, published, periods)
    assert len(pdfs) > 400
    seen += pdfs
    problems += wrong
    problems += _check(published, seen)
    assert problems == []

    real = profile_module.unit_row

    def leaking(snapshot, unit, period):
        row, national = real(snapshot, unit, period)
        for figure in row.counts.values():
            if figure.label and figure.label.startswith("<"):
                figure.label, figure.value = None, 3
        return row, national

    monkeypatch.setattr(profile_module, "unit_row", leaking)
    seen, problems = _profiles(client, published, periods)
    problems += _check(published, seen)
    assert any("shows '3' where the CSV has '<5'" in p for p in problems), problems[:5]
    monkeypatch.undo()
    _leaks_are_caught(client, session, published, periods, monkeypatch)


def _leaks_are_caught(client, session, published, periods, monkeypatch) -> None:
    """Each harvest below fails when its output shows what the CSVs hide: the geographic
    map's tooltips telling a hidden count or rate, its colours telling a hidden rate's
    class, the pack's PDF printing a small number the page hides, and a group of
    people's funnel plot giving a small number."""
    latest = max(p for p in periods if p.startswith("12m"))
    rates = [m for m in RATES if m in MEASURES_IN_TABLE]
    real_tooltip = map_views.tooltip

    def telling(row, measure):
        lines = real_tooltip(row, measure)
        label = MEASURES[measure].label
        for i, line in enumerate(lines):
            if line.startswith("Referrals: <"):
                lines[i] = "Referrals: 3"
            elif line.startswith(f"{label}: [c]"):
                lines[i] = f"{label}: 12.5% (95% interval 3.5 to 36.0%)"
        return lines

    monkeypatch.setattr(map_views, "tooltip", telling)
    asks = [("council", p, "engagement_rate", "comparison") for p in periods]
    asks += [("council", latest, m, "comparison") for m in rates]
    seen, problems = geographic_maps(client, published, periods, asks)
    problems += _check(published, seen)
    assert any("shows '3' where the CSV has '<5'" in p for p in problems), problems[:5]
    assert any("shows '12.5%' where the CSV has '[c]'" in p for p in problems), problems[:5]
    monkeypatch.undo()

    real_colours = map_views.colour_rows

    def banding(table, measure, scale):
        colours, edges = real_colours(table, measure, scale)
        for row in table.rows:
            if row.measure_value(measure) is None and edges:
                colours[row.key] = sequential_colour(edges[0], edges)  # the lightest class
        return colours, edges

    monkeypatch.setattr(map_views, "colour_rows", banding)
    asks = [("council", latest, m, "sequential") for m in rates]
    _, problems = geographic_maps(client, published, periods, asks)
    assert any(
        re.search(r"filled #EFF3FF where the CSV's '[^']+' gives #E3E3E3", p) for p in problems
    ), problems[:5]
    monkeypatch.undo()

    real_pdf = pdf_copies.html_to_pdf

    def printing(html, stylesheets):
        return real_pdf(html.replace(">&lt;5<", ">3<"), stylesheets)

    monkeypatch.setattr(pdf_copies, "html_to_pdf", printing)
    # The PDFs harvested above were kept: made again now, each is laid out with the fault.
    session.execute(sa.delete(pdf_copies.PdfCopy))
    session.commit()
    seen, problems = pdf_packs(client, published, periods, groupings=("adp",))
    problems += _check(published, seen)
    assert any("the PDF shows '3' where the page has '<5'" in p for p in problems), problems[:5]
    assert any("shows '3' where the CSV has '<5'" in p for p in problems), problems[:5]
    monkeypatch.undo()

    real_funnel = views_module.funnel_plot

    def naming(table, measure, title):
        plot = real_funnel(table, measure, title)
        if table.group != "all":
            plot.omitted = [(n, "3" if w == "small numbers" else w) for n, w in plot.omitted]
        return plot

    monkeypatch.setattr(views_module, "funnel_plot", naming)
    problems = funnels(client, published, periods, everybody=False)
    assert any(
        "people='sex:" in p or "people='age:" in p or "people='pathway:" in p
        for p in problems
        if "shows '3' where the CSV has '<5'" in p
    ), problems[:5]


def _api_figures(client, published, periods, token) -> list[str]:
    """The JSON report API, every figure against the CSV's: the area answers for every
    grouping and period (and, for the police divisions, every group of people in the
    periods that have them), the nation's answer, each geography's trends for an area,
    and the quarterly report for every quarter."""
    headers = {"Authorization": f"Bearer {token}"}
    problems, checked = [], Counter()

    def get(url):
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, (url, answer.text[:200])
        return answer.get_json()

    def compare(where, grouping, code, period, people, figures):
        for measure, figure in figures.items():
            row = published.rows.get((grouping, code, period, people, measure))
            if measure not in MEASURES_IN_TABLE:
                continue  # for the nation only: not in the area CSVs
            checked[row is not None] += 1
            if (problem := json_problem(f"{where} {code} {measure}", figure, row)) is not None:
                problems.append(problem)

    index = get("/api/v1/reports")
    offered = [p["code"] for p in index["periods"] if not p["scotland_only"]]
    assert sorted(offered) == sorted(periods)
    grouped = {p["code"] for p in index["periods"] if p["groups_of_people"]}
    for period in periods:
        for grouping in GROUPINGS:
            peoples = ["all"]
            if grouping == "police_division" and period in grouped:
                peoples += [p for p in index["people"] if p != "all"]
            for people in peoples:
                url = f"/api/v1/reports/areas?group={grouping}&period={period}&people={people}"
                body = get(url)
                for area in body["areas"]:
                    compare(url, grouping, area["code"], period, people, area["figures"])
                compare(url, grouping, "national", period, people, body["national"]["figures"])
        body = get(f"/api/v1/reports/national?period={period}")
        compare(
            f"national {period}", "council", "national", period, "all", body["national"]["figures"]
        )
    for grouping in ("council", "adp", "police_division", "health_board"):
        code = published.codes(grouping, periods[-1])[0]
        body = get(f"/api/v1/reports/trends?group={grouping}&area={code}")
        for item in body["quarters"] + body["years"]:
            period = item["period"]["code"]
            compare(f"trends {grouping} {code}", grouping, code, period, "all", item["area"])
            compare(f"trends {grouping}", grouping, "national", period, "all", item["national"])
    for quarter in [p for p in periods if "Q" in p]:
        body = get(f"/api/v1/reports/quarterly?quarter={quarter}")
        compare(
            f"quarterly {quarter}",
            "council",
            "national",
            quarter,
            "all",
            body["national"]["figures"],
        )
        councils = body["councils"]
        if councils is not None:
            period = councils["period"]["code"]
            for area in councils["areas"]:
                compare(
                    f"quarterly {quarter}", "council", area["code"], period, "all", area["figures"]
                )
        for item in body["trend"]:
            period = item["period"]["code"]
            compare(
                f"quarterly {quarter} trend",
                "council",
                "national",
                period,
                "all",
                item["national"],
            )
    assert checked[True] > 10000, checked
    return problems


def _trends_pages(client, published, periods) -> list[Seen]:
    """The trends page of the smallest and the largest area of each geography (and of
    custody suites), for its default measure, and every rate for the smallest council."""
    seen = []
    latest = max(p for p in periods if p.startswith("12m"))
    for grouping in ("council", "adp", "police_division", "health_board", "custody_suite"):
        order = by_size(published, grouping, latest)
        asks = [(code, None) for code in {order[0], order[-1]}]
        if grouping == "council":
            asks += [(order[0], m) for m in RATES if m in MEASURES_IN_TABLE]
        for code, measure in asks:
            url = f"/reports/trends?group={grouping}&area={code}"
            url += f"&measure={measure}" if measure else ""
            response = client.get(url)
            assert response.status_code == 200, url
            for table in tables(response.text):
                if "trend-table" in table.classes:
                    seen += period_table_figures(table, grouping, code, published, url)[0]
                else:
                    seen += wide_table_figures(table, grouping, code, published, url)
    return seen


def _maps(client, published, periods) -> list[Seen]:
    """The map (its table and tiles, and its frame) of every geography for every rate in
    the latest 12 months, and of council areas' default rate in every period."""
    seen = []
    latest = max(p for p in periods if p.startswith("12m"))
    rates = [m for m in RATES if m in MEASURES_IN_TABLE]
    asks = [
        (g, latest, m)
        for g in ("council", "adp", "police_division", "health_board")
        for m in rates
    ]
    asks += [("council", p, "engagement_rate") for p in periods if p != latest]
    for grouping, period, measure in asks:
        url = f"/reports/map?group={grouping}&period={period}&measure={measure}"
        response = client.get(url)
        assert response.status_code == 200, url
        seen += map_figures(response.text, grouping, period, measure, published, url)
        url = url.replace("/map?", "/map/frame?")
        response = client.get(url)
        assert response.status_code == 200, url
        seen += frame_figures(response.text, grouping, period, measure, published, url)
    return seen


def _quarterly(client, published, periods) -> list[Seen]:
    """The quarterly report of every quarter (council areas' default rate), and of the
    latest quarter for every geography and rate."""
    seen = []
    quarters = [p for p in periods if "Q" in p]
    rates = [m for m in RATES if m in MEASURES_IN_TABLE]
    asks = [(q, "council", "conversion_rate") for q in quarters]
    asks += [
        (max(quarters), g, m) for g in ("adp", "police_division", "health_board") for m in rates
    ]
    for quarter, grouping, measure in asks:
        url = f"/reports/quarterly?quarter={quarter}&group={grouping}&measure={measure}"
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.text
        found = tables(html)
        first = found[0]
        for row in first.rows[1:]:
            measure_here = measure_named(row[0].text)
            if measure_here in MEASURES_IN_TABLE:
                seen.append(
                    Seen(url, "council", "national", quarter, "all", measure_here, row[1].text)
                )
        headings = re.findall(r"<h2>([^<]*)</h2>", html)
        table_period = next(
            (p for h in headings if h.startswith("2.") and (p := period_named(published, h))),
            None,
        )
        for table in found[1:]:
            name = table.rows[0][0].text
            if "trend-table" in table.classes:
                seen += period_table_figures(table, "council", "national", published, url)[0]
            elif name == "Quarter":
                seen += area_table_figures(table, "national", None, published, url)
            elif table_period is not None:
                g = "scheme" if name == "Scheme" else grouping
                seen += area_table_figures(table, g, table_period, published, url)
    return seen


def _packs(client, published, periods) -> list[Seen]:
    """The quarterly pack of the lead's police division for every quarter, and of the
    smallest ADP, police division and scheme (and the nation) for the latest quarter."""
    seen = []
    quarters = [p for p in periods if "Q" in p]
    latest = max(p for p in periods if p.startswith("12m"))
    asks = [(q, None) for q in quarters]
    for grouping in ("adp", "police_division", "scheme"):
        asks.append((max(quarters), f"{grouping}:{by_size(published, grouping, latest)[0]}"))
    asks.append((max(quarters), "national"))
    for quarter, area in asks:
        url = f"/reports/pack?quarter={quarter}" + (f"&area={area}" if area else "")
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.text
        if area is None:
            area = re.search(r'<option value="(\w+:[^"]+|national)" selected', html).group(1)
        grouping, _, code = area.partition(":")
        grouping, code = (grouping, code) if code else ("council", "national")
        for table in tables(html):
            if "pack-table" in table.classes:
                seen += pack_table_figures(table, grouping, code, quarter, published, url)
            elif "trend-table" in table.classes:
                seen += period_table_figures(table, grouping, code, published, url)[0]
    return seen
