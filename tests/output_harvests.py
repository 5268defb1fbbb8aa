"""More of the outputs harvested for ``test_adversary_outputs``: the funnel plots (for
everybody and for each group of people), the geographic map with council boundaries
loaded, and the quarterly pack's PDF; each harvest gives the figures it read, or the
problems it found with them."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from html import unescape

import pytest
import sqlalchemy as sa

from referrals.models import CouncilArea
from referrals.reports.exports import MEASURES_IN_TABLE
from referrals.reports.measures import GEOGRAPHIES, LARGE_LEVELS, RATES

from .geodata import square_boundaries
from .output_maps import geographic_problems, legend_problems
from .output_pdf import pdf_pack_figures
from .output_tables import frame_figures, funnel_problems, map_figures
from .outputs import DASH, Seen, tables
from .test_adversary import GROUPINGS
from .test_pack import pdf_text


def funnels(client, published, periods, everybody=True) -> list[str]:
    """Every rate, for every grouping in the latest 12 months; every period for council
    areas' conversion rate. For each group of people (in the groupings and periods that
    publish them): every rate in the latest 12 months, and the conversion and offer rates
    (one of referrals, one of custody contacts) in every other period that has groups of
    people. Only the groups of people unless ``everybody``."""
    latest = max(p for p in periods if p.startswith("12m"))
    rates = [m for m in RATES if m in MEASURES_IN_TABLE]
    asks = []
    if everybody:
        asks += [(g, latest, "all", m) for g in GROUPINGS for m in rates]
        asks += [("council", p, "all", "conversion_rate") for p in periods]
    grouped = groups_of_people(published)
    assert {g for g, _ in grouped} == set(LARGE_LEVELS), grouped.keys()
    assert latest in {p for _, p in grouped}, "the latest 12 months have no groups of people"
    for (grouping, period), peoples in grouped.items():
        measures = rates if period == latest else ["conversion_rate", "offer_rate"]
        asks += [(grouping, period, people, m) for people in peoples for m in measures]
    problems, drawn = [], Counter()
    for grouping, period, people, measure in asks:
        url = f"/reports/funnel?group={grouping}&period={period}&people={people}&measure={measure}"
        response = client.get(url)
        assert response.status_code == 200, url
        if "funnel-plot" in response.text:
            problems += funnel_problems(
                response.text, grouping, period, people, measure, published
            )
            rows = tables(response.text)[-1].rows[1:]
            drawn[people == "all"] += sum(row[1].text != DASH for row in rows)
    assert drawn[False] > 100, drawn  # groups of people's areas drawn and checked
    return problems


def groups_of_people(published) -> dict[tuple[str, str], list[str]]:
    """The groups of people the CSVs publish, by grouping and period: the app offers them
    for the largest areas in 12-month periods and financial years."""
    found: dict[tuple[str, str], set[str]] = {}
    for grouping, _, period, people, _ in published.rows:
        if people != "all":
            found.setdefault((grouping, period), set()).add(people)
    return {key: sorted(peoples) for key, peoples in sorted(found.items())}


def by_size(published, grouping, period) -> list[str]:
    sizes = {}
    for code in published.codes(grouping, period):
        row = published.rows[(grouping, code, period, "all", "referrals")]
        if row["value"] or row["value_note"]:
            sizes[code] = int(row["value"]) if row["value"] else 0
    return sorted(sizes, key=lambda c: (sizes[c], c))


def load_boundaries(session, runner, tmp_path) -> None:
    """A made-up square about each council area's centre, loaded as the boundaries are."""
    councils = session.scalars(sa.select(CouncilArea)).all()
    path = tmp_path / "councils.geojson"
    path.write_text(json.dumps(square_boundaries(councils)))
    result = runner.invoke(args=["import-boundaries", str(path), "--code-property", "code"])
    assert result.exit_code == 0, result.output
    assert f"Loaded boundaries for {len(councils)} council areas" in result.output


def geographic_maps(client, published, periods, asks=None) -> tuple[list[Seen], list[str]]:
    """The geographic map, with council boundaries loaded: its page (the table beside it
    and its key) and its frame (each area's tooltip, label, colour and shape). Every
    geography for every rate in the latest 12 months, compared with the nation and on the
    light-to-dark scale, and referrals on that scale; council areas' default rate in every
    period; and the offer rate of each group of people where the largest areas publish
    them in the latest 12 months (the map's form does not offer groups of people, but its
    address takes them)."""
    latest = max(p for p in periods if p.startswith("12m"))
    rates = [m for m in RATES if m in MEASURES_IN_TABLE]
    if asks is None:
        asks = [(g, latest, m, "comparison") for g in GEOGRAPHIES for m in rates]
        asks += [(g, latest, m, "sequential") for g in GEOGRAPHIES for m in [*rates, "referrals"]]
        asks += [("council", p, "engagement_rate", "comparison") for p in periods if p != latest]
        grouped = groups_of_people(published)
        for grouping in LARGE_LEVELS:
            for people in grouped[(grouping, latest)]:
                asks.append((grouping, latest, "offer_rate", "comparison", people))
    seen, problems = [], []
    for grouping, period, measure, scale, *group in asks:
        people = group[0] if group else "all"
        query = f"view=geographic&group={grouping}&period={period}&measure={measure}&scale={scale}"
        query += f"&people={people}" if group else ""
        url = f"/reports/map?{query}"
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.text
        assert "drawn from their boundaries" in html, url
        assert f'src="/reports/map/frame?{query}"' in unescape(html), url
        more = map_figures(html, grouping, period, measure, published, url)
        problems += legend_problems(html, grouping, period, measure, scale, published, url, people)
        url = f"/reports/map/frame?{query}"
        frame = client.get(url)
        assert frame.status_code == 200, url
        more += frame_figures(frame.text, grouping, period, measure, published, url)
        seen += [replace(s, people=people) for s in more]
        problems += geographic_problems(
            frame.text, grouping, period, measure, scale, published, url, people
        )
    return seen, problems


def pdf_packs(
    client, published, periods, groupings=("adp", "scheme")
) -> tuple[list[Seen], list[str]]:
    """The quarterly pack's PDF (its text, read with pypdf) of the smallest ADP and the
    smallest scheme for the latest quarter: every figure of its summary and its tables by
    quarter, against the CSV and against the pack page. (Each PDF takes seconds to make,
    and the page, made from the same pack, is harvested for more areas and quarters.)"""
    pytest.importorskip("pypdf")
    quarter = max(p for p in periods if "Q" in p)
    latest = max(p for p in periods if p.startswith("12m"))
    seen, problems = [], []
    for grouping in groupings:
        code = by_size(published, grouping, latest)[0]
        url = f"/reports/pack.pdf?quarter={quarter}&area={grouping}:{code}"
        response = client.get(url)
        assert response.status_code == 200, url
        page = client.get(url.replace("pack.pdf", "pack"))
        assert page.status_code == 200, url
        more, wrong = pdf_pack_figures(
            pdf_text(response.data), tables(page.text), grouping, code, quarter, published, url
        )
        seen += more
        problems += wrong
    return seen, problems
