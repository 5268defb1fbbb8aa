"""Reading seed CSV files with messages that name the file and line."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path


class SeedError(ValueError):
    """A seed file is missing, or one of its rows is not valid."""


def read_rows(path: Path, required: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, row)`` for each data row, with values stripped."""
    if not path.is_file():
        raise SeedError(f"{path}: file not found")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in required if name not in (reader.fieldnames or [])]
        if missing:
            raise SeedError(f"{path}: missing column(s) {', '.join(missing)}")
        for row in reader:
            clean = {k: (v or "").strip() for k, v in row.items() if k is not None}
            if not any(clean.values()):
                continue
            yield reader.line_num, clean


def need(path: Path, line: int, row: dict[str, str], name: str) -> str:
    value = row.get(name, "")
    if not value:
        raise SeedError(f"{path}:{line}: {name} is empty")
    return value


def number(path: Path, line: int, row: dict[str, str], name: str, *, optional: bool = False):
    value = row.get(name, "")
    if not value and optional:
        return None
    try:
        return float(need(path, line, row, name))
    except ValueError:
        raise SeedError(f"{path}:{line}: {name} must be a number, not {value!r}") from None


def coordinates(path: Path, line: int, row: dict[str, str]) -> tuple[float, float]:
    lat = number(path, line, row, "latitude")
    lon = number(path, line, row, "longitude")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise SeedError(f"{path}:{line}: coordinates {lat}, {lon} are out of range")
    return lat, lon
