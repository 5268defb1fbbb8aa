"""The HSDS-shaped API, and the services map: local assets, one data array, filters."""

import json
import re

import pytest

from referrals.choices import ServiceStatus

from .factories import make_service


def test_api_lists_services_in_hsds_shape(client, session):
    for i in range(3):
        make_service(
            session,
            name=f"API {i}",
            phone="0141 496 0000",
            min_age=18,
            hours=[(0, "09:00", "17:00")],
        )
    make_service(session, name="Gone", status=ServiceStatus.INACTIVE)
    session.commit()
    data = client.get("/api/v1/services?per_page=2").get_json()
    assert data["total_items"] == 3 and data["total_pages"] == 2
    assert data["page_number"] == 1 and data["first_page"] and not data["last_page"]
    item = data["contents"][0]
    assert item["name"] == "API 0"
    assert item["organization"]["name"].startswith("Test Organisation")
    location = item["service_at_locations"][0]["location"]
    assert location["addresses"][0]["postal_code"] == "G1 1AA"
    assert location["latitude"] == 55.8642
    assert item["schedules"] == [
        {"freq": "WEEKLY", "byday": "MO", "opens_at": "09:00", "closes_at": "17:00"}
    ]
    area = item["service_areas"][0]
    assert area["gss_code"] == "S12000049" and area["uri"].endswith("/S12000049")
    assert item["assured_date"] and item["minimum_age"] == 18
    assert item["attributes"][0]["taxonomy_term"]["code"] == "ost"
    page2 = client.get("/api/v1/services?per_page=2&page=2").get_json()
    assert [c["name"] for c in page2["contents"]] == ["API 2"] and page2["last_page"]


def test_api_single_service_and_errors(client, session):
    service = make_service(session, name="One")
    session.commit()
    assert client.get(f"/api/v1/services/{service.id}").get_json()["name"] == "One"
    missing = client.get("/api/v1/services/999999")
    assert missing.status_code == 404 and missing.get_json()["status"] == 404
    for query in ("page=0", "per_page=1000", "page=abc"):
        response = client.get(f"/api/v1/services?{query}")
        assert response.status_code == 400 and "must be" in response.get_json()["detail"]
    assert client.get("/api/v1/services?type=ost").get_json()["total_items"] == 1
    assert client.get("/api/v1/services?type=iep").get_json()["total_items"] == 0


@pytest.mark.parametrize("code", ["\x00", "ost\x00", "x" * 5000, "OST; DROP"])
def test_api_type_that_cannot_be_a_code_matches_nothing(client, session, code):
    make_service(session, name="One")
    session.commit()
    response = client.get("/api/v1/services", query_string={"type": code})
    assert response.status_code == 200
    assert response.get_json()["total_items"] == 0
    both = client.get("/api/v1/services", query_string=[("type", code), ("type", "ost")])
    assert both.get_json()["total_items"] == 1


def test_map_assets_are_served_by_the_app(client, session):
    make_service(session, name="Mapped")
    session.commit()
    html = client.get("/map/frame").get_data(as_text=True)
    assert not re.search(r'(src|href)="https?://', html)
    for url in re.findall(r'(?:src|href)="(/[^"]+)"', html):
        with client.get(url) as response:
            assert response.status_code == 200, url
    assert '<html lang="en-GB">' in html and "<title>Map of 1 service locations</title>" in html
    assert "user-scalable=no" not in html


def test_map_sends_markers_as_one_data_array(client, session):
    for i in range(40):
        make_service(session, name=f"S{i}", lat=55.8 + i / 100, lon=-4.2)
    session.commit()
    html = client.get("/map/frame").get_data(as_text=True)
    data = json.loads(re.search(r"var data = (\[.*?\]);\n", html).group(1))
    assert len(data) == 40
    assert data[0][3] == "S0" and isinstance(data[0][6], int)
    # One marker-making function for the services (and one for the area names), not a
    # script statement per marker.
    assert html.count("L.marker(") == 2


def test_map_without_tiles_names_the_areas(client, session):
    html = client.get("/map/frame").get_data(as_text=True)
    assert "Glasgow City" in html and "tile.openstreetmap" not in html


def test_map_with_tiles_uses_the_configured_url(app_factory):
    app = app_factory(
        MAP_TILES_URL="https://tiles.example/{z}/{x}/{y}.png",
        MAP_TILES_ATTRIBUTION="Example tiles",
    )
    html = app.test_client().get("/map/frame").get_data(as_text=True)
    assert "https://tiles.example/{z}/{x}/{y}.png" in html and "Example tiles" in html


def test_map_page_filters_and_counts(client, session):
    make_service(session, name="Needles", type_code="iep", lat=55.86, lon=-4.25)
    make_service(session, name="Meds", type_code="ost", lat=55.86, lon=-4.25)
    make_service(session, name="Far away", type_code="ost", lat=57.48, lon=-4.22)
    session.commit()
    html = client.get("/map?type=iep").get_data(as_text=True)
    assert "1 active service." in html
    assert 'src="/map/frame?type=iep"' in html
    html = client.get("/map?q=Glasgow").get_data(as_text=True)
    assert "2 active services within 25 km of Glasgow" in html
    frame = client.get("/map/frame?q=Glasgow").get_data(as_text=True)
    assert "Meds" in frame and "Far away" not in frame
    assert client.get("/map?radius_km=-1").status_code == 400
    assert "Key" in html and "(MAT)" in html
