"""The services map's popups in a real browser: a stale listing warns in the search
card's words, a listing checked recently does not."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from contextlib import closing
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect

from referrals.directory.cards import STALE_TAG

STALE_WORDS = re.sub(r"<[^>]+>", "", STALE_TAG).strip()

# Leaflet keeps the page's map to itself; the test catches it as it is made, to move it
# straight to one listing.
CATCH_THE_MAP = """
(() => {
  let leaflet;
  Object.defineProperty(window, 'L', {
    configurable: true,
    get() { return leaflet; },
    set(value) {
      leaflet = value;
      value.Map.addInitHook(function () { window.servicesMap = this; });
    },
  });
})();
"""


class Listing(NamedTuple):
    name: str
    latitude: float
    longitude: float


def stale_and_fresh(live_server) -> tuple[Listing, Listing]:
    """From the demo directory: an active listing not checked for well over 180 days and
    one checked well within them, each at a place with no other location near it."""
    path = live_server.env["DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT s.name, s.last_verified_on, l.latitude, l.longitude, s.status,"
            " s.confidential_address FROM services s JOIN locations l ON l.service_id = s.id"
        ).fetchall()
    today = dt.datetime.now(ZoneInfo("Europe/London")).date()

    def alone(lat: float, lon: float) -> bool:
        near = [r for r in rows if abs(r[2] - lat) < 0.002 and abs(r[3] - lon) < 0.003]
        return len(near) == 1

    def first(checked) -> Listing:
        return next(
            Listing(name, lat, lon)
            for name, verified, lat, lon, status, hidden in rows
            if status == "active"
            and not hidden
            and verified
            and checked((today - dt.date.fromisoformat(verified)).days)
            and alone(lat, lon)
        )

    return first(lambda days: days > 200), first(lambda days: days < 150)


def test_a_stale_listing_warns_in_its_map_popup_as_its_card_does(open_session, live_server):
    stale, fresh = stale_and_fresh(live_server)
    session = open_session()
    page = session.page
    page.add_init_script(CATCH_THE_MAP)
    session.goto("/map")
    box = page.locator("#services-map")
    expect(box).to_have_attribute("data-state", "ready")

    for listing, warned in ((stale, True), (fresh, False)):
        loads = box.get_attribute("data-loads")
        page.evaluate(
            "([lat, lon]) => window.servicesMap.closePopup().setView([lat, lon], 18)",
            [listing.latitude, listing.longitude],
        )
        expect(box).not_to_have_attribute("data-loads", loads)
        box.get_by_title(re.compile("^" + re.escape(listing.name) + r" \(")).click()
        popup = box.locator(".leaflet-popup .svc-popup", has_text=listing.name)
        expect(popup).to_be_visible()
        if warned:
            expect(popup).to_contain_text(STALE_WORDS)
            faded_in = box.locator(".leaflet-popup", has_text=listing.name)
            expect(faded_in).to_have_css("opacity", "1")
            session.screenshot("services-map-stale-popup")
        else:
            expect(popup.get_by_role("link", name="View the service")).to_be_visible()
            expect(popup).not_to_contain_text(STALE_WORDS)
    session.watch.assert_clean()
