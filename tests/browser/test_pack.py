"""The quarterly pack and the trend charts in a real browser: they fit a phone and a
desktop screen without sideways scrolling, the charts draw, the tables behind them open,
and the PDF downloads."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api")

PAGES = (
    "/reports/pack",
    "/reports/pack?area=national",
    "/reports/trends?group=police_division&area=G",
    "/reports/quarterly",
)


@pytest.mark.parametrize("width", [390, 1280])
def test_pack_and_trends_fit_the_screen(open_session, width):
    session = open_session("lead@demo.test", viewport={"width": width, "height": 900})
    for path in PAGES:
        assert session.goto(path).ok, path
        page = session.page
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, width, overflow)
    session.watch.assert_clean()


def test_pack_opens_on_the_leads_division_and_scotlands_has_charts_tables_and_pdf(
    open_session,
):
    session = open_session("lead@demo.test")
    session.goto("/reports/pack")
    page = session.page
    assert page.get_by_role("heading", level=1).inner_text().startswith("Greater Glasgow:")
    page.get_by_label("Area").select_option("national")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Scotland:")
    charts = page.locator("svg.trend-plot")
    assert charts.count() >= 5
    page.get_by_text("Acceptance rate by quarter as a table").click()
    assert page.get_by_role("region", name="Acceptance rate by quarter").is_visible()
    with page.expect_download(timeout=90_000) as download:  # the PDF is drawn on the server
        page.get_by_role("link", name="Download PDF").click()
    path = download.value.path()
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert download.value.suggested_filename.startswith("pack-scotland-")
    session.watch.assert_clean()
