"""Loading the open postcode file as it comes: full postcodes then resolve exactly, each
with its council; postcodes the file lacks fall back to their district."""

from __future__ import annotations

import csv
import random

import sqlalchemy as sa

from referrals.attributions import POSTCODES, attribution
from referrals.directory.locate import Origin, locate
from referrals.models import CouncilArea, Postcode

from .geodata import POSTCODES as POSTCODE_FILE
from .geodata import shared_file


def test_the_open_postcode_file_loads_as_is_and_resolves_exactly(runner, session):
    path = shared_file(POSTCODE_FILE)
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    result = runner.invoke(args=["import-postcodes", str(path)])
    assert result.exit_code == 0, result.output
    assert f"Loaded {len(rows):,} postcodes from {len(rows):,} rows" in result.output

    codes = dict(session.execute(sa.select(CouncilArea.id, CouncilArea.code)).all())
    sample = random.Random(17).sample(rows, 300) + [r for r in rows if not r["council_area_code"]]
    stored = {
        p.postcode: p
        for p in session.scalars(
            sa.select(Postcode).where(Postcode.postcode.in_([r["postcode"] for r in sample]))
        )
    }
    for row in sample:
        postcode = stored[row["postcode"]]
        assert postcode.latitude == float(row["latitude"]), row
        assert postcode.longitude == float(row["longitude"]), row
        expected = row["council_area_code"] or None
        assert (codes.get(postcode.council_area_id)) == expected, row

    for row in sample[:40]:
        origin = locate(session, row["postcode"].replace(" ", "").lower())
        assert isinstance(origin, Origin)
        assert (origin.latitude, origin.longitude) == (
            float(row["latitude"]),
            float(row["longitude"]),
        )
        assert not origin.approximate and origin.note is None
        if row["council_area_code"]:
            assert codes[origin.council_area_id] == row["council_area_code"]
    assert "Royal Mail" in attribution(session, POSTCODES)


def test_a_postcode_the_file_lacks_is_placed_at_its_district(session):
    session.add(Postcode(postcode="G31 2AB", latitude=55.8601, longitude=-4.2102))
    session.commit()
    exact = locate(session, "g31 2ab")
    assert (exact.latitude, exact.longitude, exact.approximate) == (55.8601, -4.2102, False)
    newer = locate(session, "G31 9ZZ")  # not in the loaded file (say, a new street)
    assert isinstance(newer, Origin) and newer.approximate
    assert newer.district == "G31"
    assert "middle of postcode district G31" in newer.note


def test_a_retired_council_code_in_a_postcode_file_is_read_as_its_replacement(
    runner, session, tmp_path
):
    path = tmp_path / "old.csv"
    path.write_text(
        "pcds,lat,long,laua,doterm\n"
        "G31 2AB,55.856,-4.21,S12000046,\n"
        "KY1 1AA,56.11,-3.16,S12000015,\n"
        "G1 9ZZ,55.86,-4.25,S12000046,201001\n"
    )
    result = runner.invoke(args=["import-postcodes", str(path)])
    assert result.exit_code == 0, result.output
    assert "Skipped 1 terminated postcodes." in result.output
    councils = {
        p.postcode: session.get(CouncilArea, p.council_area_id).code
        for p in session.scalars(sa.select(Postcode))
    }
    assert councils == {"G31 2AB": "S12000049", "KY1 1AA": "S12000047"}
