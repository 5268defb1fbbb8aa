"""A confidential address (a women's refuge) is shown to custody staff, administrators and
the staff of the organisation that runs the service, and its position never leaks through
search results to anyone else."""

import re

import pytest

from referrals.choices import Role
from referrals.models import Service

from .factories import make_organisation, make_service, make_user, suite
from .test_auth import sign_in

EDINBURGH = (55.9533, -3.1883)


@pytest.fixture
def refuge(session):
    own = make_organisation(session, "Refuge Trust")
    other = make_organisation(session, "Other Org")
    service = make_service(
        session,
        organisation=own,
        name="Safe Haven Women's Service",
        type_code="womens",
        confidential_address=True,
        postcode="G2 9ZZ",
    )
    location = service.locations[0]
    location.address_1, location.town = "77 Secret Lane", "Glasgow"
    # Its real position is far from the town it is listed under.
    location.latitude, location.longitude = EDINBURGH
    make_user(session, Role.PROVIDER, email="own@t.example", organisation=own)
    make_user(session, Role.PROVIDER, email="other@t.example", organisation=other)
    make_user(session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR"))
    make_user(session, Role.LEAD, email="l@t.example")
    make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()
    return service.id


def pages(refuge_id):
    return [
        f"/services/{refuge_id}",
        "/services?q=Glasgow&radius_km=10",
        "/services?q=Edinburgh&radius_km=10",
        "/map/frame",
        f"/services/{refuge_id}/map",
        "/services.csv",
    ]


@pytest.mark.parametrize("email", [None, "other@t.example", "l@t.example"])
def test_people_outside_the_service_never_see_the_address_or_position(client, refuge, email):
    if email:
        sign_in(client, email)
    for url in pages(refuge):
        text = client.get(url).get_data(as_text=True)
        assert "Secret Lane" not in text, (email, url)
        assert "G2 9ZZ" not in text, (email, url)
        assert "55.953" not in text and "-3.188" not in text, (email, url)


@pytest.mark.parametrize("email", ["own@t.example", "c@t.example", "a@t.example"])
def test_the_services_own_staff_custody_and_admins_see_the_address(client, refuge, email):
    sign_in(client, email)
    assert "77 Secret Lane" in client.get(f"/services/{refuge}").get_data(as_text=True)
    assert "Secret Lane" in client.get("/services.csv").get_data(as_text=True)


@pytest.mark.parametrize("email", [None, "other@t.example"])
def test_search_places_a_hidden_address_at_its_town_only(client, refuge, email):
    """Found near its town, whatever its real position, and not near its real position:
    whether it is found says nothing about where it really is."""
    if email:
        sign_in(client, email)
    near_town = client.get("/services?q=Glasgow&radius_km=5").get_data(as_text=True)
    assert "Safe Haven Women" in near_town
    near_real = client.get("/services?q=Edinburgh&radius_km=5").get_data(as_text=True)
    # Not within 5 km of its real position: only offered as the nearest outside the
    # radius, at the distance of its town.
    distance = re.search(r"nearest matching service is (\d+) km away", near_real)
    assert distance and int(distance.group(1)) > 60, near_real


def test_a_hidden_address_is_placed_at_its_town_however_the_town_is_written(
    client, session, refuge
):
    """ "St. Andrews" is the place St Andrews; a town the gazetteer does not know is
    placed at its council area's centre."""
    service = session.get(Service, refuge)
    service.locations[0].town = "St. Andrews"
    other = make_service(session, name="Hidden Somewhere", confidential_address=True)
    other.locations[0].town = "Nowhere In Particular"
    other.locations[0].latitude, other.locations[0].longitude = EDINBURGH
    session.commit()
    near = client.get("/services?q=St+Andrews&radius_km=5").get_data(as_text=True)
    assert "Safe Haven Women" in near and "St. Andrews. The address is confidential" in near
    # Its real position is in Edinburgh; it is found at Glasgow City's centre.
    near_council = client.get("/services?q=Glasgow&radius_km=10").get_data(as_text=True)
    assert "Hidden Somewhere" in near_council
    near_real = client.get("/services?q=Edinburgh&radius_km=10").get_data(as_text=True)
    assert "No services within 10 km of Edinburgh" in near_real
