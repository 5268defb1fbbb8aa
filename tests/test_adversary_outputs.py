"""Every aggregate output publishes only what the area CSVs publish, with the same label.

The reader of ``test_adversary`` works on the area CSVs. Each other output harvested here
(the area profiles with their spine charts and trend tables, each user's own figures for a
custody supervisor and for a provider manager who leads a scheme, the JSON report API's
areas, nation, trends and quarterly answers, and the funnel plot's table and marks) is
read for the offered periods, groupings and groups of people, signed in as a role that may
see it, and every figure it shows is checked against the CSV figure for the same area,
period, group of people and measure: the same value, or the same label. A value shown in
one output and hidden in another is a failure, and so is a figure the CSVs do not publish
unless it is worked out from figures they do (a profile's spread across areas). So the
reader's linear programme covers these outputs too.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from html import unescape

import pytest
import sqlalchemy as sa

from referrals.choices import CloseReason, DeclineReason, Role
from referrals.models import Referral
from referrals.reports import disclosure as dc
from referrals.reports import profiles as profile_module
from referrals.reports.exports import MEASURES_IN_TABLE
from referrals.reports.measures import RATES
from referrals.reports.periods import month_index, parse

from .adversary import Cell, Reader
from .factories import make_api_client
from .outputs import (
    DASH,
    NOT_FIGURES,
    Published,
    Seen,
    first_figure,
    json_problem,
    measure_of,
    shown_value,
    svg_between,
    svg_texts,
    tables,
)
from .test_adversary import COUNTS as COUNT_FACTS
from .test_adversary import GROUPINGS, _harvest, _periods, _truth
from .test_adversary import RATES as RATE_FACTS
from .test_auth import sign_in

pytest.importorskip("highspy")

NATION = "Scotland"
SPINE_LEFT, SPINE_RIGHT = 250, 790


@pytest.fixture
def seeded(app, client, runner, session):
    result = runner.invoke(args=["seed-demo", "--referrals", "2500", "--seed", "7"])
    assert result.exit_code == 0, result.output
    sign_in(client, "lead@demo.test", "demo-password")
    return client


@pytest.fixture
def harvested(seeded):
    client = seeded
    periods = _periods(client)
    published = Published.from_rows(_harvest(client, periods))
    return client, published, [p["code"] for p in periods]


def _spread_text(published: Published, grouping: str, period: str, measure: str) -> str:
    """The spread a profile shows for a measure, worked out from the CSV's shown values."""
    values = []
    for code in published.codes(grouping, period):
        row = published.rows.get((grouping, code, period, "all", measure))
        if row is not None and (value := shown_value(row)) is not None:
            values.append(value)
    if not values:
        return DASH
    values.sort()
    kind = "rate" if measure in RATES else MEASURE_KIND.get(measure, "count")

    def show(v):
        if kind == "rate":
            return f"{100 * v:.1f}%"
        return f"{v:,.0f}" if kind == "count" else f"{v:g}"

    return f"{show(values[0])} to {show(values[-1])}"


MEASURE_KIND = {"median_days_to_treatment": "days"}


def profile_figures(html, grouping, code, period, published) -> tuple[list[Seen], list[str]]:
    """Every figure of a profile page, and the problems with those the CSV does not hold."""
    seen, problems = [], []
    where = f"/reports/profile/{grouping}/{code}?period={period}"
    found = {t.classes[0]: t for t in tables(html) if t.classes}
    for row in found["profile-table"].rows[1:]:
        measure, rest = measure_of(row[0].text)
        p = published.period_codes[rest] if rest else period
        seen.append(Seen(where, grouping, code, p, "all", measure, row[1].text))
        seen.append(Seen(where, grouping, "national", p, "all", measure, row[3].text))
        spread = _spread_text(published, grouping, p, measure)
        if row[4].text != spread:
            problems.append(f"{where}: {measure} spread {row[4].text!r}, the CSVs give {spread!r}")
    for table in [t for t in tables(html) if "trend-table" in t.classes]:
        labels = [c.text for c in table.rows[0][1:]]
        for row in table.rows[1:]:
            measure, _ = measure_of(row[0].text)
            for label, cell in zip(labels, row[1:], strict=True):
                own, _, nation = cell.text.partition(f"{NATION}:")
                p = published.period_codes[label]
                seen.append(Seen(where + " trend", grouping, code, p, "all", measure, own))
                seen.append(
                    Seen(where + " trend", grouping, "national", p, "all", measure, nation)
                )
    problems += spine_problems(html, grouping, code, period, published, where)
    return seen, problems


def spine_problems(html, grouping, code, period, published, where) -> list[str]:
    """The spine chart's words and marks against the CSV: each rate's value text, its marker
    and interval where (and only where) the CSV shows the rate, the nation's line, and the
    range across areas."""
    charts = svg_between(html, "spine-chart")
    if not charts:
        return []
    svg, problems = charts[0], []

    def x(value):
        return f"{SPINE_LEFT + (SPINE_RIGHT - SPINE_LEFT) * value:.1f}"

    notes = {y: t for _, y, t in svg_texts(svg, "spine-note")}
    values = {y: t for _, y, t in svg_texts(svg, "bar-value")}
    for _, label_y, label in svg_texts(svg, "bar-label"):
        top = int(label_y) - 12
        measure, _ = measure_of(label)
        note = notes.get(top + 27, "")
        _, _, elsewhere = note.partition(" · ")
        p = published.period_codes[elsewhere] if elsewhere else period
        row = published.rows[(grouping, code, p, "all", measure)]
        nation = published.rows[(grouping, "national", p, "all", measure)]
        text = values.get(top + 19, "")
        figure = DASH if text == "not published here" else first_figure(text)
        seen = Seen(where + " spine", grouping, code, p, "all", measure, figure or "")
        if (problem := published.check(seen)) is not None:
            problems.append(problem)
        cy = f"{top + 15}"
        markers = [
            m
            for m in (
                *[c for c, yy in _circles(svg) if yy == cy],
                *[px for px, py in _paths(svg) if py in (f"{top + 8}", f"{top + 22}")],
            )
        ]
        value = shown_value(row)
        if value is None and markers:
            problems.append(f"{where}: {measure} is hidden but marked on the spine at {markers}")
        if value is not None and markers != [x(value)]:
            problems.append(f"{where}: {measure} marked at {markers}, the CSV gives {x(value)}")
        national = shown_value(nation)
        lines = _vertical(svg, "national-solid", top)
        if (national is None) != (not lines) or (lines and lines != [x(national)]):
            problems.append(f"{where}: {measure} national line at {lines}, CSV {national}")
    return problems


def _circles(svg):
    return re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="5.5"', svg)


def _paths(svg):
    return re.findall(r'<path d="M([\d.]+),(\d+) L', svg)


def _vertical(svg, cls, top):
    pattern = rf'<line x1="([\d.]+)" x2="[\d.]+" y1="{top}" y2="{top + 30}" class="{cls}"'
    return re.findall(pattern, svg)


def own_figures(html, period, published, where) -> list[Seen]:
    """Every figure of a ``/reports/mine`` page: the units' and the nation's (the nation as
    the figures of the page's last unit count it)."""
    seen = []
    last = None
    for table in [t for t in tables(html) if "units-table" in t.classes]:
        for row in table.rows:
            for cell in row:
                if cell.hrefs and "/profile/" in cell.hrefs[0]:
                    last = _unit(cell.hrefs[0])[0]
    for table in [t for t in tables(html) if "units-table" in t.classes]:
        head = table.rows[0]
        if "by-unit" in table.classes:
            measures = [measure_of(c.text) for c in head[1:]]
            grouping = None
            for row in table.rows[1:]:
                if row[0].hrefs:
                    grouping, code = _unit(row[0].hrefs[0])
                else:
                    grouping, code = last, "national"
                for (measure, rest), cell in zip(measures, row[1:], strict=True):
                    p = published.period_codes[rest] if rest else period
                    seen.append(Seen(where, grouping, code, p, "all", measure, cell.text))
            continue
        units = [_unit(c.hrefs[0]) for c in head[1:-1]]
        for row in table.rows[1:]:
            measure, rest = measure_of(row[0].text)
            p = published.period_codes[rest] if rest else period
            for (grouping, code), cell in zip(units, row[1:-1], strict=True):
                seen.append(Seen(where, grouping, code, p, "all", measure, cell.text))
            seen.append(Seen(where, last, "national", p, "all", measure, row[-1].text))
    return seen


def _unit(href: str) -> tuple[str, str]:
    path = href.split("?")[0].split("/")
    return path[-2], path[-1]


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


def test_every_output_publishes_only_what_the_csvs_publish(harvested, session, monkeypatch):
    """One generated database for every output, as building it and harvesting the CSVs
    takes longer than checking them all. Then the check is shown to work: showing the
    "<5" counts on the profile pages makes it fail."""
    client, published, periods = harvested
    _, token = make_api_client(session, Role.LEAD, name="Analysts' system")
    session.commit()
    problems = _api_figures(client, published, periods, token)
    problems += _funnels(client, published, periods)
    seen, wrong = _profiles(client, published, periods)
    problems += wrong
    assert len(seen) > 1000
    own = _own(client, published, periods)
    assert {s.grouping for s in own} >= {"custody_suite", "police_division", "provider", "scheme"}
    seen += own
    harvests = {
        "trends": _trends_pages(client, published, periods),
        "maps": _maps(client, published, periods),
        "quarterly": _quarterly(client, published, periods),
        "packs": _packs(client, published, periods),
        "nation's page": _nations_page(client, published, periods),
    }
    for name, figures in harvests.items():
        assert len(figures) > 500, name
        seen += figures
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


# The funnel's words for an area not drawn, as the CSV labels it.
FUNNEL_WORDS = {
    "hidden so that another figure cannot be worked out": "[c]",
    "small numbers": "<5",
    "not published for this area": DASH,
}


def funnel_problems(html, grouping, period, people, measure, published) -> list[str]:
    """A funnel plot's table and marks against the CSV: every area drawn is one the CSV
    shows, with the same denominator and rate; every area not drawn has the CSV's label;
    each marker sits at the rate as the table rounds it; the nation's line at its rate."""
    where = f"/reports/funnel?group={grouping}&period={period}&people={people}&measure={measure}"
    problems, drawn = [], []
    table = tables(html)[-1]
    for row in table.rows[1:]:
        name, denominator, rate = row[0].text, row[1].text, row[2].text
        name = name.removesuffix(" (your area)")
        code = published.names.get((grouping, name))
        csv_row = published.rows.get((grouping, code, period, people, measure))
        if csv_row is None:
            problems.append(f"{where}: {name} is not in the CSV")
            continue
        if denominator == DASH:
            rate = FUNNEL_WORDS.get(rate, rate)
            seen = Seen(where, grouping, code, period, people, measure, rate)
            if (problem := published.check(seen)) is not None:
                problems.append(problem)
            continue
        if csv_row["value_note"] or denominator.replace(",", "") != csv_row["denominator"]:
            problems.append(f"{where}: {name} drawn on {denominator}, CSV: {csv_row}")
            continue
        seen = Seen(where, grouping, code, period, people, measure, rate)
        if (problem := published.check(seen)) is not None:
            problems.append(problem)
        drawn.append(shown_value(csv_row))
    svg = svg_between(html, "funnel-plot")[0]
    body = svg.split("national-label", 1)[-1]
    marks = len(re.findall(r"<circle |<path d=\"M[^\"]*Z\"", body))
    if marks != len(drawn):
        problems.append(f"{where}: {marks} areas drawn, {len(drawn)} shown in the CSV")
    nation = published.rows[(grouping, "national", period, people, measure)]
    for _, _, text in svg_texts(svg, "national-label"):
        seen = Seen(where, grouping, "national", period, people, measure, text.split()[-1])
        if (problem := published.check(seen)) is not None:
            problems.append(problem)
    if shown_value(nation) is None and "national-label" in svg:
        problems.append(f"{where}: the nation's hidden rate is drawn")
    return problems


def _funnels(client, published, periods) -> list[str]:
    """Every rate, for every grouping in the latest 12 months; every period for council
    areas' conversion rate."""
    latest = max(p for p in periods if p.startswith("12m"))
    asks = [(g, latest, "all", m) for g in GROUPINGS for m in RATES if m in MEASURES_IN_TABLE]
    asks += [("council", p, "all", "conversion_rate") for p in periods]
    problems = []
    for grouping, period, people, measure in asks:
        url = f"/reports/funnel?group={grouping}&period={period}&people={people}&measure={measure}"
        response = client.get(url)
        assert response.status_code == 200, url
        if "funnel-plot" in response.text:
            problems += funnel_problems(
                response.text, grouping, period, people, measure, published
            )
    return problems


# Words the pages use for a figure not shown, as the CSV labels it.
REASONS = {
    "hidden so that another figure cannot be worked out": "[c]",
    "not published, to protect small numbers": "not published",
    "small numbers": "<5",
    "not published for this area": DASH,
}
ALIASES = {"Referrals": "referrals"}


def _measure(text: str) -> str | None:
    return ALIASES.get(text) or measure_of(text)[0]


def period_table_figures(table, grouping, code, published, where) -> tuple[list[Seen], int]:
    """A table of periods (trends page, pack, quarterly report): one row per period, a
    column for the area (with its interval beside it) and one for the nation. Figures for
    periods the CSVs do not cover (the nation's alone) are counted, not checked."""
    measure = _measure(table.caption.split(" by ")[0])
    head = [c.text for c in table.rows[0]]
    seen, new = [], 0
    if measure is None or measure not in MEASURES_IN_TABLE:
        return [], sum(len(r) - 1 for r in table.rows[1:])
    for row in table.rows[1:]:
        period = published.period_codes.get(row[0].text)
        for i, name in enumerate(head[1:], start=1):
            text = row[i].text
            if name == NATION:
                key = "national"
            elif name in ("95% interval", "Change from the period before"):
                continue
            else:
                key = code
                if i + 1 < len(head) and head[i + 1] == "95% interval":
                    text = f"{text} {row[i + 1].text}"
            if period is None:
                if key == "national":
                    new += 1
                    continue
                period = "not offered"
            seen.append(Seen(where, grouping, key, period, "all", measure, text))
    return seen, new


def wide_table_figures(table, grouping, code, published, where) -> list[Seen]:
    """A table of periods by measure (the trends page's summaries): rows for the area's
    periods and, labelled "<period>: Scotland", the nation's; or a column "Scotland" beside
    an area's counts."""
    head = [c.text for c in table.rows[0]]
    seen = []
    for row in table.rows[1:]:
        label = row[0].text
        key = code
        if label.endswith(f": {NATION}"):
            label, key = label.removesuffix(f": {NATION}"), "national"
        period = published.period_codes.get(label, "not offered")
        last = None
        for name, cell in zip(head[1:], row[1:], strict=True):
            if name == NATION:
                seen.append(Seen(where, grouping, "national", period, "all", last, cell.text))
                continue
            last = _measure(name)
            if last in MEASURES_IN_TABLE:
                seen.append(Seen(where, grouping, key, period, "all", last, cell.text))
    return [s for s in seen if not (s.period == "not offered" and s.code == "national")]


def _trends_pages(client, published, periods) -> list[Seen]:
    """The trends page of the smallest and the largest area of each geography (and of
    custody suites), for its default measure, and every rate for the smallest council."""
    seen = []
    latest = max(p for p in periods if p.startswith("12m"))
    for grouping in ("council", "adp", "police_division", "health_board", "custody_suite"):
        order = _by_size(published, grouping, latest)
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


def _by_size(published, grouping, period) -> list[str]:
    sizes = {}
    for code in published.codes(grouping, period):
        row = published.rows[(grouping, code, period, "all", "referrals")]
        if row["value"] or row["value_note"]:
            sizes[code] = int(row["value"]) if row["value"] else 0
    return sorted(sizes, key=lambda c: (sizes[c], c))


def map_figures(html, grouping, period, measure, published, where) -> list[Seen]:
    """The map's table and its tiles' names (each tile's figure in words)."""
    seen = []
    table = tables(html)[-1]
    for row in table.rows[1:]:
        name = re.sub(r"\s*\(?[Yy]our area\)?$", "", row[0].text)
        code = published.names.get((grouping, name), name)
        seen.append(Seen(where, grouping, code, period, "all", "referrals", row[1].text))
        seen.append(Seen(where, grouping, code, period, "all", measure, row[2].text))
    for label in re.findall(r'class="tile" aria-label="([^"]*)"', html):
        label = unescape(label).removeprefix("Your area: ")
        name, _, words = label.partition(": ")
        code = published.names.get((grouping, name), name)
        found = re.search(r"not shown \((.*)\)", words)
        text = REASONS.get(found.group(1), found.group(1)) if found else words.split(" ")[-1]
        if not found:
            text = re.search(r"(\d+\.\d%|no \w+)", words).group(1)
        seen.append(Seen(where + " tile", grouping, code, period, "all", measure, text))
    return seen


def _maps(client, published, periods) -> list[Seen]:
    """The map of every geography for every rate in the latest 12 months, and of council
    areas' default rate in every period."""
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
    return seen


def area_table_figures(table, grouping, period, published, where) -> list[Seen]:
    """A table of areas by measure (the quarterly report's areas and schemes, the nation by
    quarter): a row per area, or per quarter for the nation, and a column per measure."""
    head = [_measure(c.text) for c in table.rows[0]]
    seen = []
    for row in table.rows[1:]:
        label = re.sub(r"\s*\(?[Yy]our area\)?$", "", row[0].text)
        if grouping == "national":
            key, p = "national", published.period_codes.get(label, "not offered")
        else:
            key, p = published.names.get((grouping, label), label), period
            key = "national" if label == NATION else key
        for measure, cell in zip(head[1:], row[1:], strict=True):
            if measure in MEASURES_IN_TABLE:
                g = "council" if grouping == "national" else grouping
                seen.append(Seen(where, g, key, p, "all", measure, cell.text))
    return [s for s in seen if s.period != "not offered"]


def _period_named(published, text: str) -> str | None:
    labels = {label.lower(): code for label, code in published.period_codes.items()}
    found = [label for label in labels if label in text.lower()]
    return labels[max(found, key=len)] if found else None


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
            measure_here = _measure(row[0].text)
            if measure_here in MEASURES_IN_TABLE:
                seen.append(
                    Seen(url, "council", "national", quarter, "all", measure_here, row[1].text)
                )
        headings = re.findall(r"<h2>([^<]*)</h2>", html)
        table_period = next(
            (p for h in headings if h.startswith("2.") and (p := _period_named(published, h))),
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
        asks.append((max(quarters), f"{grouping}:{_by_size(published, grouping, latest)[0]}"))
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


YEAR_LABEL = re.compile(r"12 months to \w+ \d{4}|Financial year \d{4}-\d{2}")


def pack_table_figures(table, grouping, code, quarter, published, where) -> list[Seen]:
    """The pack's summary: the area and the nation in the quarter and in the latest year
    (named under a figure; otherwise the 12 months to the quarter's end)."""
    head = [c.text for c in table.rows[0]]
    year, q = quarter.split("Q")
    ending = f"12m-{year}-{3 * int(q):02d}"
    seen = []
    columns = [i for i, name in enumerate(head) if re.match(r"(\w+Q\d|Latest year): ", name)]
    for row in table.rows[1:]:
        measure = _measure(row[0].text)
        if measure not in MEASURES_IN_TABLE:
            continue
        cells = [(head[i], row[i]) for i in columns]
        named = [YEAR_LABEL.search(c.text) for n, c in cells if n.startswith("Latest")]
        latest = next(
            (published.period_codes.get(m.group(0), "not offered") for m in named if m), ending
        )
        for name, cell in cells:
            key = "national" if name.endswith(f": {NATION}") else code
            period = latest if name.startswith("Latest year") else quarter
            if period == "not offered" and key == "national":
                continue  # the nation's alone in a period no area is published for
            seen.append(Seen(where, grouping, key, period, "all", measure, cell.text))
    return seen


def national_cells(client, token) -> dict[str, list[Cell]]:
    """The nation's figures of every period the API offers (months and monthly rolling
    years too, which only the nation is published for), per measure, as the reader's
    cells over months."""
    headers = {"Authorization": f"Bearer {token}"}
    index = client.get("/api/v1/reports", headers=headers).get_json()
    cells: dict[str, list[Cell]] = defaultdict(list)
    for facts in index["periods"]:
        code = facts["code"]
        answer = client.get(f"/api/v1/reports/national?period={code}", headers=headers)
        assert answer.status_code == 200, code
        months = frozenset(parse(code).months)
        for measure, figure in answer.get_json()["national"]["figures"].items():
            if measure not in RATE_FACTS and measure not in COUNT_FACTS:
                continue
            reason = figure["null_reason"] or {}
            if figure["value"] is None and reason.get("code") in NOT_FIGURES:
                continue
            label = reason.get("label") if figure["hidden"] else None
            if label == "not published":
                label = "withdrawn"
            x = figure["numerator"] if measure in RATE_FACTS else figure["value"]
            cells[measure].append(
                Cell("national", code, "all", months, label, x, figure["denominator"])
            )
        for kind, reasons in (answer.get_json()["reasons"] or {}).items():
            for reason, figure in (reasons or {}).items():
                parts = REASON_CODES[kind] if reason == "total" else [reason]
                atoms = frozenset((m, r) for m in months for r in parts)
                label = (figure["null_reason"] or {}).get("label") if figure["hidden"] else None
                cells[f"{kind} by reason"].append(
                    Cell("national", code, reason, atoms, label, figure["value"])
                )
    return cells


REASON_CODES = {
    "closed": [c.value for c in CloseReason],
    "declined": [c.value for c in DeclineReason],
}


def reason_truth(session) -> dict[str, Counter]:
    """True closures and declines by month referred and reason (declines of the referrals
    the measures count; closures of every referral, entered in error too)."""
    r = Referral
    counted = sa.or_(
        r.close_reason.is_(None),
        r.close_reason.not_in([CloseReason.ENTERED_IN_ERROR, CloseReason.REFERRED_ON]),
    )
    out = {}
    for kind, column, where in (
        ("closed", r.close_reason, sa.true()),
        ("declined", r.decline_reason, counted),
    ):
        table = Counter()
        query = sa.select(r.referred_on, column, sa.func.count()).where(column.is_not(None), where)
        for day, reason, n in session.execute(query.group_by(r.referred_on, column)):
            table[(month_index(day), str(getattr(reason, "value", reason)))] += n
        out[f"{kind} by reason"] = table
    return out


def national_pinned(client, session, token) -> tuple[list[tuple], int]:
    """Each hidden national figure from 1 to 4 the reader pins down from the nation's
    figures of every period, and how many it tried."""
    truth = _truth(session, when=month_index)["area"]
    by_month: dict[int, Counter] = defaultdict(Counter)
    for (_, month, *_), counts in truth.items():
        by_month[month].update(counts)
    reasons = reason_truth(session)
    pinned, tried = [], 0
    for measure, cells in national_cells(client, token).items():
        rate = measure in RATE_FACTS
        if measure in reasons:
            fields = None

            def true_value(cell, which, table=reasons[measure]):
                return sum(table[atom] for atom in cell.atoms)
        else:
            fields = RATE_FACTS[measure] if rate else (COUNT_FACTS[measure],)

            def true_value(cell, which, fields=fields):
                values = [sum(by_month[m][f] for m in cell.atoms) for f in fields]
                return values[-1] - values[0] if which == "complement" else values[0]

        targets = [
            c
            for c in cells
            if c.label not in (None, "[c]", "withdrawn")
            and any(
                1 <= true_value(c, w) <= 4
                for w in (("numerator", "complement") if rate else ("count",))
            )
        ]
        tried += len(targets)
        reader = Reader(rate, list(cells))
        for finding in reader.findings(targets, true_value):
            value = true_value(finding.cell, finding.which)
            if finding.pinned and 1 <= value <= 4:
                cell = finding.cell
                pinned.append((measure, cell.period, cell.group, finding.which, value))
    return pinned, tried


def test_no_hidden_national_figure_can_be_pinned_down_across_periods(seeded, session, monkeypatch):
    """The nation is published for every month and every 12 months ending with a month,
    with closures and declines by reason for its years, none of which the CSVs of areas
    hold: differences between them must pin nothing down. Without secondary suppression
    the same reader does pin figures down (a death among them), so the check works."""
    client = seeded
    _, token = make_api_client(session, Role.LEAD, name="Analysts' system")
    session.commit()
    pinned, tried = national_pinned(client, session, token)
    assert tried > 5
    assert pinned == []
    monkeypatch.setattr(dc.Protector, "_certificate", lambda self, key, figure: (0.0, [], [key]))
    assert client.application.test_cli_runner().invoke(args=["refresh-reports"]).exit_code == 0
    pinned, _ = national_pinned(client, session, token)
    assert pinned, "the reader found nothing even without secondary suppression"
