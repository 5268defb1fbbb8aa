"""The services map: local assets, one data array, filters."""

import json
import re

from .factories import make_service


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
