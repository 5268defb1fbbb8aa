"""The services map: local assets, markers by view (clustered when zoomed out), filters,
the searched place and radius."""

import datetime as dt
import json
import math
import re
from html import unescape
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from referrals.directory.cards import STALE_TAG
from referrals.directory.viewport import SPACING_PIXELS
from referrals.models import Location, Service

from .factories import make_service


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def map_settings(html: str) -> dict:
    raw = re.search(r'data-settings="([^"]*)"', html).group(1)
    return json.loads(unescape(raw))


def markers(client, bbox="-8,54.5,0,61", zoom=6, **params):
    query = {"bbox": bbox, "zoom": zoom, **params}
    response = client.get("/map/markers.json", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_map_page_carries_no_services_and_loads_everything_from_the_app(client, session):
    make_service(session, name="Mapped")
    session.commit()
    html = client.get("/map").get_data(as_text=True)
    assert "Mapped" not in html  # the markers come from the JSON endpoint
    assert not re.search(r'(src|href)="https?://', html)
    for url in re.findall(r'(?:src|href)="(/[^"]+\.(?:js|css))"', html):
        with client.get(url) as response:
            assert response.status_code == 200, url
    settings = map_settings(html)
    assert settings["markers"] == "/map/markers.json"
    assert "origin" not in settings
    # The list works without JavaScript: the page says so and links to it.
    assert "<noscript>" in html and "Find the same services as a list" in html


def spacing_in_pixels(points, zoom):
    from referrals.directory.viewport import _pixels

    x, y = _pixels(np.array([p[0] for p in points]), np.array([p[1] for p in points]), zoom)
    return min(
        math.hypot(x[i] - x[j], y[i] - y[j])
        for i in range(len(points))
        for j in range(i + 1, len(points))
    )


def test_markers_are_grouped_when_close_on_screen_and_separate_when_zoomed_in(client, session):
    # A service with a second location first, so location ids and service ids differ.
    other = make_service(session, name="Elsewhere", lat=60.15, lon=-1.15)
    other.locations.append(
        Location(
            address_1="2 Far Road",
            town="Lerwick",
            postcode="ZE1 0AA",
            latitude=60.2,
            longitude=-1.2,
            council_area=other.locations[0].council_area,
        )
    )
    session.flush()
    for i in range(12):  # 12 services 110 m apart, in a line north of Glasgow's centre
        make_service(session, name=f"S{i:02}", lat=55.80 + i / 1000, lon=-4.2)
    make_service(session, name="Inverness one", lat=57.48, lon=-4.22)
    make_service(session, name="Twin A", lat=56.5, lon=-3.0)
    make_service(session, name="Twin B", lat=56.5, lon=-3.0)  # the same address
    session.commit()
    whole = markers(client, zoom=6, bbox="-8,54,-2.5,58.5")
    assert whole["services"] == whole["locations"] == 15
    assert sorted(c[2] for c in whole["clusters"]) == [2, 12]
    assert [m[3] for m in whole["markers"]] == ["Inverness one"]
    points = [c[:2] for c in whole["clusters"]] + [m[:2] for m in whole["markers"]]
    assert spacing_in_pixels(points, 6) >= SPACING_PIXELS  # no two targets overlap

    close = markers(client, bbox="-4.21,55.799,-4.19,55.812", zoom=17)
    assert close["clusters"] == []
    assert sorted(m[3] for m in close["markers"]) == [f"S{i:02}" for i in range(12)]
    marker = next(m for m in close["markers"] if m[3] == "S00")
    assert marker[:2] == [55.8, -4.2]
    # The popup's link goes to the service's page: the row carries the service's id.
    s00 = session.scalar(sa.select(Service).where(Service.name == "S00"))
    assert marker[6] == s00.id != s00.locations[0].id
    assert spacing_in_pixels([m[:2] for m in close["markers"]], 17) >= SPACING_PIXELS

    # Two services at one address never separate: zoomed right in, the group lists them.
    twins = markers(client, bbox="-3.01,56.49,-2.99,56.51", zoom=18)
    assert twins["markers"] == []
    [(_, _, count, members)] = twins["clusters"]
    assert count == 2 and sorted(m[3] for m in members) == ["Twin A", "Twin B"]
    assert markers(client, bbox="-3,58,-2,59", zoom=9)["services"] == 0


def test_markers_follow_the_filters_and_the_search_radius(client, session):
    make_service(session, name="Needles", type_code="iep", lat=55.86, lon=-4.25)
    make_service(session, name="Meds", type_code="ost", lat=55.86, lon=-4.25)
    make_service(session, name="Far away", type_code="ost", lat=57.48, lon=-4.22)
    session.commit()
    assert markers(client, type="iep")["services"] == 1
    assert markers(client, q="needle exchange")["services"] == 1
    glasgow = client.get("/map?q=Glasgow").get_data(as_text=True)
    origin = map_settings(glasgow)["origin"]
    assert origin["label"] == "Glasgow" and origin["radiusKm"] == 25
    near = markers(client, q="Glasgow", lat=origin["lat"], lon=origin["lon"])
    assert near["services"] == 2 and "Far away" not in str(near)
    assert "Services within 25 km of Glasgow (the blue circle)" in glasgow
    assert client.get("/map?radius_km=-1").status_code == 400
    assert "Key" in glasgow and "(MAT)" in glasgow


def test_each_marker_says_whether_its_listing_is_stale_as_its_card_does(app, client, session):
    app.config["CLOCK"] = lambda: dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    today = dt.date(2026, 12, 2)
    make_service(session, name="Old", lat=55.86, lon=-4.25, last_verified_on=today - days(181))
    make_service(session, name="Checked", lat=55.87, lon=-4.2, last_verified_on=today - days(180))
    make_service(session, name="Never checked", lat=55.85, lon=-4.3, last_verified_on=None)
    # Two at one address stay a group, listed when zoomed right in: each says too.
    make_service(session, name="Twin old", lat=56.5, lon=-3.0, last_verified_on=today - days(400))
    make_service(session, name="Twin new", lat=56.5, lon=-3.0, last_verified_on=today)
    session.commit()

    glasgow = markers(client, bbox="-4.4,55.8,-4.1,55.9", zoom=14)
    assert {m[3]: m[7] for m in glasgow["markers"]} == {"Old": 1, "Checked": 0, "Never checked": 1}
    [(_, _, _, members)] = markers(client, bbox="-3.01,56.49,-2.99,56.51", zoom=18)["clusters"]
    assert {m[3]: m[7] for m in members} == {"Twin old": 1, "Twin new": 0}

    cards = client.get("/services?q=Glasgow").get_data(as_text=True)
    shown = dict(re.findall(r"<h3[^>]*><a[^>]*>([^<]+)</a></h3>(.*?)</article>", cards, re.S))
    flagged = {name for name, card in shown.items() if "Not checked for over 6 months" in card}
    assert set(shown) == {"Old", "Checked", "Never checked"}
    assert flagged == {"Old", "Never checked"}


def test_the_map_popup_warns_of_a_stale_listing_in_the_cards_words():
    words = re.sub(r"<[^>]+>", "", STALE_TAG).strip()
    script = (Path(__file__).parents[1] / "static" / "js" / "services-map.js").read_text()
    assert f"'{words}'" in script


def test_markers_refuse_a_malformed_view(client, session):
    for query in ("", "bbox=1,2,3&zoom=5", "bbox=-4,55,-3,56&zoom=x", "bbox=0,95,1,96&zoom=5"):
        assert client.get(f"/map/markers.json?{query}").status_code == 400, query
    response = client.get("/map/markers.json?bbox=-4,55,-3,56&zoom=5&radius_km=0")
    assert response.status_code == 400 and "Enter a distance" in response.get_json()["error"]


def test_map_without_tiles_names_the_areas(client, session):
    settings = map_settings(client.get("/map").get_data(as_text=True))
    assert settings["tiles"] == "" and "Glasgow City" in [a[0] for a in settings["areas"]]


def test_map_with_tiles_uses_the_configured_url(app_factory):
    app = app_factory(
        MAP_TILES_URL="https://tiles.example/{z}/{x}/{y}.png",
        MAP_TILES_ATTRIBUTION="Example tiles",
    )
    settings = map_settings(app.test_client().get("/map").get_data(as_text=True))
    assert settings["tiles"] == "https://tiles.example/{z}/{x}/{y}.png"
    assert settings["tilesAttribution"] == "Example tiles" and "areas" not in settings


def test_map_marks_the_postcode_searched_with_its_attribution(client, session, runner, tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_text(
        "postcode,latitude,longitude,council_area_code\nG31 2AB,55.856,-4.21,S12000049\n"
    )
    result = runner.invoke(
        args=["import-postcodes", str(path), "--attribution", "Contains OS data 2020."]
    )
    assert result.exit_code == 0, result.output
    html = client.get("/map?q=G31+2AB&radius_km=10").get_data(as_text=True)
    origin = map_settings(html)["origin"]
    assert (origin["lat"], origin["lon"], origin["radiusKm"]) == (55.856, -4.21, 10)
    assert "Map data: Contains OS data 2020." in html
    assert map_settings(html)["dataAttributions"] == ["Contains OS data 2020."]
    # A district is not from the loaded file: no attribution for it.
    assert "Map data:" not in client.get("/map?q=G31").get_data(as_text=True)
