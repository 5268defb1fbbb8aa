"""Report pages that fit: at 390 px (a phone) and 1280 px (a desktop) no report page
scrolls sideways, wide tables scroll inside their own box (with the screen-reader text
kept inside it), and at 1280 px the area table shows its measure and the comparison with
Scotland without scrolling at all. Each role's own figures are checked too."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api")

from .support import DESKTOP

PHONE = {"width": 390, "height": 844}

# (demo account, report page)
REPORT_PAGES = [
    ("lead", "/reports/"),
    ("lead", "/reports/areas"),
    ("lead", "/reports/areas?group=custody_suite&measure=engagement_rate"),
    ("lead", "/reports/areas?group=service"),
    ("lead", "/reports/map"),
    ("lead", "/reports/funnel"),
    ("lead", "/reports/trends"),
    ("lead", "/reports/targets"),
    ("lead", "/reports/quarterly"),
    ("lead", "/reports/definitions"),
    ("lead", "/reports/mine"),
    ("lead", "/reports/profile/council/S12000049"),
    ("lead", "/reports/profile/police_division/G"),
    ("custody", "/reports/mine"),
    ("custody", "/reports/pack"),
    ("custody", "/reports/profile/custody_suite/GLA-LR"),
    ("provider", "/reports/mine"),
]

OVERFLOW = """() => {
  const page = document.documentElement;
  const boxes = [...document.querySelectorAll('main table')].map((t) => {
    const box = t.closest('.table-wrap');
    return {inBox: !!box, scrolls: box ? box.scrollWidth > box.clientWidth + 1 : false,
            caption: (t.caption && t.caption.innerText || '').slice(0, 60)};
  });
  return {pageWide: page.scrollWidth, viewport: window.innerWidth, boxes};
}"""


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_no_report_page_scrolls_sideways(open_session, viewport):
    sessions = {}
    for role, path in REPORT_PAGES:
        if role not in sessions:
            sessions[role] = open_session(f"{role}@demo.test", viewport=viewport)
        session = sessions[role]
        response = session.goto(path)
        assert response.status == 200, (role, path)
        found = session.page.evaluate(OVERFLOW)
        assert found["pageWide"] <= found["viewport"], (viewport["width"], role, path, found)
        for table in found["boxes"]:
            assert table["inBox"], (viewport["width"], path, table)  # every table in a box


def test_the_area_table_fits_a_desktop_screen(open_session):
    session = open_session("lead@demo.test", viewport=DESKTOP)
    for measure in ("conversion_rate", "engagement_rate", "median_days_to_treatment"):
        session.goto(f"/reports/areas?group=council&measure={measure}")
        wide = session.page.evaluate(
            "() => { const b = document.querySelector('.area-table').closest('.table-wrap');"
            " return [b.scrollWidth, b.clientWidth]; }"
        )
        assert wide[0] <= wide[1] + 1, (measure, wide)
    header = session.page.locator(".area-table thead").inner_text()
    assert "Compared with" not in header  # a wait is not compared; a rate is:
    session.goto("/reports/areas?group=council&measure=conversion_rate")
    assert "Compared with Scotland" in session.page.locator(".area-table thead").inner_text()
    own = session.page.locator(".area-table tr.own-row")
    assert own.count() == 1 and "Your area" in own.inner_text()
