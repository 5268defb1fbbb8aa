"""Forms sent back with something to put right, in a real browser: the error summary
leads to each field in error (the first choice of a group of radio buttons, which the
fieldset itself cannot take focus for), the message is tied to its field, the page's
title says there is an error, and a block given focus (the skip link's target) is not
painted as a control."""

import re

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

SERVICE = "Easterhouse Medication-Assisted Treatment Service"


def refused_referral(open_session):
    session = open_session("custody@demo.test")
    page = session.page
    session.goto("/referrals/new")  # no service chosen yet
    page.get_by_role("button", name="Make the referral").last.click()
    page.wait_for_load_state("load")
    expect(page.locator(".error-summary")).to_be_visible()
    return page


def active(page) -> str:
    return page.evaluate("document.activeElement.tagName + '#' + document.activeElement.id")


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ("chosen_service", "Choose the service to refer to."),
        ("sex", "Choose the person's sex."),
        ("pathway", "Choose the pathway."),
        ("contact_method", "Choose how the service should make contact."),
    ],
)
def test_error_summary_link_to_a_radio_group_moves_focus_into_it(open_session, group, message):
    page = refused_referral(open_session)
    link = page.locator(".error-summary").get_by_role("link", name=message)
    link.focus()
    page.keyboard.press("Enter")
    # Focus lands on the group's first choice, not on <body>.
    assert active(page).startswith(f"INPUT#{group}-"), active(page)


def test_choose_a_service_error_is_tied_to_the_service_choices(open_session):
    page = refused_referral(open_session)
    expect(page.locator("#chosen_service-error")).to_be_visible()
    tied = page.locator("#chosen_service").get_attribute("aria-describedby") or ""
    assert "chosen_service-error" in tied.split()


def test_a_refused_referral_form_says_so_in_the_page_title(open_session):
    page = refused_referral(open_session)
    assert page.title().startswith("Error"), page.title()


def test_a_refused_contact_attempt_links_to_the_fields_to_fix(open_session):
    session = open_session("provider@demo.test", viewport={"width": 375, "height": 667})
    page = session.page
    session.goto("/worklist")
    page.get_by_role("link", name=re.compile("^Log a contact attempt")).first.click()
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Log the attempt").click()  # method and outcome unset
    page.wait_for_load_state("load")
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Choose how you tried to make contact.")
    expect(summary).to_contain_text("The contact attempt was not logged")
    # The form is several screens below the summary on a phone: the summary leads to it.
    gap = page.locator("#attempt").bounding_box()["y"] - summary.bounding_box()["y"]
    assert gap > 667
    summary.locator("a[href^='#method']").click()
    assert active(page).startswith("INPUT#method-"), active(page)


def test_the_skip_link_does_not_paint_the_whole_page_yellow(open_session):
    session = open_session()
    page = session.page
    session.goto("/services?q=G34")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Enter")
    assert active(page) == "MAIN#main"
    background = page.evaluate("getComputedStyle(document.activeElement).backgroundColor")
    assert background != "rgb(255, 221, 0)", "all of <main> turns focus-yellow"
