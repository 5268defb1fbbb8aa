"""Accessibility in a real browser: an axe-core audit of every main page for each role,
the referral form completed with the keyboard alone, and colour never the only way the
maps and charts say how an area compares.

The accessibility statement publishes what the audit found (``referrals/about/
axe_results.json``, rewritten with ``UPDATE_SCREENSHOTS=1``): each page's audit fails if
it finds a problem the statement does not list."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("playwright.sync_api")
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from referrals.about.statement import RESULTS, SERIOUS, load_checks

from .support import ROOT, Session, update_readme_screenshots

FAILING_IMPACTS = SERIOUS
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
}
SERVICE = "Easterhouse Medication-Assisted Treatment Service"

# (role, name, how to reach the page: a path, or a path and the link to follow from it)
PAGES = [
    (None, "home", "/"),
    (None, "search results", "/services?q=G34"),
    (None, "service", ("/services?q=G34", SERVICE)),
    (None, "services map", "/map"),
    (None, "sign in", "/login"),
    ("custody", "new referral", ("/services?q=G34", SERVICE, "Refer to this service")),
    ("custody", "referrals", "/referrals"),
    ("custody", "referral", ("/referrals", re.compile(r"^RP-"))),
    ("custody", "contacts", "/contacts"),
    ("custody", "new contact", "/contacts/new"),
    ("custody", "batch of contacts", "/contacts/new/batch"),
    ("custody", "contact", ("/contacts", re.compile(r", contact \d+$"))),
    ("provider", "worklist", "/worklist"),
    ("provider", "listings", "/listings"),
    ("provider", "referral", ("/referrals", re.compile(r"^RP-"))),
    (
        "provider",
        "refer on",
        ("/referrals?status=treatment_started", re.compile(r"^RP-"), "Refer on"),
    ),
    ("custody", "slip", ("/referrals", re.compile(r"^RP-"), "Print a slip for the person")),
    ("custody", "settings", "/settings"),
    ("lead", "reports", "/reports/"),
    ("lead", "area table", "/reports/areas?measure=engagement_rate"),
    ("lead", "area map", "/reports/map?measure=engagement_rate"),
    ("lead", "funnel plot", "/reports/funnel"),
    ("lead", "trends", "/reports/trends"),
    ("lead", "area table by scheme", "/reports/areas?group=scheme&measure=offer_rate"),
    ("lead", "quarterly report", "/reports/quarterly"),
    ("lead", "targets", "/reports/targets"),
    ("lead", "trends of a division", "/reports/trends?group=police_division&area=G"),
    ("lead", "quarterly report", "/reports/quarterly"),
    ("lead", "quarterly pack", "/reports/pack"),
    ("lead", "area profile", "/reports/profile/council/S12000049"),
    ("lead", "your figures", "/reports/mine"),
    ("custody", "your figures", "/reports/mine"),
    ("custody", "quarterly pack of their division", "/reports/pack"),
    ("provider", "your figures", "/reports/mine"),
    (
        "provider",
        "service profile",
        ("/reports/mine", "Easterhouse Medication-Assisted Treatment Service"),
    ),
    ("admin", "administration", "/admin/"),
    ("admin", "users", "/admin/users"),
    ("admin", "schemes", "/admin/schemes/"),
    ("admin", "scheme", ("/admin/schemes/", "Greater Glasgow Arrest Referral Scheme")),
    ("admin", "contacts", "/contacts"),
    ("admin", "audit log", "/admin/audit"),
    ("admin", "import services", "/admin/imports/services"),
    ("admin", "areas", "/admin/areas"),
    ("admin", "council area", ("/admin/areas", "Glasgow City")),
    ("admin", "feedback", "/admin/feedback"),
    (None, "accessibility statement", "/accessibility"),
    (None, "privacy notice", "/privacy"),
    (None, "cookies", "/cookies"),
    (None, "contact and feedback", "/contact"),
    ("admin", "API clients", "/admin/api-clients"),
    ("admin", "register a system", "/admin/api-clients/new"),
    ("admin", "outbox", "/admin/outbox"),
]
# What this run found, page by page, for the accessibility statement.
FOUND: dict[tuple[str, str], dict] = {}
ENGINE: dict[str, str] = {"tool": "axe-core"}


def today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/London")).date()


@pytest.fixture(scope="module")
def sessions(browser, live_server):
    """One signed-in browser session per role, shared by this module's tests."""
    opened: dict[str | None, Session] = {}

    def get(role: str | None) -> Session:
        if role not in opened:
            session = Session(browser, live_server.url)
            if role:
                session.sign_in(f"{role}@demo.test")
            opened[role] = session
        session = opened[role]
        session.watch.clear()
        return session

    yield get
    for session in opened.values():
        session.close()


def open_page(session: Session, how) -> None:
    if isinstance(how, str):
        response = session.goto(how)
        assert response.ok, (how, response.status)
        return
    path, *links = how
    session.goto(path)
    for name in links:
        session.page.get_by_role("link", name=name).first.click()
        session.page.wait_for_load_state("load")


def on_map_marker(node: dict) -> bool:
    target = node["target"]
    return len(target) > 1 and re.search(r"marker-cluster|leaflet-marker-icon", str(target[-1]))


def audit(page) -> tuple[list[dict], dict]:
    """Every axe-core violation on the page, map frames included, and the axe response.

    Map markers may sit closer together than the 24px target spacing: each is also a
    result in the directory's list, which is WCAG 2.5.8's "equivalent" exception."""
    axe = Axe()
    for frame in page.frames[1:]:
        frame.evaluate(axe.axe_script)
    results = axe.run(page, options=AXE_OPTIONS)
    found = []
    for violation in results.response["violations"]:
        if violation["id"] == "target-size":
            violation["nodes"] = [n for n in violation["nodes"] if not on_map_marker(n)]
            if not violation["nodes"]:
                continue
        found.append(violation)
    return found, results.response


@pytest.fixture(scope="module", autouse=True)
def statement_results(browser):
    """After a full run with UPDATE_SCREENSHOTS=1, write what it found for the statement;
    always leave a copy in test-output/."""
    yield
    if len(FOUND) != len(PAGES):
        return  # only some pages ran: no complete record to publish
    record = {
        "checked_on": dt.datetime.now(ZoneInfo("Europe/London")).date().isoformat(),
        "tool": ENGINE["tool"],
        "browser": f"Chromium {browser.version.split('.')[0]}",
        "pages": [FOUND[(role or "anonymous", name)] for role, name, _ in PAGES],
    }
    text = json.dumps(record, indent=1) + "\n"
    output = ROOT / "test-output"
    output.mkdir(exist_ok=True)
    (output / "axe_results.json").write_text(text)
    if update_readme_screenshots():
        RESULTS.write_text(text)


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:10]:
            lines.append(f"    at {' '.join(map(str, node['target']))}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    and {len(violation['nodes']) - 10} more")
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("role", "name", "how"),
    PAGES,
    ids=[f"{role or 'anonymous'}: {name}" for role, name, _ in PAGES],
)
def test_main_pages_have_no_serious_accessibility_problems(sessions, role, name, how):
    session = sessions(role)
    open_page(session, how)
    for frame in session.page.frames[1:]:
        frame.wait_for_load_state("load")
        # A map is audited once Leaflet has drawn it, not while its document is bare.
        frame.locator(".leaflet-container").first.wait_for(state="attached")
    violations, response = audit(session.page)
    seen_as = role or "anonymous"
    FOUND[(seen_as, name)] = {
        "role": seen_as,
        "page": name,
        "path": how if isinstance(how, str) else how[0],
        "findings": [
            {"rule": v["id"], "impact": v["impact"], "help": v["help"], "count": len(v["nodes"])}
            for v in violations
        ],
    }
    ENGINE["tool"] = f"axe-core {response.get('testEngine', {}).get('version', '')}".strip()
    serious = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not serious, f"{name} ({session.page.url}):\n{describe(serious)}"
    if not update_readme_screenshots():
        published = load_checks()
        listed = {
            f.rule
            for page in (published.pages if published else [])
            if (page.role, page.page) == (seen_as, name)
            for f in page.findings
        }
        unlisted = [v for v in violations if v["id"] not in listed]
        assert not unlisted, (
            f"{name}: the accessibility statement does not list these; fix them, or "
            f"publish them with UPDATE_SCREENSHOTS=1:\n{describe(unlisted)}"
        )
    session.watch.assert_clean()


def focused(page) -> dict:
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {
                id: el.id, tag: el.tagName.toLowerCase(), type: el.type || "",
                text: (el.innerText || el.value || "").trim(),
                outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
                shadow: style.boxShadow !== "none",
            };
        }"""
    )


def tab_to(page, matches, limit: int = 120) -> dict:
    """Press Tab until the focused element matches; every stop must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = focused(page)
        if element["tag"] != "body":
            assert element["outline"] or element["shadow"], f"focus is not visible on {element}"
        if matches(element):
            return element
    raise AssertionError("the keyboard never reached the element")


def by_id(wanted: str):
    return lambda element: element["id"] == wanted


def test_the_referral_form_can_be_completed_with_the_keyboard_alone(sessions):
    session = sessions("custody")
    page = session.page
    open_page(session, ("/services?q=G34", SERVICE))
    service_url = page.url
    refer = page.get_by_role("link", name="Refer to this service")
    form_path = refer.get_attribute("href")
    session.goto(service_url)
    assert form_path

    # From the service page: Tab to "Refer to this service" and follow it with Enter.
    tab_to(page, lambda e: e["tag"] == "a" and e["text"] == "Refer to this service")
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", level=1, name="Make a referral")).to_be_visible()

    tab_to(page, by_id("person_ref"))
    page.keyboard.type("CR/KEY/0007")
    tab_to(page, by_id("age_band"))
    page.keyboard.type("35")  # "35 to 44"
    tab_to(page, lambda e: e["id"].startswith("sex-"))
    page.keyboard.press("Space")  # the first option
    page.keyboard.press("ArrowDown")  # the next one: Male
    tab_to(page, by_id("postcode_district"))
    page.keyboard.type("G34")
    tab_to(page, lambda e: e["id"].startswith("pathway-"))
    page.keyboard.press("Space")  # Arrest referral, the first pathway
    tab_to(page, by_id("consent_recorded"))
    page.keyboard.press("Space")
    tab_to(page, by_id("consent_date"))
    page.keyboard.type(today().isoformat())
    tab_to(page, by_id("children_in_household"))
    page.keyboard.press("Space")
    expect(page.get_by_text("Child protection.", exact=False)).to_be_visible()
    tab_to(page, lambda e: e["id"].startswith("contact_method-"))
    for _ in range(3):  # Phone call, Text message, Letter, Through the referring worker
        page.keyboard.press("ArrowDown")
    button = tab_to(page, lambda e: e["tag"] == "button" and e["text"] == "Make the referral")
    assert button
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")

    expect(page.get_by_role("heading", level=1, name="Referral made")).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text("CR/KEY/0007")
    expect(main).to_contain_text("Through the referring worker")
    expect(main).to_contain_text("Child protection.")
    session.watch.assert_clean()


def test_a_form_error_takes_keyboard_users_to_the_field(sessions):
    session = sessions("custody")
    page = session.page
    open_page(session, ("/services?q=G34", SERVICE, "Refer to this service"))
    button = tab_to(page, lambda e: e["tag"] == "button" and e["text"] == "Make the referral")
    assert button
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem: nothing has been saved yet")
    expect(summary.get_by_role("link", name="Enter the custody record number.")).to_be_visible()
    tab_to(page, lambda e: e["tag"] == "a" and e["text"] == "Enter the custody record number.")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "person_ref"


def test_the_report_map_says_how_each_area_compares_in_words_and_symbols(sessions):
    session = sessions("lead")
    page = session.page
    session.goto("/reports/map?measure=engagement_rate")
    legend = page.get_by_role("list", name="What the colours mean")
    entries = legend.get_by_role("listitem").all_inner_texts()
    assert len(entries) == 7
    for text in entries:
        assert re.search(r"[A-Za-z]{4}", text), f"legend entry {text!r} has no words"
    assert any("▲" in text for text in entries) and any("▼" in text for text in entries)
    expect(legend.locator(".swatch-hatched")).to_have_count(1)
    expect(page.locator("main")).to_contain_text("also carry their symbol (▲ or ▼)")

    # On the tile map itself, every area is a named link; hidden areas are hatched and
    # say why in their name, and areas that differ from the nation carry their symbol.
    tiles = page.locator("svg.tile-map-svg a.tile")
    states = page.locator("table .state").all_inner_texts()
    expect(tiles).to_have_count(len(states))
    names = [tiles.nth(i).get_attribute("aria-label") for i in range(tiles.count())]
    values = page.locator("svg.tile-map-svg text.tile-value").all_text_contents()
    hidden = [s for s in states if s.strip().startswith("-")]
    hatched = page.locator('svg.tile-map-svg polygon[fill="url(#tile-hatch)"]')
    expect(hatched).to_have_count(len(hidden))
    assert len([n for n in names if " not shown (" in n]) == len(hidden), names
    outside = [s for s in states if "▲" in s or "▼" in s]
    assert len([v for v in values if v.endswith(("▲", "▼"))]) == len(outside), values

    # A keyboard user reaches the tiles in turn, and a tile leads to its area's row.
    tiles.first.focus()
    expect(tiles.first).to_be_focused()
    page.keyboard.press("Tab")
    expect(tiles.nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    code = tiles.nth(1).get_attribute("href")
    expect(page.locator(f"tr{code}")).to_be_visible()


def test_the_charts_label_their_states_as_well_as_colouring_them(sessions):
    session = sessions("lead")
    page = session.page
    session.goto("/reports/areas?measure=engagement_rate")
    chart = page.locator("svg.bar-chart")
    expect(chart).to_be_visible()
    bars = chart.locator("rect").count()
    values = chart.locator("text.bar-value").all_text_contents()
    assert bars == len(values) > 0
    for value in values:
        assert re.search(r"\d%? (▲▲|▲|●|▼|▼▼|-)$", value), f"bar value {value!r} has no symbol"

    session.goto("/reports/funnel?measure=engagement_rate")
    plot = page.locator("svg.funnel-plot")
    expect(plot).to_be_visible()
    caption = page.locator("figure.chart figcaption")
    expect(caption).to_contain_text("▲ above, ▼ below")
    expect(caption).to_contain_text("Dashed: 95% limits")
    # Every area outside the 95% limits (a triangle) is named beside its point.
    triangles = plot.locator("path[stroke-width='1.5']:not([class])").count()
    labels = plot.locator("text.point-label").all_text_contents()
    # The lead's own area is named too ("(your area)"), inside the limits or not.
    others = [label for label in labels if not label.endswith("(your area)")]
    assert len(others) <= triangles <= len(labels)
    rows = page.locator("tbody tr .state").all_inner_texts()
    assert len([r for r in rows if "▲" in r or "▼" in r]) == triangles
