"""Pages that fit: at 390 px (a phone), 320 px (a desktop zoomed to 400%) and 1280 px (a
desktop) no page scrolls sideways,
wide tables scroll inside their own box, the header stays short, headings have room
below it and no dropdown cuts its choices off. The README screenshots are taken here,
with a record of where their headings, dropdowns and labels sit, and the pages are
compared with that record.

``FITTING_PAGES`` lists the pages checked; the reports and the provider's worklist are
being reworked and join the list when they fit.
"""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("playwright.sync_api")

from .support import (
    DESKTOP,
    README_SCREENSHOTS,
    Session,
    update_readme_screenshots,
)

PHONE = {"width": 390, "height": 844}
# 320 px: the width WCAG's reflow rule (1.4.10) asks for, as 1280 px zoomed to 400%.
SMALLEST = {"width": 320, "height": 640}
SERVICE = "Easterhouse Medication-Assisted Treatment Service"
REFERRAL = re.compile(r"^RP-")

# (role, name, how to reach the page: a path, or a path and the links to follow from it)
FITTING_PAGES = [
    (None, "home", "/"),
    (None, "search results", "/services?q=G34"),
    (None, "service", ("/services?q=G34", SERVICE)),
    (None, "report a problem", ("/services?q=G34", SERVICE, "Report a problem with this listing")),
    (None, "services map", "/map"),
    (None, "sign in", "/login"),
    (None, "accessibility statement", "/accessibility"),
    (None, "privacy notice", "/privacy"),
    (None, "cookies", "/cookies"),
    (None, "contact and feedback", "/contact"),
    (None, "page not found", "/no-such-page"),
    ("custody", "home", "/"),
    ("custody", "new referral", ("/services?q=G34", SERVICE, "Refer to this service")),
    ("custody", "referrals", "/referrals"),
    ("custody", "referral", ("/referrals", REFERRAL)),
    ("provider", "listings", "/listings"),
    ("provider", "referrals", "/referrals"),
    ("provider", "referral", ("/referrals?status=made", REFERRAL)),
    ("provider", "edit a listing", ("/listings", SERVICE)),
    ("lead", "home", "/"),
    ("admin", "administration", "/admin/"),
    ("admin", "users", "/admin/users"),
    ("admin", "new account", "/admin/users/new"),
    ("admin", "account", ("/admin/users", "Demo Custody Officer")),
    ("admin", "audit log", "/admin/audit"),
    ("admin", "import services", "/admin/imports/services"),
    ("admin", "boundaries", "/admin/boundaries"),
    ("admin", "areas", "/admin/areas"),
    ("admin", "council area", ("/admin/areas", "Glasgow City")),
    ("admin", "area group", ("/admin/areas", "Greater Glasgow")),
    ("admin", "feedback", "/admin/feedback"),
    ("admin", "new service", "/services/new"),
]

# The README screenshots: (file name, role, page, viewport, what to scroll to first).
SCREENSHOTS = [
    ("search-results", "custody", "/services?q=G34", DESKTOP, None),
    (
        "referral-form",
        "custody",
        ("/services?q=G34", SERVICE, "Refer to this service"),
        DESKTOP,
        None,
    ),
    ("referrals-on-a-phone", "custody", "/referrals", PHONE, "main .table-wrap"),
    ("areas", "admin", "/admin/areas", DESKTOP, None),
]

MEASURE = """() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {x: Math.round(r.left), y: Math.round(r.top + window.scrollY),
            w: Math.round(r.width), h: Math.round(r.height)}; };
  const visible = (el) => el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== 'hidden';
  const canvas = document.createElement('canvas').getContext('2d');
  const textWidth = (el, text) => { const s = getComputedStyle(el);
    canvas.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    return canvas.measureText(text).width; };
  const header = document.querySelector('.site-header');
  const main = document.querySelector('main');
  const above = main.previousElementSibling;
  const h1 = main.querySelector('h1');
  const tag = document.querySelector('.role-tag');
  const selects = [...main.querySelectorAll('select')].filter(visible).map((s) => {
    const style = getComputedStyle(s);
    const room = s.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)
      - 20;  // the arrow
    const longest = Math.max(0, ...[...s.options].map((o) => textWidth(s, o.text)));
    const parent = getComputedStyle(s.parentElement);
    const available = s.parentElement.clientWidth - parseFloat(parent.paddingLeft)
      - parseFloat(parent.paddingRight);
    return {id: s.id, width: Math.round(s.getBoundingClientRect().width),
            room: Math.round(room), longest: Math.round(longest),
            available: Math.round(available)};
  });
  const labels = [...main.querySelectorAll('label[for]')].filter(visible).map((l) => {
    const control = document.getElementById(l.htmlFor);
    if (!control || !visible(control) || ['checkbox', 'radio'].includes(control.type)) return null;
    const a = box(l), b = box(control);
    return {for: l.htmlFor, dx: b.x - a.x, dy: b.y - (a.y + a.h)};
  }).filter(Boolean);
  const headings = [...main.querySelectorAll('h1, h2, h3')].filter(visible).map((h) => ({
    level: h.tagName, text: h.innerText.trim().replace(/\\s+/g, ' '), ...box(h),
    size: getComputedStyle(h).fontSize}));
  return {
    width: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    header: Math.round(header.getBoundingClientRect().height),
    roomAboveHeading: h1 ? Math.round(h1.getBoundingClientRect().top
      - above.getBoundingClientRect().bottom) : null,
    roleTagHeight: tag ? Math.round(tag.getBoundingClientRect().height) : null,
    roleTagLineHeight: tag ? parseFloat(getComputedStyle(tag).lineHeight) : null,
    selects, labels, headings,
  };
}"""


@pytest.fixture(scope="module")
def sessions(browser, live_server):
    opened: dict[str | None, Session] = {}

    def get(role: str | None) -> Session:
        if role not in opened:
            session = Session(browser, live_server.url)
            if role:
                session.sign_in(f"{role}@demo.test")
            opened[role] = session
        session = opened[role]
        session.watch.clear()
        session.page.set_viewport_size(DESKTOP)
        return session

    yield get
    for session in opened.values():
        session.close()


def open_page(session: Session, how) -> None:
    if isinstance(how, str):
        session.goto(how)
        return
    path, *links = how
    session.goto(path)
    for name in links:
        session.page.get_by_role("link", name=name).first.click()
        session.page.wait_for_load_state("load")


def problems_with(layout: dict) -> list[str]:
    """What is wrong with a page at the width it was measured at."""
    width = layout["width"]
    found = []
    if layout["scrollWidth"] > width:
        found.append(f"scrolls sideways: {layout['scrollWidth']} px wide in {width} px")
    if width == PHONE["width"] and layout["header"] > 130:
        found.append(f"the header is {layout['header']} px tall on a phone")
    if layout["roleTagHeight"] and layout["roleTagHeight"] > 1.5 * layout["roleTagLineHeight"]:
        found.append("the role tag wraps onto two lines")
    if layout["roomAboveHeading"] is not None and layout["roomAboveHeading"] < 16:
        found.append(f"the heading sits {layout['roomAboveHeading']} px below the header")
    for select in layout["selects"]:
        # Cut off while there is room to show it all (a phone may have no more room).
        if select["longest"] > select["room"] and select["width"] < select["available"] - 2:
            found.append(
                f"the dropdown #{select['id']} cuts off its choices ({select['room']} px "
                f"for {select['longest']} px)"
            )
    return found


@pytest.mark.parametrize(
    ("role", "name", "how"),
    FITTING_PAGES,
    ids=[f"{role or 'anonymous'}: {name}" for role, name, _ in FITTING_PAGES],
)
def test_no_page_scrolls_sideways_on_a_phone_or_a_desktop(sessions, role, name, how):
    session = sessions(role)
    open_page(session, how)
    found = []
    for viewport in (DESKTOP, PHONE, SMALLEST):
        session.page.set_viewport_size(viewport)
        layout = session.page.evaluate(MEASURE)
        found += [f"at {viewport['width']} px, {p}" for p in problems_with(layout)]
    assert not found, f"{name} ({session.page.url}):\n" + "\n".join(found)
    if name != "page not found":  # whose 404 the browser reports as a console error
        session.watch.assert_clean()


def test_wide_tables_scroll_in_their_own_box_with_their_hidden_text(sessions):
    session = sessions("provider")
    page = session.page
    session.goto("/listings")
    page.set_viewport_size(PHONE)
    boxes = page.locator("main .table-wrap")
    assert boxes.count() >= 1
    for index in range(boxes.count()):
        box = boxes.nth(index)
        assert box.get_attribute("role") == "region" and box.get_attribute("tabindex") == "0"
        assert box.get_attribute("aria-label") or box.get_attribute("aria-labelledby")
        inside = box.evaluate(
            """box => { const r = box.getBoundingClientRect();
                return [...box.querySelectorAll('.visually-hidden')].every(el => {
                  const e = el.getBoundingClientRect();
                  return box.scrollWidth >= e.right - r.left - 1; }); }"""
        )
        assert inside, "screen-reader text sits outside its table's scroll box"
    wide = boxes.evaluate_all("all => all.filter(b => b.scrollWidth > b.clientWidth).length")
    assert wide >= 1, "expected a table wider than a phone on the listings page"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _layout_file(name: str):
    return README_SCREENSHOTS / f"{name}.layout.json"


def _comparable(layout: dict) -> dict:
    """Where headings, dropdowns and labels sit, measured from the first heading."""
    top = layout["headings"][0]["y"] if layout["headings"] else 0
    return {
        "headings": [
            {
                "level": h["level"],
                "text": h["text"],
                "x": h["x"],
                "y": h["y"] - top,
                "size": h["size"],
            }
            for h in layout["headings"]
        ],
        "selects": {s["id"]: s["width"] for s in layout["selects"]},
        "labels": {label["for"]: [label["dx"], label["dy"]] for label in layout["labels"]},
    }


@pytest.mark.parametrize(
    ("name", "role", "how", "viewport", "scroll_to"),
    SCREENSHOTS,
    ids=[s[0] for s in SCREENSHOTS],
)
def test_pages_keep_the_layout_of_their_readme_screenshots(
    sessions, name, role, how, viewport, scroll_to
):
    """With UPDATE_SCREENSHOTS=1 this takes the screenshot and records its layout."""
    session = sessions(role)
    session.page.set_viewport_size(viewport)
    open_page(session, how)
    layout = session.page.evaluate(MEASURE)
    assert not problems_with(layout), problems_with(layout)
    now = _comparable(layout)
    if update_readme_screenshots():
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        if scroll_to:
            session.page.locator(scroll_to).first.evaluate(
                "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 180)"
            )
        else:
            session.page.evaluate("window.scrollTo(0, 0)")
        session.page.screenshot(path=str(README_SCREENSHOTS / f"{name}.png"), full_page=False)
        _layout_file(name).write_text(json.dumps(now, indent=1, ensure_ascii=False) + "\n")
        return
    recorded = json.loads(_layout_file(name).read_text())
    differences = []
    headings = list(zip(recorded["headings"], now["headings"], strict=False))
    if len(recorded["headings"]) != len(now["headings"]):
        differences.append(
            f"{len(now['headings'])} headings, not {len(recorded['headings'])} as in the "
            "screenshot"
        )
    for was, is_ in headings:
        if (was["level"], was["size"]) != (is_["level"], is_["size"]):
            differences.append(f"heading {is_['text']!r} is {is_['level']} {is_['size']}")
        if abs(was["x"] - is_["x"]) > 2 or abs(was["y"] - is_["y"]) > 40:
            differences.append(
                f"heading {is_['text']!r} moved from {was['x']},{was['y']} to "
                f"{is_['x']},{is_['y']}"
            )
    for select, width in recorded["selects"].items():
        if select not in now["selects"] or abs(now["selects"][select] - width) > 6:
            differences.append(
                f"dropdown #{select} is {now['selects'].get(select)} px wide, not {width}"
            )
    for control, (dx, dy) in recorded["labels"].items():
        if control not in now["labels"]:
            differences.append(f"the label of #{control} is gone")
            continue
        ndx, ndy = now["labels"][control]
        if abs(ndx - dx) > 2 or abs(ndy - dy) > 40:
            differences.append(f"the label of #{control} moved from {dx},{dy} to {ndx},{ndy}")
    assert not differences, (
        f"{name} no longer looks like docs/screenshots/{name}.png (regenerate with "
        "UPDATE_SCREENSHOTS=1 if the change is meant):\n" + "\n".join(differences)
    )
