"""Reference data: complete, consistent, and loading it twice changes nothing."""

import shutil

import sqlalchemy as sa

from referrals.choices import AreaGroupKind
from referrals.models import (
    AreaGroup,
    CouncilArea,
    CustodySuite,
    Place,
    PostcodeDistrict,
    ServiceType,
)
from referrals.seed.reference import DEFAULT_DIRECTORY

SCOTTISH_POSTCODE_AREAS = set(
    ["AB", "DD", "DG", "EH", "FK", "G", "HS", "IV", "KA", "KW", "KY", "ML", "PA", "PH", "TD", "ZE"]
)


def fingerprint(session):
    """Every reference row, as plain values, to compare before and after."""
    rows = {}
    for model in (ServiceType, AreaGroup, CouncilArea, PostcodeDistrict, Place, CustodySuite):
        table = model.__table__
        rows[table.name] = sorted(
            tuple(str(v) for v in row) for row in session.execute(sa.select(table)).all()
        )
    return rows


def test_all_32_council_areas_with_gss_codes_adps_divisions_and_boards(session):
    councils = session.scalars(sa.select(CouncilArea)).all()
    assert len(councils) == 32
    assert all(c.code.startswith("S12000") and len(c.code) == 9 for c in councils)
    assert len({c.code for c in councils}) == 32
    count = {
        kind: session.scalar(
            sa.select(sa.func.count()).select_from(AreaGroup).where(AreaGroup.kind == kind)
        )
        for kind in AreaGroupKind
    }
    assert count == {
        AreaGroupKind.ADP: 30,
        AreaGroupKind.POLICE_DIVISION: 13,
        AreaGroupKind.HEALTH_BOARD: 14,
    }
    for council in councils:
        assert council.adp.kind == AreaGroupKind.ADP
        assert council.police_division.kind == AreaGroupKind.POLICE_DIVISION
        assert council.health_board.kind == AreaGroupKind.HEALTH_BOARD
        assert council.population and council.population > 10_000
        assert 54.6 < council.latitude < 61 and -8 < council.longitude < -0.7
    by_name = {c.name: c for c in councils}
    # MELDAP covers Midlothian and East Lothian; one ADP covers Clackmannanshire and Stirling.
    assert by_name["Midlothian"].adp_id == by_name["East Lothian"].adp_id
    assert by_name["Clackmannanshire"].adp_id == by_name["Stirling"].adp_id
    assert by_name["Glasgow City"].health_board.code == "S08000031"


def test_postcode_districts_cover_every_area_and_council(session):
    districts = session.scalars(sa.select(PostcodeDistrict)).all()
    assert len(districts) >= 300
    assert {d.area for d in districts} == SCOTTISH_POSTCODE_AREAS
    councils = {c.id for c in session.scalars(sa.select(CouncilArea))}
    assert {d.council_area_id for d in districts} == councils
    assert all(d.district.startswith(d.area) for d in districts)
    assert session.get(PostcodeDistrict, "G31").council_area.name == "Glasgow City"
    assert session.get(PostcodeDistrict, "EH6").council_area.name == "City of Edinburgh"
    assert session.get(PostcodeDistrict, "ZE1").council_area.name == "Shetland Islands"


def test_gazetteer_and_custody_suites(session):
    places = session.scalars(sa.select(Place)).all()
    assert len(places) >= 150
    assert {p.council_area_id for p in places} == {
        c.id for c in session.scalars(sa.select(CouncilArea))
    }
    assert (
        session.scalar(sa.select(Place).where(Place.name_key == "kirkcaldy")).council_area.name
        == "Fife"
    )
    suites = session.scalars(sa.select(CustodySuite)).all()
    divisions_with_suite = {s.council_area.police_division_id for s in suites}
    all_divisions = set(
        session.scalars(
            sa.select(AreaGroup.id).where(AreaGroup.kind == AreaGroupKind.POLICE_DIVISION)
        )
    )
    assert divisions_with_suite == all_divisions


def test_every_service_type_of_the_taxonomy(session):
    names = set(session.scalars(sa.select(ServiceType.name)))
    assert len(names) == 18
    assert "Safer drug consumption facility" in names
    assert "Heroin-assisted treatment" in names


def test_seed_reference_twice_changes_nothing(app, runner, session):
    before = fingerprint(session)
    result = runner.invoke(args=["seed-reference"])
    assert result.exit_code == 0, result.output
    assert "Reference data is up to date." in result.output
    assert "0 created, 0 updated, 32 unchanged" in result.output
    session.expire_all()
    assert fingerprint(session) == before


def test_seed_reference_into_empty_database_then_again(app, runner, session):
    for table in (
        "custody_suites",
        "places",
        "postcode_districts",
        "council_areas",
        "area_groups",
        "service_types",
    ):
        session.execute(sa.text(f"DELETE FROM {table}"))
    session.commit()
    first = runner.invoke(args=["seed-reference"])
    assert first.exit_code == 0, first.output
    assert "council_areas: 32 created" in first.output
    session.expire_all()
    loaded = fingerprint(session)
    second = runner.invoke(args=["seed-reference"])
    assert "Reference data is up to date." in second.output
    session.expire_all()
    assert fingerprint(session) == loaded


def test_bad_row_loads_nothing_and_names_the_line(app, runner, session, tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(DEFAULT_DIRECTORY, seeds)
    # A corrected name for an existing council (would update) and, further on,
    # a district pointing at a council that does not exist.
    councils = (
        (seeds / "council_areas.csv")
        .read_text()
        .replace("S12000005,Clackmannanshire,", "S12000005,Clackmannanshire Council,")
    )
    (seeds / "council_areas.csv").write_text(councils)
    with (seeds / "postcode_districts.csv").open("a") as handle:
        handle.write("ZZ1,S12009999,56.0,-3.0\n")
    lines = (seeds / "postcode_districts.csv").read_text().count("\n")
    result = runner.invoke(args=["seed-reference", "--dir", str(seeds)])
    assert result.exit_code != 0
    assert "Nothing was loaded" in result.output
    assert f"postcode_districts.csv:{lines}" in result.output
    assert "S12009999 is not a known council area" in result.output
    session.expire_all()
    assert session.scalar(sa.select(CouncilArea.name).where(CouncilArea.code == "S12000005")) == (
        "Clackmannanshire"
    )


def test_corrected_file_updates_in_place(app, runner, session, tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(DEFAULT_DIRECTORY, seeds)
    text = (seeds / "council_areas.csv").read_text().replace(",51750\n", ",52000\n")
    (seeds / "council_areas.csv").write_text(text)
    result = runner.invoke(args=["seed-reference", "--dir", str(seeds)])
    assert result.exit_code == 0, result.output
    assert "council_areas: 0 created, 1 updated, 31 unchanged" in result.output
    assert (
        session.scalar(sa.select(CouncilArea.population).where(CouncilArea.code == "S12000005"))
        == 52000
    )
