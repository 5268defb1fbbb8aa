"""The tile map: every area of every geography on one equal-sized, labelled hexagon,
readable without boundaries or tiles from the internet, and small enough to load on a
phone."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from referrals.choices import AreaGroupKind
from referrals.models import AreaGroup, AreaTile, CouncilArea

from .test_auth import sign_in
from .test_report_map_labels import contrasting_areas  # noqa: F401 - a fixture


@pytest.fixture
def lead_with_figures(client, contrasting_areas):  # noqa: F811
    """The map-label tests' areas (Glasgow 50 of 60, Edinburgh 10 of 60, three areas half
    of 40, the rest with none), seen by their area lead."""
    sign_in(client, "lead@t.example")
    return client


def tiles(page: str) -> dict[str, dict]:
    """Each tile's accessible name, fill and two lines of text, by the area code it links to."""
    found = {}
    pattern = (
        r'<a href="#area-([^"]+)" class="tile" aria-label="([^"]+)">\s*'
        r'<polygon points="[^"]+" fill="([^"]+)"[^>]*/>\s*(?:<rect[^>]*/>\s*)?'
        r"<text[^>]*>([^<]*)</text>\s*<text[^>]*>([^<]*)</text>"
    )
    for code, label, fill, name, value in re.findall(pattern, page):
        found[code] = {
            "label": unescape(label),
            "fill": fill,
            "name": unescape(name),
            "value": unescape(value),
        }
    return found


def test_the_default_map_labels_every_council_with_its_name_and_figure(lead_with_figures, session):
    response = lead_with_figures.get("/reports/map?group=council&measure=acceptance_rate")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = tiles(page)
    codes = set(session.scalars(sa.select(CouncilArea.code)))
    assert set(shown) == codes  # all 32, each a focusable link
    assert shown["S12000049"]["name"] == "Glasgow"
    assert shown["S12000049"]["value"] == "83.3% ▲▲"  # 50 of 60, far above 100/240
    assert shown["S12000049"]["fill"] == "#542788"
    assert shown["S12000049"]["label"].startswith("Glasgow City: acceptance rate 83.3%, higher")
    assert shown["S12000036"]["value"] == "16.7% ▼▼"
    assert shown["S12000047"]["value"].endswith("●")  # Fife: similar
    orkney = shown["S12000023"]
    assert orkney["fill"] == "url(#tile-hatch)"  # hidden: hatched, not just grey
    assert "not shown" in orkney["label"].lower()
    for code in codes:  # each tile leads to its row in the table
        assert f'<tr id="area-{code}">' in page
    assert "<iframe" not in page  # no boundaries: no geographic map is offered
    assert len(response.data) < 80_000


def test_every_grouping_has_a_labelled_tile_per_area_without_overlap(lead_with_figures, session):
    for group, kind in (
        ("adp", AreaGroupKind.ADP),
        ("police_division", AreaGroupKind.POLICE_DIVISION),
        ("health_board", AreaGroupKind.HEALTH_BOARD),
    ):
        page = lead_with_figures.get(f"/reports/map?group={group}&measure=acceptance_rate")
        html = page.get_data(as_text=True)
        shown = tiles(html)
        codes = set(session.scalars(sa.select(AreaGroup.code).where(AreaGroup.kind == kind)))
        assert set(shown) == codes, group
        assert all(t["name"] and t["value"] for t in shown.values()), group
        points = re.findall(r'class="tile" aria-label="[^"]+">\s*<polygon points="([^"]+)"', html)
        assert len(set(points)) == len(codes), group  # no two areas on the same cell
        assert len(page.data) < 80_000

    # A count is not compared: plain colours by value, and zero shows as 0, not hidden.
    html = lead_with_figures.get("/reports/map?group=council&measure=referrals").get_data(
        as_text=True
    )
    shown = tiles(html)
    assert shown["S12000049"]["value"] == "60"
    assert shown["S12000049"]["fill"].startswith("#")
    assert shown["S12000023"]["value"] == "0"


def test_an_area_missing_from_the_layout_still_gets_its_own_tile(lead_with_figures, session):
    session.execute(sa.delete(AreaTile).where(AreaTile.code == "S12000049"))
    session.commit()
    page = lead_with_figures.get("/reports/map?group=council&measure=acceptance_rate").get_data(
        as_text=True
    )
    shown = tiles(page)
    assert shown["S12000049"]["name"] == "Glasgow City"
    points = re.findall(r'class="tile" aria-label="[^"]+">\s*<polygon points="([^"]+)"', page)
    assert len(set(points)) == 32
