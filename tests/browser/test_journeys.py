"""What each kind of user does first, end to end in a real browser.

The custody officer's referral is the one the provider then works on: the module-scoped
``custody_referral`` fixture makes it once, whichever test asks first.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

from .support import Session, readme_screenshot

# Easterhouse: the demo provider's organisation runs a treatment service there.
DISTRICT = "G34"
SERVICE = "Easterhouse Medication-Assisted Treatment Service"
PROVIDER_ORGANISATION = "Tidewater Wellbeing Partnership"
MOBILE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


def today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/London")).date()


def fill_referral_form(page, person_ref: str) -> None:
    page.get_by_label("Custody record number").fill(person_ref)
    page.get_by_label("Age", exact=True).select_option(label="25 to 34")
    page.get_by_role("group", name="Sex").get_by_label("Male", exact=True).check()
    page.get_by_label("Postcode district where the person lives").fill(DISTRICT)
    # The council area follows the district as it is typed.
    expect(page.get_by_label("Council area of residence")).to_have_value(re.compile(r".+"))
    page.get_by_role("group", name="Pathway").get_by_label("Arrest referral").check()
    page.get_by_label("The person consented to this referral").check()
    page.get_by_label("Date consent was given").fill(today().isoformat())
    page.get_by_label("Heroin or other opioids").check()
    page.get_by_label("Naloxone kit offered").check()
    note = page.get_by_text("Child protection.", exact=False)
    expect(note).to_be_hidden()
    page.get_by_label("Children live in the household").check()
    expect(note).to_be_visible()
    page.get_by_label("Through the referring worker").check()
    page.get_by_label("Notes for the service").fill("Prefers afternoon appointments.")


@pytest.fixture(scope="module")
def custody_referral(browser, live_server):
    """Search, choose the service, refer: returns the reference and the referral's id."""
    session = Session(browser, live_server.url)
    page = session.page
    try:
        session.sign_in("custody@demo.test")
        expect(page.get_by_role("link", name="Make a referral")).to_be_visible()
        session.screenshot("custody-home")

        page.get_by_label("Postcode or town").fill(DISTRICT)
        page.get_by_role("button", name="Search").click()
        expect(
            page.get_by_role("heading", level=2, name=re.compile(r"within .* of G34"))
        ).to_be_visible()
        session.screenshot("custody-search-results")

        page.get_by_role("link", name=SERVICE, exact=True).first.click()
        expect(page.get_by_role("heading", level=1, name=SERVICE)).to_be_visible()
        expect(page.get_by_text(PROVIDER_ORGANISATION).first).to_be_visible()
        session.screenshot("custody-service")

        page.get_by_role("link", name="Refer to this service").click()
        expect(page.get_by_role("heading", level=1, name="Make a referral")).to_be_visible()
        expect(page.locator(".chosen-service")).to_contain_text(SERVICE)
        person_ref = f"CR/{today():%y%m%d}/0042"
        fill_referral_form(page, person_ref)
        session.screenshot("custody-referral-form")

        page.get_by_role("button", name="Make the referral").click()
        expect(page.get_by_role("heading", level=1, name="Referral made")).to_be_visible()
        reference = page.locator(".reference").inner_text().strip()
        assert re.fullmatch(r"RP-[0-9A-Z]{4}-[0-9A-Z]{4}", reference), reference
        expect(page.locator("main")).to_contain_text(SERVICE)
        expect(page.locator("main")).to_contain_text("Child protection.")
        session.screenshot("custody-referral-made")

        page.get_by_role("link", name="View this referral").click()
        referral_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])
        session.watch.assert_clean()
        return {
            "reference": reference,
            "id": referral_id,
            "person_ref": person_ref,
        }
    finally:
        session.close()


def test_custody_officer_refers_someone_and_sees_it_in_their_referrals(
    custody_referral, open_session
):
    session = open_session("custody@demo.test")
    page = session.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Referrals").click()
    expect(page.get_by_role("heading", level=1, name="Referrals")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=custody_referral["reference"])
    expect(row).to_have_count(1)
    expect(row).to_contain_text(SERVICE)
    expect(row).to_contain_text(custody_referral["person_ref"])
    expect(row).to_contain_text("Made, awaiting response")
    session.screenshot("custody-referrals")

    row.get_by_role("link", name=custody_referral["reference"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Referral {custody_referral['reference']}"
    )
    expect(page.locator(".timeline")).to_contain_text("Made, awaiting response")
    session.watch.assert_clean()


def test_provider_accepts_the_referral_and_records_attendance_and_treatment(
    custody_referral, open_session
):
    reference = custody_referral["reference"]
    session = open_session("provider@demo.test")
    page = session.page
    page.get_by_role("link", name="Open your worklist").click()
    expect(page.get_by_role("heading", level=1, name="Worklist")).to_be_visible()
    new = page.locator("section").filter(
        has=page.get_by_role("heading", name=re.compile("^New: awaiting acceptance"))
    )
    row = new.get_by_role("listitem").filter(has_text=reference)
    expect(row).to_contain_text(SERVICE)
    expect(row).to_contain_text("Children in household")
    session.screenshot("provider-worklist")
    readme_screenshot(session, "worklist")

    row.get_by_role("button", name=re.compile(r"^Accept today")).click()
    expect(page.get_by_role("status")).to_contain_text(f"Referral {reference} accepted.")
    accepted = page.locator("section").filter(
        has=page.get_by_role("heading", name=re.compile("^Awaiting first attendance"))
    )
    expect(accepted.get_by_role("listitem").filter(has_text=reference)).to_have_count(1)

    # First attendance from the referral's page, with the date typed in.
    accepted.get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Referral {reference}")
    expect(page.get_by_role("note").filter(has_text="Child protection.")).to_be_visible()
    attend = page.get_by_role("form", name="Record first attendance")
    attend.get_by_label("Date").fill(today().isoformat())
    attend.get_by_role("button", name="Record first attendance").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"First attendance recorded for referral {reference}."
    )
    expect(page.locator(".lead .status")).to_have_text("Engaged (attended)")

    start = page.get_by_role("form", name="Record treatment start")
    start.get_by_label("Date").fill(today().isoformat())
    start.get_by_role("button", name="Record treatment start").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Treatment start recorded for referral {reference}."
    )
    expect(page.locator(".lead .status")).to_have_text("Treatment started")

    timeline = page.locator(".timeline > li")
    expect(timeline).to_have_count(4)
    when = f"on {today():%-d %b %Y}"
    for index, status in enumerate(
        ["Made, awaiting response", "Accepted", "Engaged (attended)", "Treatment started"]
    ):
        expect(timeline.nth(index)).to_contain_text(status)
        if index:
            expect(timeline.nth(index)).to_contain_text("Demo Provider Worker")
    expect(timeline.nth(3)).to_contain_text(when)
    session.screenshot("provider-referral-timeline")
    session.watch.assert_clean()


def test_area_lead_reads_the_reports_and_sees_no_person_level_page(custody_referral, open_session):
    session = open_session("lead@demo.test")
    page = session.page
    page.get_by_role("link", name="Compare areas").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Outcomes by council area of residence"
    )
    page.get_by_label("Areas", exact=True).select_option(label="Police division")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Outcomes by police division")
    expect(page.locator(".area-table")).to_contain_text("Greater Glasgow")
    session.screenshot("lead-areas-police-divisions")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download this table as CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("areas-police_division-")
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][:6] == ["as_of", "period", "period_label", "area_type", "area_code", "area"]
    assert {"numerator", "denominator", "value_note", "compared_with_national"} <= set(rows[0])
    names = [r[5] for r in rows[1:]]
    assert "Greater Glasgow" in names
    assert names[-1] == "Scotland"
    assert all(len(r) == len(rows[0]) for r in rows)

    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Map").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("by police division")
    legend = page.get_by_role("list", name="What the colours mean")
    expect(legend).to_contain_text("Not shown")
    for text in legend.get_by_role("listitem").all_inner_texts():
        assert text.strip(), "a legend entry has a colour but no words"
    expect(page.locator("svg.tile-map-svg a.tile")).to_have_count(13)
    expect(
        page.get_by_role("link", name=re.compile("^(Your area: )?Greater Glasgow: "))
    ).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Greater Glasgow")
    session.screenshot("lead-area-map")

    session.goto("/reports/map?measure=engagement_rate")
    expect(page.locator("svg.tile-map-svg a.tile")).to_have_count(32)
    page.locator("svg.tile-map-svg").evaluate(
        "map => window.scrollTo(0, map.getBoundingClientRect().top + window.scrollY - 140)"
    )
    readme_screenshot(session, "area-map")

    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Funnel plot").click()
    expect(page.get_by_role("heading", level=1, name="Funnel plot")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("."))).to_have_count(1)
    session.screenshot("lead-funnel")
    session.watch.assert_clean()

    # No person-level pages: the access rules answer 403 for an area lead.
    for path in (f"/referrals/{custody_referral['id']}", "/referrals", "/worklist"):
        response = session.goto(path)
        assert response.status == 403, (path, response.status)
        expect(page.locator("main")).not_to_contain_text(custody_referral["reference"])
        expect(page.locator("main")).not_to_contain_text(custody_referral["person_ref"])
    session.screenshot("lead-person-level-refused")


def test_someone_on_a_phone_finds_services_and_sees_them_on_the_map(open_session):
    session = open_session(**MOBILE)
    page = session.page
    session.goto("/")
    page.get_by_label("Postcode or town").fill("Kirkcaldy")
    page.get_by_role("button", name="Search").tap()
    expect(
        page.get_by_role("heading", level=2, name=re.compile("within .* of Kirkcaldy"))
    ).to_be_visible()
    results = page.locator("ol.results > li")
    assert results.count() >= 1
    page.wait_for_load_state("load")  # the stylesheets are in
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the results page scrolls sideways on a phone ({width}px wide)"
    session.screenshot("phone-search-results")

    page.get_by_role("link", name="Show these services on a map").tap()
    expect(page.get_by_role("heading", level=1, name="Services map")).to_be_visible()
    box = page.locator("#services-map")
    expect(box).to_have_attribute("data-state", "ready")
    expect(page.locator("#map-count")).to_contain_text("within 25 km of Kirkcaldy in view")
    expect(box.locator(".origin-pin")).to_have_text("Kirkcaldy")  # the place searched
    expect(box.locator("path.search-radius")).to_have_count(1)  # the radius
    markers = box.locator(".svc-badge, .svc-cluster")
    expect(markers.first).to_be_visible()
    page.wait_for_load_state("load")  # the stylesheets are in
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the map page scrolls sideways on a phone ({width}px wide)"
    session.screenshot("phone-services-map")

    session.goto("/map")
    expect(page.locator("#services-map")).to_have_attribute("data-state", "ready")
    expect(page.locator("#map-count")).to_contain_text("active services in view")
    expect(page.locator("#services-map .svc-cluster").first).to_be_visible()
    # Selecting groups zooms in until they separate into services with their types.
    box = page.locator("#services-map")
    for _ in range(6):
        if box.locator(".svc-badge").count():
            break
        loads = int(box.get_attribute("data-loads"))
        box.locator(".svc-cluster").first.tap()
        expect(box).not_to_have_attribute("data-loads", str(loads))
    expect(box.locator(".svc-badge").first).to_be_visible()
    session.screenshot("phone-services-map-scotland")
    assert session.watch.blocked == [], "the map reached for the network"
    session.watch.assert_clean()


def test_admin_on_a_phone_registers_a_custody_system_whose_token_works(open_session, live_server):
    session = open_session("admin@demo.test", **MOBILE)
    page = session.page
    session.goto("/admin/")
    page.get_by_role("link", name="API clients").tap()
    page.get_by_role("link", name="Register a system").tap()
    page.get_by_label("Name of the system").fill("Custody system, Glasgow East")
    page.get_by_label("Custody system (for a set of custody suites)").check()
    page.get_by_label(re.compile("London Road Police Office custody")).check()
    page.get_by_role("button", name="Register and show the token").tap()
    expect(page.get_by_text("Copy the token now: it is shown only this once.")).to_be_visible()
    token = page.get_by_label("Token").input_value()
    assert token.startswith("rpk_")
    page.wait_for_load_state("load")  # the stylesheets are in
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the token page scrolls sideways on a phone ({width}px wide)"
    session.watch.assert_clean()

    request = urllib.request.Request(  # noqa: S310 - the app on loopback
        f"{live_server.url}/api/v1/referrals?per_page=1",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        listed = json.load(response)
    assert listed["total_items"] > 0  # the demo suite's referrals
    page.get_by_role("link", name="Done: back to API clients").tap()
    expect(page.get_by_role("cell", name="Custody system, Glasgow East")).to_be_visible()
