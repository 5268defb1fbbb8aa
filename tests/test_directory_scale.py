"""The directory at scale: the spatial index stays in step with every change, the
nearest services are found however far away, and the download streams and is limited."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from geopy.distance import geodesic

from referrals.choices import ServiceStatus
from referrals.directory.access import PUBLIC
from referrals.directory.search import Filters, nearest_services, search_services
from referrals.models import Location
from referrals.spatial import RTREE

from .factories import make_service

NOW = dt.datetime(2026, 11, 23, 12, 0)


def indexed_positions(session) -> dict[int, tuple[float, float]] | None:
    if session.get_bind().dialect.name != "sqlite":
        return None
    rows = session.execute(sa.text(f"SELECT id, min_lat, min_lon FROM {RTREE}"))
    return {r.id: (round(r.min_lat, 4), round(r.min_lon, 4)) for r in rows}


def test_the_spatial_index_follows_every_new_moved_and_removed_location(session):
    service = make_service(session, name="Mover", lat=55.86, lon=-4.25)
    other = make_service(session, name="Stayer", lat=56.46, lon=-2.97)
    session.commit()
    assert indexed_positions(session) in (
        None,
        {
            service.locations[0].id: (55.86, -4.25),
            other.locations[0].id: (56.46, -2.97),
        },
    )
    near_dundee = Filters(radius_km=10)
    found = search_services(session, 56.46, -2.97, near_dundee, now_local=NOW, viewer=PUBLIC)
    assert [h.service.name for h in found.hits] == ["Stayer"]

    service.locations[0].latitude, service.locations[0].longitude = 56.47, -2.98  # moved
    session.commit()
    found = search_services(session, 56.46, -2.97, near_dundee, now_local=NOW, viewer=PUBLIC)
    assert [h.service.name for h in found.hits] == ["Stayer", "Mover"]

    session.execute(sa.delete(Location).where(Location.id == other.locations[0].id))
    session.commit()
    found = search_services(session, 56.46, -2.97, near_dundee, now_local=NOW, viewer=PUBLIC)
    assert [h.service.name for h in found.hits] == ["Mover"]
    assert indexed_positions(session) in (None, {service.locations[0].id: (56.47, -2.98)})


def test_with_nothing_near_the_nearest_few_are_found_wherever_they_are(client, session):
    # Lerwick, Shetland: the nearest services below are 339 to 600 km away.
    for name, lat, lon in [
        ("Aberdeen", 57.15, -2.09),
        ("Inverness", 57.48, -4.22),
        ("Dundee", 56.46, -2.97),
        ("Glasgow", 55.86, -4.25),
    ]:
        make_service(session, name=f"{name} Naloxone", type_code="naloxone", lat=lat, lon=lon)
    make_service(
        session, name="Kirkwall Rehab", type_code="residential_rehab", lat=58.98, lon=-2.96
    )
    session.commit()
    hits = nearest_services(
        session,
        60.155,
        -1.145,
        Filters(types=["naloxone"]),
        now_local=NOW,
        viewer=PUBLIC,
    )
    assert [h.service.name for h in hits] == [
        "Aberdeen Naloxone",
        "Inverness Naloxone",
        "Dundee Naloxone",
    ]
    lerwick = (60.155, -1.145)
    expected = [
        geodesic(lerwick, place).km for place in [(57.15, -2.09), (57.48, -4.22), (56.46, -2.97)]
    ]
    # The geodesic to well under a millimetre, and shown as it would show.
    assert [h.distance_km for h in hits] == pytest.approx(expected, rel=0, abs=1e-6)
    assert [f"{h.distance_km:.1f}" for h in hits] == [f"{d:.1f}" for d in expected]

    html = client.get("/services?q=naloxone+near+Lerwick").get_data(as_text=True)
    assert "No services for naloxone within 25 km of Lerwick" in html
    assert "The nearest matching service is 339 km away." in html
    assert "The nearest matching services" in html
    assert (
        html.index("Aberdeen Naloxone")
        < html.index("Inverness Naloxone")
        < html.index("Dundee Naloxone")
    )
    assert "Kirkwall Rehab" not in html and "Glasgow Naloxone" not in html


def test_nothing_anywhere_says_so(client, session):
    make_service(session, name="Only Detox", type_code="detox")
    session.commit()
    html = client.get("/services?q=Lerwick&type=hat").get_data(as_text=True)
    assert "No service anywhere matches these filters" in html


def test_the_download_streams_every_listed_service_in_batches(client, session, monkeypatch):
    monkeypatch.setattr("referrals.directory.export.BATCH", 2)
    names = [f"Listed {i}" for i in range(5)]
    for name in names:
        make_service(session, name=name)
    make_service(session, name="Gone", status=ServiceStatus.INACTIVE)
    session.commit()
    response = client.get("/services.csv")
    assert response.status_code == 200 and response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["name"] for r in rows] == names


def test_the_download_is_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, EXPORT_RATE_LIMIT="2 per minute")
    client = app.test_client()
    assert client.get("/services.csv").status_code == 200
    assert client.get("/services.csv").status_code == 200
    refused = client.get("/services.csv")
    assert refused.status_code == 429
    assert client.get("/services?q=G31").status_code == 200  # search is counted apart


def test_the_directory_api_lists_are_rate_limited(app_factory):
    """A page at a time as pages; the whole directory at once (a list as ndjson, or
    organisations with every service in full) as often as the CSV download."""
    app = app_factory(
        RATELIMIT_ENABLED=True,
        EXPORT_RATE_LIMIT="1 per minute",
        DIRECTORY_API_RATE_LIMIT="3 per minute",
    )
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/services?per_page=10").status_code == 200
    refused = client.get("/api/v1/services?per_page=10")
    assert refused.status_code == 429 and refused.is_json
    assert refused.get_json()["status"] == 429
    assert client.get("/api/v1/organizations?full_service=true").status_code == 200
    assert client.get("/api/v1/organizations?full_service=true").status_code == 429
    assert client.get("/api/v1/service_at_locations?format=ndjson").status_code == 200
    assert client.get("/api/v1/service_at_locations?format=ndjson").status_code == 429
    assert client.get("/api/v1/taxonomy_terms").status_code == 200  # counted apart
