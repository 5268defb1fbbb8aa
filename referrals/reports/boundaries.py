"""Council area boundaries from GeoJSON, simplified on import so map pages stay light, and
the boundaries of the groups of councils (ADPs, police divisions, health boards)
dissolved from them.

Any GeoJSON FeatureCollection works whose features carry the council's GSS code in a
property (named with ``--code-property``), e.g. the ONS council area boundaries. A code
that was retired is read as the code that replaced it, with a message.

Simplifying: the councils are simplified together as a coverage
(``shapely.coverage_simplify``), so an edge two councils share is simplified once and
stays shared: no gaps or slivers open between neighbours. The tolerance is in degrees of
latitude, with longitudes scaled to the same length first. Islands smaller than
``MIN_ISLAND_KM2`` are dropped (a council keeps at least its largest part), coordinates
are rounded to ``DECIMALS`` places, and every result is checked valid. Files whose
polygons overlap are not a coverage; each polygon is then simplified on its own and the
report says so.

Each group of councils is the union of its councils' simplified boundaries, so a group
map and a council map agree exactly. A coarser outline of every council's edges (each
shared edge once, ``OUTLINE_TOLERANCE``) is kept for maps that draw the areas only as
a background. Loading again replaces what is stored.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry import mapping, shape
from sqlalchemy.orm import Session

from .. import areacodes
from ..areacodes import current_code
from ..attributions import BOUNDARIES, default_boundaries_attribution, set_attribution
from ..models import AreaBoundary, AreaGroup, AreaGroupBoundary, CouncilArea, utcnow
from ..outlines import store_outline

DEFAULT_TOLERANCE = 0.004  # degrees of latitude: about 450 m
OUTLINE_TOLERANCE = 0.012  # about 1.3 km: a background needs no more
DECIMALS = 4  # about 10 m
MIN_ISLAND_KM2 = 0.5
KM_PER_DEGREE = 111.32


class BoundaryFileError(ValueError):
    """The file is not GeoJSON of the expected shape."""


@dataclass
class BoundaryReport:
    features: int = 0
    loaded: int = 0
    groups_loaded: int = 0
    unknown_codes: list[str] = field(default_factory=list)
    missing_councils: list[str] = field(default_factory=list)
    points_before: int = 0
    points_after: int = 0
    stored_bytes: int = 0
    shared_edges_kept: bool = True
    messages: list[str] = field(default_factory=list)


def _perpendicular(point, start, end) -> float:
    (x, y), (x1, y1), (x2, y2) = point, start, end
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return math.hypot(x - x1, y - y1)
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / math.hypot(dx, dy)


def simplify_line(points: list, tolerance: float) -> list:
    """Ramer-Douglas-Peucker on one line, iteratively (for lines drawn outside a coverage)."""
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


def _finite(coordinates: Any) -> bool:
    """Whether no number in the nested coordinate lists is NaN or infinite (anything
    else wrong with them is for ``shape`` to find)."""
    if isinstance(coordinates, float):
        return math.isfinite(coordinates)
    if isinstance(coordinates, list):
        return all(_finite(c) for c in coordinates)
    return True


def _polygonal(geometry: dict, number: int) -> shapely.Geometry:
    """The feature's geometry as a valid (Multi)Polygon."""
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise BoundaryFileError(
            f"feature {number} has a {kind or 'missing'} geometry, not a polygon"
        )
    # NaN or Infinity (which Python's JSON reader accepts) place nothing anywhere.
    if not _finite(geometry.get("coordinates")):
        raise BoundaryFileError(f"feature {number} has coordinates that are not numbers")
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise BoundaryFileError(
            f"feature {number} has coordinates that are not a polygon"
        ) from exc
    west, south, east, north = geom.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise BoundaryFileError(
            f"feature {number} has coordinates that are not longitude and latitude (they "
            "look like eastings and northings): load the file published in WGS84 "
            "(EPSG:4326)"
        )
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    if not parts:
        raise BoundaryFileError(f"feature {number} has an empty polygon")
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _merge(parts: list[shapely.Geometry]) -> shapely.Geometry:
    """One geometry from pieces that meet edge to edge (exact), or that overlap."""
    if len(parts) == 1:
        return parts[0]
    if shapely.coverage_is_valid(parts):
        return shapely.coverage_union_all(parts)
    return shapely.union_all(parts)


def _rounded(value: Any, decimals: int) -> Any:
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], float | int):
            return [round(float(value[0]), decimals), round(float(value[1]), decimals)]
        return [_rounded(v, decimals) for v in value]
    return value


def geojson_text(geom: shapely.Geometry, decimals: int = DECIMALS) -> str:
    """Compact GeoJSON for a geometry, coordinates rounded to ``decimals`` places."""
    data = mapping(geom)
    return json.dumps(
        {"type": data["type"], "coordinates": _rounded(data["coordinates"], decimals)},
        separators=(",", ":"),
    )


def _drop_islets(geom: shapely.Geometry, scale: float) -> shapely.Geometry:
    parts = list(shapely.get_parts(geom))
    km2 = KM_PER_DEGREE**2 * scale
    kept = [p for p in parts if p.area * km2 >= MIN_ISLAND_KM2] or [
        max(parts, key=lambda p: p.area)
    ]
    return kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)


def _on_grid(geom: shapely.Geometry) -> shapely.Geometry:
    snapped = shapely.set_precision(geom, 10**-DECIMALS)
    parts = [p for p in shapely.get_parts(snapped) if p.geom_type == "Polygon" and p.area > 0]
    return geom if not parts else (parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts))


def simplify_coverage(
    geoms: list[shapely.Geometry], tolerance: float
) -> tuple[list[shapely.Geometry], bool]:
    """Simplified copies of ``geoms``; True when they were simplified as one coverage
    (shared edges kept shared), False when they overlap and were simplified one by one."""
    if not geoms:
        return [], True
    south, north = min(g.bounds[1] for g in geoms), max(g.bounds[3] for g in geoms)
    scale = math.cos(math.radians((south + north) / 2))
    factor = [scale, 1.0]
    scaled = [shapely.transform(g, lambda c: c * factor) for g in geoms]
    as_coverage = bool(shapely.coverage_is_valid(scaled))
    if as_coverage:
        simplified = list(shapely.coverage_simplify(scaled, tolerance))
    else:
        simplified = [shapely.simplify(g, tolerance, preserve_topology=True) for g in scaled]
    result = []
    for original, geom in zip(geoms, simplified, strict=True):
        geom = shapely.transform(geom, lambda c: c / factor)
        geom = _on_grid(_drop_islets(geom, scale)) if not geom.is_empty else original
        result.append(geom if geom.is_valid else shapely.make_valid(geom))
    return result, as_coverage


def _read_features(
    data: Any, code_property: str, councils: dict[str, int], report: BoundaryReport
) -> dict[int, shapely.Geometry]:
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise BoundaryFileError("the file is not a GeoJSON FeatureCollection")
    features = data.get("features") or []
    if not isinstance(features, list):
        raise BoundaryFileError("the file's “features” is not a list of features")
    found: dict[int, list[shapely.Geometry]] = {}
    renamed: dict[str, str] = {}
    for feature in features:
        report.features += 1
        if not isinstance(feature, dict):
            raise BoundaryFileError(f"feature {report.features} is not a GeoJSON feature")
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise BoundaryFileError(
                f"feature {report.features} has properties that are not a list of names and values"
            )
        if code_property not in properties:
            raise BoundaryFileError(
                f"feature {report.features} has no property “{code_property}”; properties "
                f"are: {', '.join(sorted(properties)) or 'none'}"
            )
        given = str(properties[code_property]).strip()
        code = current_code(given)
        if code not in councils:
            report.unknown_codes.append(given)
            continue
        if code != given:
            renamed[given] = code
        geometry = feature.get("geometry") or {}
        if not isinstance(geometry, dict):
            raise BoundaryFileError(
                f"feature {report.features} has a geometry that is not GeoJSON"
            )
        geom = _polygonal(geometry, report.features)
        report.points_before += int(shapely.get_num_coordinates(geom))
        found.setdefault(councils[code], []).append(geom)
    for old, new in sorted(renamed.items()):
        report.messages.append(
            f"{old} is a retired council area code: its boundary was loaded as {new}."
        )
    return {cid: _merge(parts) for cid, parts in found.items()}


def _outline(councils: list[shapely.Geometry]) -> str:
    """Every council's edges as lines, each shared edge once, coarsely simplified."""
    coarse, _ = simplify_coverage(councils, OUTLINE_TOLERANCE)
    lines = shapely.line_merge(shapely.union_all([g.boundary for g in coarse]))
    return geojson_text(lines, decimals=3)


def _dissolve_groups(session: Session, report: BoundaryReport) -> None:
    """Store each area group's boundary as the union of its councils' boundaries, and
    the outline of all councils."""
    stored = {
        cid: shape(json.loads(text))
        for cid, text in session.execute(
            sa.select(AreaBoundary.council_area_id, AreaBoundary.geojson)
        )
    }
    if stored:
        store_outline(session, _outline(list(stored.values())))
    session.execute(sa.delete(AreaGroupBoundary))
    members: dict[int, list[int]] = {}
    for council in session.execute(
        sa.select(
            CouncilArea.id,
            CouncilArea.adp_id,
            CouncilArea.police_division_id,
            CouncilArea.health_board_id,
        )
    ):
        for group_id in council[1:]:
            members.setdefault(group_id, []).append(council.id)
    names = dict(session.execute(sa.select(AreaGroup.id, AreaGroup.name)).all())
    for group_id, council_ids in sorted(members.items()):
        if not all(cid in stored for cid in council_ids):
            report.messages.append(
                f"No boundary for {names[group_id]}: some of its council areas have none."
            )
            continue
        union = _on_grid(_merge([stored[cid] for cid in council_ids]))
        text = geojson_text(union if union.is_valid else shapely.make_valid(union))
        session.add(AreaGroupBoundary(area_group_id=group_id, geojson=text))
        report.groups_loaded += 1
        report.stored_bytes += len(text)


def import_boundaries(
    session: Session,
    data: Any,
    code_property: str,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    attribution: str | None = None,
) -> BoundaryReport:
    """Store simplified boundaries for the councils found in ``data`` (parsed GeoJSON),
    and the boundaries of the groups dissolved from them. The caller commits."""
    councils = areacodes.council_ids(session)
    report = BoundaryReport()
    found = _read_features(data, code_property, councils, report)
    if not found:
        # Loading nothing would still replace the map's attribution and say "loaded".
        given = ", ".join(report.unknown_codes[:5]) or "none"
        raise BoundaryFileError(
            f"none of its {report.features} features has a council area code of this "
            f"installation in “{code_property}” (it has: {given}): choose the property "
            "that holds the GSS codes, like S12000049"
        )
    ids = list(found)
    simplified, report.shared_edges_kept = simplify_coverage([found[i] for i in ids], tolerance)
    if not report.shared_edges_kept:
        report.messages.append(
            "The boundaries in the file overlap one another, so each was simplified on its "
            "own: neighbouring areas may not meet exactly."
        )
    for council_id, geom in zip(ids, simplified, strict=True):
        text = geojson_text(geom)
        report.points_after += int(shapely.get_num_coordinates(geom))
        report.stored_bytes += len(text)
        row = session.get(AreaBoundary, council_id)
        if row is None:
            session.add(AreaBoundary(council_area_id=council_id, geojson=text))
        else:
            row.geojson, row.imported_at = text, utcnow()
    session.flush()
    report.loaded = len(found)
    report.missing_councils = sorted(code for code, cid in councils.items() if cid not in found)
    _dissolve_groups(session, report)
    set_attribution(session, BOUNDARIES, attribution or default_boundaries_attribution())
    return report
