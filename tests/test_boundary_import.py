"""Importing the official council boundaries: simplified as one coverage, so the map is
light and neighbours still meet; ADPs, police divisions and health boards dissolved from
the councils; retired council codes read as their replacements."""

from __future__ import annotations

import io
import json

import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import shape

from referrals.attributions import BOUNDARIES, attribution
from referrals.choices import AreaGroupKind, Role
from referrals.models import AreaBoundary, AreaGroup, AreaGroupBoundary, CouncilArea

from .factories import make_user
from .geodata import COUNCIL_BOUNDARIES, shared_file
from .test_auth import sign_in

# The area map page carries one geography's boundaries with its table and legend:
# keeping each geography's boundaries under this leaves room for the rest in 400 KB.
GEOGRAPHY_BUDGET = 250_000


@pytest.fixture(scope="module")
def source():
    data = json.loads(shared_file(COUNCIL_BOUNDARIES).read_text())
    return data, {f["properties"]["code"]: shape(f["geometry"]) for f in data["features"]}


def neighbours(geoms: dict[str, shapely.Geometry]) -> set[tuple[str, str]]:
    codes = sorted(geoms)
    tree = shapely.STRtree([geoms[c] for c in codes])
    pairs = set()
    for i, j in zip(*tree.query([geoms[c] for c in codes], predicate="intersects"), strict=True):
        if i < j:
            pairs.add((codes[i], codes[j]))
    return pairs


def test_official_boundaries_load_valid_light_and_still_meeting(runner, session, client, source):
    _, original = source
    result = runner.invoke(
        args=["import-boundaries", str(COUNCIL_BOUNDARIES), "--code-property", "code"]
    )
    assert result.exit_code == 0, result.output
    assert "Loaded boundaries for 32 council areas from 32 features" in result.output

    codes = dict(session.execute(sa.select(CouncilArea.id, CouncilArea.code)).all())
    stored = {
        codes[cid]: text
        for cid, text in session.execute(
            sa.select(AreaBoundary.council_area_id, AreaBoundary.geojson)
        )
    }
    assert set(stored) == set(codes.values())  # every council has its boundary
    councils = {code: shape(json.loads(text)) for code, text in stored.items()}
    assert all(g.is_valid and not g.is_empty for g in councils.values())
    # One coverage: no overlaps, and every shared edge has the same vertices both sides.
    assert shapely.coverage_is_valid(list(councils.values()))
    for a, b in neighbours(original):
        shared = councils[a].boundary.intersection(councils[b].boundary).length
        overlap = councils[a].intersection(councils[b]).area
        assert shared > 0.01, f"{a} and {b} no longer meet"  # degrees: about a kilometre
        assert overlap < 1e-9, f"{a} and {b} overlap"
    # Still the same places: each council's area within 3% of the source's.
    for code, geom in councils.items():
        assert geom.area == pytest.approx(original[code].area, rel=0.03), code
    assert sum(len(t) for t in stored.values()) < GEOGRAPHY_BUDGET

    groups = session.execute(sa.select(AreaGroup.id, AreaGroup.kind)).all()
    parents = dict(
        session.execute(
            sa.select(AreaGroupBoundary.area_group_id, AreaGroupBoundary.geojson)
        ).all()
    )
    assert set(parents) == {gid for gid, _ in groups}  # every ADP, division and board
    for kind in AreaGroupKind:
        texts = [parents[gid] for gid, k in groups if k == kind]
        shapes = [shape(json.loads(t)) for t in texts]
        assert all(g.is_valid for g in shapes)
        assert shapely.coverage_is_valid(shapes), kind
        assert sum(len(t) for t in texts) < GEOGRAPHY_BUDGET, kind
        # Together the groups of one kind cover exactly the councils.
        assert shapely.union_all(shapes).area == pytest.approx(
            shapely.union_all(list(councils.values())).area, rel=1e-6
        )
    # A group is its councils together: MELDAP is Midlothian and East Lothian.
    meldap = session.scalar(sa.select(AreaGroup).where(AreaGroup.code == "ADP-ML"))
    members = [
        councils[code]
        for (code,) in session.execute(
            sa.select(CouncilArea.code).where(CouncilArea.adp_id == meldap.id)
        )
    ]
    assert len(members) == 2
    group = shape(json.loads(parents[meldap.id]))
    assert group.symmetric_difference(shapely.union_all(members)).area < 1e-6
    assert "Office for National Statistics" in attribution(session, BOUNDARIES)

    # The services map without tiles draws a light outline of the councils, and credits it.
    with client.get("/map/outlines.json") as response:
        assert response.status_code == 200 and len(response.data) < 60_000
        lines = shape(response.get_json())
    assert lines.geom_type == "MultiLineString"
    for code, geom in councils.items():
        # Each council's main edge, bar narrow inlets the coarse outline cuts across.
        main = max(shapely.get_parts(geom), key=lambda part: part.area)
        points = shapely.points(shapely.get_coordinates(main.exterior))
        close = shapely.distance(points, lines) < 0.05  # degrees: a few kilometres
        assert close.mean() > 0.95, code
    page = client.get("/map").get_data(as_text=True)
    assert "Map data: Source: Office for National Statistics" in page


def test_retired_council_codes_load_as_their_replacements_with_a_message(client, session, source):
    data, _ = source
    retired = {"S12000049": "S12000046", "S12000047": "S12000015"}  # Glasgow, Fife
    old = json.loads(json.dumps(data))
    for feature in old["features"]:
        code = feature["properties"]["code"]
        feature["properties"]["code"] = retired.get(code, code)
    admin = make_user(session, Role.ADMIN)
    session.commit()
    sign_in(client, admin.email)
    response = client.post(
        "/admin/boundaries",
        data={
            "file": (io.BytesIO(json.dumps(old).encode()), "old-councils.geojson"),
            "code_property": "code",
            "attribution": "Contains OS data © Crown copyright and database right 2019.",
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Loaded boundaries for 32 council areas" in html
    assert "S12000046 is a retired council area code: its boundary was loaded as S12000049" in (
        html
    )
    assert "S12000015 is a retired council area code" in html
    glasgow = session.scalar(sa.select(CouncilArea).where(CouncilArea.code == "S12000049"))
    assert session.get(AreaBoundary, glasgow.id) is not None
    assert attribution(session, BOUNDARIES).endswith("database right 2019.")


def test_a_file_that_is_not_polygons_loads_nothing(client, session):
    admin = make_user(session, Role.ADMIN)
    session.commit()
    sign_in(client, admin.email)
    points = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "S12000049"},
                "geometry": {"type": "Point", "coordinates": [-4.25, 55.86]},
            }
        ],
    }
    response = client.post(
        "/admin/boundaries",
        data={
            "file": (io.BytesIO(json.dumps(points).encode()), "points.geojson"),
            "code_property": "code",
            "attribution": "Test data",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "feature 1 has a Point geometry, not a polygon" in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(AreaBoundary)) == 0


@pytest.mark.parametrize(
    ("collection", "message"),
    [
        ({"features": {"a": 1}}, "“features” is not a list of features"),
        ({"features": 5}, "“features” is not a list of features"),
        ({"features": ["x"]}, "feature 1 is not a GeoJSON feature"),
        ({"features": [{"properties": "abc"}]}, "feature 1 has properties that are not"),
        (
            {"features": [{"properties": {"code": "S12000049"}, "geometry": "x"}]},
            "feature 1 has a geometry that is not GeoJSON",
        ),
    ],
)
def test_a_malformed_file_is_refused_with_a_message(client, session, collection, message):
    admin = make_user(session, Role.ADMIN)
    session.commit()
    sign_in(client, admin.email)
    body = json.dumps({"type": "FeatureCollection", **collection}).encode()
    response = client.post(
        "/admin/boundaries",
        data={
            "file": (io.BytesIO(body), "bad.geojson"),
            "code_property": "code",
            "attribution": "Test data",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(AreaBoundary)) == 0


def _upload(client, features, code_property="code"):
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return client.post(
        "/admin/boundaries",
        data={
            "file": (io.BytesIO(body), "councils.geojson"),
            "code_property": code_property,
            "attribution": "Test data",
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def _glasgow(code="S12000049", ring=None):
    ring = ring or [[-4.4, 55.8], [-4.1, 55.8], [-4.1, 55.95], [-4.4, 55.95], [-4.4, 55.8]]
    return {
        "type": "Feature",
        "properties": {"code": code},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def test_a_file_whose_codes_match_no_council_loads_nothing_and_says_why(client, session):
    """A property holding names, not codes: "loaded 0" would still have replaced the
    map's attribution."""
    admin = make_user(session, Role.ADMIN)
    session.commit()
    sign_in(client, admin.email)
    before = attribution(session, BOUNDARIES)
    response = _upload(client, [_glasgow("Glasgow City")])
    assert response.status_code == 400
    assert "none of its 1 features has a council area code" in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(AreaBoundary)) == 0
    assert attribution(session, BOUNDARIES) == before


def test_a_file_missing_councils_says_which_keep_their_earlier_boundary(client, session):
    admin = make_user(session, Role.ADMIN)
    session.commit()
    sign_in(client, admin.email)
    html = _upload(client, [_glasgow()]).get_data(as_text=True)
    assert "Loaded boundaries for 1 council areas" in html
    assert "The file has no boundary for 31 council areas" in html


def refused_upload(client, session, ring) -> str:
    """An administrator uploads Glasgow City's boundary as ``ring``: the page's text,
    after checking that it was refused and loaded nothing."""
    admin = make_user(session, Role.ADMIN)
    session.commit()
    sign_in(client, admin.email)
    response = _upload(client, [_glasgow(ring=ring)])
    assert response.status_code == 400
    assert session.scalar(sa.select(sa.func.count()).select_from(AreaBoundary)) == 0
    return response.get_data(as_text=True)


@pytest.mark.parametrize("bad", ["nan", "inf"])
def test_a_polygon_with_coordinates_that_are_not_numbers_loads_nothing(client, session, bad):
    """JSON readers accept NaN and Infinity: the file is refused with a message, not a
    server error."""
    ring = [[-4.3, 55.8], [-4.2, 55.8], [float(bad), 55.9], [-4.3, 55.8]]
    page = refused_upload(client, session, ring)
    assert "feature 1 has coordinates that are not numbers" in page


def test_boundaries_in_eastings_and_northings_are_refused(client, session):
    """The same boundaries are published in British National Grid metres: the map needs
    longitude and latitude, so such a file is refused with what to load instead."""
    corners = [[255000, 660000], [265000, 660000], [265000, 670000], [255000, 670000]]
    page = refused_upload(client, session, [*corners, corners[0]])
    assert "not longitude and latitude" in page
