"""The funnel's ends in a real browser: custody contacts (one on a phone, a referral that
starts as a contact, a batch at the end of a shift with a mistake put right) and a
provider recording an outcome after treatment starts from the worklist on a phone."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

from referrals.dates import short_date

from .test_journeys import MOBILE, SERVICE


def today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/London")).date()


def no_sideways_scroll(page, where: str) -> None:
    # Measured once the stylesheets are in: a tap's navigation can be read before then.
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{where} scrolls sideways on a phone ({width}px wide)"


def test_custody_officer_records_a_declined_offer_on_a_phone(open_session):
    session = open_session("custody@demo.test", **MOBILE)
    page = session.page
    page.get_by_role("link", name="Record a custody contact").tap()
    expect(page.get_by_role("heading", level=1, name="Record a custody contact")).to_be_visible()
    expect(page.get_by_label("Date seen")).to_have_value(short_date(today()))
    no_sideways_scroll(page, "the contact form")

    page.get_by_label("Age band").select_option(label="45 to 54")
    page.get_by_role("group", name="Sex").get_by_label("Female").check()
    page.get_by_label("Home postcode district").fill("G40")
    reason = page.get_by_label("Why they declined")
    expect(reason).to_be_hidden()  # only asked for a declined offer
    page.get_by_role("group", name="Outcome").get_by_label("Declined", exact=True).check()
    expect(reason).to_be_visible()
    reason.select_option(label="Not ready to change")
    page.get_by_role("group", name="Naloxone").get_by_label("Offered and supplied").check()
    session.screenshot("phone-contact-form")
    page.get_by_role("button", name="Save the contact").tap()

    expect(page.get_by_role("status")).to_contain_text("Contact saved: 45 to 54, female, declined")
    expect(page.get_by_label("Date seen")).to_have_value(short_date(today()))  # ready again
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").tap()
    first = page.locator("table.contacts-table tbody tr").first
    expect(first).to_contain_text("G40")
    expect(first).to_contain_text("Declined")
    expect(first).to_contain_text("Offered and supplied")
    session.screenshot("phone-contacts")
    session.watch.assert_clean()


def test_a_referral_made_starts_as_a_contact_and_is_linked_to_it(open_session):
    session = open_session("custody@demo.test")
    page = session.page
    session.goto("/contacts/new")
    page.get_by_label("Age band").select_option(label="35 to 44")
    page.get_by_role("group", name="Sex").get_by_label("Male", exact=True).check()
    page.get_by_label("Home postcode district").fill("G34")
    page.get_by_role("group", name="Outcome").get_by_label("Referral made").check()
    page.get_by_role("group", name="Naloxone").get_by_label("Already carries naloxone").check()
    page.get_by_role("group", name="Veteran (optional)").get_by_label("Yes").check()
    page.get_by_role("button", name="Save the contact").click()

    expect(page.get_by_role("heading", level=1, name="Make a referral")).to_be_visible()
    expect(page.locator("main")).to_contain_text("what the contact holds is filled in below")
    expect(page.get_by_label("Age", exact=True)).to_have_value("35_44")
    expect(page.get_by_label("Postcode district where the person lives")).to_have_value("G34")
    page.locator("input[name=chosen_service]").first.check()
    page.get_by_label("Custody record number").fill(f"CR/{today():%y%m%d}/0777")
    page.get_by_role("group", name="Pathway").get_by_label("Arrest referral").check()
    page.get_by_label("The person consented to this referral").check()
    page.get_by_label("Do not contact: the person will self-present").check()
    page.get_by_role("button", name="Make the referral").click()
    expect(page.get_by_role("heading", level=1, name="Referral made")).to_be_visible()
    reference = page.locator(".reference").inner_text().strip()

    session.goto("/contacts")
    expect(page.get_by_role("heading", name=re.compile("Referrals still to make"))).to_have_count(
        0
    )
    row = page.locator("table.contacts-table tbody tr").filter(has_text=reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Already carries naloxone")
    expect(row).to_contain_text("Yes")  # the veteran answer stays with the contact
    session.watch.assert_clean()


def test_a_batch_with_a_mistake_is_put_right_and_saved_together(open_session):
    session = open_session("custody@demo.test")
    page = session.page
    session.goto("/contacts")
    page.get_by_role("link", name="Record several (end of shift)").click()
    expect(page.get_by_role("heading", level=1, name="Record several contacts")).to_be_visible()

    def fill(row: int, age: str, district: str, outcome: str, reason: str | None) -> None:
        page.locator(f"#rows-{row}-age_band").select_option(label=age)
        page.locator(f"#rows-{row}-sex").select_option(label="Male")
        page.locator(f"#rows-{row}-postcode_district").fill(district)
        page.locator(f"#rows-{row}-outcome").select_option(label=outcome)
        if reason:
            page.locator(f"#rows-{row}-reason").select_option(label=reason)
        page.locator(f"#rows-{row}-naloxone").select_option(label="Not offered")

    fill(0, "18 to 24", "G31", "Declined", "Declined: Gave no reason")
    unwell = "Not suitable: Too intoxicated or unwell to be seen"
    fill(1, "25 to 34", "ZZ99", "Not suitable", unwell)
    page.get_by_role("button", name="Save all the rows filled in").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("nothing has been saved yet")
    session.watch.assert_clean_but_for(400)
    session.screenshot("contacts-batch-with-a-mistake")
    expect(summary).to_contain_text("Row 2: We do not know that postcode district.")
    summary.get_by_role("link", name=re.compile("^Row 2: We do not know")).click()
    expect(page.locator("#rows-1-postcode_district")).to_be_focused()
    page.locator("#rows-1-postcode_district").fill("G32")
    page.get_by_role("button", name="Save all the rows filled in").click()
    expect(page.get_by_role("status")).to_contain_text("Saved 2 contacts.")
    session.watch.assert_clean()


def test_the_batch_form_becomes_one_card_per_person_on_a_phone(open_session):
    session = open_session("custody@demo.test", **MOBILE)
    page = session.page
    session.goto("/contacts/new/batch")
    no_sideways_scroll(page, "the batch form")
    first = page.locator("table.batch-table tbody tr").first
    expect(first.locator("th")).to_have_text("1")
    assert first.evaluate("row => getComputedStyle(row).display") == "block"
    expect(page.get_by_label("Age, row 1", exact=True)).to_be_visible()
    expect(first.locator("label").first).to_be_visible()  # each answer labelled in words
    session.screenshot("phone-contacts-batch")
    session.watch.assert_clean()


def test_provider_records_an_outcome_after_treatment_from_the_worklist_on_a_phone(
    open_session,
):
    # Custody refers someone on the diversion pathway who needs blood-borne virus testing.
    custody = open_session("custody@demo.test")
    page = custody.page
    custody.goto("/services?q=G34")
    page.get_by_role("link", name=SERVICE, exact=True).first.click()
    page.get_by_role("link", name="Refer to this service").click()
    page.get_by_label("Custody record number").fill(f"CR/{today():%y%m%d}/0901")
    page.get_by_label("Age", exact=True).select_option(label="25 to 34")
    page.get_by_role("group", name="Sex").get_by_label("Female").check()
    page.get_by_label("Postcode district where the person lives").fill("G34")
    page.get_by_role("group", name="Pathway").get_by_label("Diversion from prosecution").check()
    page.get_by_label("The person consented to this referral").check()
    page.get_by_label("Blood-borne virus testing").check()
    page.get_by_label("Do not contact: the person will self-present").check()
    page.get_by_role("button", name="Make the referral").click()
    reference = page.locator(".reference").inner_text().strip()

    # The provider accepts it and records the first attendance.
    session = open_session("provider@demo.test", **MOBILE)
    page = session.page
    session.goto("/worklist")
    page.get_by_role("button", name=f"Accept today for {reference}").tap()
    # Back where the button was, with what was saved said there, on screen.
    said = page.get_by_role("status")
    expect(said).to_contain_text(f"Referral {reference} accepted.")
    expect(said).to_be_in_viewport()
    page.get_by_role("link", name=reference).first.tap()
    attend = page.get_by_role("form", name="Record first attendance")
    attend.get_by_role("button", name="Record first attendance").tap()
    expect(page.get_by_role("status")).to_contain_text("First attendance recorded")

    # The worklist now asks for the diversion outcome and the BBV test.
    session.goto("/worklist")
    section = page.locator("section").filter(
        has=page.get_by_role("heading", name=re.compile("^After treatment starts"))
    )
    item = section.locator("li").filter(has_text=reference)
    expect(item.locator("form.outcome-form")).to_have_count(2)
    no_sideways_scroll(page, "the worklist")
    session.screenshot("phone-worklist-outcomes")
    bbv = item.get_by_role("group", name=f"Blood-borne virus testing for {reference}")
    bbv.get_by_label("Test offered and taken").check()
    item.get_by_role("button", name=f"Save the blood-borne virus testing for {reference}").tap()
    expect(page.get_by_role("status")).to_contain_text(
        f"{reference}: Blood-borne virus testing: test offered and taken saved."
    )
    expect(page.get_by_role("status")).to_be_in_viewport()
    item = section.locator("li").filter(has_text=reference)
    expect(item.locator("form.outcome-form")).to_have_count(1)  # the diversion outcome
    item.get_by_role("group", name=f"Diversion outcome for {reference}").get_by_label(
        "Diversion completed"
    ).check()
    # A date in the future is refused: the referral's page shows the form again, the
    # answer still chosen and the date as typed, to be put right.
    later = today() + dt.timedelta(days=3)
    item.get_by_label("Date").fill(f"{later.day}/{later.month}/{later.year}")
    item.get_by_role("button", name=f"Save the diversion outcome for {reference}").tap()
    expect(page.get_by_role("alert")).to_contain_text("The date cannot be in the future.")
    form = page.locator("form.outcome-form")
    expect(form.get_by_label("Diversion completed")).to_be_checked()
    expect(form.get_by_label("Date")).to_have_value(f"{later.day}/{later.month}/{later.year}")
    session.screenshot("phone-outcome-refused")
    session.watch.assert_clean_but_for(400)  # the refusal is answered with 400
    form.get_by_label("Date").fill("today")
    form.get_by_role("button", name=f"Save the diversion outcome for {reference}").tap()
    expect(page.get_by_role("status")).to_contain_text("diversion completed saved")
    expect(page.get_by_role("status")).to_be_in_viewport()
    expect(section.locator("li").filter(has_text=reference)).to_have_count(0)

    session.goto("/referrals")
    page.get_by_role("link", name=reference).first.tap()
    expect(page.locator(".lead .status")).to_have_text("Closed")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Blood-borne virus testing: test offered and taken")
    expect(timeline).to_contain_text("Diversion outcome: diversion completed")
    session.watch.assert_clean()
    custody.watch.assert_clean()
