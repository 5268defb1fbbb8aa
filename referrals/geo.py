"""Distances on the Earth: a bounding box for SQL, a fast spherical estimate, and geopy's
geodesic (WGS84 ellipsoid) for the distances people see."""

from __future__ import annotations

import math
from dataclasses import dataclass

from geographiclib.geodesic import Geodesic
from geopy.distance import ELLIPSOIDS

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = 111.32
# The spherical distance (mean radius 6371.0088 km) is within 0.56% of the WGS84
# geodesic anywhere on Earth: the ellipsoid's radii of curvature run from 6335.4 km
# (meridional, at the equator) to 6399.6 km (at the poles). 0.6% either way bounds it.
SPHERICAL_ERROR = 0.006


@dataclass(frozen=True)
class BoundingBox:
    south: float
    north: float
    west: float
    east: float


def bounding_box(lat: float, lon: float, radius_km: float) -> BoundingBox:
    """A latitude/longitude box that contains every point within ``radius_km``."""
    margin = radius_km * (1 + SPHERICAL_ERROR)
    dlat = margin / KM_PER_DEGREE_LAT
    cos_lat = max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 0.01)
    dlon = min(margin / (KM_PER_DEGREE_LAT * cos_lat), 180.0)
    return BoundingBox(lat - dlat, lat + dlat, lon - dlon, lon + dlon)


def spherical_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance: fast, within 0.6% of the geodesic."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# geopy's geodesic is this computation (Karney's, by geographiclib) on this ellipsoid
# in kilometres; called directly, without building geopy's points for every distance.
_WGS84_KM = Geodesic(ELLIPSOIDS["WGS-84"][0], ELLIPSOIDS["WGS-84"][2])


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The distance on the WGS84 ellipsoid, as geopy's ``geodesic`` computes it."""
    return _WGS84_KM.Inverse(
        float(lat1), float(lon1), float(lat2), float(lon2), Geodesic.DISTANCE
    )["s12"]
