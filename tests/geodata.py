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
