"""Load a data pack's nation settings (``nation.csv``) and tile layout (``tiles.csv``).

``nation.csv`` holds ``key,value`` rows: the national comparator's name, the label of
each geography level (``label_<level>``, ``plural_<level>``), the postcode areas served
and the bank-holiday region (see ``referrals/nation.py``). ``tiles.csv`` places each
area of each level on the tile map: ``level,code,short_name,col,row``.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import AreaGroup, AreaTile, CouncilArea, NationSetting
from ..nation import LEVELS, SETTING_KEYS, holiday_region
from .csvfiles import SeedError, need, read_rows
from .upsert import LoadReport, upsert


def load_nation(session: Session, directory: Path, report: LoadReport) -> None:
    path = directory / "nation.csv"
    rows, seen = [], set()
    for line, row in read_rows(path, ["key", "value"]):
        key = need(path, line, row, "key")
        if key not in SETTING_KEYS:
            raise SeedError(f"{path}:{line}: unknown setting {key!r}")
        if key in seen:
            raise SeedError(f"{path}:{line}: setting {key} appears twice")
        seen.add(key)
        value = need(path, line, row, "value")
        if key == "bank_holiday_region" and holiday_region(value) is None:
            raise SeedError(
                f"{path}:{line}: bank_holiday_region must be one of scotland, "
                f"england-and-wales, northern-ireland (or SCT, ENG, WLS, NIR), not {value!r}"
            )
        rows.append({"key": key, "value": value})
    if "national_name" not in seen:
        raise SeedError(f"{path}: national_name is missing")
    upsert(session, NationSetting, "key", rows, report)
    session.execute(sa.delete(NationSetting).where(NationSetting.key.not_in(seen)))


def load_tiles(session: Session, directory: Path, report: LoadReport) -> None:
    path = directory / "tiles.csv"
    # The tiles name areas by the reference data's codes; a tile is stored under the
    # area's code now (an administrator may have changed it).
    now_called: dict[tuple[str, str], str] = {}
    for code, reference in session.execute(
        sa.select(CouncilArea.code, CouncilArea.reference_code)
    ):
        now_called[("council", code)] = now_called[("council", reference or code)] = code
    for kind, code, reference in session.execute(
        sa.select(AreaGroup.kind, AreaGroup.code, AreaGroup.reference_code)
    ):
        level = str(kind)
        now_called[(level, code)] = now_called[(level, reference or code)] = code
    known = set(now_called)
    rows, cells, seen, placed = [], set(), set(), set()
    for line, row in read_rows(path, ["level", "code", "short_name", "col", "row"]):
        level, code = need(path, line, row, "level"), need(path, line, row, "code")
        if level not in LEVELS:
            raise SeedError(f"{path}:{line}: level must be one of {', '.join(LEVELS)}")
        if (level, code) not in known:
            raise SeedError(f"{path}:{line}: {code} is not a known {level.replace('_', ' ')}")
        if (level, code) in seen:
            raise SeedError(f"{path}:{line}: {level} {code} appears twice")
        seen.add((level, code))
        try:
            col, grid_row = int(need(path, line, row, "col")), int(need(path, line, row, "row"))
        except ValueError:
            raise SeedError(f"{path}:{line}: col and row must be whole numbers") from None
        if col < 0 or grid_row < 0 or col > 60 or grid_row > 60:
            raise SeedError(f"{path}:{line}: col and row must be from 0 to 60")
        if (level, col, grid_row) in cells:
            raise SeedError(f"{path}:{line}: two {level} tiles at column {col}, row {grid_row}")
        cells.add((level, col, grid_row))
        short = need(path, line, row, "short_name")
        if len(short) > 16:
            raise SeedError(f"{path}:{line}: short_name {short!r} is over 16 characters")
        code = now_called[(level, code)]
        placed.add((level, code))
        rows.append(
            {"level": level, "code": code, "short_name": short, "col": col, "row": grid_row}
        )
    by_key = upsert(session, AreaTile, ("level", "code"), rows, report)
    for key, tile in by_key.items():
        if key not in placed:
            session.delete(tile)
    session.flush()
