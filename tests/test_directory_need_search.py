"""The search box finds services by what is needed and by name, with or without a place:
"naloxone near Paisley", "rehab Dundee", "needle exchange", "women", "Turning Point"."""

from __future__ import annotations

import re
from html import unescape

import pytest

from referrals.choices import Gender, Role

from .factories import make_organisation, make_service, make_user, suite
from .test_auth import sign_in

PAISLEY, DUNDEE, GLASGOW = (55.8456, -4.4239), (56.4620, -2.9707), (55.8642, -4.2518)


@pytest.fixture
def directory(session):
    def at(place, north=0.0):
        return {"lat": place[0] + north, "lon": place[1]}

    make_service(session, name="Paisley Naloxone Point", type_code="naloxone", **at(PAISLEY))
    make_service(session, name="Paisley Needle Exchange", type_code="iep", **at(PAISLEY, 0.01))
    make_service(session, name="Glasgow Naloxone Hub", type_code="naloxone", **at(GLASGOW))
    make_service(session, name="Tayside Rehab", type_code="residential_rehab", **at(DUNDEE))
    make_service(session, name="Dundee Women's Hub", type_code="womens", **at(DUNDEE, 0.01))
    make_service(
        session,
        name="Rosa's Counselling",
        type_code="psychosocial",
        gender=Gender.FEMALE,
        **at(DUNDEE, 0.02),
    )
    make_service(session, name="Dundee Detox", type_code="detox", **at(DUNDEE, 0.03))
    make_service(
        session,
        name="Turning Point Glasgow",
        organisation=make_organisation(session, "Turning Point Scotland"),
        type_code="ost",
        **at(GLASGOW, 0.01),
    )
    session.commit()


def found(client, q, **params):
    response = client.get("/services", query_string={"q": q, **params})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    heading = re.search(r'<h2 id="results-heading">\s*(.*?)\s*</h2>', html, re.S)
    names = [
        unescape(n) for n in re.findall(r'id="service-\d+-name"><a href="[^"]+">([^<]+)</a>', html)
    ]
    return (" ".join(heading.group(1).split()) if heading else None), names, html


def test_a_need_near_a_place(client, directory):
    heading, names, _ = found(client, "naloxone near Paisley")
    assert heading == "2 services for naloxone within 25 km of Paisley"
    assert names == ["Paisley Naloxone Point", "Glasgow Naloxone Hub"]


def test_a_need_and_a_place_without_joining_words(client, directory):
    heading, names, _ = found(client, "rehab Dundee")
    assert heading == "1 service for rehab within 25 km of Dundee"
    assert names == ["Tayside Rehab"]
    _, names, _ = found(client, "Dundee detox")
    assert names == ["Dundee Detox"]


def test_a_need_alone_lists_matching_services_by_name(client, directory):
    heading, names, html = found(client, "needle exchange")
    assert heading == "1 service for needle exchange, by name"
    assert names == ["Paisley Needle Exchange"]
    assert "Add a place to see the nearest first" in html
    _, names, _ = found(client, "Naloxone")
    assert names == ["Glasgow Naloxone Hub", "Paisley Naloxone Point"]


def test_women_finds_womens_services_and_services_for_women_only(client, directory):
    heading, names, _ = found(client, "women Dundee")
    assert heading == "2 services for women within 25 km of Dundee"
    assert names == ["Dundee Women's Hub", "Rosa's Counselling"]


def test_a_service_or_organisation_name(client, directory):
    heading, names, _ = found(client, "turning point")
    assert names == ["Turning Point Glasgow"] and "by name" in heading
    heading, names, html = found(client, "Turning Point Dundee")
    assert heading == "No services for “turning point” within 25 km of Dundee"
    assert "The nearest matching service is 103 km away." in html  # in Glasgow
    assert "Turning Point Glasgow" in html
    heading, names, _ = found(client, "Turning Point near Glasgow")
    assert names == ["Turning Point Glasgow"]


def test_a_need_with_the_form_filters(client, directory):
    _, names, _ = found(client, "naloxone near Paisley", radius_km=5)
    assert names == ["Paisley Naloxone Point"]


def test_a_custody_worker_searching_a_need_alone_gets_the_nearest_to_their_suite(
    client, session, directory
):
    make_user(
        session, Role.CUSTODY, email="c@test.example", custody_suite=suite(session, "GLA-LR")
    )
    session.commit()
    sign_in(client, "c@test.example")
    heading, names, _ = found(client, "naloxone")
    assert heading.startswith("2 services for naloxone within 25 km of your custody suite")
    assert names == ["Glasgow Naloxone Hub", "Paisley Naloxone Point"]


def test_places_and_postcodes_still_come_first(client, directory):
    heading, _, _ = found(client, "Paisley")
    assert heading == "4 services within 25 km of Paisley"
    heading, _, html = found(client, "Paisleyy")
    assert heading is None and "We could not find a place called “Paisleyy”" in html


@pytest.mark.parametrize("q", ["near Paisley", "in Paisley", "Paisley please", "near PA1 1BU"])
def test_a_place_with_a_joining_word_first_or_a_please_after_is_the_place(client, directory, q):
    heading, names, _ = found(client, q)
    assert heading is not None and "within 25 km of" in heading, heading
    assert "Paisley Naloxone Point" in names


@pytest.mark.parametrize(
    ("q", "needs"), [("Fife", ""), ("East Lothian", ""), ("naloxone Fife", " for naloxone")]
)
def test_a_council_areas_name_is_a_place_to_search_from(client, session, q, needs):
    """Fife, Moray, East Lothian... are no town's name: distances are from the council
    area's middle, and the page says they are approximate."""
    for council_name, lat, lon in (("Fife", 56.2, -3.1), ("East Lothian", 55.95, -2.75)):
        make_service(
            session,
            name=f"{council_name} Naloxone",
            type_code="naloxone",
            council_name=council_name,
            lat=lat,
            lon=lon,
        )
    session.commit()
    heading, names, html = found(client, q)
    place = q.removeprefix("naloxone ")
    assert heading == f"1 service{needs} within 25 km of {place}"
    assert names == [f"{place} Naloxone"]
    assert "distances are from its middle and are approximate" in unescape(html)
