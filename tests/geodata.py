"""Where the open Scottish geography files for development and tests are: read from the
shared data folder beside the project, never copied into it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

GEOGRAPHY = Path(
    os.environ.get("GEOGRAPHY_DATA_DIR")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "geography"
)
COUNCIL_BOUNDARIES = GEOGRAPHY / "scotland_council_areas_2025_bgc.geojson"
POSTCODES = GEOGRAPHY / "scotland_postcodes_2020-08.csv"


def shared_file(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"the shared geography file {path} is not here")
    return path


def square_boundaries(councils, half_side: float = 0.02) -> dict:
    """A small made-up boundary set: a square about each council area's centre (about
    4 km across, so that neighbours do not overlap), as a GeoJSON FeatureCollection whose
    features carry the council's code in ``code``, for tests that need the geographic
    map without the shared files."""
    features = []
    for council in councils:
        x, y, d = council.longitude, council.latitude, half_side
        ring = [[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]]
        features.append(
            {
                "type": "Feature",
                "properties": {"code": council.code, "name": council.name},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return {"type": "FeatureCollection", "features": features}
