"""Directory search: every kind of input, every filter, distances, paging, bad input."""

import datetime as dt
import math
import random
import re
from types import SimpleNamespace

import numpy as np
import pytest
import sqlalchemy as sa
from geographiclib.geodesic import Geodesic
from geopy.distance import geodesic

from referrals.choices import Gender, Role, ServiceStatus
from referrals.database import BINARY_RESULTS, _binary_results
from referrals.directory import candidate_sql, nearness, search
from referrals.directory.access import EVERYTHING, PUBLIC
from referrals.directory.geocoder import EXTENSION_KEY, GeocoderFailed
from referrals.directory.nearness import Ranking
from referrals.directory.search import Filters, numbers, search_services
from referrals.geo import geodesic_km
from referrals.models import Location, Postcode, Service

from .factories import council, make_service, make_user, suite
from .test_auth import sign_in

ORIGIN = (55.8560, -4.2100)  # the postcode G31 2AB, as loaded below


@pytest.fixture
def placed(session):
    """A full postcode and services due north of it at known distances.

    On the WGS84 ellipsoid one degree of latitude near 55.9°N is 111.34 km, so 0.05°,
    0.1°, 0.2° and 0.3° north are 5.57, 11.13, 22.27 and 33.40 km away.
    """
    session.add(
        Postcode(
            postcode="G31 2AB",
            latitude=ORIGIN[0],
            longitude=ORIGIN[1],
            council_area_id=council(session, "Glasgow City").id,
        )
    )
    lat, lon = ORIGIN
    services = {
        "near": make_service(
            session,
            name="Near Service",
            lat=lat + 0.05,
            lon=lon,
            type_code="ost",
            same_day_access=True,
        ),
        "middle": make_service(
            session,
            name="Middle Service",
            lat=lat + 0.1,
            lon=lon,
            type_code="iep",
            accepts_custody_referrals=False,
        ),
        "far": make_service(
            session,
            name="Far Service",
            lat=lat + 0.2,
            lon=lon,
            type_code="womens",
            gender=Gender.FEMALE,
            min_age=18,
            max_age=25,
        ),
        "outside": make_service(
            session,
            name="Outside Service",
            lat=lat + 0.3,
            lon=lon,
            type_code="veterans",
            veterans_only=True,
        ),
    }
    session.commit()
    return services


def names_in(html):
    return re.findall(r'id="service-\d+-name"><a href="[^"]+">([^<]+)</a>', html)


def get(client, url):
    response = client.get(url)
    return response, response.get_data(as_text=True)


def test_full_postcode_gives_nearest_first_with_distances(client, placed):
    response, html = get(client, "/services?q=g312ab")
    assert response.status_code == 200
    assert "3 services within 25 km of G31 2AB" in html
    assert names_in(html) == ["Near Service", "Middle Service", "Far Service"]
    for km in ("5.6 km", "11.1 km", "22.3 km"):
        assert f"<dd>{km}</dd>" in html
    assert "Outside Service" not in html


def test_full_postcode_not_in_table_falls_back_to_district(client, placed):
    _, html = get(client, "/services?q=G31+9ZZ")
    assert "within 25 km of G31 9ZZ" in html
    assert "Distances are from the middle of postcode district G31" in html


def test_district_and_area_and_town(client, placed):
    _, html = get(client, "/services?q=g31")
    assert "within 25 km of G31" in html and "Distances are from the middle" not in html
    _, html = get(client, "/services?q=G")
    assert "within 25 km of the G postcode area" in html
    assert "approximate" in html
    _, html = get(client, "/services?q=glasgow")
    assert "within 25 km of Glasgow" in html and "Near Service" in html


def test_start_of_a_town_name_finds_it_and_offers_the_others(client, placed):
    _, html = get(client, "/services?q=kirkc")
    assert "of Kirkcaldy" in html
    assert "Other places with that name" in html and "Kirkcudbright" in html


def test_unknown_place_and_malformed_postcode_are_explained(client, placed):
    response, html = get(client, "/services?q=Glasgoww")
    assert response.status_code == 200
    assert "We could not find a place called “Glasgoww”." in html
    assert "Did you mean" in html and ">Glasgow</a>" in html
    response, html = get(client, "/services?q=G31-2AB%21%21")
    assert response.status_code == 200
    assert "We could not find the postcode “G31-2AB!!”." in html
    response, html = get(client, "/services?q=ZZ99+9ZZ")
    assert "We could not find the postcode “ZZ99 9ZZ”." in html
    assert "This directory covers Scotland" in html


def test_input_is_echoed_safely(client, placed):
    response, html = get(client, "/services?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=ost", ["Near Service"]),
        ("type=ost&type=iep", ["Near Service", "Middle Service"]),
        ("same_day=1", ["Near Service"]),
        ("custody=1", ["Near Service", "Far Service"]),
        ("age=40", ["Near Service", "Middle Service"]),
        ("age=20", ["Near Service", "Middle Service", "Far Service"]),
        ("gender=male", ["Near Service", "Middle Service"]),
        ("gender=female", ["Near Service", "Middle Service", "Far Service"]),
        ("veterans=1&radius_km=50", ["Outside Service"]),
        ("radius_km=10", ["Near Service"]),
        ("radius_km=50", ["Near Service", "Middle Service", "Far Service", "Outside Service"]),
    ],
)
def test_each_filter(client, placed, query, expected):
    _, html = get(client, f"/services?q=G31+2AB&{query}")
    assert names_in(html) == expected


def test_open_now_uses_uk_time(app, client, session, placed):
    make_service(
        session,
        name="Night Outreach",
        lat=ORIGIN[0] + 0.01,
        lon=ORIGIN[1],
        hours=[(4, "20:00", "02:00")],
    )
    session.commit()
    # Saturday 1 August 2026 at 00:30 UK time (BST) is 23:30 UTC on the Friday.
    app.config["CLOCK"] = lambda: dt.datetime(2026, 7, 31, 23, 30, tzinfo=dt.UTC)
    _, html = get(client, "/services?q=G31+2AB&open_now=1")
    assert names_in(html) == ["Night Outreach"]
    # Monday 23 November 2026, 09:00 UK time (GMT): the office-hours services are open.
    app.config["CLOCK"] = lambda: dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    _, html = get(client, "/services?q=G31+2AB&open_now=1")
    assert names_in(html) == ["Near Service", "Middle Service", "Far Service"]
    app.config["CLOCK"] = lambda: dt.datetime(2026, 11, 23, 17, 0, tzinfo=dt.UTC)
    _, html = get(client, "/services?q=G31+2AB&open_now=1")
    assert names_in(html) == []


def test_nothing_inside_the_radius_offers_a_wider_search(client, placed):
    _, html = get(client, "/services?q=G31+2AB&veterans=1")
    assert "No services within 25 km of G31 2AB" in html
    assert "The nearest matching service is 33 km away." in html
    link = re.search(r'href="(/services\?[^"]+)">Search within 50 km', html).group(1)
    _, wider = get(client, link.replace("&amp;", "&"))
    assert names_in(wider) == ["Outside Service"]


def test_default_radius_is_stated(client, placed):
    _, html = get(client, "/services?q=G31+2AB")
    assert "Searching within 25 km, the default." in html


def test_inactive_and_closed_services_are_not_listed(client, session, placed):
    placed["near"].status = ServiceStatus.INACTIVE
    placed["middle"].status = ServiceStatus.TEMPORARILY_CLOSED
    session.commit()
    _, html = get(client, "/services?q=G31+2AB")
    assert names_in(html) == ["Far Service"]


def test_results_are_paged(client, session, placed):
    for i in range(12):
        make_service(
            session, name=f"Cluster {i:02d}", lat=ORIGIN[0] + 0.001 * (i + 1), lon=ORIGIN[1]
        )
    session.commit()
    _, html = get(client, "/services?q=G31+2AB")
    assert "15 services within 25 km" in html and "Page 1 of 2" in html
    assert len(names_in(html)) == 10
    _, html = get(client, "/services?q=G31+2AB&page=2")
    assert names_in(html) == [
        "Cluster 10",
        "Cluster 11",
        "Near Service",
        "Middle Service",
        "Far Service",
    ]
    response, html = get(client, "/services?q=G31+2AB&page=999999999")
    assert response.status_code == 200
    assert "There is no page 999999999: there are 2 pages of results." in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("radius_km=-3", "Enter a distance from 1 to 1000 km."),
        ("radius_km=lots", "Enter a whole number, like 25."),
        ("age=200", "Enter an age from 0 to 120."),
        ("page=0", "Pages start at 1."),
        ("type=nonsense", "Choose only from the options listed."),
    ],
)
def test_bad_parameters_answer_400_with_a_message(client, placed, query, message):
    response, html = get(client, f"/services?q=G31+2AB&{query}")
    assert response.status_code == 400
    assert message in html
    assert "There is a problem" in html


def test_online_geocoder_is_used_only_for_unknown_places(app, client, placed):
    asked = []

    def fake(query):
        asked.append(query)
        return (ORIGIN[0] + 0.04, ORIGIN[1], "Somewhere Small, Glasgow, Scotland")

    app.extensions[EXTENSION_KEY] = fake
    _, html = get(client, "/services?q=Somewhere+Small")
    assert asked == ["Somewhere Small, Scotland"]
    assert "Found with an online map service" in html
    assert names_in(html)[0] == "Near Service"
    _, html = get(client, "/services?q=Kirkcaldy")
    assert len(asked) == 1  # known places never go online


def test_failing_geocoder_is_reported_and_search_falls_back(app, client, placed):
    def broken(query):
        raise GeocoderFailed("timed out")

    app.extensions[EXTENSION_KEY] = broken
    response, html = get(client, "/services?q=Somewhere+Small")
    assert response.status_code == 200
    assert "The online place finder did not answer" in html
    assert "We could not find a place called" in html
    _, html = get(client, "/services?q=G31+2AB")
    assert "3 services within 25 km" in html


def test_signed_in_custody_worker_can_refer_from_results(client, session, placed):
    make_user(
        session, Role.CUSTODY, email="c@test.example", custody_suite=suite(session, "GLA-LR")
    )
    session.commit()
    _, html = get(client, "/services?q=G31+2AB")
    assert "Refer to this service" not in html
    sign_in(client, "c@test.example")
    _, html = get(client, "/services?q=G31+2AB")
    assert html.count("Refer to this service") == 2  # not the one refusing custody referrals
    assert f"/referrals/new?service={placed['near'].id}" in html


def test_search_agrees_with_brute_force_geodesic(session):
    """Random services around the origin: the bounded search gives exactly what
    computing every geodesic would."""
    rng = random.Random(4)
    for i in range(250):
        make_service(
            session,
            name=f"R{i}",
            lat=ORIGIN[0] + rng.uniform(-0.4, 0.4),
            lon=ORIGIN[1] + rng.uniform(-0.7, 0.7),
        )
    session.commit()
    now = dt.datetime(2026, 11, 23, 12, 0)
    for radius, page in [(25, 1), (25, 3), (40, 2), (10, 1)]:
        result = search_services(
            session,
            *ORIGIN,
            Filters(radius_km=radius),
            now_local=now,
            viewer=EVERYTHING,
            page=page,
        )
        exact = []
        for service in session.scalars(sa.select(Service)):
            d = min(
                geodesic(ORIGIN, (loc.latitude, loc.longitude)).km for loc in service.locations
            )
            if d <= radius:
                exact.append((d, service.id))
        exact.sort()
        assert result.total == len(exact)
        expected = exact[(page - 1) * 10 : page * 10]
        assert [(round(h.distance_km, 9), h.service.id) for h in result.hits] == [
            (round(d, 9), sid) for d, sid in expected
        ]


def test_distances_are_exactly_geopys_geodesic():
    """The distances shown are geopy's geodesic to the last bit, computed without
    building geopy's points."""
    rng = random.Random(16)
    for _ in range(500):
        a = (rng.uniform(-90, 90), rng.uniform(-180, 180))
        b = (rng.uniform(54.5, 61), rng.uniform(-8, -0.5))
        assert geodesic_km(*a, *b) == geodesic(a, b).km
        near = (b[0] + rng.uniform(-0.2, 0.2), b[1] + rng.uniform(-0.3, 0.3))
        assert geodesic_km(*b, *near) == geodesic(b, near).km


class _Cursor:
    def __init__(self):
        self.calls = []

    def execute(self, statement, parameters, **options):
        self.calls.append((statement, parameters, options))


@pytest.mark.parametrize("asked", [True, False])
def test_only_statements_that_ask_get_binary_results(asked):
    """The candidates' statement asks for its numbers in binary; any other statement is
    left to the dialect as it always was."""
    cursor = _Cursor()
    context = SimpleNamespace(execution_options={BINARY_RESULTS: True} if asked else {})
    assert _binary_results(cursor, "SELECT 1", {"a": 1}, context) is asked
    assert cursor.calls == ([("SELECT 1", {"a": 1}, {"binary": True})] if asked else [])


def test_candidate_numbers_are_the_stored_values(session):
    """Read as one array (in binary on PostgreSQL), the locations' ids and positions are
    exactly those a plain query returns."""
    for i in range(5):
        make_service(session, name=f"N{i}", lat=55.8 + i / 7, lon=-4.2 - i / 13)
    session.commit()
    query = sa.select(Location.id, Location.service_id, Location.latitude, Location.longitude)
    table = numbers(session, query.order_by(Location.id), 4)
    plain = session.execute(query.order_by(Location.id)).all()
    assert [tuple(row) for row in table.tolist()] == [tuple(map(float, r)) for r in plain]


@pytest.mark.parametrize("vincenty_error_km", [0, 6e-7, -6e-7])
def test_distances_shown_are_the_geodesics_to_the_figure_shown(monkeypatch, vincenty_error_km):
    """The ranking shows Vincenty's distance (within a micrometre of the geodesic here)
    where it rounds and compares as the geodesic would, and the geodesic itself near a
    boundary: random points, points a hair either side of a rounding boundary, and a
    service with two locations equally far, all show what geopy's geodesic shows; and
    still would were Vincenty's distances off by most of the margin allowed them."""
    vincenty = nearness.vincenty_km_array
    monkeypatch.setattr(nearness, "vincenty_km_array", lambda *a: vincenty(*a) + vincenty_error_km)
    rng = random.Random(5)
    origin = (56.4, -3.4)
    points = [(origin[0] + rng.uniform(-3, 3), origin[1] + rng.uniform(-5, 5)) for _ in range(400)]
    # Just either side of where 0.1 km figures round (5.05 km...), whole km figures
    # round (339.5 km...) and the wider searches offered begin (25 km...), each its
    # own boundary (points closer together are ordered by the geodesic), in several
    # directions.
    hairs = (-2e-7, -1e-9, 0.0, 1e-9, 2e-7, 3e-6)
    boundaries = [
        *((5.05 + 0.2 * n, hairs[n % 6]) for n in range(30)),
        *((339.5 + n, hairs[n % 6]) for n in range(6)),
        *zip((25.0, 50.0, 100.0), hairs[:3], strict=True),
    ]
    for n, (km, hair) in enumerate(boundaries):
        at = Geodesic.WGS84.Direct(*origin, 37 * n % 360, (km + hair) * 1000)
        points.append((at["lat2"], at["lon2"]))
    lats = np.array([p[0] for p in points] + [origin[0], origin[0]])
    lons = np.array([p[1] for p in points] + [origin[1] - 0.2, origin[1] + 0.2])
    # One location per service, but the last service has the last two, equally far.
    services = np.array([*range(1, len(points) + 1), len(points) + 1, len(points) + 1])
    ids = np.arange(1000, 1000 + len(lats))
    ranking = Ranking(*origin, ids, services, lats, lons)
    inside, spherical = ranking.within(math.inf)
    ranking.page(inside, spherical, 0, len(inside))
    assert len(ranking.exact) == len(points) + 1
    for sid, (km, location) in ranking.exact.items():
        rows = np.flatnonzero(services == sid)
        geodesics = [(geodesic_km(*origin, lats[i], lons[i]), int(ids[i])) for i in rows]
        true_km, true_location = min(geodesics)
        assert location == true_location
        assert abs(km - true_km) < nearness.VINCENTY_MARGIN
        assert f"{km:.1f}" == f"{true_km:.1f}" and f"{km:.0f}" == f"{true_km:.0f}"
        assert [km <= step for step in (25, 50, 100)] == [true_km <= s for s in (25, 50, 100)]


def test_hidden_and_shown_candidates_read_together_are_those_read_apart(session, monkeypatch):
    """On PostgreSQL the shown and hidden candidates come in one statement: they are the
    very ones the two statements give, a hidden address at its town (or council area)
    whether its town is found by its lower case, by its key or not at all."""
    for i, town in enumerate(["Glasgow", "St. Andrews", "Nowhere In Particular", "Glasgow"]):
        service = make_service(
            session, name=f"S{i}", lat=55.8 + i / 50, lon=-4.2 - i / 70, confidential_address=i < 3
        )
        service.locations[0].town = town
    session.commit()
    box = (55.0, 56.5, -5.0, -2.5)
    together = search.candidates(session, Filters(), None, box, PUBLIC)
    built = candidate_sql.candidate_queries

    def apart(*args):
        return built(*args)._replace(together=None)

    monkeypatch.setattr(search, "candidate_queries", apart)
    separately = search.candidates(session, Filters(), None, box, PUBLIC)

    def rows(found):
        return sorted(zip(*(a.tolist() for a in found), strict=True))

    assert rows(together) == rows(separately)
    assert len(rows(together)) == 4
