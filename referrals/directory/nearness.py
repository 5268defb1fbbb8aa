"""Which services are nearest a point, and exactly how far they are.

Distances shown and used for ordering are geodesics on the WGS84 ellipsoid. Every
candidate first gets a spherical distance (vectorised, within ``SPHERICAL_ERROR`` of the
geodesic), which bounds its geodesic from both sides. Where the bounds cannot decide
(near the edge of the radius, and among the contenders for the page shown), Vincenty's
ellipsoidal formula decides (vectorised; it agrees with geopy's geodesic to well under a
millimetre), and geopy's geodesic itself is computed for the distances people see and
for the rare cases Vincenty cannot settle (within a millimetre of the edge, or nearly
antipodal points, where it does not converge).
"""

from __future__ import annotations

import math

import numpy as np

from ..geo import EARTH_RADIUS_KM, SPHERICAL_ERROR, geodesic_km

WGS84_A = 6378.137
WGS84_F = 1 / 298.257223563
WGS84_B = WGS84_A * (1 - WGS84_F)
# How far Vincenty's distance may be trusted to decide a comparison (km).
VINCENTY_MARGIN = 1e-6


def spherical_km_array(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Haversine distances from (lat, lon) to each point, in km."""
    p0, p1 = math.radians(lat), np.radians(lats)
    a = (
        np.sin((p1 - p0) / 2) ** 2
        + math.cos(p0) * np.cos(p1) * np.sin((np.radians(lons) - math.radians(lon)) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def vincenty_km_array(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Vincenty's inverse formula on WGS84 from (lat, lon) to each point, in km; NaN
    where it does not converge (nearly antipodal points)."""
    f, a, b = WGS84_F, WGS84_A, WGS84_B
    u1 = math.atan((1 - f) * math.tan(math.radians(lat)))
    u2 = np.arctan((1 - f) * np.tan(np.radians(lats)))
    sin_u1, cos_u1, sin_u2, cos_u2 = math.sin(u1), math.cos(u1), np.sin(u2), np.cos(u2)
    big_l = np.radians(lons - lon)
    lam, previous = big_l.copy(), np.full_like(big_l, np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(50):
            sin_lam, cos_lam = np.sin(lam), np.cos(lam)
            sin_sigma = np.hypot(cos_u2 * sin_lam, cos_u1 * sin_u2 - sin_u1 * cos_u2 * cos_lam)
            cos_sigma = sin_u1 * sin_u2 + cos_u1 * cos_u2 * cos_lam
            sigma = np.arctan2(sin_sigma, cos_sigma)
            sin_alpha = np.where(sin_sigma == 0, 0.0, cos_u1 * cos_u2 * sin_lam / sin_sigma)
            cos2_alpha = 1 - sin_alpha**2
            cos_2sm = np.where(cos2_alpha == 0, 0.0, cos_sigma - 2 * sin_u1 * sin_u2 / cos2_alpha)
            c = f / 16 * cos2_alpha * (4 + f * (4 - 3 * cos2_alpha))
            previous, lam = (
                lam,
                big_l
                + (1 - c)
                * f
                * sin_alpha
                * (sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm**2))),
            )
            if np.all(np.abs(lam - previous) < 1e-12):
                break
        u_sq = cos2_alpha * (a * a - b * b) / (b * b)
        big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
        big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
        delta = (
            big_b
            * sin_sigma
            * (
                cos_2sm
                + big_b
                / 4
                * (
                    cos_sigma * (-1 + 2 * cos_2sm**2)
                    - big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
                )
            )
        )
        distance = b * big_a * (sigma - delta)
    return np.where(np.abs(lam - previous) < 1e-12, distance, np.nan)


class Ranking:
    """Services ranked by their location nearest (lat, lon), from arrays of location
    ids, service ids, latitudes and longitudes (one entry per location)."""

    def __init__(self, lat, lon, ids, services, lats, lons):
        self.lat, self.lon = lat, lon
        distance = spherical_km_array(lat, lon, lats, lons)
        order = np.argsort(distance, kind="stable")
        # The first row of each service in distance order is its nearest location.
        _, first = np.unique(services[order], return_index=True)
        nearest = order[first]
        nearest = nearest[np.argsort(distance[nearest], kind="stable")]
        self.service_ids = services[nearest]
        self.spherical = distance[nearest]
        self._ids, self._services, self._lats, self._lons = ids, services, lats, lons
        # service id -> (geodesic km, id of its nearest location), for services shown
        self.exact: dict[int, tuple[float, int]] = {}

    def _ellipsoidal(self, service_ids) -> dict[int, tuple[float, int]]:
        """Each service's nearest location by Vincenty: (km, location id)."""
        rows = np.flatnonzero(np.isin(self._services, np.asarray(service_ids)))
        found = vincenty_km_array(self.lat, self.lon, self._lats[rows], self._lons[rows])
        best: dict[int, tuple[float, int]] = {}
        for row, km in zip(rows, found, strict=True):
            if np.isnan(km):
                km = geodesic_km(self.lat, self.lon, self._lats[row], self._lons[row])
            sid, candidate = int(self._services[row]), (float(km), int(self._ids[row]))
            if sid not in best or candidate < best[sid]:
                best[sid] = candidate
        return best

    def _geodesic(self, service_id: int) -> tuple[float, int]:
        if service_id not in self.exact:
            self.exact[service_id] = min(
                (geodesic_km(self.lat, self.lon, self._lats[i], self._lons[i]), int(self._ids[i]))
                for i in np.flatnonzero(self._services == service_id)
            )
        return self.exact[service_id]

    def within(self, radius: float) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the services within ``radius`` km by the geodesic, nearest first by
        the spherical distance, with those distances."""
        keep = self.spherical * (1 + SPHERICAL_ERROR) <= radius
        edge = np.flatnonzero((self.spherical * (1 - SPHERICAL_ERROR) <= radius) & ~keep)
        if len(edge):
            close = self._ellipsoidal(self.service_ids[edge])
            for i in edge:
                sid = int(self.service_ids[i])
                km = close[sid][0]
                if abs(km - radius) <= VINCENTY_MARGIN:
                    km = self._geodesic(sid)[0]
                keep[i] = km <= radius
        return self.service_ids[keep], self.spherical[keep]

    def page(self, service_ids: np.ndarray, spherical: np.ndarray, start: int, end: int):
        """Ids of the services from ``start`` to ``end`` in geodesic order (ties by id);
        their geodesic distances are then in ``exact``."""
        total = len(service_ids)
        if start >= total:
            return []
        # Only services whose lower bound is below the end-th smallest upper bound can
        # be among the first ``end``.
        threshold = spherical[min(end, total) - 1] * (1 + SPHERICAL_ERROR)
        count = int(np.searchsorted(spherical * (1 - SPHERICAL_ERROR), threshold, "right"))
        close = self._ellipsoidal(service_ids[:count])
        ranked = sorted(close, key=lambda sid: (close[sid][0], sid))
        # Where Vincenty cannot tell two apart, the geodesic orders them.
        key = {
            sid: (self._geodesic(sid)[0], sid)
            for i, sid in enumerate(ranked)
            if any(
                abs(close[sid][0] - close[other][0]) <= VINCENTY_MARGIN
                for other in ranked[max(0, i - 1) : i + 2]
                if other != sid
            )
        }
        ranked.sort(key=lambda sid: key.get(sid, (close[sid][0], sid)))
        chosen = ranked[start:end]
        for sid in chosen:
            self._geodesic(sid)
        return chosen
