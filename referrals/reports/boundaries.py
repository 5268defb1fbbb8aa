"""Council area boundaries from GeoJSON, simplified on import so map pages stay light.

Any GeoJSON FeatureCollection works whose features carry the council's GSS code in a
property (named with ``--code-property``), e.g. the ONS council area boundaries.
Polygons are simplified with the Ramer-Douglas-Peucker method and coordinates rounded,
and stored one geometry per council area; loading again replaces them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import AreaBoundary, CouncilArea, utcnow

DEFAULT_TOLERANCE = 0.002  # degrees: about 150 m across Scotland
DECIMALS = 4


class BoundaryFileError(ValueError):
    """The file is not GeoJSON of the expected shape."""


@dataclass
class BoundaryReport:
    features: int = 0
    loaded: int = 0
    unknown_codes: list[str] = field(default_factory=list)
    missing_councils: list[str] = field(default_factory=list)
    points_before: int = 0
    points_after: int = 0


def _perpendicular(point, start, end) -> float:
    (x, y), (x1, y1), (x2, y2) = point, start, end
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return math.hypot(x - x1, y - y1)
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / math.hypot(dx, dy)


def simplify_line(points: list, tolerance: float) -> list:
    """Ramer-Douglas-Peucker, iteratively (boundary rings can have many thousand points)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        best, index = 0.0, None
        for i in range(first + 1, last):
            distance = _perpendicular(points[i], points[first], points[last])
            if distance > best:
                best, index = distance, i
        if index is not None and best > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def simplify_ring(ring: list, tolerance: float) -> list | None:
    """A simplified closed ring, or None when it shrinks to nothing (a tiny islet).

    The ring is split at the point farthest from its start, and each half simplified,
    so no point is kept just for being where the ring happens to begin and end.
    """
    if len(ring) < 4:
        return None
    points = [tuple(p[:2]) for p in ring]
    if points[0] != points[-1]:
        points.append(points[0])
    start = points[0]
    far = max(range(len(points)), key=lambda i: math.dist(points[i], start))
    if far == 0:
        return None
    first = simplify_line(points[: far + 1], tolerance)
    second = simplify_line(points[far:], tolerance)
    simplified = first[:-1] + second
    if len(simplified) < 4:
        return None
    return [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in simplified]


def simplify_geometry(geometry: dict, tolerance: float) -> dict | None:
    if geometry["type"] == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        raise BoundaryFileError(f"geometry type {geometry['type']} is not a polygon")
    kept = []
    for polygon in polygons:
        outer = simplify_ring(polygon[0], tolerance)
        if outer is None:
            continue
        holes = [h for h in (simplify_ring(r, tolerance) for r in polygon[1:]) if h]
        kept.append([outer, *holes])
    if not kept:
        return None
    if len(kept) == 1:
        return {"type": "Polygon", "coordinates": kept[0]}
    return {"type": "MultiPolygon", "coordinates": kept}


def _count_points(geometry: dict) -> int:
    def walk(value: Any) -> int:
        if isinstance(value, list) and value and isinstance(value[0], (int, float)):
            return 1
        return sum(walk(v) for v in value) if isinstance(value, list) else 0

    return walk(geometry.get("coordinates", []))


def import_boundaries(
    session: Session, data: Any, code_property: str, tolerance: float = DEFAULT_TOLERANCE
) -> BoundaryReport:
    """Store simplified boundaries for the councils found in ``data`` (parsed GeoJSON).
    The caller commits."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise BoundaryFileError("the file is not a GeoJSON FeatureCollection")
    councils = dict(session.execute(sa.select(CouncilArea.code, CouncilArea.id)).all())
    report = BoundaryReport()
    found: dict[int, dict] = {}
    for feature in data.get("features", []):
        report.features += 1
        properties = feature.get("properties") or {}
        if code_property not in properties:
            raise BoundaryFileError(
                f"feature {report.features} has no property “{code_property}”; properties "
                f"are: {', '.join(sorted(properties)) or 'none'}"
            )
        code = str(properties[code_property]).strip()
        if code not in councils:
            report.unknown_codes.append(code)
            continue
        geometry = feature.get("geometry") or {}
        report.points_before += _count_points(geometry)
        simplified = simplify_geometry(geometry, tolerance)
        if simplified is None:
            continue
        report.points_after += _count_points(simplified)
        found[councils[code]] = simplified
    for council_id, geometry in found.items():
        row = session.get(AreaBoundary, council_id)
        text = json.dumps(geometry, separators=(",", ":"))
        if row is None:
            session.add(AreaBoundary(council_area_id=council_id, geojson=text))
        else:
            row.geojson, row.imported_at = text, utcnow()
    report.loaded = len(found)
    loaded_ids = set(found)
    report.missing_councils = sorted(
        code for code, cid in councils.items() if cid not in loaded_ids
    )
    return report
