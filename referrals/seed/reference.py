"""Load the reference data in ``seeds/``: service types, the geography and custody suites.

Every loader upserts by its natural key (a code or a name), so loading twice changes
nothing and loading a corrected file updates rows in place. Areas an administrator has
edited (at /admin/areas) are left as they are. Another country's areas load the same way
from files of the same shape (see ``seeds/README.md``).
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.orm import Session

from .. import nation
from ..areacodes import council_ids
from ..choices import AreaGroupKind
from ..models import AreaGroup, CouncilArea, CustodySuite, Place, PostcodeDistrict, ServiceType
from ..postcodes import area_of, normalise_district
from .csvfiles import SeedError, coordinates, need, number, read_rows
from .nation_data import load_nation, load_tiles
from .upsert import LoadReport, upsert

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "seeds"


def place_key(name: str) -> str:
    """The key place names are matched on: case, spacing and punctuation ignored."""
    text = re.sub(r"[^\w\s]", " ", name.casefold().replace("'", ""))
    text = re.sub(r"\bsaint\b", "st", text)
    return re.sub(r"\s+", " ", text).strip()


def load_service_types(session: Session, directory: Path, report: LoadReport) -> None:
    path = directory / "service_types.csv"
    if not path.is_file():  # a nation's pack may share the directory's taxonomy
        path = DEFAULT_DIRECTORY / "service_types.csv"
    rows = []
    required = ["code", "name", "colour", "abbreviation"]
    for order, (line, row) in enumerate(read_rows(path, required)):
        colour = need(path, line, row, "colour")
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}", colour):
            raise SeedError(f"{path}:{line}: colour must look like #1A2B3C, not {colour!r}")
        rows.append(
            {
                "code": need(path, line, row, "code"),
                "name": need(path, line, row, "name"),
                "colour": colour.upper(),
                "abbreviation": need(path, line, row, "abbreviation")[:4],
                "sort_order": order,
            }
        )
    upsert(session, ServiceType, "code", rows, report)


GROUP_COLUMNS = {
    AreaGroupKind.ADP: ("adp_code", "adp_name"),
    AreaGroupKind.POLICE_DIVISION: ("police_division_code", "police_division_name"),
    AreaGroupKind.HEALTH_BOARD: ("health_board_code", "health_board_name"),
}


def load_council_areas(session: Session, directory: Path, report: LoadReport) -> None:
    path = directory / "council_areas.csv"
    required = ["code", "name", "latitude", "longitude", "population"]
    for code_col, name_col in GROUP_COLUMNS.values():
        required += [code_col, name_col]
    parsed = list(read_rows(path, required))

    groups: dict[tuple[AreaGroupKind, str], str] = {}
    for line, row in parsed:
        for kind, (code_col, name_col) in GROUP_COLUMNS.items():
            code, name = need(path, line, row, code_col), need(path, line, row, name_col)
            if groups.setdefault((kind, code), name) != name:
                raise SeedError(
                    f"{path}:{line}: {code_col} {code} is named both "
                    f"{groups[(kind, code)]!r} and {name!r}"
                )
    # Matched on the code the reference data gave them (which stays when an
    # administrator changes their code), or, for areas stored before that was kept, on
    # their code.
    group_rows = [
        {"kind": k, "code": c, "reference_code": c, "name": n} for (k, c), n in groups.items()
    ]
    by_key = upsert(
        session,
        AreaGroup,
        ("kind", "reference_code"),
        group_rows,
        report,
        fallback=("kind", "code"),
    )

    councils, seen = [], set()
    for line, row in parsed:
        code = need(path, line, row, "code")
        if code in seen:
            raise SeedError(f"{path}:{line}: council code {code} appears twice")
        seen.add(code)
        lat, lon = coordinates(path, line, row)
        population = number(path, line, row, "population", optional=True)
        councils.append(
            {
                "code": code,
                "reference_code": code,
                "name": need(path, line, row, "name"),
                "latitude": lat,
                "longitude": lon,
                "population": int(population) if population is not None else None,
                "adp_id": by_key[(AreaGroupKind.ADP, row["adp_code"])].id,
                "police_division_id": by_key[
                    (AreaGroupKind.POLICE_DIVISION, row["police_division_code"])
                ].id,
                "health_board_id": by_key[
                    (AreaGroupKind.HEALTH_BOARD, row["health_board_code"])
                ].id,
            }
        )
    upsert(session, CouncilArea, "reference_code", councils, report, fallback="code")


def _council_ids(session: Session) -> dict[str, int]:
    return council_ids(session)


def _council_id(councils: dict[str, int], path: Path, line: int, row: dict[str, str]) -> int:
    code = need(path, line, row, "council_code")
    if code not in councils:
        raise SeedError(f"{path}:{line}: council_code {code} is not a known council area")
    return councils[code]


def load_postcode_districts(session: Session, directory: Path, report: LoadReport) -> None:
    path = directory / "postcode_districts.csv"
    councils = _council_ids(session)
    rows, seen = [], set()
    for line, row in read_rows(path, ["district", "council_code", "latitude", "longitude"]):
        district = normalise_district(need(path, line, row, "district"))
        if district is None:
            raise SeedError(f"{path}:{line}: {row['district']!r} is not a postcode district")
        if district in seen:
            raise SeedError(f"{path}:{line}: district {district} appears twice")
        seen.add(district)
        lat, lon = coordinates(path, line, row)
        rows.append(
            {
                "district": district,
                "area": area_of(district),
                "council_area_id": _council_id(councils, path, line, row),
                "latitude": lat,
                "longitude": lon,
            }
        )
    upsert(session, PostcodeDistrict, "district", rows, report)


def load_places(session: Session, directory: Path, report: LoadReport) -> None:
    path = directory / "places.csv"
    councils = _council_ids(session)
    rows, seen = [], set()
    for line, row in read_rows(path, ["name", "council_code", "latitude", "longitude"]):
        name = need(path, line, row, "name")
        key = place_key(name)
        if key in seen:
            raise SeedError(f"{path}:{line}: place {name!r} appears twice")
        seen.add(key)
        lat, lon = coordinates(path, line, row)
        population = number(path, line, row, "population", optional=True)
        rows.append(
            {
                "name": name,
                "name_key": key,
                "council_area_id": _council_id(councils, path, line, row),
                "latitude": lat,
                "longitude": lon,
                "population": int(population) if population is not None else None,
            }
        )
    upsert(session, Place, "name_key", rows, report)


def load_custody_suites(session: Session, directory: Path, report: LoadReport) -> None:
    path = directory / "custody_suites.csv"
    councils = _council_ids(session)
    rows, seen = [], set()
    required = ["code", "name", "town", "council_code", "latitude", "longitude"]
    for line, row in read_rows(path, required):
        code = need(path, line, row, "code").upper()
        if code in seen:
            raise SeedError(f"{path}:{line}: custody suite {code} appears twice")
        seen.add(code)
        lat, lon = coordinates(path, line, row)
        rows.append(
            {
                "code": code,
                "name": need(path, line, row, "name"),
                "town": need(path, line, row, "town"),
                "council_area_id": _council_id(councils, path, line, row),
                "latitude": lat,
                "longitude": lon,
            }
        )
    upsert(session, CustodySuite, "code", rows, report)


def load_reference(session: Session, directory: Path = DEFAULT_DIRECTORY) -> LoadReport:
    """Load every reference file from ``directory`` in one transaction's worth of work.

    The caller commits; on a ``SeedError`` it should roll back, leaving nothing half-loaded.
    """
    report = LoadReport()
    load_service_types(session, directory, report)
    load_council_areas(session, directory, report)
    load_postcode_districts(session, directory, report)
    load_places(session, directory, report)
    load_custody_suites(session, directory, report)
    load_nation(session, directory, report)
    load_tiles(session, directory, report)
    nation.forget()
    return report
