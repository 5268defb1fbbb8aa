"""Every link a report page offers leads to a page, for every choice the page offers:
profiles of services and providers whatever their own references, units' profiles from
the Scotland page for its own periods, the reports' menu for every grouping, and the
definitions CSV for everyone the definitions page is for."""

import html
import re

from referrals.choices import Role

from .factories import make_user
from .test_auth import sign_in
from .test_profiles import world as world  # the fixture


def links_in(page: str, prefix: str = "/reports/") -> list[str]:
    return [html.unescape(link) for link in re.findall(rf'href="({prefix}[^"]*)"', page)]


def test_a_services_profile_is_its_own_whatever_references_other_services_carry(
    client, session, world
):
    """A provider's own reference (imported as a service's external id) may be another
    service's id, or hold a "/": each service's profile is still found by its link."""
    ours, theirs = world["ours"], world["theirs"]
    ours.external_id = str(theirs.id)
    boss = make_user(session, Role.PROVIDER, organisation=world["other_org"], manager=True)
    session.commit()
    sign_in(client, boss.email)
    [link] = [
        x
        for x in links_in(
            client.get("/reports/mine").get_data(as_text=True), "/reports/profile/service/"
        )
    ]
    page = client.get(link)
    assert page.status_code == 200 and "Kingdom Treatment" in page.get_data(as_text=True)
    client.post("/logout")
    ours.external_id = "GGC/ADRS/12"
    session.commit()
    sign_in(client, "mgr@t.example")
    for link in links_in(client.get("/reports/mine").get_data(as_text=True), "/reports/profile/"):
        shown = client.get(link)
        assert shown.status_code == 200, link
        assert "Kingdom Treatment" not in shown.get_data(as_text=True), link


def test_the_scotland_pages_links_to_your_areas_work_for_every_period_it_offers(client, world):
    sign_in(client, "lead@t.example")
    page = client.get("/reports/").get_data(as_text=True)
    box = re.search(r'<select[^>]*name="period"[^>]*>(.*?)</select>', page, re.S).group(1)
    for period in re.findall(r'value="([^"]*)"', box)[:4]:
        shown = client.get("/reports/", query_string={"period": period}).get_data(as_text=True)
        for link in links_in(shown, "/reports/profile/"):
            assert client.get(link).status_code == 200, (period, link)


def test_the_reports_menu_works_for_every_grouping_of_the_area_table(client, world):
    sign_in(client, "lead@t.example")
    broken = []
    for group in ("council", "custody_suite", "scheme", "service", "provider"):
        page = client.get("/reports/areas", query_string={"group": group}).get_data(as_text=True)
        menu = page.split('class="report-nav', 1)[1].split("</nav>", 1)[0]
        for link in links_in(menu):
            if (status := client.get(link).status_code) != 200:
                broken.append((group, link, status))
    assert broken == []


def test_the_definitions_page_links_only_to_what_its_reader_may_open(client, world):
    """Custody supervisors, provider managers and scheme leads read the definitions:
    the measures' definitions as CSV are theirs too (they hold no figures)."""
    sign_in(client, "sup@t.example")
    page = client.get("/reports/definitions")
    assert page.status_code == 200
    for link in links_in(page.get_data(as_text=True)):
        assert client.get(link).status_code == 200, link


def test_the_area_tables_links_lead_each_service_to_its_own_profile(client, session, world):
    """One service shows its id as its code, another carries that id as its own
    reference: each row still links to its own service."""
    ours, theirs = world["ours"], world["theirs"]
    theirs.external_id = None
    ours.external_id = str(theirs.id)
    session.commit()
    sign_in(client, "lead@t.example")
    page = client.get("/reports/areas", query_string={"group": "service"}).get_data(as_text=True)
    links = set(links_in(page, "/reports/profile/service/"))
    assert len(links) == 2
    names = {
        client.get(link).get_data(as_text=True).count("Kingdom Treatment") > 0 for link in links
    }
    assert names == {True, False}
