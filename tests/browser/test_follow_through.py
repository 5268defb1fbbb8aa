"""Following a referral through in a real browser: the worklist on a phone, the custody
form showing the phone box when a phone call is chosen, and the slip on one A5 page."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

from .test_journeys import MOBILE, SERVICE, fill_referral_form


def page_width(page) -> int:
    page.wait_for_load_state("load")  # the stylesheets are in
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_worklist_fits_a_390_pixel_phone(open_session):
    custody = open_session("custody@demo.test")
    custody.goto("/services?q=G34")
    custody.page.get_by_role("link", name=SERVICE, exact=True).first.click()
    custody.page.get_by_role("link", name="Refer to this service").click()
    fill_referral_form(custody.page, "CR/PHONE/0390")
    custody.page.get_by_role("button", name="Make the referral").click()
    expect(custody.page.get_by_role("heading", level=1, name="Referral made")).to_be_visible()

    session = open_session("provider@demo.test", **MOBILE)
    page = session.page
    session.goto("/worklist")
    expect(page.get_by_role("heading", level=1, name="Worklist")).to_be_visible()
    assert page.locator(".worklist-item").count() > 0
    assert page_width(page) <= 390
    # Every row's contact details and buttons are on screen, not off to the right.
    for box in page.locator(".worklist-item").evaluate_all(
        "items => items.slice(0, 20).map(i => i.getBoundingClientRect().right)"
    ):
        assert box <= 390
    session.watch.assert_clean()


def test_the_phone_box_appears_as_soon_as_a_phone_call_is_chosen(open_session):
    session = open_session("custody@demo.test", **MOBILE)
    page = session.page
    session.goto("/services?q=G34")
    page.get_by_role("link", name=SERVICE, exact=True).first.click()
    page.get_by_role("link", name="Refer to this service").click()
    phone = page.get_by_label("Phone number")
    expect(phone).to_be_hidden()
    page.get_by_label("Phone call").check()
    expect(phone).to_be_visible()
    page.get_by_label("Do not contact: the person will self-present").check()
    expect(phone).to_be_hidden()
    expect(page.get_by_label("Name", exact=True)).to_be_hidden()
    page.get_by_label("Text message").check()
    expect(phone).to_be_visible()
    # The age list is not cut off: its widest choice fits.
    age = page.get_by_label("Age", exact=True)
    assert age.evaluate("s => s.scrollWidth <= s.clientWidth + 1")
    assert page_width(page) <= 390
    session.watch.assert_clean()


def _printed_pages(page) -> tuple[int, re.Match | None]:
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf)), box


def _open_a_slip(session) -> None:
    page = session.page
    session.goto("/referrals")
    page.get_by_role("link", name=re.compile(r"^RP-")).first.click()
    page.get_by_role("link", name="Print a slip for the person").click()
    expect(
        page.get_by_role("heading", level=1, name=re.compile("^Your referral to"))
    ).to_be_visible()
    expect(page.locator(".slip-qr svg")).to_be_visible()


def test_the_slip_prints_on_one_a5_page(open_session):
    session = open_session("custody@demo.test")
    _open_a_slip(session)
    session.page.wait_for_load_state("load")
    pages, box = _printed_pages(session.page)
    assert pages == 1, f"the slip printed on {pages} pages"
    # A5 is 420 x 595 points.
    assert box and abs(float(box[1]) - 420) < 1 and abs(float(box[2]) - 595) < 1, box
    session.watch.assert_clean()


def test_the_slip_fits_before_the_print_stylesheet_arrives(open_session):
    """The site's print stylesheet loads after the page shows; someone who prints at once
    still gets the slip alone on one page, without the site's header and footer."""
    session = open_session("custody@demo.test")
    session.page.route(
        re.compile(r"/static/css/print(\.[0-9a-f]+)?\.css"),
        lambda route: route.fulfill(status=200, content_type="text/css", body=""),
    )
    _open_a_slip(session)
    session.page.wait_for_load_state("load")  # everything in but the print stylesheet
    pages, _ = _printed_pages(session.page)
    assert pages == 1, f"the slip printed on {pages} pages"
    session.watch.assert_clean()


def test_the_council_follows_a_corrected_district_after_the_form_comes_back(open_session):
    session = open_session("custody@demo.test")
    page = session.page
    session.goto("/services?q=G34")
    page.get_by_role("link", name=SERVICE, exact=True).first.click()
    page.get_by_role("link", name="Refer to this service").click()
    fill_referral_form(page, "CR/COUNCIL/0001")
    council = page.get_by_label("Council area of residence")
    expect(council.locator("option:checked")).to_have_text("Glasgow City")
    # A phone call with no number: the form comes back, the council filled in from G31.
    page.get_by_label("Phone call").check()
    page.get_by_role("button", name="Make the referral").click()
    expect(page.locator("#contact_phone-error")).to_be_visible()
    page.wait_for_load_state("load")  # the page's script listens before the district changes
    page.get_by_label("Postcode district where the person lives").fill("EH6")
    expect(council.locator("option:checked")).to_have_text("City of Edinburgh")
    # A council the officer chose stays chosen whatever district is typed next.
    council.select_option(label="Fife")
    page.get_by_label("Postcode district where the person lives").fill("G31")
    expect(council.locator("option:checked")).to_have_text("Fife")
    session.watch.assert_clean_but_for(400)
