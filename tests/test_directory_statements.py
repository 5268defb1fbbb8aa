"""The public directory pages send a fixed number of statements, however many services
match: the search (a district and a town, with confidential services about), the map
page and the map's markers."""

import pytest

from referrals.extensions import db
from referrals.models import Location
from referrals.statement_count import counting

from .factories import make_service

# Beyond these pages' own statements, every page reads the nation's settings (and with
# them whether demonstration data is loaded).
PAGE_SETTINGS = 1


@pytest.fixture
def directory(session):
    for n in range(15):
        service = make_service(
            session,
            name=f"Glasgow service {n}",
            lat=55.85 + n / 200,
            lon=-4.25 + n / 300,
            type_code="naloxone" if n % 2 else "ost",
            confidential_address=n % 5 == 0,
        )
        if n % 3 == 0:
            service.locations.append(
                Location(
                    address_1=f"{n} Second Street",
                    town="Paisley",
                    postcode="PA1 1AA",
                    latitude=55.845,
                    longitude=-4.42,
                    council_area=service.locations[0].council_area,
                )
            )
    session.commit()


def statements(app, client, url: str) -> tuple[int, str]:
    with app.app_context():
        engine = db.engine
    client.get(url)  # once first, so nothing is counted that a first request sets up
    with counting(engine) as seen:
        response = client.get(url)
    assert response.status_code == 200, url
    return seen.count, str(seen)


@pytest.mark.parametrize(
    ("url", "own"),
    [
        # The types, the district, the locations in view, the confidential ones, and the
        # page of services with their types and hours (one statement).
        ("/services?q=G31", 5),
        ("/services?q=naloxone+near+G31&radius_km=50", 5),
        # A town: the place instead of the district.
        ("/services?q=Glasgow", 5),
        # None within 1 km of Inverness: then the nearest few outside it, from boxes
        # widening until they hold some (three here, two statements each).
        ("/services?q=IV1&radius_km=1", 11),
        # The types, the district, the stored outline and attributions, the areas.
        ("/map?q=G31", 4),
        # The types, the district (for the needs in the box), the locations in view,
        # and the markers' services.
        ("/map/markers.json?q=G31&bbox=-4.5,55.7,-3.9,56.0&zoom=11&lat=55.857&lon=-4.208", 4),
    ],
)
def test_directory_pages_send_a_fixed_number_of_statements(app, client, directory, url, own):
    count, sent = statements(app, client, url)
    assert count - PAGE_SETTINGS <= own, sent
